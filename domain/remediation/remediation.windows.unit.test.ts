import { describe, expect, it } from 'vitest';
import type { ActionSpec } from '../events/common.schema.ts';
import { deciderSpec, metaAt, minutesAfterBase } from '../testing/decider.spec.ts';
import type { CreateRemediationPlan, RemediationCommand } from './remediation.commands.ts';
import { remediationDecider } from './remediation.decider.ts';
import { nextStep } from './remediation.progress.ts';

const spec = deciderSpec(remediationDecider);
const target = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const restart: ActionSpec = { actionId: 'a1', type: 'RestartDeployment', params: {} };

const cmd = <T extends RemediationCommand['type']>(
  type: T,
  data: Extract<RemediationCommand, { type: T }>['data'],
  minute: number,
  actor = 'system:executor',
) => ({ type, data, metadata: metaAt(minute, actor) }) as Extract<RemediationCommand, { type: T }>;

const create = (overrides: Partial<CreateRemediationPlan['data']> = {}) =>
  cmd(
    'CreateRemediationPlan',
    {
      remediationId: 'rem-1',
      issueId: 'iss-1',
      attempt: 1,
      source: 'ai-runbook',
      target,
      actions: [restart],
      ...overrides,
    },
    0,
    'system:pipeline',
  );
const window = { opensAt: minutesAfterBase(30), reason: 'outside the change windows (Europe/Paris)' };

describe('a plan waiting for its change window', () => {
  it('records the opening with the plan and may not start before it', () => {
    const history = spec.history(create({ changeWindow: window }));
    const state = spec.given(...history).state();
    expect(state.window).toEqual({ ...window, opened: false });
    expect(nextStep(state, minutesAfterBase(5))).toEqual({ kind: 'await-window', opensAt: window.opensAt });
    spec
      .given(...history)
      .when(cmd('StartSnapshot', { snapshotId: 's' }, 5))
      .expectRefusal('remediation.waiting_for_window');
    spec
      .given(...history)
      .when(cmd('OpenChangeWindow', {}, 29))
      .expectRefusal('remediation.window_not_open');
  });

  it('opens exactly once, then starts', () => {
    const history = spec.history(create({ changeWindow: window }));
    const when = spec.given(...history).when(cmd('OpenChangeWindow', {}, 30, 'system:approvals'));
    when.expectEvents([{ type: 'ChangeWindowOpened', data: { opensAt: window.opensAt } }]);
    const opened = [...history, ...when.events()];
    expect(nextStep(spec.given(...opened).state(), minutesAfterBase(31))).toEqual({ kind: 'start-snapshot' });
    spec
      .given(...opened)
      .when(cmd('OpenChangeWindow', {}, 31))
      .expectRefusal('remediation.not_waiting_window');
  });

  it('asks for approval first, and waits for the window once approved', () => {
    const history = spec.history(
      create({ changeWindow: window, approval: { required: true } }),
      cmd('RequestApproval', { requestId: 'rem-1-approval' }, 1),
      cmd('GrantApproval', { requestId: 'rem-1-approval', approver: 'key:alice' }, 2, 'key:alice'),
    );
    expect(nextStep(spec.given(...history).state(), minutesAfterBase(3)).kind).toBe('await-window');
  });
});

describe('who may approve', () => {
  const requested = (approval: CreateRemediationPlan['data']['approval']) =>
    spec.history(create({ approval }), cmd('RequestApproval', { requestId: 'rem-1-approval' }, 1));

  it('never the requester of the plan', () => {
    spec
      .given(...requested({ required: true }))
      .when(cmd('GrantApproval', { requestId: 'rem-1-approval', approver: 'system:pipeline' }, 2))
      .expectRefusal('remediation.self_approval');
  });

  it('only a member of one of the named groups, when the request names groups', () => {
    const history = requested({ required: true, requiredApprovals: 2, groups: ['sre', 'dba'] });
    spec
      .given(...history)
      .when(cmd('GrantApproval', { requestId: 'rem-1-approval', approver: 'key:dev', groups: ['dev'] }, 2))
      .expectRefusal('remediation.approver_not_in_group');
    spec
      .given(...history)
      .when(cmd('GrantApproval', { requestId: 'rem-1-approval', approver: 'key:ann' }, 2))
      .expectRefusal('remediation.approver_not_in_group');
    spec
      .given(...history)
      .when(cmd('GrantApproval', { requestId: 'rem-1-approval', approver: 'key:ann', groups: ['dba'] }, 2))
      .expectEvents([
        {
          type: 'ApprovalGranted',
          data: { requestId: 'rem-1-approval', approver: 'key:ann', approvals: 1, quorumReached: false },
        },
      ]);
  });
});
