import { describe, expect, it } from 'vitest';
import type { ActionSpec } from '../events/common.schema.ts';
import { deciderSpec, metaAt, minutesAfterBase } from '../testing/decider.spec.ts';
import type { RemediationCommand } from './remediation.commands.ts';
import { remediationDecider } from './remediation.decider.ts';
import { nextStep } from './remediation.progress.ts';

const spec = deciderSpec(remediationDecider);
const a1: ActionSpec = { actionId: 'a1', type: 'AdjustResources', params: { memory_limit: '512Mi' } };
const a2: ActionSpec = { actionId: 'a2', type: 'RestartDeployment', params: {} };
const probe: ActionSpec = { actionId: 's1', type: 'ScaleDeployment', params: { replicas: '4' } };

const cmd = <T extends RemediationCommand['type']>(
  type: T,
  data: Extract<RemediationCommand, { type: T }>['data'],
  minute = 0,
) => ({ type, data, metadata: metaAt(minute, 'system:executor') }) as Extract<RemediationCommand, { type: T }>;
const plan = (overrides: Record<string, unknown> = {}) =>
  cmd('CreateRemediationPlan', {
    remediationId: 'rem-1',
    issueId: 'iss-1',
    attempt: 1,
    source: 'manual-runbook',
    target: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
    actions: [a1, a2],
    ...overrides,
  });
const agenticPlan = plan({ source: 'agentic', actions: [] });
const ready = [
  cmd('StartSnapshot', { snapshotId: 'snap-1' }),
  cmd('RecordSnapshot', { snapshotId: 'snap-1', captured: {} }),
];
const stateAfter = (...commands: RemediationCommand[]) => spec.given(...spec.history(...commands)).state();
const at = (minute: number) => minutesAfterBase(minute);

