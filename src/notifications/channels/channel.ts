import type { NotificationDelivery, NotificationPolicyRef } from '../../../domain/events/notification.events.ts';

/** Everything a channel renders from: the decision as recorded, so a retry sends the same words. */
export interface ChannelMessage {
  readonly notificationId: string;
  readonly delivery: NotificationDelivery;
  readonly policy: NotificationPolicyRef;
  readonly groupKey: string;
  /** When the notification was decided. */
  readonly decidedAt: string;
  /** Which attempt this is, 1 for the first. */
  readonly attempt: number;
  /**
   * The policy's incidentUrl: a URL with `{issueId}` (and optionally `{issue}`, the Issue object's name) that each
   * message links to; without it messages name the Issue object instead of linking.
   */
  readonly incidentUrl?: string;
}

/** Credentials read from their Secrets for one send, and forgotten after it. */
export interface ChannelCredentials {
  /** The URL to post to, or PagerDuty's routing key (see the channel). */
  readonly target: string;
  readonly signingKey?: string;
  /** PagerDuty's endpoint or Opsgenie's base URL, when not the public one. */
  readonly url?: string;
  /** SMTP authentication, when the server asks for it. */
  readonly username?: string;
  readonly password?: string;
  /** PEM certificates an SMTP server's certificate may chain to, besides the system's. */
  readonly ca?: string;
}

export interface HttpRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What one attempt came to; `error` is written by Cairn from the status and the vendor's words, never a URL. */
export interface SendResult {
  readonly ok: boolean;
  readonly statusCode?: number;
  readonly latencyMs: number;
  readonly error: string;
  /** A failure without a status that may pass (refused connection, timeout, missing Secret). */
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
}

/** Seconds from a Retry-After header: delta-seconds or an HTTP date. */
export function retryAfterSeconds(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : undefined;
}

/** Hides every credential that might come back in a vendor's answer or a network error. */
export const redactor =
  (secrets: readonly string[]) =>
  (text: string): string =>
    secrets.filter((s) => s.length >= 4).reduce((out, secret) => out.split(secret).join('[REDACTED]'), text);

/**
 * Posts once, with a deadline. Whatever happens comes back as a SendResult: the caller records it and never sees
 * an exception, whose message might carry the URL (a Slack webhook URL is its own credential).
 */
export async function post(
  request: HttpRequest,
  options: {
    readonly timeoutMs: number;
    readonly secrets: readonly string[];
    readonly accept: (status: number, body: string) => boolean;
    readonly now?: () => number;
  },
): Promise<SendResult> {
  const now = options.now ?? Date.now;
  const redact = redactor(options.secrets);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const body = (await response.text()).slice(0, 4_096);
    const latencyMs = elapsed();
    const status = response.status;
    if (options.accept(status, body)) return { ok: true, statusCode: status, latencyMs, error: '', retryable: false };
    const said = redact(body.replace(/\s+/g, ' ').trim()).slice(0, 300);
    const after = retryAfterSeconds(response.headers.get('retry-after'), now());
    return {
      ok: false,
      statusCode: status,
      latencyMs,
      error: `HTTP ${status}${said ? `: ${said}` : ''}`,
      retryable: status >= 500 || status === 429 || status === 408,
      ...(after === undefined ? {} : { retryAfterSeconds: after }),
    };
  } catch (error) {
    const latencyMs = elapsed();
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { ok: false, latencyMs, error: `no answer within ${options.timeoutMs} ms`, retryable: true };
    }
    // fetch wraps the socket's error; its code (ECONNREFUSED, ENOTFOUND, ...) says enough and names no URL.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (error instanceof Error ? error.name : 'error');
    return { ok: false, latencyMs, error: `request failed: ${redact(String(code))}`, retryable: true };
  }
}

/** Shortens text to `max` characters, marking the cut, so a vendor's size limit truncates instead of failing. */
export const clip = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;

export const issueLine = (entry: NotificationDelivery['issues'][number]): string => {
  const { issue } = entry;
  const w = issue.workload;
  const where = `${w.kind} ${w.namespace ? `${w.namespace}/` : ''}${w.name}`;
  const state = entry.status === 'resolved' ? 'resolved' : entry.transition.replace('_', ' ');
  return `${issue.severity.toUpperCase()} ${issue.signal} on ${where}: ${state} (Issue ${issue.name})`;
};

export const headline = (message: ChannelMessage): string => {
  const { delivery } = message;
  const firing = delivery.issues.filter((i) => i.status === 'firing').length + delivery.omitted;
  const resolved = delivery.issues.filter((i) => i.status === 'resolved').length;
  const parts = [...(firing > 0 ? [`${firing} firing`] : []), ...(resolved > 0 ? [`${resolved} resolved`] : [])];
  return `${delivery.repeat ? '[still firing] ' : ''}Cairn: ${parts.join(', ')} (${message.groupKey || message.policy.rule})`;
};

/** The incident's link in a message, when the policy says where incidents are seen; undefined otherwise. */
export function incidentLink(message: ChannelMessage, issue: { readonly issueId: string; readonly name: string }) {
  if (message.incidentUrl === undefined) return undefined;
  return message.incidentUrl
    .split('{issueId}')
    .join(encodeURIComponent(issue.issueId))
    .split('{issue}')
    .join(encodeURIComponent(issue.name));
}

/** Length of a string as UTF-8 bytes: vendors' size limits count bytes, not characters. */
export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
