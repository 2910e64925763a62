import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type ChannelCredentials,
  type ChannelMessage,
  type HttpRequest,
  incidentLink,
  post,
  type SendResult,
} from './channel.ts';

/** The body's schema version; a receiver checks it before reading further. */
export const WEBHOOK_SCHEMA = 'cairn.notification/v1';

export const WebhookHeaders = {
  signature: 'x-cairn-signature',
  timestamp: 'x-cairn-timestamp',
  deliveryId: 'x-cairn-delivery-id',
} as const;

export function webhookBody(message: ChannelMessage): Record<string, unknown> {
  const { delivery } = message;
  return {
    schema: WEBHOOK_SCHEMA,
    deliveryId: delivery.deliveryId,
    notificationId: message.notificationId,
    decidedAt: message.decidedAt,
    attempt: message.attempt,
    repeat: delivery.repeat,
    policy: message.policy,
    groupKey: message.groupKey,
    status: delivery.issues.some((i) => i.status === 'firing') ? 'firing' : 'resolved',
    issues: delivery.issues.map((entry) => {
      const link = incidentLink(message, entry.issue);
      return {
        ...entry.issue,
        status: entry.status,
        transition: entry.transition,
        changed: entry.changed,
        ...(link ? { link } : {}),
      };
    }),
    omitted: delivery.omitted,
  };
}

/** `v1=` + hex HMAC-SHA256 over `<timestamp>.<body>`: the timestamp is signed too, so a replay cannot renew it. */
export const webhookSignature = (key: string, timestamp: string, body: string): string =>
  `v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;

/**
 * What a receiver does, written once here so the documentation and the tests agree: recompute the signature,
 * compare in constant time, and refuse a timestamp further than `toleranceSeconds` from its own clock. Seen
 * delivery ids (kept for at least the tolerance) catch a replay inside the window.
 */
export function verifyWebhook(
  key: string,
  headers: { readonly signature?: string; readonly timestamp?: string },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'mismatch' } {
  if (!headers.signature || !headers.timestamp || !/^\d+$/.test(headers.timestamp))
    return { ok: false, reason: 'missing' };
  if (Math.abs(nowSeconds - Number(headers.timestamp)) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(webhookSignature(key, headers.timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given)
    ? { ok: true }
    : { ok: false, reason: 'mismatch' };
}

export function webhookRequest(message: ChannelMessage, credentials: ChannelCredentials, nowMs: number): HttpRequest {
  const body = JSON.stringify(webhookBody(message));
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    url: credentials.target,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'cairn-notifications',
      [WebhookHeaders.deliveryId]: message.delivery.deliveryId,
      [WebhookHeaders.timestamp]: timestamp,
      ...(credentials.signingKey
        ? { [WebhookHeaders.signature]: webhookSignature(credentials.signingKey, timestamp, body) }
        : {}),
    },
    body,
  };
}

export const sendWebhook = (
  message: ChannelMessage,
  credentials: ChannelCredentials,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<SendResult> =>
  post(webhookRequest(message, credentials, now()), {
    timeoutMs,
    secrets: [credentials.target, ...(credentials.signingKey ? [credentials.signingKey] : [])],
    accept: (status) => status >= 200 && status < 300,
    now,
  });
