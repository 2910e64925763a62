import { describe, expect, it } from 'vitest';
import type { ActionSpec, ResourceRef } from '../../../domain/events/common.schema.ts';
import type { RemediationCommand } from '../../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../../domain/remediation/remediation.decider.ts';
import { healthyFacts } from '../../../test/fixtures/analysis.fixtures.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import {
  AgenticDecision,
  type AgenticProvider,
  type AgenticStepRequest,
  type AgenticStepResult,
  createRulesAgenticProvider,
} from '../../analysis/agentic.ts';
import type { WorkloadFacts } from '../../analysis/workloadFacts.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';
import { agenticHistory, createAgenticLoop } from './agenticLoop.ts';
import { ApprovalState, createApprovalService } from './approvals.ts';
import { approvalRequestId, createRemediationExecutor, type RemediationEffects } from './remediationExecutor.ts';

const target: ResourceRef = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const START = Date.parse('2030-01-01T00:00:00.000Z');

/** A cluster stand-in: counts what ran, refuses what the test says, and turns healthy after `healAfter` runs. */
function fakeCluster(options: { refuse?: string[]; healAfter?: number; failTypes?: string[] } = {}) {
  const ran: ActionSpec[] = [];
  const restored: unknown[] = [];
  const sick: WorkloadFacts = healthyFacts({
    replicas: { desired: 3, ready: 2, available: 2, updated: 3 },
    pods: [
      { name: 'web-a', phase: 'Running', ready: false, restarts: 0, reasons: [], oomKilledContainers: [] },
      { name: 'web-b', phase: 'Running', ready: true, restarts: 0, reasons: [], oomKilledContainers: [] },
    ],
    podCount: 3,
    notReadyPods: 1,
  });
  const healthy = () => ran.length >= (options.healAfter ?? Number.POSITIVE_INFINITY);
  const effects: RemediationEffects = {
    snapshot: async () => ({ captured: { replicas: 3 } }),
    restore: async (_t, captured) => {
      restored.push(captured);
      return 'restored';
    },
    admit: async (action) =>
      options.refuse?.includes(action.type) ? { policy: 'policy.blast_radius', reason: 'too many pods' } : null,
    run: async (action) => {
      ran.push(action);
      if (options.failTypes?.includes(action.type)) throw new Error(`${action.type} exploded`);
      return `${action.type} done`;
    },
    wasApplied: async () => true,
    verify: async () => ({ healthy: healthy(), detail: healthy() ? 'ready' : 'not ready' }),
  };
  const context = async () => ({ text: 'ctx', facts: healthy() ? healthyFacts() : sick });
  return { ran, restored, effects, context };
}

function harness(
  store: EventStore,
  cluster: ReturnType<typeof fakeCluster>,
  provider: AgenticProvider,
  clock = { now: START },
) {
  const loop = createAgenticLoop({
    store,
    provider,
    context: cluster.context,
    availableActions: () =>
      ['DeletePod', 'RestartDeployment', 'RollbackDeployment'].map((type) => ({
        type,
        description: type,
        destructive: type === 'DeletePod',
        params: {},
      })),
    settleMs: 0,
  });
  const now = () => {
    clock.now += 1000;
    return new Date(clock.now);
  };
  return createRemediationExecutor({
    store,
    effects: cluster.effects,
    now,
    newId: () => 'x',
    signalsOf: async () => ['pod_not_ready'],
    pollIntervalMs: 1,
    agentic: loop,
  });
}

async function createPlan(
  store: EventStore,
  data: Partial<Extract<RemediationCommand, { type: 'CreateRemediationPlan' }>['data']> = {},
) {
  const decide = createCommandHandler(store, remediationDecider);
  await decide('remediation-r1', {
    type: 'CreateRemediationPlan',
    data: {
      remediationId: 'r1',
      issueId: 'i1',
      attempt: 1,
      source: 'agentic',
      target,
      actions: [],
      agentic: { maxSteps: 10, timeLimitSeconds: 600 },
      ...data,
    },
    metadata: { occurredAt: new Date(START).toISOString() },
  } as RemediationCommand);
}

const scripted = (
  ...answers: Omit<AgenticStepResult, 'provider' | 'model' | 'confidence'>[]
): AgenticProvider & {
  requests: AgenticStepRequest[];
} => {
  const requests: AgenticStepRequest[] = [];
  return {
    name: 'scripted',
    requests,
    agenticStep: async (request) => {
      requests.push(request);
      const answer = answers[Math.min(requests.length - 1, answers.length - 1)];
      return { confidence: 0.5, provider: 'scripted', model: 'm', ...answer } as AgenticStepResult;
    },
  };
};
const act = (type: string, params: Record<string, string> = {}) => ({
  decision: AgenticDecision.Action,
  reasoning: `try ${type}`,
  action: { name: type, type, description: type, params },
});
const resolved = {
  decision: AgenticDecision.Resolved,
  reasoning: 'healthy',
  conclusion: { summary: 's', rootCause: 'r', impact: 'i', lessonsLearned: [], preventionActions: [] },
};

