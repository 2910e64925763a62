import type Database from 'better-sqlite3';
import type {
  NotificationDecidedData,
  NotificationDeliveredData,
  NotificationFailedData,
} from '../domain/events/notification.events.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import {
  type ChannelHealth,
  ChannelState,
  nextChannelHealth,
  unknownChannelHealth,
} from '../domain/notification/channelHealth.ts';
import { prepared } from './sqlite.statements.ts';

/**
 * Notifications as the read model shows them: one row per delivery (who was told, on which channel, of which
 * Issues, how many attempts, how it ended), the Issues each delivery told of (what an incident's page lists), and
 * each channel's health folded with the same rule as the NotificationPolicy status. Rows remember the position
 * that last wrote them, so an event applied twice changes nothing.
 */
export interface NotificationDeliveryRow {
  readonly delivery_id: string;
  readonly notification_id: string;
  readonly policy_namespace: string;
  readonly policy_name: string;
  readonly rule: string;
  readonly channel: string;
  readonly channel_type: string;
  readonly paging_action: string | null;
  readonly repeat: number;
  readonly test: number;
  readonly decided_at: string;
  readonly attempts: number;
  readonly outcome: DeliveryOutcome;
  readonly status_code: number | null;
  readonly latency_ms: number | null;
  readonly error: string | null;
  readonly retry_at: string | null;
  readonly finished_at: string | null;
  readonly last_position: number;
}

export const DeliveryOutcome = {
  Pending: 'pending',
  Retrying: 'retrying',
  Delivered: 'delivered',
  Failed: 'failed',
} as const;
export type DeliveryOutcome = (typeof DeliveryOutcome)[keyof typeof DeliveryOutcome];

export interface NotificationChannelRow {
  readonly namespace: string;
  readonly policy: string;
  readonly channel: string;
  readonly channel_type: string;
  readonly state: string;
  readonly consecutive_failures: number;
  readonly last_success_at: string | null;
  readonly last_failure_at: string | null;
  readonly last_error: string | null;
  readonly last_status_code: number | null;
  readonly last_position: number;
}

const healthOf = (row: NotificationChannelRow | undefined): ChannelHealth =>
  row === undefined
    ? unknownChannelHealth()
    : {
        state: row.state === ChannelState.Degraded ? ChannelState.Degraded : ChannelState.Healthy,
        consecutiveFailures: row.consecutive_failures,
        lastSuccessAt: row.last_success_at,
        lastFailureAt: row.last_failure_at,
        lastError: row.last_error,
        lastStatusCode: row.last_status_code,
      };

function applyDecided(db: Database.Database, event: RecordedEvent) {
  const d = event.data as NotificationDecidedData;
  const insert = prepared(
    db,
    `INSERT OR IGNORE INTO notification_deliveries VALUES (@delivery_id, @notification_id, @policy_namespace,
       @policy_name, @rule, @channel, @channel_type, @paging_action, @repeat, @test, @decided_at, 0, 'pending', NULL,
       NULL, NULL, NULL, NULL, @last_position)`,
  );
  const told = prepared(db, 'INSERT OR IGNORE INTO notification_delivery_issues VALUES (?, ?, ?, ?, ?)');
  for (const delivery of d.deliveries) {
    insert.run({
      delivery_id: delivery.deliveryId,
      notification_id: d.notificationId,
      policy_namespace: d.policy.namespace,
      policy_name: d.policy.name,
      rule: d.policy.rule,
      channel: delivery.channel.name,
      channel_type: delivery.channel.type,
      paging_action: delivery.pagingAction ?? null,
      repeat: delivery.repeat ? 1 : 0,
      test: d.test ? 1 : 0,
      decided_at: event.metadata.occurredAt,
      last_position: Number(event.position),
    });
    for (const entry of delivery.issues) {
      told.run(delivery.deliveryId, entry.issue.issueId, entry.transition, entry.status, entry.changed ? 1 : 0);
    }
  }
}

