import type Database from 'better-sqlite3';
import type { AnomalyDeduplicatedData, AnomalyDetectedData } from '../domain/events/anomaly.events.ts';
import type { AnomalyJoinedIssueData } from '../domain/events/correlation.events.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { prepared } from './sqlite.statements.ts';

/**
 * Anomalies as recorded by the correlation streams: one row per anomaly, the Issue it opened or joined, and how many
 * repeats were folded into it while it was open. A row remembers the position that last wrote it, so a replayed
 * event (and therefore a repeat counter) is never counted twice.
 */
export interface AnomalyRow {
  readonly anomaly_id: string;
  readonly signal: string;
  readonly source: string;
  readonly resource_kind: string;
  readonly resource_name: string;
  readonly resource_namespace: string;
  readonly workload_kind: string;
  readonly workload_name: string;
  readonly workload_namespace: string;
  readonly message: string;
  readonly observed_at: string;
  readonly recorded_at: string;
  readonly issue_id: string | null;
  readonly duplicates: number;
  readonly labels: string;
  readonly last_position: number;
}

const guarded = (db: Database.Database, anomalyId: string, position: bigint): boolean => {
  const row = prepared<[string], { last_position: number }>(
    db,
    'SELECT last_position FROM anomalies WHERE anomaly_id = ?',
  ).get(anomalyId);
  return row !== undefined && BigInt(row.last_position) < position;
};

export const anomaliesProjection = {
  name: 'anomalies',
  handles: (type: string) =>
    type === 'AnomalyDetected' ||
    type === 'AnomalyDeduplicated' ||
    type === 'CorrelationIssueOpened' ||
    type === 'AnomalyJoinedIssue',
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS anomalies (
        anomaly_id TEXT PRIMARY KEY, signal TEXT NOT NULL, source TEXT NOT NULL, resource_kind TEXT NOT NULL,
        resource_name TEXT NOT NULL, resource_namespace TEXT NOT NULL, workload_kind TEXT NOT NULL,
        workload_name TEXT NOT NULL, workload_namespace TEXT NOT NULL, message TEXT NOT NULL,
        observed_at TEXT NOT NULL, recorded_at TEXT NOT NULL, issue_id TEXT, duplicates INTEGER NOT NULL,
        labels TEXT NOT NULL, last_position INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS anomalies_by_time ON anomalies (recorded_at DESC, anomaly_id DESC);
      CREATE INDEX IF NOT EXISTS anomalies_by_issue ON anomalies (issue_id);`);
  },
  reset(db: Database.Database) {
    db.exec('DELETE FROM anomalies;');
  },
  apply(event: RecordedEvent, db: Database.Database) {
    const position = Number(event.position);
    switch (event.type) {
      case 'AnomalyDetected': {
        const d = event.data as AnomalyDetectedData;
        prepared(
          db,
          `INSERT OR IGNORE INTO anomalies VALUES (@anomaly_id, @signal, @source, @resource_kind, @resource_name,
             @resource_namespace, @workload_kind, @workload_name, @workload_namespace, @message, @observed_at,
             @recorded_at, NULL, 0, @labels, @last_position)`,
        ).run({
          anomaly_id: d.anomalyId,
          signal: d.signal,
          source: d.source,
          resource_kind: d.resource.kind,
          resource_name: d.resource.name,
          resource_namespace: d.resource.namespace,
          workload_kind: d.workload.kind,
          workload_name: d.workload.name,
          workload_namespace: d.workload.namespace,
          message: d.message,
          observed_at: d.observedAt,
          recorded_at: event.metadata.occurredAt,
          labels: JSON.stringify(d.labels ?? {}),
          last_position: position,
        });
        return;
      }
      case 'CorrelationIssueOpened':
      case 'AnomalyJoinedIssue': {
        const d = event.data as AnomalyJoinedIssueData;
        if (!guarded(db, d.anomalyId, event.position)) return;
        prepared(db, 'UPDATE anomalies SET issue_id = ?, last_position = ? WHERE anomaly_id = ?').run(
          d.issueId,
          position,
          d.anomalyId,
        );
        return;
      }
      case 'AnomalyDeduplicated': {
        const d = event.data as AnomalyDeduplicatedData;
        if (!guarded(db, d.duplicateOf, event.position)) return;
        prepared(db, 'UPDATE anomalies SET duplicates = duplicates + 1, last_position = ? WHERE anomaly_id = ?').run(
          position,
          d.duplicateOf,
        );
        return;
      }
      default:
        return;
    }
  },
};
