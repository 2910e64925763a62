import { describe, expect, it } from 'vitest';
import { assertAnalysisResult } from './provider.ts';
import {
  clampConfidence,
  MAX_LISTED_REFUSALS,
  parseModelAnswer,
  toAnalysisResult,
  UNPARSED_CONFIDENCE,
} from './response.parser.ts';

const answer = {
  analysis: 'The new image crashes on start.',
  confidence: 0.8,
  recommendations: ['Roll back', 'Check the logs'],
  actions: [{ name: 'rollback', action: 'RollbackDeployment', description: 'go back', params: { toRevision: '2' } }],
};

describe('parseModelAnswer', () => {
  it('reads plain JSON', () => {
    const parsed = parseModelAnswer(JSON.stringify(answer));
    expect(parsed).toEqual({
      analysis: 'The new image crashes on start.',
      confidence: 0.8,
      recommendations: ['Roll back', 'Check the logs'],
      suggestedActions: [
        { name: 'rollback', type: 'RollbackDeployment', description: 'go back', params: { toRevision: '2' } },
      ],
      structured: true,
      refused: [],
    });
  });

  it('strips a ```json fence and the prose around it', () => {
    const raw = `Here is my analysis:\n\n\`\`\`json\n${JSON.stringify(answer, null, 2)}\n\`\`\`\n\nLet me know if you need more.`;
    const parsed = parseModelAnswer(raw);
    expect(parsed.structured).toBe(true);
    expect(parsed.analysis).toBe(answer.analysis);
    expect(parsed.suggestedActions).toHaveLength(1);
  });

  it('strips a bare ``` fence', () => {
    expect(parseModelAnswer(`\`\`\`\n${JSON.stringify(answer)}\n\`\`\``).structured).toBe(true);
  });

  it('finds the object inside prose without a fence', () => {
    const parsed = parseModelAnswer(`Sure. ${JSON.stringify(answer)} Hope this helps!`);
    expect(parsed.structured).toBe(true);
    expect(parsed.confidence).toBe(0.8);
  });

  it('accepts `type`, `suggestedActions` and `suggested_actions` as well as `action` and `actions`', () => {
    const viaType = parseModelAnswer(
      JSON.stringify({ analysis: 'x', suggestedActions: [{ type: 'RestartDeployment', params: {} }] }),
    );
    expect(viaType.suggestedActions.map((a) => a.type)).toEqual(['RestartDeployment']);
    const snake = parseModelAnswer(
      JSON.stringify({ analysis: 'x', suggested_actions: [{ action: 'ScaleDeployment', params: { replicas: 3 } }] }),
    );
    expect(snake.suggestedActions).toEqual([
      { name: 'ScaleDeployment', type: 'ScaleDeployment', description: '', params: { replicas: '3' } },
    ]);
  });

  it('falls back to the raw text, confidence 0.5 and no actions, for garbage', () => {
    for (const raw of ['I think the pod is broken.', '{{{{', '[1, 2, 3]', 'null', '42', '"just a string"']) {
      const parsed = parseModelAnswer(raw);
      expect(parsed).toMatchObject({
        analysis: raw,
        confidence: UNPARSED_CONFIDENCE,
        recommendations: [],
        suggestedActions: [],
        structured: false,
      });
    }
  });

  it('falls back for partial (truncated) JSON rather than guessing', () => {
    const raw = '```json\n{"analysis": "The pod is OOMKilled", "confidence": 0.9, "actions": [{"action": "AdjustRes';
    const parsed = parseModelAnswer(raw);
    expect(parsed.structured).toBe(false);
    expect(parsed.analysis).toBe(raw);
    expect(parsed.confidence).toBe(0.5);
    expect(parsed.suggestedActions).toEqual([]);
  });

  it('falls back when the JSON lacks an analysis or has an empty one', () => {
    expect(parseModelAnswer('{"confidence": 0.9}').structured).toBe(false);
    expect(parseModelAnswer('{"analysis": "   ", "confidence": 0.9}').structured).toBe(false);
    expect(parseModelAnswer('{"analysis": 12}').structured).toBe(false);
  });

  it('says something even for an empty answer', () => {
    const parsed = parseModelAnswer('   ');
    expect(parsed.analysis.length).toBeGreaterThan(0);
    expect(parsed.confidence).toBe(0.5);
  });

  it('clamps out-of-range confidence to [0, 1]', () => {
    const at = (confidence: unknown) => parseModelAnswer(JSON.stringify({ analysis: 'x', confidence })).confidence;
    expect(at(1.7)).toBe(1);
    expect(at(85)).toBe(1);
    expect(at(-0.3)).toBe(0);
    expect(at('0.7')).toBe(0.7);
    expect(at('high')).toBe(0.5);
    expect(at(undefined)).toBe(0.5);
  });

  it('drops actions whose type is not a known action, and says why', () => {
    const parsed = parseModelAnswer(
      JSON.stringify({
        analysis: 'x',
        actions: [
          { action: 'RollbackDeployment', params: { toRevision: '1' } },
          { action: 'DeleteNamespace', params: { namespace: 'prod' } },
          { action: 'rollbackdeployment' },
          { params: { a: '1' } },
          'restart it',
          { action: 'RestartDeployment', params: { nested: { not: 'allowed' } } },
        ],
      }),
    );
    expect(parsed.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
    expect(parsed.refused.map((r) => [r.code, r.action?.type])).toEqual([
      ['parser.unknown_action_type', 'DeleteNamespace'],
      ['parser.unknown_action_type', 'rollbackdeployment'],
      ['parser.unknown_action_type', undefined],
      ['parser.malformed_action', undefined],
      ['parser.malformed_action', 'RestartDeployment'],
    ]);
    expect(parsed.refused[0]).toEqual({
      action: { type: 'DeleteNamespace', params: { namespace: 'prod' } },
      code: 'parser.unknown_action_type',
      reason: 'unknown action type: DeleteNamespace',
    });
    expect(parsed.refused[4]?.reason).toContain('nested');
  });

  it('refuses an action nested 100,000 levels deep as malformed, without overflowing the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const parsed = parseModelAnswer(
      `{"analysis":"deep","confidence":0.9,"actions":[{"name":"x","type":"DrainNode","params":{"node":${deep}}}]}`,
    );
    expect(parsed.suggestedActions).toEqual([]);
    expect(parsed.refused).toEqual([
      {
        action: { type: 'DrainNode', params: {} },
        code: 'parser.malformed_action',
        reason: 'malformed action: (a value nested too deeply to show)',
      },
    ]);
  });

  it('records an answer that is not JSON as a refusal of the whole answer, and an empty one too', () => {
    expect(parseModelAnswer('Just delete the namespace, trust me.').refused).toEqual([
      {
        code: 'parser.unstructured_answer',
        reason: 'the answer was not the expected JSON: its text became the analysis and no action was taken from it',
      },
    ]);
    expect(parseModelAnswer('  ').refused[0]?.reason).toBe('the answer was empty: no action was taken from it');
  });

  it('lists the first refusals of a flood one by one and counts the rest in one entry', () => {
    const parsed = parseModelAnswer(
      JSON.stringify({
        analysis: 'x',
        actions: Array.from({ length: 5_000 }, (_, i) => ({ action: `Wipe${i}`, params: { all: 'yes' } })),
      }),
    );
    expect(parsed.refused).toHaveLength(MAX_LISTED_REFUSALS + 1);
    expect(parsed.refused.at(-1)).toEqual({
      code: 'parser.too_many_actions',
      reason: `${5_000 - MAX_LISTED_REFUSALS} more unusable proposals, not listed one by one`,
    });
    const result = toAnalysisResult(parsed, 'openai', 'm');
    expect(result.refusedProposals).toHaveLength(MAX_LISTED_REFUSALS + 1);
    expect(() => assertAnalysisResult('openai', result)).not.toThrow();
  });

  it('cuts an action refused later (not offered) to the record too, however many parameters it has', () => {
    const params = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, 'v'.repeat(5_000)]));
    const parsed = parseModelAnswer(JSON.stringify({ analysis: 'x', actions: [{ action: 'Custom', params }] }));
    const notOffered = {
      action: { type: 'Custom', params: parsed.suggestedActions[0]!.params },
      code: 'offered.x',
      reason: 'r',
    };
    const result = toAnalysisResult({ ...parsed, suggestedActions: [], refused: [notOffered] }, 'openai', 'm');
    expect(Object.keys(result.refusedProposals?.[0]?.action?.params ?? {})).toHaveLength(32);
    expect(() => assertAnalysisResult('openai', result)).not.toThrow();
  });

  it('cuts a refused proposal with huge or many parameters to what the record holds', () => {
    const params = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${i}${'k'.repeat(300)}`, 'v']));
    const parsed = parseModelAnswer(JSON.stringify({ analysis: 'x', actions: [{ action: 'Nuke', params }] }));
    const result = toAnalysisResult(parsed, 'openai', 'm');
    expect(Object.keys(result.refusedProposals?.[0]?.action?.params ?? {})).toHaveLength(32);
    expect(() => assertAnalysisResult('openai', result)).not.toThrow();
  });

  it('keeps only string recommendations and bounds the lists', () => {
    const parsed = parseModelAnswer(
      JSON.stringify({
        analysis: 'x',
        recommendations: ['a', 3, null, '', 'b', ...Array.from({ length: 60 }, (_, i) => `r${i}`)],
        actions: Array.from({ length: 60 }, () => ({ action: 'RestartDeployment' })),
      }),
    );
    expect(parsed.recommendations.slice(0, 2)).toEqual(['a', 'b']);
    expect(parsed.recommendations).toHaveLength(50);
    expect(parsed.suggestedActions).toHaveLength(50);
  });

  it('bounds long text to what the AnalysisCompleted event accepts', () => {
    const parsed = parseModelAnswer(
      JSON.stringify({ analysis: 'a'.repeat(30_000), recommendations: ['r'.repeat(5_000)] }),
    );
    expect(parsed.analysis.length).toBe(20_000);
    expect(parsed.recommendations[0]?.length).toBe(2_048);
    expect(parseModelAnswer('z'.repeat(30_000)).analysis.length).toBe(20_000);
  });

  it('becomes an AnalysisResult with the provider and model', () => {
    const result = toAnalysisResult(parseModelAnswer(JSON.stringify(answer)), 'openai', 'gpt-x');
    expect(result.provider).toBe('openai');
    expect(result.model).toBe('gpt-x');
    expect(result.suggestedActions[0]?.type).toBe('RollbackDeployment');
  });
});

describe('clampConfidence', () => {
  it('maps anything unusable to 0.5', () => {
    expect(clampConfidence(Number.NaN)).toBe(0.5);
    expect(clampConfidence(Number.POSITIVE_INFINITY)).toBe(0.5);
    expect(clampConfidence({})).toBe(0.5);
    expect(clampConfidence(0)).toBe(0);
    expect(clampConfidence(1)).toBe(1);
  });
});
