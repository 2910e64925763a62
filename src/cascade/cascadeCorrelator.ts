import {
  CASCADE_WINDOW_MINUTES,
  findCascade,
  type ServiceDependency,
} from '../../domain/correlation/cascade.policy.ts';
import { isCairnError } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import {
  type CascadeMember,
  HoldReleaseReason,
  type IssueRemediationDeferredData,
} from '../../domain/events/correlation.events.ts';
import type { IssueDetectedData } from '../../domain/events/issue.events.ts';
import type { IssueCommand } from '../../domain/issue/issue.commands.ts';
import { type IssueEvent, type IssueState, issueDecider, isTerminal } from '../../domain/issue/issue.decider.ts';
import type { MessageMetadata, RecordedEvent } from '../../domain/messages.ts';
import { parseStreamName, StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { Reactor } from '../application/reactor.ts';
import type { EventStore, Subscription } from '../ports/eventStore.ts';
import type { DependencyEdge } from './dependencyGraph.ts';

/** What the correlator needs of the dependency graph: the edges among the workloads of these namespaces. */
export type GraphSource = (namespaces: readonly string[]) => Promise<{ readonly edges: readonly DependencyEdge[] }>;

interface OpenIssue {
  readonly member: CascadeMember;
  /** The signals it was opened or joined for: what the recovery check looks for on its pods. */
  readonly signals: Set<string>;
  /** The root its plan waits for, the analysis of that plan, and when its workload is checked once the root ended. */
  deferredTo: { readonly rootIssueId: string; readonly insightId: string; recoveryCheckDueAt?: string } | null;
}

/** The same judgement as verification: the workload rolled out, is available, and no pod shows the signals. */
export type WorkloadCheck = (
  workload: ResourceRef,
  signals: readonly string[],
) => Promise<{ readonly healthy: boolean; readonly detail: string }>;

/** How long after its root is resolved a dependant's workload is checked: readiness takes a moment to come back. */
export const RECOVERY_GRACE_SECONDS = 30;

const FOLLOWED = [
  'IssueDetected',
  'IssueAnomalyAttached',
  'IssueRecoveryCheckScheduled',
  'IssueResolved',
  'IssueEscalated',
  'IssueRemediationDeferred',
  'IssueRemediationReleased',
] as const;

/** Refusals that mean the Issue ended meanwhile, or the step is already on its record. */
const SETTLED = new Set([
  'issue.already_resolved',
  'issue.already_escalated',
  'issue.nothing_to_defer',
  'issue.insight_mismatch',
]);

/** Namespaces whose objects are read for one correlation (the graph adds those their workloads name). */
export const MAX_NAMESPACES = 20;

const display = (ref: ResourceRef) => `${ref.kind} ${ref.namespace}/${ref.name}`;

/**
 * Parses `--cascade-window`: a whole number of minutes from 1 to 1440, or `0` / `off` to turn cascade correlation off.
 * Anything else is refused with the flag and the value named.
 */
export const parseCascadeWindow = (value: string): number => {
  const text = value.trim().toLowerCase();
  if (text === 'off') return 0;
  const minutes = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(minutes) || minutes > 1_440) {
    throw new Error(
      `--cascade-window must be a whole number of minutes from 1 to 1440, or 0 or off to turn cascade correlation off; got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return minutes;
};

/** Parses `--cascade-recovery-grace`: whole seconds from 0 to 3600; anything else is refused with the flag named. */
export const parseRecoveryGrace = (value: string): number => {
  const text = value.trim();
  const seconds = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(seconds) || seconds > 3_600) {
    throw new Error(
      `--cascade-recovery-grace must be a whole number of seconds from 0 to 3600; got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return seconds;
};

export interface CascadeCorrelatorDeps {
  readonly store: EventStore;
  readonly graph: GraphSource;
  /** Issues detected further apart than this are not one cascade; 0 turns correlation off. */
  readonly windowMinutes?: number;
  readonly log?: (line: string) => void;
  /** How long a deferral question waits for the Issue to reach the index before it answers with what it has. */
  readonly indexWaitMs?: number;
  /**
   * Checks a dependant's workload once its root is resolved. Without it, the dependant's plan is released at once
   * (nothing can tell that it recovered).
   */
  readonly checkWorkload?: WorkloadCheck;
  /** The grace between the root's resolution and the check (RECOVERY_GRACE_SECONDS by default). */
  readonly recoveryGraceSeconds?: number;
  /** The clock of the recovery checks: when a recorded check is due. */
  readonly now?: () => Date;
}

/**
 * Cross-service cascades, kept as Issues open: an index of the open Issues folded from the log (every replica
 * could build it; only the leader acts), a reactor that correlates an Issue with the others when it opens or gains a
 * signal and releases the plans that waited for a root once it ends, and the question the pipeline asks before it
 * starts a plan: does this Issue wait for the root of its cascade?
 */
export function createCascadeCorrelator(deps: CascadeCorrelatorDeps) {
  const windowMinutes = deps.windowMinutes ?? CASCADE_WINDOW_MINUTES;
  const recoveryGraceMs = (deps.recoveryGraceSeconds ?? RECOVERY_GRACE_SECONDS) * 1_000;
  const now = deps.now ?? (() => new Date());
  const issues = createCommandHandler(deps.store, issueDecider);
  const log = deps.log ?? (() => {});
  const open = new Map<string, OpenIssue>();
  let position = -1n;
  let waiters: { at: bigint; resolve: () => void }[] = [];
  let stopped = false;

  const fold = (event: RecordedEvent) => {
    if (event.position <= position) return;
    position = event.position;
    const issueId = parseStreamName(event.streamId).id;
    switch (event.type) {
      case 'IssueDetected': {
        const d = event.data as IssueDetectedData;
        open.set(issueId, {
          member: { issueId, workload: d.workload, detectedAt: event.metadata.occurredAt },
          signals: new Set([d.signal]),
          deferredTo: null,
        });
        break;
      }
      case 'IssueAnomalyAttached':
        open.get(issueId)?.signals.add((event.data as { signal: string }).signal);
        break;
      case 'IssueRecoveryCheckScheduled': {
        const entry = open.get(issueId);
        const d = event.data as { rootIssueId: string; dueAt: string };
        if (entry?.deferredTo?.rootIssueId === d.rootIssueId) entry.deferredTo.recoveryCheckDueAt = d.dueAt;
        break;
      }
      case 'IssueResolved':
      case 'IssueEscalated':
        open.delete(issueId);
        break;
      case 'IssueRemediationDeferred': {
        const entry = open.get(issueId);
        const d = event.data as IssueRemediationDeferredData;
        if (entry) entry.deferredTo = { rootIssueId: d.rootIssueId, insightId: d.insightId };
        break;
      }
      case 'IssueRemediationReleased': {
        const entry = open.get(issueId);
        if (entry) entry.deferredTo = null;
        break;
      }
    }
    const due = waiters.filter((w) => w.at <= position);
    waiters = waiters.filter((w) => w.at > position);
    for (const waiter of due) waiter.resolve();
  };

  let subscription: Subscription | undefined;
  /** Follows the Issue streams from the start of the log; the reactor waits for it before deciding. */
  const follow = (onError: (error: unknown) => void) => {
    // Leading again: the index is read anew from the start of the log.
    stopped = false;
    open.clear();
    position = -1n;
    subscription = deps.store.subscribeToAll(
      { filter: { streamPrefixes: [`${StreamCategory.Issue}-`], eventTypes: [...FOLLOWED] } },
      (event) => fold(event),
    );
    subscription.done.catch((error) => {
      // Nothing may be decided on an index that stopped following: the reactor fails (and retries, visibly).
      stopped = true;
      for (const waiter of waiters.splice(0)) waiter.resolve();
      onError(error);
    });
    return subscription;
  };
  const caughtUp = async (at: bigint) => {
    if (at > position && !stopped) await new Promise<void>((resolve) => waiters.push({ at, resolve }));
    // Stopped while waiting: deciding on an index that no longer follows the log could undo a newer decision.
    if (stopped) throw new Error('the cascade index has stopped');
  };

  const tell = async (issueId: string, command: Omit<IssueCommand, 'metadata'>, metadata: MessageMetadata) => {
    try {
      const outcome = await issues(streamName(StreamCategory.Issue, issueId), { ...command, metadata } as IssueCommand);
      return outcome.newEvents.length;
    } catch (error) {
      if (isCairnError(error) && SETTLED.has(error.code)) return 0;
      throw error;
    }
  };

  const dependenciesAmong = async (members: readonly CascadeMember[]): Promise<ServiceDependency[]> => {
    // The anchor's namespace first; a storm of Issues across the cluster reads a bounded number of namespaces.
    const [first, ...rest] = members.map((m) => m.workload.namespace);
    const namespaces = [...new Set([first!, ...rest.sort()])].slice(0, MAX_NAMESPACES);
    const graph = await deps.graph(namespaces);
    return graph.edges.map(({ from, to }) => ({ from, to }));
  };

  /**
   * Correlates the Issue with the open ones in its window: every member is told the chain (the decider drops a
   * repeat), plans that waited for another root now wait for this one, and a member that became the root, or left
   * the cascade, stops waiting. Returns the chain, root first, or null when the Issue stands alone.
   */
  const correlate = async (issueId: string, metadata: MessageMetadata) => {
    const anchor = open.get(issueId);
    // Correlation off: no new cascade, and plans held before it was turned off are still released by their roots.
    if (anchor === undefined || windowMinutes === 0) return null;
    const others = [...open.values()].map((entry) => entry.member).filter((m) => m.issueId !== issueId);
    const windowMs = windowMinutes * 60_000;
    const near = others.filter(
      (m) => Math.abs(Date.parse(m.detectedAt) - Date.parse(anchor.member.detectedAt)) <= windowMs,
    );
    const chain =
      near.length === 0
        ? null
        : findCascade(anchor.member, near, await dependenciesAmong([anchor.member, ...near]), windowMinutes);
    if (chain === null) {
      const waiting = anchor.deferredTo;
      if (waiting !== null && open.has(waiting.rootIssueId)) {
        await tell(
          issueId,
          {
            type: 'ReleaseRemediation',
            data: {
              rootIssueId: waiting.rootIssueId,
              reason: HoldReleaseReason.NoLongerDependant,
              detail: 'it is in no cascade any more',
            },
          },
          metadata,
        );
      }
      return null;
    }
    const root = chain[0]!;
    const bounded = chain.slice(0, 100);
    let changed = 0;
    for (const member of bounded) {
      changed += await tell(
        member.issueId,
        { type: 'CorrelateCascade', data: { rootIssueId: root.issueId, chain: bounded, windowMinutes } },
        metadata,
      );
      const waiting = open.get(member.issueId)?.deferredTo;
      if (waiting === undefined || waiting === null || waiting.rootIssueId === root.issueId) continue;
      if (member.issueId === root.issueId) {
        await tell(
          member.issueId,
          {
            type: 'ReleaseRemediation',
            data: {
              rootIssueId: waiting.rootIssueId,
              reason: HoldReleaseReason.NoLongerDependant,
              detail: 'it is the root of its cascade now',
            },
          },
          metadata,
        );
      } else {
        await tell(
          member.issueId,
          {
            type: 'DeferRemediationToRoot',
            data: {
              rootIssueId: root.issueId,
              insightId: waiting.insightId,
              reason: `${display(root.workload)}, further upstream, is the root of its cascade now`,
            },
          },
          metadata,
        );
      }
    }
    if (changed > 0)
      log(
        `cascade: ${bounded.map((m) => `${m.workload.namespace}/${m.workload.name}`).join(' ← ')} (root Issue ${root.issueId})`,
      );
    return chain;
  };

  /**
   * The root ended. Escalated: plans that waited for it go ahead. Resolved: each dependant's workload is checked
   * after the grace (the check is recorded, so a restart keeps it); recovered, it resolves with its root.
   */
  const releaseDependants = async (
    rootIssueId: string,
    outcome: 'resolved' | 'escalated',
    metadata: MessageMetadata,
  ) => {
    for (const entry of open.values()) {
      if (entry.deferredTo?.rootIssueId !== rootIssueId) continue;
      if (outcome === 'resolved' && deps.checkWorkload !== undefined) {
        const dueAt = new Date(Date.parse(metadata.occurredAt) + recoveryGraceMs).toISOString();
        await tell(entry.member.issueId, { type: 'ScheduleRecoveryCheck', data: { rootIssueId, dueAt } }, metadata);
        continue;
      }
      await tell(
        entry.member.issueId,
        {
          type: 'ReleaseRemediation',
          data: {
            rootIssueId,
            reason: outcome === 'resolved' ? HoldReleaseReason.RootResolved : HoldReleaseReason.RootEscalated,
          },
        },
        metadata,
      );
    }
  };

  const waitForIssue = async (issueId: string) => {
    const deadline = Date.now() + (deps.indexWaitMs ?? 30_000);
    while (!open.has(issueId) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const reactor: Reactor = {
    name: 'cascade-correlation',
    filter: {
      streamPrefixes: [`${StreamCategory.Issue}-`],
      eventTypes: ['IssueDetected', 'IssueAnomalyAttached', 'IssueResolved', 'IssueEscalated'],
    },
    async handle(event) {
      await caughtUp(event.position);
      const issueId = parseStreamName(event.streamId).id;
      const metadata = { occurredAt: event.metadata.occurredAt, causationId: event.id, actor: 'system:cascade' };
      switch (event.type) {
        case 'IssueDetected':
          await correlate(issueId, metadata);
          return;
        case 'IssueAnomalyAttached':
          // A new kind of signal may tie the workload to others; the same signal again changes nothing.
          if ((event.data as { newSignal?: boolean }).newSignal) await correlate(issueId, metadata);
          return;
        default:
          await releaseDependants(issueId, event.type === 'IssueResolved' ? 'resolved' : 'escalated', metadata);
      }
    },
  };

  const readIssue = async (issueId: string): Promise<IssueState> =>
    (
      (await deps.store.readStream(streamName(StreamCategory.Issue, issueId))) as unknown as RecordedEvent<IssueEvent>[]
    ).reduce(issueDecider.evolve, issueDecider.initialState());

  /**
   * Asked by the pipeline before a plan starts. When the Issue is a dependant in a cascade whose root is open, the
   * plan waits: the deferral is recorded on the Issue and true is returned; the release, recorded later, brings the
   * plan back. False: plan now.
   */
  const deferIfDependant = async (state: IssueState, metadata: MessageMetadata): Promise<boolean> => {
    // Not leading, or the index stopped: the plan is not held on a guess (root-first is an order, not a guard).
    if (subscription === undefined || stopped || state.insightId === null || windowMinutes === 0) return false;
    await waitForIssue(state.issueId);
    const chain = await correlate(state.issueId, metadata);
    const root = chain?.[0];
    if (root === undefined || root.issueId === state.issueId || !open.has(root.issueId)) return false;
    await tell(
      state.issueId,
      {
        type: 'DeferRemediationToRoot',
        data: {
          rootIssueId: root.issueId,
          insightId: state.insightId,
          reason: `${display(root.workload)}, which it depends on, is the root of its cascade; fixing it comes first`,
        },
      },
      metadata,
    );
    // The root may have ended between the question and the record, before the reactor could see the deferral.
    const rootState = await readIssue(root.issueId);
    if (isTerminal(rootState) && rootState.status === 'Resolved' && deps.checkWorkload !== undefined) {
      const dueAt = new Date(Date.parse(metadata.occurredAt) + recoveryGraceMs).toISOString();
      await tell(
        state.issueId,
        { type: 'ScheduleRecoveryCheck', data: { rootIssueId: root.issueId, dueAt } },
        metadata,
      );
    } else if (isTerminal(rootState)) {
      await tell(
        state.issueId,
        {
          type: 'ReleaseRemediation',
          data: {
            rootIssueId: root.issueId,
            reason: rootState.status === 'Resolved' ? HoldReleaseReason.RootResolved : HoldReleaseReason.RootEscalated,
          },
        },
        metadata,
      );
    }
    log(`cascade: plan of Issue ${state.issueId} waits for root Issue ${root.issueId}`);
    return true;
  };

  /**
   * Fires the recovery checks that are due: a dependant whose workload is healthy resolves with its root, one still
   * failing gets its plan. Each outcome is decided on the Issue's own stream, so a repeat (or two sweeps) is harmless.
   * Returns how many Issues were settled.
   */
  const sweepRecoveryChecks = async (): Promise<number> => {
    if (subscription === undefined || stopped || deps.checkWorkload === undefined) return 0;
    const at = now();
    const due = [...open.values()].filter(
      (entry) =>
        entry.deferredTo?.recoveryCheckDueAt !== undefined &&
        Date.parse(entry.deferredTo.recoveryCheckDueAt) <= at.getTime(),
    );
    let settled = 0;
    for (const entry of due) {
      const { rootIssueId } = entry.deferredTo!;
      const metadata = { occurredAt: at.toISOString(), actor: 'system:cascade' };
      let health: { healthy: boolean; detail: string };
      try {
        health = await deps.checkWorkload(entry.member.workload, [...entry.signals]);
      } catch (error) {
        // The workload cannot be read: nothing shows it recovered, so its own plan goes ahead.
        health = { healthy: false, detail: `its workload could not be checked: ${String(error).slice(0, 300)}` };
      }
      if (health.healthy) {
        settled += await tell(
          entry.member.issueId,
          { type: 'ResolveRecoveredWithRoot', data: { rootIssueId, detail: health.detail } },
          metadata,
        );
        log(`cascade: Issue ${entry.member.issueId} recovered with its root Issue ${rootIssueId}`);
      } else {
        settled += await tell(
          entry.member.issueId,
          {
            type: 'ReleaseRemediation',
            data: {
              rootIssueId,
              reason: HoldReleaseReason.RootResolved,
              detail: `still failing after the root was fixed: ${health.detail}`,
            },
          },
          metadata,
        );
      }
    }
    return settled;
  };

  return {
    reactor,
    follow,
    deferIfDependant,
    sweepRecoveryChecks,
    /** The open Issues as the index has them (for tests and diagnostics). */
    openIssues: () => [...open.values()].map((entry) => ({ ...entry.member, deferredTo: entry.deferredTo })),
    stop: async () => {
      stopped = true;
      for (const waiter of waiters.splice(0)) waiter.resolve();
      await subscription?.close();
      subscription = undefined;
    },
  };
}
