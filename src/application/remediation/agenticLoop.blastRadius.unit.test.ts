import { describe, expect, it } from 'vitest';
import type { ActionBlastRadius } from '../../../domain/events/remediation.events.ts';
import type { RemediationCommand } from '../../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../../domain/remediation/remediation.decider.ts';
import { planResource } from '../../../projections/kubernetesResources.projection.ts';
import { healthyFacts } from '../../../test/fixtures/analysis.fixtures.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { AgenticDecision, type AgenticProvider } from '../../analysis/agentic.ts';
import { createCommandHandler } from '../commandHandler.ts';
import { createAgenticLoop } from './agenticLoop.ts';

/* An agentic step records the blast radius of the action it decides; the RemediationPlan adds it to the plan's. */

const target = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();

const restarting: AgenticProvider = {
  name: 'test',
  agenticStep: async () => ({
    decision: AgenticDecision.Action,
    reasoning: 'the pods are wedged',
    confidence: 0.7,
    provider: 'test',
    model: 'm',
    action: { name: 'restart', type: 'RestartDeployment', description: 'restart', params: {} },
  }),
};

const radius = (actionId: string): ActionBlastRadius => ({
  actionId,
  type: 'RestartDeployment',
  pods: 3,
  pdbViolations: [],
  servicesEmptied: [],
  quotaOverflows: [{ namespace: 'shop', name: 'compute', resource: 'pods', used: 10, added: 1, hard: 10 }],
});

async function decideStep(assess?: (action: { actionId: string }) => Promise<ActionBlastRadius | undefined>) {
  const store = openEventStore('memory:');
  const send = (s: number, command: Omit<RemediationCommand, 'metadata'>) =>
    createCommandHandler(store, remediationDecider)('remediation-ag1', {
      ...command,
      metadata: { occurredAt: at(s), actor: 'system:test' },
    } as RemediationCommand);
  await send(0, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId: 'ag1',
      issueId: 'iss-ag',
      attempt: 1,
      source: 'agentic',
      target,
      actions: [],
      agentic: { maxSteps: 3, timeLimitSeconds: 600 },
      blastRadius: { actions: [], dependants: [{ kind: 'Deployment', name: 'checkout', namespace: 'shop' }] },
    },
  });
  await send(1, { type: 'StartSnapshot', data: { snapshotId: 's1' } });
  await send(2, { type: 'RecordSnapshot', data: { snapshotId: 's1', captured: {} } });
  const state = (await store.readStream('remediation-ag1')).reduce(
    remediationDecider.evolve as never,
    remediationDecider.initialState(),
  );
  const loop = createAgenticLoop({
    store,
    provider: restarting,
    context: async () => ({ text: 'ctx', facts: healthyFacts() }),
    availableActions: () => [{ type: 'RestartDeployment', description: 'restart', destructive: false, params: {} }],
    ...(assess ? { assess: (action) => assess(action) } : {}),
    settleMs: 0,
  });
  const command = await loop.decide('remediation-ag1', state, 1, at(3));
  await send(3, command as Omit<RemediationCommand, 'metadata'>);
  return store;
}

describe('an agentic step', () => {
  it('records the blast radius of its action, and the RemediationPlan shows it with the plan’s dependants', async () => {
    const store = await decideStep(async (action) => radius(action.actionId));
    const history = await store.readStream('remediation-ag1');
    const decided = history.find((e) => e.type === 'AgenticStepDecided');
    expect((decided!.data as { blastRadius?: unknown }).blastRadius).toEqual(radius('step-1-restartdeployment'));
    const plan = planResource(history, 'Executing', { name: 'web-iss-ag', uid: 'u' }, 'cairn')!;
    expect(plan.status.blastRadius).toMatchObject({
      pods: 3,
      quotaOverflows: 1,
      dependants: 1,
      actions: [{ actionId: 'step-1-restartdeployment', type: 'RestartDeployment', pods: 3 }],
    });
  });

  it('is decided all the same when the cluster cannot be read; it records no numbers then', async () => {
    const store = await decideStep(async () => {
      throw new Error('pods are forbidden');
    });
    const decided = (await store.readStream('remediation-ag1')).find((e) => e.type === 'AgenticStepDecided');
    expect(decided?.data).toMatchObject({ action: { type: 'RestartDeployment' } });
    expect(Object.hasOwn(decided!.data as object, 'blastRadius')).toBe(false);
  });

  it('may not carry the blast radius of another action', () => {
    const state = remediationDecider.initialState();
    expect(() =>
      remediationDecider.decide(
        {
          type: 'DecideAgenticStep',
          data: {
            step: 1,
            reasoning: 'r',
            resolved: false,
            action: { actionId: 'step-1-restartdeployment', type: 'RestartDeployment', params: {} },
            blastRadius: radius('step-9-deletepod'),
          },
          metadata: { occurredAt: at(0), actor: 'system:test' },
        },
        {
          ...state,
          status: 'Executing' as never,
          source: 'agentic',
          agentic: { maxSteps: 3, timeLimitSeconds: 600, deadline: null, steps: [] },
        },
      ),
    ).toThrow("step 1's blast radius is for action step-9-deletepod, not the step's own");
  });
});
