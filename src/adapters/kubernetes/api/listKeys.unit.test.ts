import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aiInsightKind } from './aiInsight.kind.ts';
import { issueKind } from './issue.kind.ts';
import { withUniqueListKeys } from './listKeys.ts';

describe('withUniqueListKeys', () => {
  it('keeps one entry of a set list (an Issue naming one Anomaly twice) and leaves the rest of the spec alone', () => {
    const spec = {
      resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
      signal: 'error_rate',
      signals: ['error_rate', 'oom_kill', 'error_rate'],
      anomalies: ['checkout-error-rate-alert-1a', 'checkout-error-rate-alert-1a'],
      riskScore: 55,
    };
    expect(withUniqueListKeys(issueKind.spec, spec)).toEqual({
      ...spec,
      signals: ['error_rate', 'oom_kill'],
      anomalies: ['checkout-error-rate-alert-1a'],
    });
  });

  it('keeps one condition per type: the first place, the last value', () => {
    const status = {
      state: 'Resolved',
      conditions: [
        { type: 'Open', status: 'True', reason: 'Detected' },
        { type: 'AnalysisWaiting', status: 'True', reason: 'ServerUnreachable' },
        { type: 'Open', status: 'False', reason: 'Resolved' },
      ],
    };
    expect(withUniqueListKeys(issueKind.status!, status).conditions).toEqual([
      { type: 'Open', status: 'False', reason: 'Resolved' },
      { type: 'AnalysisWaiting', status: 'True', reason: 'ServerUnreachable' },
    ]);
  });

  it('reaches lists keyed inside lists and leaves a list that repeats nothing as it was', () => {
    const status = {
      phase: 'Completed',
      suggestedActions: [
        { name: '1-restartdeployment', action: 'RestartDeployment', params: {} },
        { name: '1-restartdeployment', action: 'RestartDeployment', params: { reason: 'again' } },
      ],
      recommendations: ['restart', 'restart'],
    };
    const written = withUniqueListKeys(aiInsightKind.status!, status);
    expect(written.suggestedActions).toEqual([
      { name: '1-restartdeployment', action: 'RestartDeployment', params: { reason: 'again' } },
    ]);
    // A plain (atomic) list may repeat: the API server takes it whole.
    expect(written.recommendations).toEqual(['restart', 'restart']);
  });

  it('never leaves a repeated key in any set or map list of an Issue status or spec (property)', () => {
    const name = fc.constantFrom('a', 'b', 'c');
    fc.assert(
      fc.property(
        fc.array(name, { maxLength: 12 }),
        fc.array(fc.record({ type: name, status: fc.constantFrom('True', 'False') }), { maxLength: 12 }),
        (anomalies, conditions) => {
          const spec = withUniqueListKeys(issueKind.spec, { anomalies });
          const status = withUniqueListKeys(issueKind.status!, { conditions });
          expect(new Set(spec.anomalies).size).toBe(spec.anomalies.length);
          expect(spec.anomalies).toEqual([...new Set(anomalies)]);
          const types = status.conditions.map((c) => c.type);
          expect(new Set(types).size).toBe(types.length);
          expect(new Set(types)).toEqual(new Set(conditions.map((c) => c.type)));
        },
      ),
    );
  });
});
