import { createHash } from 'node:crypto';
import { correlationDecider } from '../../../domain/correlation/correlation.decider.ts';
import { dedupKeyInput } from '../../../domain/correlation/dedup.policy.ts';
import { workloadKey } from '../../../domain/correlation/workload.resolver.ts';
import type { AnomalyCause } from '../../../domain/events/anomaly.events.ts';
import type { AnomalySource, ResourceRef } from '../../../domain/events/common.schema.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The one place that names a workload's correlation stream. */
export const correlationStream = (workload: ResourceRef): string =>
  streamName(StreamCategory.Correlation, sha256Hex(workloadKey(workload)).slice(0, 32));

export interface AnomalyReport {
  readonly signal: string;
  readonly source: AnomalySource;
  /** The object the symptom was seen on (a Pod); `workload` is what owns it (its Deployment). */
  readonly resource: ResourceRef;
  readonly workload: ResourceRef;
  readonly message: string;
  readonly observedAt: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Why, when the source could tell (see AnomalyCauseSchema). */
  readonly cause?: AnomalyCause;
  /** When the caller already has an id (a manual Anomaly object's name), it is kept. */
  readonly anomalyId?: string;
}

export interface AnomalyRecorderDeps {
  readonly store: EventStore;
  readonly newId: () => string;
  readonly now: () => Date;
  readonly actor?: string;
}

/**
 * Every detection source ends here. The workload's correlation stream decides whether this is a new anomaly, a
 * duplicate of one still in its dedup window, and which Issue it opens or joins; the Issue itself is told by the
 * correlation reactor, from the events, so a crash between the two loses nothing.
 */
export function createAnomalyRecorder(deps: AnomalyRecorderDeps) {
  const correlate = createCommandHandler(deps.store, correlationDecider, { maxAttempts: 5 });
  return async (report: AnomalyReport) => {
    const { workload } = report;
    const outcome = await correlate(correlationStream(workload), {
      type: 'RecordAnomaly',
      data: {
        anomalyId: report.anomalyId ?? deps.newId(),
        dedupKey: sha256Hex(dedupKeyInput(report.signal, workload.kind, workload.name, workload.namespace)),
        signal: report.signal,
        source: report.source,
        resource: report.resource,
        workload,
        message: report.message,
        observedAt: report.observedAt,
        issueIdIfNew: deps.newId(),
        ...(report.labels ? { labels: report.labels } : {}),
        ...(report.cause ? { cause: report.cause } : {}),
      },
      metadata: { occurredAt: deps.now().toISOString(), actor: deps.actor ?? 'system:detector' },
    });
    return outcome.newEvents;
  };
}
