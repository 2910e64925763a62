import type Database from 'better-sqlite3';
import type { NotificationChannelRow, NotificationDeliveryRow } from '../../../projections/notifications.projection.ts';
import { prepared } from '../../../projections/sqlite.statements.ts';

/** One delivery as an incident's page and the API show it: who was told what, when, and how it went. */
export interface DeliveryView {
  readonly deliveryId: string;
  readonly notificationId: string;
  readonly policy: { readonly namespace: string; readonly name: string; readonly rule: string };
  readonly channel: { readonly name: string; readonly type: string };
  /** What the message told of this Issue (detected, escalated, ..., resolved); absent on a notification's list. */
  readonly transition?: string;
  readonly status?: string;
  readonly pagingAction: string | null;
  readonly repeat: boolean;
  readonly test: boolean;
  readonly decidedAt: string;
  readonly attempts: number;
  /** pending (not tried yet), retrying, delivered, or failed (given up). */
  readonly outcome: string;
  readonly statusCode: number | null;
  /** Of the last attempt's request. */
  readonly latencyMs: number | null;
  /** The last failed attempt's error, written by Cairn without credentials; null once delivered. */
  readonly error: string | null;
  readonly retryAt: string | null;
  readonly finishedAt: string | null;
}

export interface ChannelHealthView {
  readonly namespace: string;
  readonly policy: string;
  readonly channel: string;
  readonly type: string;
  readonly state: string;
  readonly consecutiveFailures: number;
  readonly lastSuccessAt: string | null;
  readonly lastFailureAt: string | null;
  readonly lastError: string | null;
  readonly lastStatusCode: number | null;
}

const view = (row: NotificationDeliveryRow & { transition?: string; status?: string }): DeliveryView => ({
  deliveryId: row.delivery_id,
  notificationId: row.notification_id,
  policy: { namespace: row.policy_namespace, name: row.policy_name, rule: row.rule },
  channel: { name: row.channel, type: row.channel_type },
  ...(row.transition === undefined ? {} : { transition: row.transition }),
  ...(row.status === undefined ? {} : { status: row.status }),
  pagingAction: row.paging_action,
  repeat: row.repeat === 1,
  test: row.test === 1,
  decidedAt: row.decided_at,
  attempts: row.attempts,
  outcome: row.outcome,
  statusCode: row.status_code,
  latencyMs: row.latency_ms,
  error: row.error,
  retryAt: row.retry_at,
  finishedAt: row.finished_at,
});

const channelView = (row: NotificationChannelRow): ChannelHealthView => ({
  namespace: row.namespace,
  policy: row.policy,
  channel: row.channel,
  type: row.channel_type,
  state: row.state,
  consecutiveFailures: row.consecutive_failures,
  lastSuccessAt: row.last_success_at,
  lastFailureAt: row.last_failure_at,
  lastError: row.last_error,
  lastStatusCode: row.last_status_code,
});

/** Deliveries per incident are few (a message per transition per channel); a bound keeps a runaway group cheap. */
export const MAX_DELIVERIES_LISTED = 500;

export function createNotificationQueries(db: Database.Database) {
  const hasTables = () =>
    prepared<[], { n: number }>(
      db,
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'notification_deliveries'",
    ).get()?.n === 1;
  return {
    /** Every delivery that told of the Issue, oldest decision first. */
    deliveriesOfIssue(issueId: string): DeliveryView[] {
      if (!hasTables()) return [];
      return prepared<[string, number], NotificationDeliveryRow & { transition: string; status: string }>(
        db,
        `SELECT d.*, i.transition, i.status FROM notification_delivery_issues i
           JOIN notification_deliveries d ON d.delivery_id = i.delivery_id
         WHERE i.issue_id = ? ORDER BY d.decided_at, d.last_position, d.delivery_id LIMIT ?`,
      )
        .all(issueId, MAX_DELIVERIES_LISTED)
        .map(view);
    },
    /** deliveriesOfIssue for many Issues in one query (GraphQL's loader for a page of incidents). */
    deliveriesOfIssues(issueIds: readonly string[]): Map<string, DeliveryView[]> {
      const out = new Map<string, DeliveryView[]>();
      if (issueIds.length === 0 || !hasTables()) return out;
      const unique = [...new Set(issueIds)];
      const rows = db
        .prepare<unknown[], NotificationDeliveryRow & { issue_id: string; transition: string; status: string }>(
          `SELECT d.*, i.issue_id, i.transition, i.status FROM notification_delivery_issues i
             JOIN notification_deliveries d ON d.delivery_id = i.delivery_id
           WHERE i.issue_id IN (${unique.map(() => '?').join(', ')})
           ORDER BY d.decided_at, d.last_position, d.delivery_id`,
        )
        .all(...unique);
      for (const row of rows) {
        const list = out.get(row.issue_id) ?? [];
        if (list.length < MAX_DELIVERIES_LISTED) list.push(view(row));
        out.set(row.issue_id, list);
      }
      return out;
    },
    /** The deliveries one decision made (a test message's, for instance). */
    deliveriesOfNotification(notificationId: string): DeliveryView[] {
      if (!hasTables()) return [];
      return prepared<[string, number], NotificationDeliveryRow>(
        db,
        'SELECT * FROM notification_deliveries WHERE notification_id = ? ORDER BY delivery_id LIMIT ?',
      )
        .all(notificationId, MAX_DELIVERIES_LISTED)
        .map(view);
    },
    /** Every channel that has had an attempt, by policy and channel. */
    channels(): ChannelHealthView[] {
      if (!hasTables()) return [];
      return prepared<[], NotificationChannelRow>(
        db,
        'SELECT * FROM notification_channels ORDER BY namespace, policy, channel',
      )
        .all()
        .map(channelView);
    },
  };
}

export type NotificationQueries = ReturnType<typeof createNotificationQueries>;