describe('agentic loop', () => {
  it('runs one step per reconcile, records a refused action without running it, and completes after verification', async () => {
    const store = openEventStore('memory:');
    const cluster = fakeCluster({ refuse: ['RestartDeployment'], healAfter: 1 });
    const provider = scripted(act('RestartDeployment'), act('DeletePod', { pod: 'web-a' }), resolved);
    await createPlan(store);
    const state = await harness(store, cluster, provider)('remediation-r1');

    expect(state.status).toBe('Completed');
    expect(cluster.ran.map((a) => a.type)).toEqual(['DeletePod']);
    const events = await store.readStream('remediation-r1');
    expect(events.map((e) => e.type)).toEqual([
      'RemediationPlanCreated',
      'SnapshotStarted',
      'SnapshotTaken',
      'AgenticStepDecided',
      'ActionRefusedByPolicy',
      'AgenticStepObserved',
      'AgenticStepDecided',
      'ActionStarted',
      'ActionSucceeded',
      'AgenticStepObserved',
      'AgenticStepDecided',
      'VerificationStarted',
      'VerificationPassed',
      'RemediationCompleted',
    ]);
    // Each step saw the history so far, with outcomes and observations.
    expect(provider.requests[1]?.history).toEqual([
      expect.objectContaining({
        step: 1,
        action: { type: 'RestartDeployment', params: {}, description: 'RestartDeployment' },
        outcome: 'refused',
        result: 'refused by policy.blast_radius: too many pods',
        observation: expect.stringContaining('Still: 1 pod(s) are not ready'),
      }),
    ]);
    expect(provider.requests[2]?.budget).toMatchObject({ step: 3, maxSteps: 10, remainingSteps: 7 });
  });

  it('stops when the step budget is spent, and rolls back to the snapshot', async () => {
    const store = openEventStore('memory:');
    const cluster = fakeCluster();
    await createPlan(store, { agentic: { maxSteps: 3, timeLimitSeconds: 600 } });
    const state = await harness(
      store,
      cluster,
      scripted({ decision: AgenticDecision.Observe, reasoning: 'wait' }),
    )('remediation-r1');
    expect(state.status).toBe('RolledBack');
    expect(state.rollback?.trigger).toBe('agentic_step_budget_exhausted');
    expect(state.agentic?.steps).toHaveLength(3);
    expect(cluster.restored).toEqual([{ replicas: 3 }]);
  });

  it('stops when the time limit is spent', async () => {
    const store = openEventStore('memory:');
    const cluster = fakeCluster();
    await createPlan(store, { agentic: { maxSteps: 10, timeLimitSeconds: 5 } });
    const state = await harness(
      store,
      cluster,
      scripted({ decision: AgenticDecision.Observe, reasoning: 'wait' }),
    )('remediation-r1');
    expect(state.status).toBe('RolledBack');
    expect(state.rollback?.trigger).toBe('agentic_deadline_exceeded');
    expect(state.agentic?.steps.length).toBeLessThan(10);
  });

  it('rolls back at once when the rules provider has nothing left to try', async () => {
    const store = openEventStore('memory:');
    const cluster = fakeCluster({ failTypes: ['DeletePod', 'RestartDeployment'] });
    await createPlan(store);
    const state = await harness(store, cluster, createRulesAgenticProvider())('remediation-r1');
    expect(state.status).toBe('RolledBack');
    expect(state.rollback?.trigger).toBe('agentic_gave_up');
    // Each candidate tried once: a failed action is never proposed again.
    expect(cluster.ran.map((a) => a.type)).toEqual(['DeletePod', 'RestartDeployment']);
  });

  it('after a crash between start and outcome, reconciles the step from the cluster instead of running it again', async () => {
    const store = openEventStore('memory:');
    await createPlan(store);
    const decide = createCommandHandler(store, remediationDecider);
    const send = (command: Omit<RemediationCommand, 'metadata'>, second: number) =>
      decide('remediation-r1', {
        ...command,
        metadata: { occurredAt: new Date(START + second * 1000).toISOString() },
      } as RemediationCommand);
    await send({ type: 'StartSnapshot', data: { snapshotId: 's' } }, 1);
    await send({ type: 'RecordSnapshot', data: { snapshotId: 's', captured: {} } }, 2);
    const del: ActionSpec = { actionId: 'step-1-deletepod', type: 'DeletePod', params: { pod: 'web-a' } };
    await send({ type: 'DecideAgenticStep', data: { step: 1, reasoning: 'r', resolved: false, action: del } }, 3);
    await send({ type: 'StartAction', data: { actionId: del.actionId } }, 4);
    // The process died here. The cluster shows the pod replaced (wasApplied), and is healthy now.
    const cluster = fakeCluster({ healAfter: 0 });
    const state = await harness(store, cluster, scripted(resolved), { now: START + 10_000 })('remediation-r1');
    expect(cluster.ran).toEqual([]);
    expect(state.status).toBe('Completed');
    expect(agenticHistory(await store.readStream('remediation-r1'))[0]).toMatchObject({
      outcome: 'succeeded',
      result: 'found applied after a restart',
    });
  });
});

