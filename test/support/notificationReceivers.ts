import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * Local stand-ins for Slack's incoming webhooks and PagerDuty's Events API v2. Each checks a request against the
 * vendor's published shape (written here from the vendor's documentation, not copied from any client) and answers
 * as the vendor does: a malformed request gets the vendor's 400, a good one Slack's `ok` or PagerDuty's 202, unless
 * the test scripts another answer (429 with Retry-After, 5xx).
 */

export type Vendor = 'slack' | 'pagerduty' | 'webhook';

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: string;
  readonly body: unknown;
  /** What the vendor would have refused; empty for a well-formed request. */
  readonly problems: readonly string[];
  readonly status: number;
}

export interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;

/** Block Kit, as far as Cairn uses it: header, section and context blocks within their limits. */
export function slackProblems(body: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(body)) return ['body is not a JSON object'];
  if (!text(body.text, 40_000) && !Array.isArray(body.blocks)) problems.push('neither text nor blocks');
  if (body.blocks !== undefined) {
    if (!Array.isArray(body.blocks) || body.blocks.length === 0 || body.blocks.length > 50) {
      problems.push('blocks must hold 1 to 50 blocks');
    } else {
      for (const [i, block] of body.blocks.entries()) {
        if (!isObject(block)) {
          problems.push(`blocks[${i}] is not an object`);
          continue;
        }
        const t = block.text as Record<string, unknown> | undefined;
        switch (block.type) {
          case 'header':
            if (!isObject(t) || t.type !== 'plain_text' || !text(t.text, 150)) {
              problems.push(`blocks[${i}].text must be plain_text of 1..150 characters`);
            }
            break;
          case 'section':
            if (!isObject(t) || !['plain_text', 'mrkdwn'].includes(String(t.type)) || !text(t.text, 3_000)) {
              problems.push(`blocks[${i}].text must be text of 1..3000 characters`);
            }
            break;
          case 'context': {
            const elements = block.elements;
            if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) {
              problems.push(`blocks[${i}].elements must hold 1 to 10 elements`);
            } else if (
              !elements.every(
                (e) => isObject(e) && ['plain_text', 'mrkdwn'].includes(String(e.type)) && text(e.text, 3_000),
              )
            ) {
              problems.push(`blocks[${i}].elements must be text elements`);
            }
            break;
          }
          default:
            problems.push(`blocks[${i}].type ${String(block.type)} is not one this receiver knows`);
        }
      }
    }
  }
  return problems;
}

/** Events API v2: routing key, action, dedup key; a trigger's payload with summary, source and severity. */
export function pagerDutyProblems(body: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(body)) return ['body is not a JSON object'];
  if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32) {
    problems.push('routing_key must be a 32-character integration key');
  }
  const action = body.event_action;
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(action))) problems.push('event_action is invalid');
  if (body.dedup_key !== undefined && !text(body.dedup_key, 255)) problems.push('dedup_key must be 1..255 characters');
  if (action !== 'trigger' && body.dedup_key === undefined) problems.push(`${String(action)} needs dedup_key`);
  if (action === 'trigger') {
    const p = body.payload;
    if (!isObject(p)) problems.push('payload is required for trigger');
    else {
      if (!text(p.summary, 1_024)) problems.push('payload.summary must be 1..1024 characters');
      if (!text(p.source, 255)) problems.push('payload.source is required');
      if (!['critical', 'error', 'warning', 'info'].includes(String(p.severity)))
        problems.push('payload.severity is invalid');
      if (p.timestamp !== undefined && Number.isNaN(Date.parse(String(p.timestamp)))) {
        problems.push('payload.timestamp must be ISO 8601');
      }
      if (p.custom_details !== undefined && !isObject(p.custom_details)) problems.push('payload.custom_details');
    }
  }
  return problems;
}

const refusal = (vendor: Vendor, problems: readonly string[]): Reply =>
  vendor === 'pagerduty'
    ? {
        status: 400,
        body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: problems }),
        headers: { 'content-type': 'application/json' },
      }
    : { status: 400, body: 'invalid_payload' };

const accepted = (vendor: Vendor, body: unknown): Reply =>
  vendor === 'pagerduty'
    ? {
        status: 202,
        body: JSON.stringify({
          status: 'success',
          message: 'Event processed',
          dedup_key: isObject(body) ? body.dedup_key : undefined,
        }),
        headers: { 'content-type': 'application/json' },
      }
    : vendor === 'slack'
      ? { status: 200, body: 'ok' }
      : { status: 204 };

export interface VendorReceiver {
  readonly url: string;
  readonly received: Received[];
  /** Answers the next requests with these, in order, after checking them; then as the vendor would. */
  script(...replies: Reply[]): void;
  close(): Promise<void>;
}

export async function startVendorReceiver(vendor: Vendor): Promise<VendorReceiver> {
  const received: Received[] = [];
  const scripted: Reply[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const problems =
        request.headers['content-type'] !== 'application/json'
          ? ['content-type must be application/json']
          : vendor === 'slack'
            ? slackProblems(body)
            : vendor === 'pagerduty'
              ? pagerDutyProblems(body)
              : body === undefined
                ? ['body is not JSON']
                : [];
      const reply = problems.length > 0 ? refusal(vendor, problems) : (scripted.shift() ?? accepted(vendor, body));
      received.push({ path: request.url ?? '', headers: request.headers, raw, body, problems, status: reply.status });
      response.writeHead(reply.status, reply.headers ?? {});
      response.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (...replies) => scripted.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
