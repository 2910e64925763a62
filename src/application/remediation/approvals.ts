import { CairnError, ErrorCategory, isCairnError } from '../../../domain/errors.ts';
import type { ActionCall, RemediationSource, ResourceRef } from '../../../domain/events/common.schema.ts';
import { RemediationStatus } from '../../../domain/events/remediation.events.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import type { RemediationCommand } from '../../../domain/remediation/remediation.commands.ts';
import {
  type RemediationEvent,
  type RemediationState,
  remediationDecider,
} from '../../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { epochMs } from '../../../domain/time.ts';
import type { EventStore, Subscription } from '../../ports/eventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';

export const ApprovalState = {
  Pending: 'Pending',
  Approved: 'Approved',
  Rejected: 'Rejected',
  Expired: 'Expired',
  /** The plan ended some other way (cancelled) before anyone decided. */
  Closed: 'Closed',
} as const;
export type ApprovalState = (typeof ApprovalState)[keyof typeof ApprovalState];

export interface ApprovalDecision {
  readonly approver: string;
  readonly decision: 'approve' | 'reject';
  readonly reason?: string;
  readonly at: string;
}

/** One approval request as people see it: what would run, on what, and who decided what so far. */
export interface ApprovalView {
  readonly requestId: string;
  readonly remediationId: string;
  readonly issueId: string;
  readonly attempt: number;
  readonly source: RemediationSource;
  readonly target: ResourceRef;
  /** Empty for an agentic plan: the AI decides each action, within the policy. */
  readonly actions: readonly ActionCall[];
  readonly state: ApprovalState;
  readonly requiredApprovals: number;
  readonly approvals: number;
  readonly decisions: readonly ApprovalDecision[];
  readonly requestedAt: string;
  readonly expiresAt: string;
}

export const ApprovalErrorCode = {
  NotFound: 'approval.not_found',
  InvalidApprover: 'approval.invalid_approver',
} as const;

const SUFFIX = '-approval';

const notFound = (requestId: string) =>
  new CairnError(ApprovalErrorCode.NotFound, ErrorCategory.NotFound, `no approval request ${requestId}`);

