import type { AnomalyCause } from '../events/anomaly.events.ts';
import type { AnomalySource, ResourceRef } from '../events/common.schema.ts';
import type { Command } from '../messages.ts';

/** Every detection source ends here: watchers, Alertmanager, Kafka, gRPC GetAlerts, manual Anomalies. */
export type RecordAnomaly = Command<
  'RecordAnomaly',
  {
    readonly anomalyId: string;
    /** SHA-256 hex of dedupKeyInput(signal, workload kind, name, namespace), computed by the caller. */
    readonly dedupKey: string;
    readonly signal: string;
    readonly source: AnomalySource;
    readonly resource: ResourceRef;
    /** resolveWorkload(resource, owners): the stream is per workload, so this must match it. */
    readonly workload: ResourceRef;
    readonly message: string;
    readonly observedAt: string;
    /** Id the new Issue gets if the workload has none open; ids come from the caller, never from here. */
    readonly issueIdIfNew: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly cause?: AnomalyCause;
  }
>;

/** The Issue reached Resolved or Escalated. */
export type CloseCorrelatedIssue = Command<
  'CloseCorrelatedIssue',
  { readonly issueId: string; readonly outcome: 'resolved' | 'escalated' }
>;

export type CorrelationCommand = RecordAnomaly | CloseCorrelatedIssue;