describe('nextStep: what the executor does next, from the state alone', () => {
  it('snapshots a plan that needs no approval, and asks for approval otherwise', () => {
    expect(nextStep(stateAfter(plan()), at(0))).toEqual({ kind: 'start-snapshot' });
    expect(nextStep(stateAfter(plan({ approval: { required: true } })), at(0))).toEqual({ kind: 'request-approval' });
  });

  it('waits for approval until the request expires, then expires it', () => {
    const state = stateAfter(
      plan({ approval: { required: true, timeoutSeconds: 600 } }),
      cmd('RequestApproval', { requestId: 'apr-1' }),
    );
    expect(nextStep(state, at(9))).toEqual({ kind: 'await-approval', expiresAt: at(10) });
    expect(nextStep(state, at(10))).toEqual({ kind: 'expire-approval', requestId: 'apr-1' });
  });

  it('snapshots once approved', () => {
    const state = stateAfter(
      plan({ approval: { required: true } }),
      cmd('RequestApproval', { requestId: 'apr-1' }),
      cmd('GrantApproval', { requestId: 'apr-1', approver: 'alice' }),
    );
    expect(nextStep(state, at(1))).toEqual({ kind: 'start-snapshot' });
    expect(nextStep(stateAfter(plan(), ready[0]!), at(1))).toEqual({ kind: 'take-snapshot', snapshotId: 'snap-1' });
  });

  it('runs the actions in order and never offers a completed one again', () => {
    expect(nextStep(stateAfter(plan(), ...ready), at(1))).toEqual({ kind: 'start-action', action: a1 });
    const afterFirst = stateAfter(
      plan(),
      ...ready,
      cmd('StartAction', { actionId: 'a1' }),
      cmd('RecordActionSucceeded', { actionId: 'a1', result: 'ok' }),
    );
    expect(nextStep(afterFirst, at(1))).toEqual({ kind: 'start-action', action: a2 });
  });

  it('after a restart mid-action, reconciles the running action instead of starting it again', () => {
    const crashed = stateAfter(plan(), ...ready, cmd('StartAction', { actionId: 'a1' }));
    expect(nextStep(crashed, at(5))).toEqual({ kind: 'reconcile-action', action: a1 });
  });

  it('verifies once all actions succeeded, and fails verification past its deadline', () => {
    const done = [
      plan({ verificationTimeoutSeconds: 60 }),
      ...ready,
      cmd('StartAction', { actionId: 'a1' }),
      cmd('RecordActionSucceeded', { actionId: 'a1', result: 'ok' }),
      cmd('StartAction', { actionId: 'a2' }),
      cmd('RecordActionSucceeded', { actionId: 'a2', result: 'ok' }),
    ];
    expect(nextStep(stateAfter(...done), at(1))).toEqual({ kind: 'start-verification' });
    const verifying = stateAfter(...done, cmd('StartVerification', {}, 2));
    expect(nextStep(verifying, at(2.5))).toEqual({ kind: 'verify', deadline: at(3) });
    expect(nextStep(verifying, at(3))).toEqual({ kind: 'fail-verification' });
  });

  it('rolls back while RollingBack, and has nothing to do once finished', () => {
    const rollingBack = [
      plan(),
      ...ready,
      cmd('StartAction', { actionId: 'a1' }),
      cmd('RecordActionFailed', { actionId: 'a1', error: 'x' }),
    ];
    expect(nextStep(stateAfter(...rollingBack), at(1))).toEqual({ kind: 'roll-back', snapshotId: 'snap-1' });
    expect(nextStep(stateAfter(...rollingBack, cmd('CompleteRollback', { detail: 'ok' })), at(1))).toEqual({
      kind: 'none',
    });
    expect(nextStep(remediationDecider.initialState(), at(1))).toEqual({ kind: 'none' });
  });

  describe('agentic', () => {
    const decide = (step: number, action?: ActionSpec, minute = 1) =>
      cmd('DecideAgenticStep', { step, reasoning: 'r', resolved: false, action }, minute);
    const observe = (step: number, minute = 1) => cmd('ObserveAgenticStep', { step, observation: 'o' }, minute);

    it('asks the AI, runs the action it chose, observes, and asks again', () => {
      expect(nextStep(stateAfter(agenticPlan, ...ready), at(1))).toEqual({ kind: 'decide-agentic-step', step: 1 });
      expect(nextStep(stateAfter(agenticPlan, ...ready, decide(1, probe)), at(1))).toEqual({
        kind: 'start-action',
        action: probe,
      });
      const ran = [
        agenticPlan,
        ...ready,
        decide(1, probe),
        cmd('StartAction', { actionId: 's1' }),
        cmd('RecordActionSucceeded', { actionId: 's1', result: 'ok' }),
      ];
      expect(nextStep(stateAfter(...ran), at(1))).toEqual({ kind: 'observe-agentic-step', step: 1 });
      expect(nextStep(stateAfter(...ran, observe(1)), at(1))).toEqual({ kind: 'decide-agentic-step', step: 2 });
      expect(nextStep(stateAfter(agenticPlan, ...ready, decide(1)), at(1))).toEqual({
        kind: 'observe-agentic-step',
        step: 1,
      });
    });

    it('verifies once resolved', () => {
      const resolved = cmd('DecideAgenticStep', { step: 1, reasoning: 'ok', resolved: true }, 1);
      expect(nextStep(stateAfter(agenticPlan, ...ready, resolved), at(1))).toEqual({ kind: 'start-verification' });
    });

    it('stops the loop when the budget or the deadline is spent', () => {
      const small = plan({ source: 'agentic', actions: [], agentic: { maxSteps: 1, timeLimitSeconds: 120 } });
      expect(nextStep(stateAfter(small, ...ready, decide(1), observe(1)), at(1))).toEqual({
        kind: 'stop-agentic-loop',
      });
      expect(nextStep(stateAfter(small, ...ready), at(2))).toEqual({ kind: 'stop-agentic-loop' });
    });
  });
});