export interface ApprovalServiceDeps {
  readonly store: EventStore;
  readonly now: () => Date;
  /** How often requests are checked for expiry; 1 s by default. */
  readonly sweepMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * Approvals for REST, the CLI and the operator: list, read, approve, reject. The approver is whoever the caller
 * authenticated, passed in by the caller, never read from a request body. It also expires requests nobody decided
 * in time: the index of open requests is rebuilt from the store at start, so expiry survives a restart.
 */
export function createApprovalService(deps: ApprovalServiceDeps) {
  const decide = createCommandHandler(deps.store, remediationDecider, { maxAttempts: 5 });
  const log = deps.log ?? (() => {});
  /** Open requests: requestId → expiry. */
  const open = new Map<string, string>();
  let subscription: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;

  const streamOf = (requestId: string) => {
    if (!requestId.endsWith(SUFFIX) || requestId.length === SUFFIX.length) throw notFound(requestId);
    return streamName(StreamCategory.Remediation, requestId.slice(0, -SUFFIX.length));
  };

  const read = async (requestId: string): Promise<{ stream: string; view: ApprovalView }> => {
    const stream = streamOf(requestId);
    const events = (await deps.store.readStream(stream)) as unknown as RecordedEvent<RemediationEvent>[];
    const requested = events.find((e) => e.type === 'ApprovalRequested' && e.data.requestId === requestId);
    if (requested?.type !== 'ApprovalRequested') throw notFound(requestId);
    const state: RemediationState = events.reduce(remediationDecider.evolve, remediationDecider.initialState());
    const decisions: ApprovalDecision[] = [];
    let ended: ApprovalState = ApprovalState.Pending;
    for (const e of events) {
      if (e.type === 'ApprovalGranted' && e.data.requestId === requestId) {
        decisions.push({ approver: e.data.approver, decision: 'approve', at: e.metadata.occurredAt });
        if (e.data.quorumReached) ended = ApprovalState.Approved;
      } else if (e.type === 'ApprovalRefused' && e.data.requestId === requestId) {
        decisions.push({
          approver: e.data.approver,
          decision: 'reject',
          ...(e.data.reason ? { reason: e.data.reason } : {}),
          at: e.metadata.occurredAt,
        });
        ended = ApprovalState.Rejected;
      } else if (e.type === 'ApprovalExpired' && e.data.requestId === requestId) {
        ended = ApprovalState.Expired;
      }
    }
    if (ended === ApprovalState.Pending && state.status !== RemediationStatus.WaitingApproval) {
      ended = ApprovalState.Closed;
    }
    return {
      stream,
      view: {
        requestId,
        remediationId: state.remediationId,
        issueId: state.issueId,
        attempt: state.attempt,
        source: state.source as RemediationSource,
        target: state.target as ResourceRef,
        actions: state.agentic === null ? state.actions.map((a) => ({ type: a.type, params: a.params })) : [],
        state: ended,
        requiredApprovals: requested.data.requiredApprovals,
        approvals: decisions.filter((d) => d.decision === 'approve').length,
        decisions,
        requestedAt: requested.metadata.occurredAt,
        expiresAt: requested.data.expiresAt,
      },
    };
  };

  const requireApprover = (approver: string) => {
    if (typeof approver !== 'string' || approver.trim() === '' || approver.length > 253) {
      throw new CairnError(
        ApprovalErrorCode.InvalidApprover,
        ErrorCategory.Validation,
        'an approval needs the identity of an authenticated approver (1 to 253 characters)',
      );
    }
    return approver.trim();
  };

  const send = async (stream: string, command: Omit<RemediationCommand, 'metadata'>, actor: string) => {
    await decide(stream, {
      ...command,
      metadata: { occurredAt: deps.now().toISOString(), actor },
    } as RemediationCommand);
  };

  const expireDue = async (): Promise<number> => {
    const now = deps.now().getTime();
    let expired = 0;
    for (const [requestId, expiresAt] of [...open]) {
      if (now < epochMs(expiresAt)) continue;
      try {
        await send(streamOf(requestId), { type: 'ExpireApproval', data: { requestId } }, 'system:approvals');
        log(`approval request ${requestId} expired at ${expiresAt}`);
        expired += 1;
      } catch (error) {
        // Decided (or closed) meanwhile: nothing left to expire.
        if (!isCairnError(error) || error.category === ErrorCategory.Transient) throw error;
      }
      open.delete(requestId);
    }
    return expired;
  };

  return {
    /**
     * Rebuilds the open requests from the store and follows new ones; with `expire`, also expires them when due
     * (only the replica that leads should).
     */
    start(options: { readonly expire?: boolean } = { expire: true }): void {
      if (subscription === undefined) this.follow();
      if (options.expire !== false && timer === undefined) this.startExpiry();
    },

    follow(): void {
      subscription = deps.store.subscribeToAll(
        {
          filter: {
            eventTypes: [
              'ApprovalRequested',
              'ApprovalGranted',
              'ApprovalRefused',
              'ApprovalExpired',
              'RemediationFailed',
            ],
          },
        },
        (event) => {
          const data = event.data as { requestId?: string; expiresAt?: string; quorumReached?: boolean };
          if (event.type === 'ApprovalRequested' && data.requestId && data.expiresAt) {
            open.set(data.requestId, data.expiresAt);
          } else if (event.type === 'RemediationFailed') {
            open.delete(`${event.streamId.slice(`${StreamCategory.Remediation}-`.length)}${SUFFIX}`);
          } else if (data.requestId && (event.type !== 'ApprovalGranted' || data.quorumReached)) {
            open.delete(data.requestId);
          }
        },
      );
      subscription.done.catch((error) => log(`approvals: subscription ended: ${String(error)}`));
    },

    startExpiry(): void {
      const sweep = () => {
        timer = setTimeout(() => {
          expireDue()
            .catch((error) => log(`approvals: expiry failed: ${String(error)}`))
            .finally(() => {
              if (timer !== undefined) sweep();
            });
        }, deps.sweepMs ?? 1_000);
      };
      sweep();
    },

    stopExpiry(): void {
      clearTimeout(timer);
      timer = undefined;
    },

    async stop(): Promise<void> {
      this.stopExpiry();
      await subscription?.close();
      subscription = undefined;
    },

    /** Requests still waiting for people, oldest first. */
    async listPending(): Promise<ApprovalView[]> {
      const views = await Promise.all([...open.keys()].map(async (id) => (await read(id)).view));
      return views
        .filter((v) => v.state === ApprovalState.Pending)
        .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
    },

    async get(requestId: string): Promise<ApprovalView> {
      return (await read(requestId)).view;
    },

    /** Counts towards the quorum; the plan runs once the quorum is reached. Refused if expired or decided. */
    async approve(requestId: string, approver: string): Promise<ApprovalView> {
      const who = requireApprover(approver);
      const { stream } = await read(requestId);
      await send(stream, { type: 'GrantApproval', data: { requestId, approver: who } }, who);
      return (await read(requestId)).view;
    },

    /** One refusal is enough: the plan never runs. */
    async reject(requestId: string, approver: string, reason?: string): Promise<ApprovalView> {
      const who = requireApprover(approver);
      const { stream } = await read(requestId);
      const why = reason?.trim().slice(0, 2000);
      await send(
        stream,
        { type: 'RefuseApproval', data: { requestId, approver: who, ...(why ? { reason: why } : {}) } },
        who,
      );
      return (await read(requestId)).view;
    },

    expireDue,
  };
}

export type ApprovalService = ReturnType<typeof createApprovalService>;
