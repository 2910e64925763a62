import { describe, expect, it } from 'vitest';
import { ErrorCategory } from '../errors.ts';
import type { ActionSpec } from '../events/common.schema.ts';
import type { MessageMetadata } from '../messages.ts';
import { deciderSpec, metaAt, minutesAfterBase } from '../testing/decider.spec.ts';
import { actionFingerprint } from './action.fingerprint.ts';
import type { CreateRemediationPlan, RemediationCommand } from './remediation.commands.ts';
import {
  completedActionIds,
  inFlightAction,
  type RemediationEvent,
  remediationDecider,
} from './remediation.decider.ts';

const spec = deciderSpec(remediationDecider);
const target = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const raiseMemory: ActionSpec = {
  actionId: 'a1',
  type: 'AdjustResources',
  params: { container: 'app', memory_limit: '512Mi' },
};
const restart: ActionSpec = { actionId: 'a2', type: 'RestartDeployment', params: {} };
const SECOND = 1 / 60;

const cmd = <T extends RemediationCommand['type']>(
  type: T,
  data: Extract<RemediationCommand, { type: T }>['data'],
  minute = 1,
  metadata: MessageMetadata = metaAt(minute, 'system:executor'),
) => ({ type, data, metadata }) as Extract<RemediationCommand, { type: T }>;

const create = (overrides: Partial<CreateRemediationPlan['data']> = {}, minute = 0) =>
  cmd(
    'CreateRemediationPlan',
    {
      remediationId: 'rem-1',
      issueId: 'iss-1',
      attempt: 1,
      source: 'manual-runbook',
      target,
      actions: [raiseMemory, restart],
      runbook: 'oom-runbook',
      ...overrides,
    },
    minute,
  );
const createAgentic = (agentic?: CreateRemediationPlan['data']['agentic'], doNotRepeat?: string[]) =>
  create({ source: 'agentic', actions: [], runbook: undefined, agentic, doNotRepeat });
const withApproval = (requiredApprovals = 1) => create({ approval: { required: true, requiredApprovals } });

const startSnapshot = (minute = 1) => cmd('StartSnapshot', { snapshotId: 'snap-1' }, minute);
const recordSnapshot = (minute = 2) =>
  cmd('RecordSnapshot', { snapshotId: 'snap-1', captured: { replicas: 3, image: 'shop/checkout:1.4.2' } }, minute);
const start = (actionId: string, minute = 3) => cmd('StartAction', { actionId }, minute);
const succeed = (actionId: string, minute = 4) => cmd('RecordActionSucceeded', { actionId, result: 'patched' }, minute);
const fail = (actionId: string, minute = 4) =>
  cmd('RecordActionFailed', { actionId, error: 'admission webhook denied' }, minute);
const refuseAction = (actionId: string, minute = 3) =>
  cmd('RefuseAction', { actionId, policy: 'pdb', reason: 'would violate PodDisruptionBudget checkout' }, minute);
const decideStep = (step: number, minute: number, action?: ActionSpec) =>
  cmd('DecideAgenticStep', { step, reasoning: `step ${step}`, resolved: false, action }, minute);
const observe = (step: number, minute: number) =>
  cmd('ObserveAgenticStep', { step, observation: 'still failing' }, minute);
const resolvedStep = (step: number, minute: number) =>
  cmd(
    'DecideAgenticStep',
    {
      step,
      reasoning: 'pods are ready',
      resolved: true,
      conclusion: {
        summary: 'memory limit raised',
        rootCause: 'limit below working set',
        impact: '5 minutes of 502s',
        lessonsLearned: ['size limits from metrics'],
        preventionActions: ['add a VPA recommendation'],
      },
    },
    minute,
  );

const pending = () => spec.history(create());
const executing = () => spec.history(create(), startSnapshot(), recordSnapshot());
const allSucceeded = () =>
  spec.history(
    create(),
    startSnapshot(),
    recordSnapshot(),
    start('a1', 3),
    succeed('a1', 4),
    start('a2', 5),
    succeed('a2', 6),
  );
const verifying = () => [
  ...allSucceeded(),
  ...spec
    .given(...allSucceeded())
    .when(cmd('StartVerification', {}, 7))
    .events(),
];
const rollingBack = () => spec.history(create(), startSnapshot(), recordSnapshot(), start('a1', 3), fail('a1', 4));
const agenticExecuting = (agentic?: CreateRemediationPlan['data']['agentic'], doNotRepeat?: string[]) =>
  spec.history(createAgentic(agentic, doNotRepeat), startSnapshot(), recordSnapshot(0));

