import { isCairnError } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type RevisionJudgedData, RevisionVerdict } from '../../domain/events/revision.events.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { type EventStore, EventStoreErrorCode } from '../ports/eventStore.ts';
import type { Reactor } from './reactor.ts';

/**
 * What Cairn knows of each revision of a workload, kept in one stream per workload: a revision proved healthy when
 * a rollout of it completed, and turned bad when Cairn rolled back away from it. The policy reads it before any
 * rollback, so Cairn never returns to a release it has just fled, and still finds one that worked long ago.
 */

export const revisionStream = (workload: ResourceRef): string =>
  streamName(StreamCategory.Revision, `${workload.kind}.${workload.namespace || '_'}.${workload.name}`);

/** The latest verdict on each revision of the workload, by revision hash. */
export async function revisionVerdicts(
  store: EventStore,
  workload: ResourceRef,
): Promise<Readonly<Record<string, RevisionVerdict>>> {
  const verdicts: Record<string, RevisionVerdict> = {};
  for (const event of await store.readStream(revisionStream(workload))) {
    if (event.type !== 'RevisionJudged') continue;
    const d = event.data as RevisionJudgedData;
    verdicts[d.revision] = d.verdict;
  }
  return verdicts;
}

/**
 * Records a verdict unless it is already the latest one on that revision, so a watcher that sees the same healthy
 * rollout after every restart writes it once. Concurrent writers retry on the stream's revision.
 */
export async function judgeRevision(
  store: EventStore,
  judged: RevisionJudgedData,
  metadata: { readonly occurredAt: string; readonly actor: string; readonly causationId?: string },
): Promise<boolean> {
  const stream = revisionStream(judged.workload);
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(stream);
    const latest = history.findLast(
      (e) => e.type === 'RevisionJudged' && (e.data as RevisionJudgedData).revision === judged.revision,
    );
    if ((latest?.data as RevisionJudgedData | undefined)?.verdict === judged.verdict) return false;
    const last = history.at(-1);
    try {
      await store.appendToStream(stream, [{ type: 'RevisionJudged', data: judged, metadata }], {
        expectedRevision: last === undefined ? 'no_stream' : last.revision,
      });
      return true;
    } catch (error) {
      if (!(isCairnError(error) && error.code === EventStoreErrorCode.WrongExpectedRevision) || attempt >= 5)
        throw error;
    }
  }
}

/**
 * Turns a rollback that succeeded into a bad verdict on the revision it left. The action reports that revision
 * (ActionSucceeded.revisionLeft); the plan names the workload.
 */
export function revisionLedgerReactor(store: EventStore): Reactor {
  return {
    name: 'revision-ledger',
    filter: { eventTypes: ['ActionSucceeded'] },
    async handle(event) {
      const { revisionLeft, type } = event.data as { revisionLeft?: string; type: string };
      if (revisionLeft === undefined) return;
      const plan = (await store.readStream(event.streamId)).find((e) => e.type === 'RemediationPlanCreated');
      const workload = (plan?.data as { target?: ResourceRef } | undefined)?.target;
      if (workload === undefined) return;
      await judgeRevision(
        store,
        { workload, revision: revisionLeft, verdict: RevisionVerdict.Bad, reason: `${type} rolled back away from it` },
        { occurredAt: event.metadata.occurredAt, actor: 'system:executor', causationId: event.id },
      );
    },
  };
}
