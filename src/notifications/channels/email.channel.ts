import { rootCertificates } from 'node:tls';
import nodemailer from 'nodemailer';
import {
  type ChannelCredentials,
  type ChannelMessage,
  clip,
  headline,
  incidentLink,
  issueLine,
  redactor,
  type SendResult,
} from './channel.ts';

/** How the connection to the SMTP server is secured. */
export type SmtpTls = 'starttls' | 'implicit' | 'none';

export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  /** `starttls`: upgrade a plain connection and refuse to send without it; `implicit`: TLS from the first byte. */
  readonly tls: SmtpTls;
  readonly from: string;
  readonly to: readonly string[];
}

/**
 * A subject stays well inside what mail clients show and RFC 5322's line limit (998 characters, folded by the
 * library); a body line is not cut, but a summary beyond `summary` characters is.
 */
export const EMAIL_LIMITS = { subject: 200, summary: 4_000, issues: 100 } as const;

type Entry = ChannelMessage['delivery']['issues'][number];

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `[CRITICAL] Cairn: oom_kill on Deployment shop/checkout: detected (Issue checkout-1)`, or the group's headline. */
export function emailSubject(message: ChannelMessage): string {
  const { delivery } = message;
  const worst = ['critical', 'high', 'medium', 'low'].find((s) => delivery.issues.some((i) => i.issue.severity === s));
  const allResolved = delivery.issues.every((i) => i.status === 'resolved');
  const tag = allResolved ? 'RESOLVED' : (worst ?? 'low').toUpperCase();
  const only = delivery.issues.length === 1 && delivery.omitted === 0 ? delivery.issues[0] : undefined;
  const text = only ? `${delivery.repeat ? '[still firing] ' : ''}Cairn: ${issueLine(only)}` : headline(message);
  return clip(`[${tag}] ${text}`.replace(/[\r\n]+/g, ' '), EMAIL_LIMITS.subject);
}

const footer = (message: ChannelMessage) =>
  `Policy ${message.policy.namespace}/${message.policy.name}, rule ${message.policy.rule}; notification ${message.notificationId}.`;

/** The plain-text body: one paragraph per Issue with its link, then what sent it. */
export function emailText(message: ChannelMessage): string {
  const { delivery } = message;
  const shown = delivery.issues.slice(0, EMAIL_LIMITS.issues);
  const more = delivery.issues.length - shown.length + delivery.omitted;
  const paragraphs = shown.map((entry: Entry) => {
    const link = incidentLink(message, entry.issue);
    return [
      `${entry.changed ? '* ' : '  '}${issueLine(entry)}`,
      `  ${clip(entry.issue.summary, EMAIL_LIMITS.summary).replace(/\n/g, '\n  ')}`,
      link ? `  Incident: ${link}` : `  kubectl get issue ${entry.issue.name}`,
    ].join('\n');
  });
  return [
    headline(message),
    '',
    ...paragraphs.flatMap((p) => [p, '']),
    ...(more > 0 ? [`and ${more} more Issues`, ''] : []),
    footer(message),
    '',
  ].join('\n');
}

/** The HTML body: the same content, every value escaped. */
export function emailHtml(message: ChannelMessage): string {
  const { delivery } = message;
  const shown = delivery.issues.slice(0, EMAIL_LIMITS.issues);
  const more = delivery.issues.length - shown.length + delivery.omitted;
  const items = shown.map((entry: Entry) => {
    const link = incidentLink(message, entry.issue);
    const colour = entry.status === 'resolved' ? '#1a7f37' : '#cf222e';
    const line = escapeHtml(issueLine(entry));
    return [
      '<li>',
      `<p style="color:${colour}">${entry.changed ? `<strong>${line}</strong>` : line}</p>`,
      `<p>${escapeHtml(clip(entry.issue.summary, EMAIL_LIMITS.summary))}</p>`,
      link
        ? `<p><a href="${escapeHtml(link)}">Open the incident</a></p>`
        : `<p><code>kubectl get issue ${escapeHtml(entry.issue.name)}</code></p>`,
      '</li>',
    ].join('');
  });
  return [
    '<!doctype html><html><body>',
    `<h2>${escapeHtml(headline(message))}</h2>`,
    `<ul>${items.join('')}</ul>`,
    more > 0 ? `<p>and ${more} more Issues</p>` : '',
    `<p style="color:#57606a">${escapeHtml(footer(message))}</p>`,
    '</body></html>',
  ].join('');
}

/** SMTP reply codes 4yz are transient (try again), 5yz permanent; a failure without a reply is a network one. */
const transient = (error: { code?: string; responseCode?: number }): boolean => {
  if (typeof error.responseCode === 'number') return error.responseCode >= 400 && error.responseCode < 500;
  return !['EAUTH', 'EENVELOPE', 'EMESSAGE'].includes(error.code ?? '');
};

/**
 * Sends one email. Connection, greeting and socket each time out after `timeoutMs`, and the whole send is abandoned
 * after it too, so a server that accepts the connection and then stalls cannot hold the channel. Like the HTTP
 * channels, every outcome is a SendResult: a delivered message carries the SMTP `250`; a failure carries no status
 * (SMTP codes read the other way round from HTTP's) and says in words what the server answered.
 */
export async function sendEmail(
  message: ChannelMessage,
  settings: SmtpSettings,
  credentials: Pick<ChannelCredentials, 'username' | 'password' | 'ca'>,
  timeoutMs: number,
): Promise<SendResult> {
  const redact = redactor([credentials.username ?? '', credentials.password ?? '']);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.tls === 'implicit',
    requireTLS: settings.tls === 'starttls',
    ignoreTLS: settings.tls === 'none',
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    ...(credentials.username !== undefined || credentials.password !== undefined
      ? { auth: { user: credentials.username ?? '', pass: credentials.password ?? '' } }
      : {}),
    // Node's `ca` replaces the system CAs: a private CA is added to them, not put in their place.
    ...(credentials.ca ? { tls: { ca: [...rootCertificates, credentials.ca] } } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const sent = transport.sendMail({
      from: settings.from,
      to: [...settings.to],
      subject: emailSubject(message),
      text: emailText(message),
      html: emailHtml(message),
      messageId: `<${message.delivery.deliveryId}@cairn>`,
      headers: { 'X-Cairn-Delivery-Id': message.delivery.deliveryId },
    });
    sent.catch(() => {});
    const outcome = await Promise.race([sent, deadline]);
    if (outcome === 'timeout') {
      return { ok: false, latencyMs: elapsed(), error: `no answer within ${timeoutMs} ms`, retryable: true };
    }
    return { ok: true, statusCode: 250, latencyMs: elapsed(), error: '', retryable: false };
  } catch (error) {
    const e = error as { code?: string; responseCode?: number; response?: string; message?: string };
    const said = e.response ? `: ${redact(e.response.replace(/\s+/g, ' ').trim()).slice(0, 300)}` : '';
    const what =
      e.code === 'ETIMEDOUT'
        ? `no answer within ${timeoutMs} ms`
        : e.code === 'ESOCKET' || e.code === 'ECONNECTION' || e.code === 'EDNS'
          ? `SMTP connection failed: ${redact(String((error as { cause?: { code?: string } }).cause?.code ?? e.message ?? e.code)).slice(0, 200)}`
          : `SMTP ${e.code ?? 'error'}${said || `: ${redact(String(e.message ?? '')).slice(0, 200)}`}`;
    return { ok: false, latencyMs: elapsed(), error: what, retryable: transient(e) };
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}
