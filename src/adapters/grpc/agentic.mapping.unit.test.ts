import { describe, expect, it } from 'vitest';
import { agenticStepRequest } from '../../../test/fixtures/analysis.fixtures.ts';
import { type AgenticStepResult, createRulesAgenticProvider } from '../../analysis/agentic.ts';
import {
  agenticRequestFromWire,
  agenticRequestToWire,
  agenticResultFromWire,
  agenticResultToWire,
} from './agentic.mapping.ts';
import { AIOpsService, type WireAgenticStepRequest, type WireAgenticStepResponse } from './aiops.proto.ts';

const method = AIOpsService.AgenticStep!;
const requestOverWire = (value: WireAgenticStepRequest) =>
  method.requestDeserialize(method.requestSerialize(value)) as WireAgenticStepRequest;
const responseOverWire = (value: WireAgenticStepResponse) =>
  method.responseDeserialize(method.responseSerialize(value)) as WireAgenticStepResponse;

const request = agenticStepRequest();

describe('AgenticStep mapping', () => {
  it('brings the insight, history, budget and available actions across the wire unchanged', () => {
    const wire = requestOverWire(agenticRequestToWire(request));
    expect(agenticRequestFromWire(wire)).toEqual(request);
    expect(wire).toMatchObject({ currentStep: 3, maxSteps: 5, remainingSteps: 2, analysis: 'revision 2 crash-loops' });
  });

  it('gives the rules provider the same step on the server as in the operator', async () => {
    const rules = createRulesAgenticProvider();
    const onServer = await rules.agenticStep(agenticRequestFromWire(requestOverWire(agenticRequestToWire(request))));
    expect(onServer).toEqual(await rules.agenticStep(request));
  });

  it.each<AgenticStepResult>([
    {
      decision: 'action',
      reasoning: 'roll back',
      confidence: 0.8,
      provider: 'rules',
      model: 'm',
      action: { name: 'rollback', type: 'RollbackDeployment', description: 'to 1', params: { toRevision: '1' } },
    },
    { decision: 'observe', reasoning: 'wait', confidence: 0.5, provider: 'rules', model: 'm' },
    { decision: 'give-up', reasoning: 'nothing left', confidence: 0.25, provider: 'rules', model: 'm' },
    {
      decision: 'observe',
      reasoning: 'drain it (not offered: observing instead.)',
      confidence: 0.5,
      provider: 'openai',
      model: 'm',
      refused: {
        action: { type: 'DrainNode', params: { node: 'w1' } },
        code: 'offered.not_offered',
        reason: 'DrainNode is not among the available actions',
      },
    },
    {
      decision: 'resolved',
      reasoning: 'healthy',
      confidence: 0.9,
      provider: 'rules',
      model: 'm',
      conclusion: { summary: 's', rootCause: 'r', impact: 'i', lessonsLearned: ['l'], preventionActions: ['p'] },
    },
  ])('round-trips a $decision step', (result) => {
    expect(agenticResultFromWire(responseOverWire(agenticResultToWire(result)), 'ai:1')).toEqual(result);
  });

  it("reads a reference server's answer, which has no decision field", () => {
    const wire = agenticResultToWire({
      decision: 'observe',
      reasoning: 'wait',
      confidence: 0.5,
      provider: 'p',
      model: 'm',
    });
    expect(agenticResultFromWire({ ...wire, decision: '' }, 'ai:1').decision).toBe('observe');
    expect(
      agenticResultFromWire(
        { ...wire, decision: '', nextAction: { name: 'r', action: 'RestartDeployment', description: '', params: {} } },
        'ai:1',
      ).decision,
    ).toBe('action');
  });

  it('refuses a malformed step request, naming the field', () => {
    const wire = requestOverWire(agenticRequestToWire(request));
    expect(() => agenticRequestFromWire({ ...wire, remediationId: '' })).toThrow(/^remediationId: /);
    expect(() => agenticRequestFromWire({ ...wire, currentStep: 0 })).toThrow(/^currentStep: /);
    expect(() => agenticRequestFromWire({ ...wire, history: [{ ...wire.history[0]!, outcome: 'exploded' }] })).toThrow(
      /^history\.0\.outcome: must be one of succeeded, failed, refused/,
    );
  });

  it('refuses an answer the loop could not record', () => {
    const wire = agenticResultToWire({
      decision: 'observe',
      reasoning: 'wait',
      confidence: 0.5,
      provider: 'p',
      model: 'm',
    });
    expect(() => agenticResultFromWire({ ...wire, reasoning: '' }, 'ai:1')).toThrow(/AI server ai:1/);
  });
});