describe('approvals in execution', () => {
  const plan = { source: 'ai-runbook' as const, actions: [{ actionId: 'a1', type: 'RestartDeployment', params: {} }] };

  const setup = async (requiredApprovals: number, timeoutSeconds = 3600) => {
    const store = openEventStore('memory:');
    const cluster = fakeCluster({ healAfter: 1 });
    const clock = { now: START };
    await createPlan(store, {
      ...plan,
      agentic: undefined,
      approval: { required: true, requiredApprovals, timeoutSeconds },
    });
    const execute = harness(store, cluster, scripted(resolved), clock);
    const approvals = createApprovalService({ store, now: () => new Date(clock.now), sweepMs: 60_000 });
    approvals.start();
    return { store, cluster, clock, execute, approvals };
  };

  it('waits for a quorum of distinct approvers, then runs', async () => {
    const { cluster, execute, approvals } = await setup(2);
    expect((await execute('remediation-r1')).status).toBe('WaitingApproval');
    const requestId = approvalRequestId('r1');
    await expect.poll(async () => (await approvals.listPending()).map((v) => v.requestId)).toEqual([requestId]);

    expect(await approvals.approve(requestId, 'alice')).toMatchObject({ state: 'Pending', approvals: 1 });
    await expect(approvals.approve(requestId, 'alice')).rejects.toMatchObject({
      code: 'remediation.duplicate_approver',
    });
    expect((await execute('remediation-r1')).status).toBe('WaitingApproval');
    expect(cluster.ran).toEqual([]);

    const view = await approvals.approve(requestId, 'bob');
    expect(view).toMatchObject({ state: ApprovalState.Approved, approvals: 2 });
    expect(view.decisions.map((d) => d.approver)).toEqual(['alice', 'bob']);
    expect((await execute('remediation-r1')).status).toBe('Completed');
    expect(cluster.ran.map((a) => a.type)).toEqual(['RestartDeployment']);
    await expect.poll(async () => (await approvals.listPending()).length).toBe(0);
    await approvals.stop();
  });

  it('never runs a refused plan, and records who refused it and why', async () => {
    const { cluster, execute, approvals } = await setup(1);
    await execute('remediation-r1');
    const view = await approvals.reject(approvalRequestId('r1'), 'carol', 'not during the sale');
    expect(view).toMatchObject({
      state: 'Rejected',
      decisions: [{ approver: 'carol', reason: 'not during the sale' }],
    });
    expect((await execute('remediation-r1')).status).toBe('Failed');
    expect(cluster.ran).toEqual([]);
    await expect(approvals.approve(approvalRequestId('r1'), 'dave')).rejects.toMatchObject({
      code: 'remediation.already_failed',
    });
    await approvals.stop();
  });

  it('expires a request nobody decided in time: the plan fails without running', async () => {
    const { cluster, clock, execute, approvals } = await setup(1, 60);
    await execute('remediation-r1');
    await expect.poll(async () => (await approvals.listPending()).length).toBe(1);
    expect(await approvals.expireDue()).toBe(0);
    clock.now += 61_000;
    expect(await approvals.expireDue()).toBe(1);
    expect(await approvals.get(approvalRequestId('r1'))).toMatchObject({ state: 'Expired' });
    expect((await execute('remediation-r1')).status).toBe('Failed');
    expect(cluster.ran).toEqual([]);
    await approvals.stop();
  });

  it('refuses an anonymous approver and an unknown request', async () => {
    const { approvals } = await setup(1);
    await expect(approvals.approve(approvalRequestId('r1'), ' ')).rejects.toMatchObject({
      code: 'approval.invalid_approver',
    });
    await expect(approvals.get('nope')).rejects.toMatchObject({ code: 'approval.not_found' });
    await expect(approvals.get('r2-approval')).rejects.toMatchObject({ code: 'approval.not_found' });
    await approvals.stop();
  });
});