describe('Remediation decider', () => {
  describe('plan', () => {
    it('creates a plan with the default limits: Pending', () => {
      const when = spec.given().when(create());
      when.expectEvents([
        {
          type: 'RemediationPlanCreated',
          data: {
            remediationId: 'rem-1',
            issueId: 'iss-1',
            attempt: 1,
            source: 'manual-runbook',
            target,
            actions: [raiseMemory, restart],
            runbook: 'oom-runbook',
            doNotRepeat: [],
            approval: { required: false, requiredApprovals: 1, timeoutSeconds: 3600 },
            verificationTimeoutSeconds: 90,
          },
        },
      ]);
      expect(when.stateAfter()).toMatchObject({ status: 'Pending', actions: [raiseMemory, restart], agentic: null });
    });

    it('creates an agentic plan with a budget of 10 steps and 10 minutes by default', () => {
      const [event] = spec.given().when(createAgentic()).events();
      expect(event?.data).toMatchObject({
        source: 'agentic',
        actions: [],
        agentic: { maxSteps: 10, timeLimitSeconds: 600 },
      });
    });

    it('keeps configured limits', () => {
      const [event] = spec
        .given()
        .when(
          create({
            approval: { required: true, requiredApprovals: 2, timeoutSeconds: 600 },
            verificationTimeoutSeconds: 30,
          }),
        )
        .events();
      expect(event?.data).toMatchObject({
        approval: { required: true, requiredApprovals: 2, timeoutSeconds: 600 },
        verificationTimeoutSeconds: 30,
      });
    });

    it('refuses a second plan in the same stream', () => {
      spec
        .given(...pending())
        .when(create())
        .expectRefusal('remediation.already_created', ErrorCategory.IllegalState);
    });

    it.each([
      ['an agentic plan with actions', create({ source: 'agentic' }), 'remediation.agentic_plan_with_actions'],
      ['a runbook plan without actions', create({ actions: [] }), 'remediation.no_actions'],
      [
        'agentic limits on a runbook plan',
        create({ agentic: { maxSteps: 3 } }),
        'remediation.agentic_options_without_agentic',
      ],
      [
        'duplicate action ids',
        create({ actions: [raiseMemory, { ...restart, actionId: 'a1' }] }),
        'remediation.duplicate_action_id',
      ],
    ])('refuses %s', (_, command, code) => {
      spec.given().when(command).expectRefusal(code, ErrorCategory.Validation);
    });

    it('refuses a plan that repeats an action which already failed on the Issue', () => {
      const error = spec
        .given()
        .when(create({ doNotRepeat: [actionFingerprint(restart)] }))
        .expectRefusal('remediation.repeats_failed_action', ErrorCategory.Validation);
      expect(error.details).toEqual({ repeated: ['RestartDeployment'] });
    });

    it('refuses any other command before a plan exists', () => {
      spec.given().when(startSnapshot()).expectRefusal('remediation.not_found', ErrorCategory.NotFound);
    });

    it('refuses a command whose time cannot be read', () => {
      spec
        .given(...pending())
        .when(cmd('StartSnapshot', { snapshotId: 's' }, 0, { occurredAt: '', actor: 'x' }))
        .expectRefusal('command.invalid_instant');
    });
  });

  describe('approval', () => {
    it('requests approval: Pending → WaitingApproval, expiring after the timeout', () => {
      const when = spec.given(...spec.history(withApproval())).when(cmd('RequestApproval', { requestId: 'apr-1' }, 1));
      when.expectEvents([
        {
          type: 'ApprovalRequested',
          data: { requestId: 'apr-1', requiredApprovals: 1, expiresAt: minutesAfterBase(61) },
        },
      ]);
      expect(when.stateAfter().status).toBe('WaitingApproval');
    });

    it('is cleared by a grant: back to Pending, approved', () => {
      const history = spec.history(withApproval(), cmd('RequestApproval', { requestId: 'apr-1' }, 1));
      const when = spec.given(...history).when(cmd('GrantApproval', { requestId: 'apr-1', approver: 'alice' }, 5));
      when.expectEvents([
        { type: 'ApprovalGranted', data: { requestId: 'apr-1', approver: 'alice', approvals: 1, quorumReached: true } },
      ]);
      expect(when.stateAfter()).toMatchObject({ status: 'Pending', approval: { granted: true, approvers: ['alice'] } });
      spec
        .given(...history, ...when.events())
        .when(startSnapshot(6))
        .expectEvents([{ type: 'SnapshotStarted', data: { snapshotId: 'snap-1', target } }]);
    });

    it('waits for a quorum of distinct approvers', () => {
      const history = spec.history(
        withApproval(2),
        cmd('RequestApproval', { requestId: 'apr-1' }, 1),
        cmd('GrantApproval', { requestId: 'apr-1', approver: 'alice' }, 2),
      );
      const state = spec.given(...history).state();
      expect(state).toMatchObject({ status: 'WaitingApproval', approval: { granted: false } });
      spec
        .given(...history)
        .when(startSnapshot(3))
        .expectRefusal('remediation.not_pending');
      spec
        .given(...history)
        .when(cmd('GrantApproval', { requestId: 'apr-1', approver: 'alice' }, 3))
        .expectRefusal('remediation.duplicate_approver');
      const when = spec.given(...history).when(cmd('GrantApproval', { requestId: 'apr-1', approver: 'bob' }, 3));
      when.expectEvents([
        { type: 'ApprovalGranted', data: { requestId: 'apr-1', approver: 'bob', approvals: 2, quorumReached: true } },
      ]);
      expect(when.stateAfter().status).toBe('Pending');
    });

    it('fails when refused', () => {
      const history = spec.history(withApproval(), cmd('RequestApproval', { requestId: 'apr-1' }, 1));
      const when = spec
        .given(...history)
        .when(cmd('RefuseApproval', { requestId: 'apr-1', approver: 'carol', reason: 'freeze week' }, 4));
      when.expectEvents([
        { type: 'ApprovalRefused', data: { requestId: 'apr-1', approver: 'carol', reason: 'freeze week' } },
        { type: 'RemediationFailed', data: { reason: 'approval_refused', detail: 'refused by carol: freeze week' } },
      ]);
      expect(when.stateAfter().status).toBe('Failed');
    });

    it('fails when the request expires, judged by the command time', () => {
      const history = spec.history(withApproval(), cmd('RequestApproval', { requestId: 'apr-1' }, 1));
      spec
        .given(...history)
        .when(cmd('ExpireApproval', { requestId: 'apr-1' }, 60))
        .expectRefusal('remediation.approval_not_expired');
      const when = spec.given(...history).when(cmd('ExpireApproval', { requestId: 'apr-1' }, 61));
      when.expectEvents([
        { type: 'ApprovalExpired', data: { requestId: 'apr-1', approvals: 0, expiresAt: minutesAfterBase(61) } },
        {
          type: 'RemediationFailed',
          data: { reason: 'approval_expired', detail: `no quorum before ${minutesAfterBase(61)}` },
        },
      ]);
      expect(when.stateAfter().status).toBe('Failed');
    });

    it('refuses a grant at or after the expiry', () => {
      spec
        .given(...spec.history(withApproval(), cmd('RequestApproval', { requestId: 'apr-1' }, 1)))
        .when(cmd('GrantApproval', { requestId: 'apr-1', approver: 'alice' }, 61))
        .expectRefusal('remediation.approval_expired');
    });

    it('refuses decisions on another request', () => {
      const history = spec.history(withApproval(), cmd('RequestApproval', { requestId: 'apr-1' }, 1));
      for (const command of [
        cmd('GrantApproval', { requestId: 'apr-0', approver: 'alice' }, 2),
        cmd('RefuseApproval', { requestId: 'apr-0', approver: 'alice' }, 2),
        cmd('ExpireApproval', { requestId: 'apr-0' }, 90),
      ]) {
        spec
          .given(...history)
          .when(command)
          .expectRefusal('remediation.approval_request_mismatch');
      }
    });

    it('refuses approval commands out of place', () => {
      spec
        .given(...pending())
        .when(cmd('RequestApproval', { requestId: 'apr-1' }))
        .expectRefusal('remediation.approval_not_required');
      const approved = spec.history(
        withApproval(),
        cmd('RequestApproval', { requestId: 'apr-1' }, 1),
        cmd('GrantApproval', { requestId: 'apr-1', approver: 'alice' }, 2),
      );
      spec
        .given(...approved)
        .when(cmd('RequestApproval', { requestId: 'apr-2' }))
        .expectRefusal('remediation.already_approved');
      const waiting = spec.history(withApproval(), cmd('RequestApproval', { requestId: 'apr-1' }, 1));
      spec
        .given(...waiting)
        .when(cmd('RequestApproval', { requestId: 'apr-2' }))
        .expectRefusal('remediation.not_pending');
      for (const command of [
        cmd('GrantApproval', { requestId: 'apr-1', approver: 'alice' }),
        cmd('RefuseApproval', { requestId: 'apr-1', approver: 'alice' }),
        cmd('ExpireApproval', { requestId: 'apr-1' }),
      ]) {
        spec
          .given(...pending())
          .when(command)
          .expectRefusal('remediation.not_waiting_approval');
      }
    });

    it('refuses to snapshot a plan that needs approval before it is approved', () => {
      spec
        .given(...spec.history(withApproval()))
        .when(startSnapshot())
        .expectRefusal('remediation.approval_required');
    });
  });

  describe('snapshot', () => {
    it('starts a snapshot: Pending → Snapshotting', () => {
      const when = spec.given(...pending()).when(startSnapshot());
      when.expectEvents([{ type: 'SnapshotStarted', data: { snapshotId: 'snap-1', target } }]);
      expect(when.stateAfter()).toMatchObject({ status: 'Snapshotting', snapshotId: 'snap-1' });
    });

    it('records the snapshot content in the event: Snapshotting → Executing', () => {
      const when = spec.given(...spec.history(create(), startSnapshot())).when(recordSnapshot());
      when.expectEvents([
        {
          type: 'SnapshotTaken',
          data: { snapshotId: 'snap-1', target, captured: { replicas: 3, image: 'shop/checkout:1.4.2' } },
        },
      ]);
      expect(when.stateAfter().status).toBe('Executing');
    });

    it('fails without touching anything when the snapshot cannot be taken', () => {
      const when = spec
        .given(...spec.history(create(), startSnapshot()))
        .when(cmd('FailSnapshot', { snapshotId: 'snap-1', error: 'deployments.apps "checkout" not found' }));
      when.expectEvents([
        {
          type: 'RemediationFailed',
          data: { reason: 'snapshot_failed', detail: 'deployments.apps "checkout" not found' },
        },
      ]);
      expect(when.stateAfter().status).toBe('Failed');
    });

    it('refuses snapshot commands out of place', () => {
      spec
        .given(...spec.history(create(), startSnapshot()))
        .when(startSnapshot())
        .expectRefusal('remediation.not_pending');
      spec
        .given(...pending())
        .when(recordSnapshot())
        .expectRefusal('remediation.not_snapshotting');
      spec
        .given(...pending())
        .when(cmd('FailSnapshot', { snapshotId: 'snap-1', error: 'x' }))
        .expectRefusal('remediation.not_snapshotting');
      spec
        .given(...spec.history(create(), startSnapshot()))
        .when(cmd('RecordSnapshot', { snapshotId: 'snap-0', captured: {} }))
        .expectRefusal('remediation.snapshot_mismatch');
    });
  });

  describe('execution, one checkpoint per action', () => {
    it('starts the first action, then the next once the first succeeded', () => {
      spec
        .given(...executing())
        .when(start('a1'))
        .expectEvents([
          {
            type: 'ActionStarted',
            data: { actionId: 'a1', type: 'AdjustResources', params: raiseMemory.params, index: 0 },
          },
        ]);
      const history = spec.history(create(), startSnapshot(), recordSnapshot(), start('a1'));
      spec
        .given(...history)
        .when(succeed('a1'))
        .expectEvents([
          { type: 'ActionSucceeded', data: { actionId: 'a1', type: 'AdjustResources', result: 'patched' } },
        ]);
      spec
        .given(...spec.history(create(), startSnapshot(), recordSnapshot(), start('a1'), succeed('a1')))
        .when(start('a2', 5))
        .expectEvents([
          { type: 'ActionStarted', data: { actionId: 'a2', type: 'RestartDeployment', params: {}, index: 1 } },
        ]);
    });

    it('knows, after a restart, which actions completed and which one was left running', () => {
      const history = spec.history(
        create(),
        startSnapshot(),
        recordSnapshot(),
        start('a1'),
        succeed('a1'),
        start('a2', 5),
      );
      const state = spec.given(...history).state();
      expect(completedActionIds(state)).toEqual(['a1']);
      expect(inFlightAction(state)?.actionId).toBe('a2');
      // Neither the completed action nor the running one may be started again.
      spec
        .given(...history)
        .when(start('a1', 6))
        .expectRefusal('remediation.action_already_completed');
      spec
        .given(...history)
        .when(start('a2', 6))
        .expectRefusal('remediation.action_in_flight');
      spec
        .given(...history)
        .when(succeed('a2', 6))
        .expectEvents([
          { type: 'ActionSucceeded', data: { actionId: 'a2', type: 'RestartDeployment', result: 'patched' } },
        ]);
    });

    it('rolls back when an action fails: Executing → RollingBack', () => {
      const when = spec
        .given(...spec.history(create(), startSnapshot(), recordSnapshot(), start('a1')))
        .when(fail('a1'));
      when.expectEvents([
        { type: 'ActionFailed', data: { actionId: 'a1', type: 'AdjustResources', error: 'admission webhook denied' } },
        {
          type: 'RollbackStarted',
          data: {
            snapshotId: 'snap-1',
            trigger: 'action_failed',
            reason: 'AdjustResources failed: admission webhook denied',
          },
        },
      ]);
      expect(when.stateAfter().status).toBe('RollingBack');
    });

    it('fails without rollback when the first action is refused by a safety policy: nothing changed', () => {
      const when = spec.given(...executing()).when(refuseAction('a1'));
      when.expectEvents([
        {
          type: 'ActionRefusedByPolicy',
          data: {
            actionId: 'a1',
            type: 'AdjustResources',
            params: raiseMemory.params,
            policy: 'pdb',
            reason: 'would violate PodDisruptionBudget checkout',
          },
        },
        {
          type: 'RemediationFailed',
          data: {
            reason: 'action_refused',
            detail: 'AdjustResources refused by pdb: would violate PodDisruptionBudget checkout',
          },
        },
      ]);
      expect(when.stateAfter().status).toBe('Failed');
    });

    it('rolls back when a later action is refused: an earlier one changed the cluster', () => {
      const history = spec.history(create(), startSnapshot(), recordSnapshot(), start('a1'), succeed('a1'));
      const events = spec
        .given(...history)
        .when(refuseAction('a2', 5))
        .events();
      expect(events.map((event) => event.type)).toEqual(['ActionRefusedByPolicy', 'RollbackStarted']);
      expect(events[1]?.data).toMatchObject({ trigger: 'action_refused' });
    });

    it('refuses actions out of turn', () => {
      spec
        .given(...pending())
        .when(start('a1'))
        .expectRefusal('remediation.not_executing');
      spec
        .given(...executing())
        .when(start('a9'))
        .expectRefusal('remediation.unknown_action', ErrorCategory.NotFound);
      spec
        .given(...executing())
        .when(start('a2'))
        .expectRefusal('remediation.action_out_of_order');
      spec
        .given(...executing())
        .when(refuseAction('a2'))
        .expectRefusal('remediation.action_out_of_order');
      const running = spec.history(create(), startSnapshot(), recordSnapshot(), start('a1'));
      spec
        .given(...running)
        .when(start('a2'))
        .expectRefusal('remediation.action_in_flight');
      spec
        .given(...running)
        .when(refuseAction('a1'))
        .expectRefusal('remediation.action_in_flight');
    });

    it('refuses an outcome for an action that is not running', () => {
      spec
        .given(...executing())
        .when(succeed('a1'))
        .expectRefusal('remediation.action_not_started');
      spec
        .given(...executing())
        .when(fail('a1'))
        .expectRefusal('remediation.action_not_started');
      const done = spec.history(create(), startSnapshot(), recordSnapshot(), start('a1'), succeed('a1'));
      spec
        .given(...done)
        .when(succeed('a1', 5))
        .expectRefusal('remediation.action_already_completed');
      spec
        .given(...done)
        .when(fail('a1', 5))
        .expectRefusal('remediation.action_already_completed');
      spec
        .given(...pending())
        .when(succeed('a1'))
        .expectRefusal('remediation.not_executing');
    });
  });

  describe('verification', () => {
    it('starts once every action succeeded: Executing → Verifying, with a 90 s deadline', () => {
      const when = spec.given(...allSucceeded()).when(cmd('StartVerification', {}, 7));
      when.expectEvents([{ type: 'VerificationStarted', data: { deadline: minutesAfterBase(7 + 90 * SECOND) } }]);
      expect(when.stateAfter().status).toBe('Verifying');
    });

    it('refuses to verify with actions remaining', () => {
      const history = spec.history(create(), startSnapshot(), recordSnapshot(), start('a1'), succeed('a1'));
      spec
        .given(...history)
        .when(cmd('StartVerification', {}))
        .expectRefusal('remediation.actions_remaining');
      spec
        .given(...pending())
        .when(cmd('StartVerification', {}))
        .expectRefusal('remediation.not_executing');
    });

    it('completes when verification passes in time', () => {
      const when = spec.given(...verifying()).when(cmd('PassVerification', { detail: '3/3 pods ready' }, 8));
      when.expectEvents([
        { type: 'VerificationPassed', data: { detail: '3/3 pods ready' } },
        { type: 'RemediationCompleted', data: { actionsSucceeded: 2, durationSeconds: 8 * 60 } },
      ]);
      expect(when.stateAfter().status).toBe('Completed');
    });

    it('refuses a pass reported after the deadline', () => {
      spec
        .given(...verifying())
        .when(cmd('PassVerification', { detail: 'late' }, 7 + 90 * SECOND))
        .expectRefusal('remediation.verification_timed_out');
    });

    it('rolls back when verification fails, saying whether it timed out', () => {
      spec
        .given(...verifying())
        .when(cmd('FailVerification', { reason: 'pods still OOMKilled' }, 8))
        .expectEvents([
          { type: 'VerificationFailed', data: { reason: 'pods still OOMKilled', timedOut: false } },
          {
            type: 'RollbackStarted',
            data: {
              snapshotId: 'snap-1',
              trigger: 'verification_failed',
              reason: 'verification failed: pods still OOMKilled',
            },
          },
        ]);
      const [failed] = spec
        .given(...verifying())
        .when(cmd('FailVerification', { reason: 'timeout' }, 9))
        .events();
      expect(failed?.data).toEqual({ reason: 'timeout', timedOut: true });
    });

    it('refuses verification outcomes when not verifying', () => {
      spec
        .given(...allSucceeded())
        .when(cmd('PassVerification', { detail: 'x' }))
        .expectRefusal('remediation.not_verifying');
      spec
        .given(...allSucceeded())
        .when(cmd('FailVerification', { reason: 'x' }))
        .expectRefusal('remediation.not_verifying');
    });
  });

  describe('rollback', () => {
    it('ends RolledBack when the snapshot is restored, keeping what triggered it', () => {
      const when = spec
        .given(...rollingBack())
        .when(cmd('CompleteRollback', { detail: 'restored replicas and image' }, 6));
      when.expectEvents([
        { type: 'RollbackCompleted', data: { snapshotId: 'snap-1', detail: 'restored replicas and image' } },
        {
          type: 'RemediationRolledBack',
          data: { trigger: 'action_failed', reason: 'AdjustResources failed: admission webhook denied' },
        },
      ]);
      expect(when.stateAfter().status).toBe('RolledBack');
    });

    it('ends Failed when the rollback fails', () => {
      const when = spec.given(...rollingBack()).when(cmd('FailRollback', { error: 'conflict on update' }, 6));
      when.expectEvents([
        { type: 'RollbackFailed', data: { snapshotId: 'snap-1', error: 'conflict on update' } },
        {
          type: 'RemediationFailed',
          data: { reason: 'rollback_failed', detail: 'rollback to the snapshot failed: conflict on update' },
        },
      ]);
      expect(when.stateAfter().status).toBe('Failed');
    });

    it('refuses rollback outcomes when not rolling back', () => {
      spec
        .given(...executing())
        .when(cmd('CompleteRollback', { detail: 'x' }))
        .expectRefusal('remediation.not_rolling_back');
      spec
        .given(...executing())
        .when(cmd('FailRollback', { error: 'x' }))
        .expectRefusal('remediation.not_rolling_back');
    });

    it('accepts nothing but a rollback outcome while rolling back', () => {
      spec
        .given(...rollingBack())
        .when(start('a2', 6))
        .expectRefusal('remediation.not_executing');
    });
  });

  describe('cancellation', () => {
    it.each([
      ['Pending', () => pending()],
      ['WaitingApproval', () => spec.history(withApproval(), cmd('RequestApproval', { requestId: 'apr-1' }, 1))],
      ['Snapshotting', () => spec.history(create(), startSnapshot())],
    ])('cancels from %s', (_, history) => {
      const when = spec.given(...history()).when(cmd('CancelRemediation', { reason: 'Issue resolved by hand' }, 3));
      when.expectEvents([
        { type: 'RemediationFailed', data: { reason: 'cancelled', detail: 'Issue resolved by hand' } },
      ]);
      expect(when.stateAfter().status).toBe('Failed');
    });

    it.each([
      ['Executing', executing],
      ['Verifying', verifying],
      ['RollingBack', rollingBack],
    ])('refuses to cancel once %s: the way out is rollback', (_, history) => {
      spec
        .given(...history())
        .when(cmd('CancelRemediation', { reason: 'x' }))
        .expectRefusal('remediation.already_executing');
    });
  });

  describe('agentic loop', () => {
    const scale: ActionSpec = { actionId: 'step-1', type: 'ScaleDeployment', params: { replicas: '4' } };

    it('starts the clock when execution starts: a 10-minute deadline', () => {
      const state = spec.given(...spec.history(createAgentic(), startSnapshot(30), recordSnapshot(40))).state();
      expect(state.agentic).toMatchObject({ maxSteps: 10, deadline: minutesAfterBase(50), steps: [] });
    });

    it('records a decided step, then runs its action with a checkpoint', () => {
      const when = spec.given(...agenticExecuting()).when(decideStep(1, 1, scale));
      when.expectEvents([
        { type: 'AgenticStepDecided', data: { step: 1, reasoning: 'step 1', resolved: false, action: scale } },
      ]);
      expect(when.stateAfter().actions).toEqual([scale]);
      const history = [...agenticExecuting(), ...when.events()];
      spec
        .given(...history)
        .when(start('step-1', 2))
        .expectEvents([
          {
            type: 'ActionStarted',
            data: { actionId: 'step-1', type: 'ScaleDeployment', params: { replicas: '4' }, index: 0, step: 1 },
          },
        ]);
    });

    it('treats a failed action as an observation, not the end', () => {
      const history = [
        ...agenticExecuting(),
        ...spec
          .given(...agenticExecuting())
          .when(decideStep(1, 1, scale))
          .events(),
      ];
      const running = [
        ...history,
        ...spec
          .given(...history)
          .when(start('step-1', 2))
          .events(),
      ];
      const when = spec.given(...running).when(fail('step-1', 3));
      when.expectEvents([
        {
          type: 'ActionFailed',
          data: { actionId: 'step-1', type: 'ScaleDeployment', error: 'admission webhook denied' },
        },
      ]);
      expect(when.stateAfter().status).toBe('Executing');
      spec
        .given(...running, ...when.events())
        .when(observe(1, 4))
        .expectEvents([{ type: 'AgenticStepObserved', data: { step: 1, observation: 'still failing' } }]);
    });

    it('observes a step that only looks, then decides the next', () => {
      const history = spec.history(
        createAgentic(),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 1),
        observe(1, 2),
      );
      spec
        .given(...history)
        .when(decideStep(2, 3))
        .expectEvents([{ type: 'AgenticStepDecided', data: { step: 2, reasoning: 'step 2', resolved: false } }]);
    });

    it('refuses an action that already failed on the Issue, telling the loop why', () => {
      const history = spec.history(
        createAgentic(undefined, [actionFingerprint(scale)]),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 1, scale),
      );
      const when = spec.given(...history).when(start('step-1', 2));
      when.expectEvents([
        {
          type: 'ActionRefusedByPolicy',
          data: {
            actionId: 'step-1',
            type: 'ScaleDeployment',
            params: { replicas: '4' },
            policy: 'do-not-repeat',
            reason: 'ScaleDeployment(replicas=4) already failed on this Issue',
          },
        },
      ]);
      expect(when.stateAfter().status).toBe('Executing');
      spec
        .given(...history, ...when.events())
        .when(observe(1, 3))
        .expectEvents([{ type: 'AgenticStepObserved', data: { step: 1, observation: 'still failing' } }]);
    });

    it('lets a safety policy refuse an agentic action without ending the loop', () => {
      const history = spec.history(createAgentic(), startSnapshot(), recordSnapshot(0), decideStep(1, 1, scale));
      const events = spec
        .given(...history)
        .when(refuseAction('step-1', 2))
        .events();
      expect(events.map((event) => event.type)).toEqual(['ActionRefusedByPolicy']);
    });

    it('verifies once the AI declares the problem resolved', () => {
      const history = spec.history(createAgentic(), startSnapshot(), recordSnapshot(0));
      const when = spec.given(...history).when(resolvedStep(1, 1));
      expect(when.events()[0]?.data).toMatchObject({
        step: 1,
        resolved: true,
        conclusion: { rootCause: 'limit below working set' },
      });
      spec
        .given(...history, ...when.events())
        .when(cmd('StartVerification', {}, 2))
        .expectEvents([{ type: 'VerificationStarted', data: { deadline: minutesAfterBase(2 + 90 * SECOND) } }]);
    });

    it('stops after 10 steps without a resolution, rolling back', () => {
      const commands = Array.from({ length: 10 }, (_, index) => [
        decideStep(index + 1, index * 0.5),
        observe(index + 1, index * 0.5 + 0.1),
      ]).flat();
      const history = spec.history(createAgentic(), startSnapshot(), recordSnapshot(0), ...commands);
      spec
        .given(...history)
        .when(decideStep(11, 6))
        .expectRefusal('remediation.agentic_step_budget_exhausted');
      const when = spec.given(...history).when(cmd('StopAgenticLoop', {}, 6));
      when.expectEvents([
        {
          type: 'RollbackStarted',
          data: { snapshotId: 'snap-1', trigger: 'agentic_step_budget_exhausted', reason: 'no resolution in 10 steps' },
        },
      ]);
      expect(when.stateAfter().status).toBe('RollingBack');
    });

    it('stops at the deadline, rolling back', () => {
      const history = spec.history(
        createAgentic({ timeLimitSeconds: 300 }),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 1),
        observe(1, 2),
      );
      spec
        .given(...history)
        .when(decideStep(2, 5))
        .expectRefusal('remediation.agentic_deadline_exceeded');
      spec
        .given(...history)
        .when(cmd('StopAgenticLoop', {}, 5))
        .expectEvents([
          {
            type: 'RollbackStarted',
            data: {
              snapshotId: 'snap-1',
              trigger: 'agentic_deadline_exceeded',
              reason: `no resolution before ${minutesAfterBase(5)}`,
            },
          },
        ]);
    });

    it('stops at once when the AI gives up, rolling back with its reasoning', () => {
      const history = spec.history(
        createAgentic(),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 1),
        observe(1, 2),
      );
      const when = spec
        .given(...history)
        .when(cmd('StopAgenticLoop', { gaveUp: { reasoning: 'nothing left to try' } }, 3));
      when.expectEvents([
        {
          type: 'RollbackStarted',
          data: {
            snapshotId: 'snap-1',
            trigger: 'agentic_gave_up',
            reason: 'the AI gave up after 1 step(s): nothing left to try',
          },
        },
      ]);
      expect(when.stateAfter().status).toBe('RollingBack');
      const running = spec.history(
        createAgentic(),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 1, scale),
        start('step-1', 2),
      );
      spec
        .given(...running)
        .when(cmd('StopAgenticLoop', { gaveUp: { reasoning: 'no' } }, 3))
        .expectRefusal('remediation.action_in_flight');
    });

    it('refuses to stop while budget remains or an action runs', () => {
      spec
        .given(...agenticExecuting())
        .when(cmd('StopAgenticLoop', {}, 1))
        .expectRefusal('remediation.agentic_budget_remaining');
      const running = spec.history(
        createAgentic({ timeLimitSeconds: 60 }),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 0.5, scale),
        start('step-1', 0.6),
      );
      spec
        .given(...running)
        .when(cmd('StopAgenticLoop', {}, 2))
        .expectRefusal('remediation.action_in_flight');
    });

    it('refuses steps out of turn', () => {
      spec
        .given(...executing())
        .when(decideStep(1, 1))
        .expectRefusal('remediation.not_agentic');
      spec
        .given(...spec.history(createAgentic(), startSnapshot()))
        .when(decideStep(1, 1))
        .expectRefusal('remediation.not_executing');
      spec
        .given(...agenticExecuting())
        .when(decideStep(2, 1))
        .expectRefusal('remediation.agentic_step_out_of_order');
      const decided = spec.history(createAgentic(), startSnapshot(), recordSnapshot(0), decideStep(1, 1));
      spec
        .given(...decided)
        .when(decideStep(2, 2))
        .expectRefusal('remediation.agentic_step_unobserved');
      const resolved = spec.history(createAgentic(), startSnapshot(), recordSnapshot(0), resolvedStep(1, 1));
      spec
        .given(...resolved)
        .when(decideStep(2, 2))
        .expectRefusal('remediation.agentic_already_resolved');
      spec
        .given(...resolved)
        .when(observe(1, 2))
        .expectRefusal('remediation.agentic_already_resolved');
    });

    it('refuses malformed steps', () => {
      spec
        .given(...agenticExecuting())
        .when(cmd('DecideAgenticStep', { step: 1, reasoning: 'done', resolved: true, action: scale }))
        .expectRefusal('remediation.resolved_step_with_action', ErrorCategory.Validation);
      spec
        .given(...agenticExecuting())
        .when(
          cmd('DecideAgenticStep', {
            step: 1,
            reasoning: 'x',
            resolved: false,
            conclusion: { summary: '', rootCause: '', impact: '', lessonsLearned: [], preventionActions: [] },
          }),
        )
        .expectRefusal('remediation.conclusion_without_resolution', ErrorCategory.Validation);
      const history = spec.history(
        createAgentic(),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 1, scale),
        start('step-1', 2),
        succeed('step-1', 3),
        observe(1, 4),
      );
      spec
        .given(...history)
        .when(decideStep(2, 5, scale))
        .expectRefusal('remediation.duplicate_action_id', ErrorCategory.Validation);
    });

    it('refuses observations out of turn', () => {
      spec
        .given(...agenticExecuting())
        .when(observe(1, 1))
        .expectRefusal('remediation.agentic_step_mismatch');
      const decided = spec.history(createAgentic(), startSnapshot(), recordSnapshot(0), decideStep(1, 1, scale));
      spec
        .given(...decided)
        .when(observe(1, 2))
        .expectRefusal('remediation.action_not_started');
      const running = [
        ...decided,
        ...spec
          .given(...decided)
          .when(start('step-1', 2))
          .events(),
      ];
      spec
        .given(...running)
        .when(observe(1, 3))
        .expectRefusal('remediation.action_in_flight');
      const observed = spec.history(
        createAgentic(),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 1),
        observe(1, 2),
      );
      spec
        .given(...observed)
        .when(observe(1, 3))
        .expectRefusal('remediation.agentic_step_already_observed');
      spec
        .given(...observed)
        .when(observe(2, 3))
        .expectRefusal('remediation.agentic_step_mismatch');
      spec
        .given(...executing())
        .when(observe(1, 3))
        .expectRefusal('remediation.not_agentic');
    });

    it('refuses to verify before the loop declares a resolution', () => {
      spec
        .given(...agenticExecuting())
        .when(cmd('StartVerification', {}, 1))
        .expectRefusal('remediation.agentic_not_resolved');
    });

    it("runs only the latest step's action", () => {
      const observed = spec.history(
        createAgentic(),
        startSnapshot(),
        recordSnapshot(0),
        decideStep(1, 1, scale),
        start('step-1', 2),
        succeed('step-1', 3),
        observe(1, 4),
        decideStep(2, 5),
      );
      spec
        .given(...observed)
        .when(start('step-1', 6))
        .expectRefusal('remediation.action_already_completed');
    });
  });

  describe('terminal states refuse every command', () => {
    const completed = () => [
      ...verifying(),
      ...spec
        .given(...verifying())
        .when(cmd('PassVerification', { detail: 'ok' }, 8))
        .events(),
    ];
    const rolledBack = () => [
      ...rollingBack(),
      ...spec
        .given(...rollingBack())
        .when(cmd('CompleteRollback', { detail: 'ok' }, 6))
        .events(),
    ];
    const failed = () => [
      ...rollingBack(),
      ...spec
        .given(...rollingBack())
        .when(cmd('FailRollback', { error: 'x' }, 6))
        .events(),
    ];
    const commands: RemediationCommand[] = [
      cmd('RequestApproval', { requestId: 'r' }),
      cmd('GrantApproval', { requestId: 'r', approver: 'a' }),
      cmd('RefuseApproval', { requestId: 'r', approver: 'a' }),
      cmd('ExpireApproval', { requestId: 'r' }),
      startSnapshot(),
      recordSnapshot(),
      cmd('FailSnapshot', { snapshotId: 'snap-1', error: 'x' }),
      start('a1'),
      succeed('a1'),
      fail('a1'),
      refuseAction('a1'),
      decideStep(1, 1),
      observe(1, 1),
      cmd('StopAgenticLoop', {}),
      cmd('StartVerification', {}),
      cmd('PassVerification', { detail: 'x' }),
      cmd('FailVerification', { reason: 'x' }),
      cmd('CompleteRollback', { detail: 'x' }),
      cmd('FailRollback', { error: 'x' }),
      cmd('CancelRemediation', { reason: 'x' }),
    ];

    it('lists every command but CreateRemediationPlan', () => {
      expect(new Set(commands.map((command) => command.type)).size).toBe(20);
    });

    it.each([
      ['Completed', completed, 'remediation.already_completed'],
      ['RolledBack', rolledBack, 'remediation.already_rolled_back'],
      ['Failed', failed, 'remediation.already_failed'],
    ])('%s refuses them all', (status, history, code) => {
      const events = history();
      expect(spec.given(...events).state().status).toBe(status);
      for (const command of commands)
        spec
          .given(...events)
          .when(command)
          .expectRefusal(code, ErrorCategory.IllegalState);
      spec
        .given(...events)
        .when(create())
        .expectRefusal('remediation.already_created');
    });
  });

  it('evolve ignores events it does not know', () => {
    const state = spec.given(...executing()).state();
    const stranger = { type: 'IssueDetected', data: {}, metadata: metaAt(0) } as unknown as RemediationEvent;
    expect(remediationDecider.evolve(state, stranger)).toBe(state);
  });
});