function applyOutcome(db: Database.Database, event: RecordedEvent) {
  const delivered = event.type === 'NotificationDelivered';
  const d = event.data as NotificationDeliveredData & Partial<NotificationFailedData>;
  const position = Number(event.position);
  const row = prepared<[string], NotificationDeliveryRow>(
    db,
    'SELECT * FROM notification_deliveries WHERE delivery_id = ?',
  ).get(d.deliveryId);
  if (row === undefined || row.last_position >= position) return;
  const at = event.metadata.occurredAt;
  const gaveUp = !delivered && d.retryAt === undefined;
  prepared(
    db,
    `UPDATE notification_deliveries SET attempts = @attempts, outcome = @outcome, status_code = @status_code,
       latency_ms = @latency_ms, error = @error, retry_at = @retry_at, finished_at = @finished_at,
       last_position = @last_position WHERE delivery_id = @delivery_id`,
  ).run({
    delivery_id: d.deliveryId,
    attempts: d.attempt,
    outcome: delivered ? DeliveryOutcome.Delivered : gaveUp ? DeliveryOutcome.Failed : DeliveryOutcome.Retrying,
    status_code: d.statusCode ?? null,
    latency_ms: d.latencyMs,
    error: delivered ? null : (d.error ?? null),
    retry_at: delivered ? null : (d.retryAt ?? null),
    finished_at: delivered || gaveUp ? at : null,
    last_position: position,
  });
  const key = [row.policy_namespace, row.policy_name, row.channel] as const;
  const current = prepared<[string, string, string], NotificationChannelRow>(
    db,
    'SELECT * FROM notification_channels WHERE namespace = ? AND policy = ? AND channel = ?',
  ).get(...key);
  if (current !== undefined && current.last_position >= position) return;
  const next = nextChannelHealth(
    healthOf(current),
    delivered
      ? { ok: true, at, statusCode: d.statusCode }
      : {
          ok: false,
          at,
          ...(d.statusCode === undefined ? {} : { statusCode: d.statusCode }),
          error: d.error ?? '',
          gaveUp,
        },
  );
  prepared(db, `INSERT OR REPLACE INTO notification_channels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    ...key,
    row.channel_type,
    next.state,
    next.consecutiveFailures,
    next.lastSuccessAt,
    next.lastFailureAt,
    next.lastError,
    next.lastStatusCode,
    position,
  );
}

export const notificationsProjection = {
  name: 'notifications',
  handles: (type: string) =>
    type === 'NotificationDecided' || type === 'NotificationDelivered' || type === 'NotificationFailed',
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS notification_deliveries (
        delivery_id TEXT PRIMARY KEY, notification_id TEXT NOT NULL, policy_namespace TEXT NOT NULL,
        policy_name TEXT NOT NULL, rule TEXT NOT NULL, channel TEXT NOT NULL, channel_type TEXT NOT NULL,
        paging_action TEXT, repeat INTEGER NOT NULL, test INTEGER NOT NULL, decided_at TEXT NOT NULL,
        attempts INTEGER NOT NULL, outcome TEXT NOT NULL, status_code INTEGER, latency_ms INTEGER, error TEXT,
        retry_at TEXT, finished_at TEXT, last_position INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS notification_deliveries_by_notification
        ON notification_deliveries (notification_id, delivery_id);
      CREATE TABLE IF NOT EXISTS notification_delivery_issues (
        delivery_id TEXT NOT NULL, issue_id TEXT NOT NULL, transition TEXT NOT NULL, status TEXT NOT NULL,
        changed INTEGER NOT NULL, PRIMARY KEY (delivery_id, issue_id));
      CREATE INDEX IF NOT EXISTS notification_delivery_issues_by_issue
        ON notification_delivery_issues (issue_id, delivery_id);
      CREATE TABLE IF NOT EXISTS notification_channels (
        namespace TEXT NOT NULL, policy TEXT NOT NULL, channel TEXT NOT NULL, channel_type TEXT NOT NULL,
        state TEXT NOT NULL, consecutive_failures INTEGER NOT NULL, last_success_at TEXT, last_failure_at TEXT,
        last_error TEXT, last_status_code INTEGER, last_position INTEGER NOT NULL,
        PRIMARY KEY (namespace, policy, channel));`);
  },
  reset(db: Database.Database) {
    db.exec(
      'DELETE FROM notification_deliveries; DELETE FROM notification_delivery_issues; DELETE FROM notification_channels;',
    );
  },
  apply(event: RecordedEvent, db: Database.Database) {
    if (event.type === 'NotificationDecided') applyDecided(db, event);
    else if (event.type === 'NotificationDelivered' || event.type === 'NotificationFailed') applyOutcome(db, event);
  },
};
