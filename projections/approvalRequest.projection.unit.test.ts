import { describe, expect, it } from 'vitest';
import { approvalRequestResource } from './approvalRequest.projection.ts';

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();
const event = (type: string, data: unknown, s: number, actor = 'system:executor') => ({
  type,
  data,
  metadata: { occurredAt: at(s), actor },
});
const created = event(
  'RemediationPlanCreated',
  {
    remediationId: 'r1',
    issueId: 'iss-1',
    attempt: 2,
    source: 'manual-runbook',
    runbook: 'oom',
    target: { kind: 'Deployment', name: 'web', namespace: 'shop' },
    actions: [
      { actionId: 'a', type: 'DeletePod', params: { pod: 'web-1' } },
      { actionId: 'b', type: 'RestartDeployment', params: {} },
    ],
    doNotRepeat: [],
    approval: {
      required: true,
      requiredApprovals: 2,
      timeoutSeconds: 600,
      groups: ['sre'],
      policy: 'shop/prod',
      rule: 'rule two of ApprovalPolicy shop/prod',
    },
    changeWindow: { opensAt: at(100), reason: 'frozen' },
    verificationTimeoutSeconds: 90,
  },
  0,
  'system:pipeline',
);
const requested = event('ApprovalRequested', { requestId: 'r1-approval', requiredApprovals: 2, expiresAt: at(600) }, 1);
const owner = { name: 'web-iss-1', uid: 'u-1' };
const render = (history: ReturnType<typeof event>[]) =>
  approvalRequestResource(history, owner, 'cairn-system', (type) => type === 'DeletePod');

describe('the ApprovalRequest object of a remediation stream', () => {
  it('is absent until approval is requested', () => {
    expect(render([created])).toBeUndefined();
  });

  it('shows the plan, who asked, the blast radius, the deadline and the window, owned by the Issue', () => {
    const object = render([created, requested])!;
    expect(object.doc.metadata).toMatchObject({
      namespace: 'shop',
      ownerReferences: [expect.objectContaining({ kind: 'Issue', name: 'web-iss-1', uid: 'u-1', controller: true })],
    });
    expect(object.doc.spec).toMatchObject({
      requestId: 'r1-approval',
      issueRef: { name: 'web-iss-1' },
      policyRef: { namespace: 'shop', name: 'prod' },
      mode: 'quorum',
      requiredApprovers: 2,
      groups: ['sre'],
      requestedBy: { source: 'manual-runbook', runbook: 'oom', actor: 'system:pipeline' },
      actions: [{ type: 'DeletePod', params: { pod: 'web-1' } }, { type: 'RestartDeployment' }],
      blastRadius: {
        target: { kind: 'Deployment', name: 'web', namespace: 'shop' },
        destructiveActions: ['DeletePod'],
      },
      expiresAt: at(600),
      changeWindowOpensAt: at(100),
    });
    expect(object.status).toEqual({ state: 'Pending', approvals: 0, decisions: [] });
  });

  it('follows the decisions to the end, the same way however often it is rendered', () => {
    const history = [
      created,
      requested,
      event(
        'ApprovalGranted',
        { requestId: 'r1-approval', approver: 'key:ann', approvals: 1, quorumReached: false },
        5,
      ),
      event('ApprovalRefused', { requestId: 'r1-approval', approver: 'key:bob', reason: 'not now' }, 6),
      event('RemediationFailed', { reason: 'approval_refused', detail: 'refused by key:bob' }, 6),
    ];
    const first = render(history);
    expect(first?.status).toEqual({
      state: 'Rejected',
      approvals: 1,
      decisions: [
        { approver: 'key:ann', decision: 'approve', at: at(5) },
        { approver: 'key:bob', decision: 'reject', reason: 'not now', at: at(6) },
      ],
      decidedAt: at(6),
    });
    expect(render(history)).toEqual(first);
    const expired = render([
      created,
      requested,
      event('ApprovalExpired', { requestId: 'r1-approval', approvals: 0, expiresAt: at(600) }, 601),
    ]);
    expect(expired?.status.state).toBe('Expired');
    const cancelled = render([created, requested, event('RemediationFailed', { reason: 'cancelled', detail: 'x' }, 9)]);
    expect(cancelled?.status.state).toBe('Cancelled');
  });
});
