import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/*
 * Local stand-ins for the vendors Cairn notifies: Slack's incoming webhooks, PagerDuty's Events API v2, a Teams
 * workflow, Opsgenie's Alert API, and a plain webhook. Each checks a request against the vendor's published
 * payload schema (trimmed copies in vendor-schemas/, validated with ajv) and the vendor's rules that a schema does
 * not say (authentication, paths, size), and answers as the vendor does: a malformed request gets the vendor's
 * refusal, a good one the vendor's success, unless the test scripts another answer (429 with Retry-After, 5xx).
 */

export type Vendor = 'slack' | 'pagerduty' | 'webhook' | 'teams' | 'opsgenie';

export interface Received {
  readonly method: string;
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
  /** Hold the answer this long (ms): a vendor that hangs. */
  readonly delayMs?: number;
}

const schemaDir = new URL('./vendor-schemas/', import.meta.url);
const schema = (file: string) => JSON.parse(readFileSync(new URL(file, schemaDir), 'utf8')) as object;

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema(schema('adaptive-card.json'));
ajv.addSchema(schema('opsgenie-alert.json'));
const validators = {
  slack: ajv.compile(schema('slack-blocks.json')),
  pagerduty: ajv.compile(schema('pagerduty-events-v2.json')),
  teams: ajv.compile(schema('teams-message.json')),
  opsgenieCreate: ajv.getSchema('opsgenie-alert.json#/definitions/create') as ValidateFunction,
  opsgenieAction: ajv.getSchema('opsgenie-alert.json#/definitions/acknowledgeOrClose') as ValidateFunction,
};

const described = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? [])
    .filter((e) => e.keyword !== 'if')
    .map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}`.trim());

const check = (validate: ValidateFunction, body: unknown): string[] =>
  body === undefined ? ['body is not JSON'] : validate(body) ? [] : described(validate.errors);

/** Vendors' size limits on the whole request, in bytes. */
export const VENDOR_BODY_LIMITS = { teams: 28 * 1024, pagerduty: 512 * 1024, slack: 40_000 * 4 } as const;

export const slackProblems = (body: unknown): string[] => check(validators.slack, body);
export const pagerDutyProblems = (body: unknown): string[] => check(validators.pagerduty, body);
export const teamsProblems = (body: unknown): string[] => check(validators.teams, body);

/** The Opsgenie request a path names: create, or acknowledge / close by alias. */
export function opsgenieRoute(
  method: string,
  path: string,
): { kind: 'create' } | { kind: 'acknowledge' | 'close'; alias: string } | undefined {
  const url = new URL(path, 'http://opsgenie.invalid');
  if (method !== 'POST') return undefined;
  if (url.pathname === '/v2/alerts') return { kind: 'create' };
  const m = /^\/v2\/alerts\/([^/]+)\/(acknowledge|close)$/.exec(url.pathname);
  if (m === null || url.searchParams.get('identifierType') !== 'alias') return undefined;
  return { kind: m[2] as 'acknowledge' | 'close', alias: decodeURIComponent(m[1]!) };
}

export const opsgenieProblems = (method: string, path: string, body: unknown): string[] => {
  const route = opsgenieRoute(method, path);
  if (route === undefined) return [`no such Alert API request: ${method} ${path}`];
  return check(route.kind === 'create' ? validators.opsgenieCreate : validators.opsgenieAction, body);
};

/** What Opsgenie would hold: one alert per alias, the count of creates it folded in, and its status. */
export interface OpsgenieAlert {
  readonly alias: string;
  message: string;
  priority: string;
  status: 'open' | 'acknowledged' | 'closed';
  count: number;
  acknowledgedBy?: string;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

function refusal(vendor: Vendor, problems: readonly string[]): Reply {
  switch (vendor) {
    case 'pagerduty':
      return json(400, { status: 'invalid event', message: 'Event object is invalid', errors: problems });
    case 'opsgenie':
      return json(422, { message: problems.join('; '), took: 0.001, requestId: randomUUID() });
    case 'teams':
      return json(400, { error: { code: 'InvalidRequestContent', message: problems.join('; ') } });
    default:
      return { status: 400, body: 'invalid_payload' };
  }
}

function accepted(vendor: Vendor, body: unknown): Reply {
  switch (vendor) {
    case 'pagerduty':
      return json(202, {
        status: 'success',
        message: 'Event processed',
        dedup_key: (body as { dedup_key?: string }).dedup_key,
      });
    case 'opsgenie':
      return json(202, { result: 'Request will be processed', took: 0.002, requestId: randomUUID() });
    case 'slack':
      return { status: 200, body: 'ok' };
    case 'teams':
      return { status: 202 };
    default:
      return { status: 204 };
  }
}

export interface VendorReceiver {
  readonly url: string;
  readonly received: Received[];
  /** Opsgenie only: the alerts as Opsgenie would hold them, by alias. */
  readonly alerts: Map<string, OpsgenieAlert>;
  /** Answers the next requests with these, in order, after checking them; then as the vendor would. */
  script(...replies: Reply[]): void;
  close(): Promise<void>;
}

export interface VendorReceiverOptions {
  /** Opsgenie: the API key every request must carry as `Authorization: GenieKey <key>`. */
  readonly apiKey?: string;
}

export async function startVendorReceiver(
  vendor: Vendor,
  options: VendorReceiverOptions = {},
): Promise<VendorReceiver> {
  const received: Received[] = [];
  const scripted: Reply[] = [];
  const alerts = new Map<string, OpsgenieAlert>();

  const problemsOf = (method: string, path: string, headers: IncomingHttpHeaders, raw: string, body: unknown) => {
    if (!String(headers['content-type'] ?? '').startsWith('application/json')) {
      return ['content-type must be application/json'];
    }
    switch (vendor) {
      case 'slack':
        return slackProblems(body);
      case 'pagerduty':
        return Buffer.byteLength(raw) > VENDOR_BODY_LIMITS.pagerduty
          ? ['event is larger than 512 KB']
          : pagerDutyProblems(body);
      case 'teams':
        return teamsProblems(body);
      case 'opsgenie':
        return opsgenieProblems(method, path, body);
      default:
        return body === undefined ? ['body is not JSON'] : [];
    }
  };

  /** Opsgenie's bookkeeping of a good request: dedup by alias, acknowledge and close what is open. */
  const track = (method: string, path: string, body: unknown) => {
    const route = opsgenieRoute(method, path);
    if (route === undefined) return;
    const b = body as { alias?: string; message: string; priority?: string; user?: string };
    if (route.kind === 'create') {
      const alias = b.alias ?? randomUUID();
      const open = alerts.get(alias);
      if (open && open.status !== 'closed') open.count += 1;
      else alerts.set(alias, { alias, message: b.message, priority: b.priority ?? 'P3', status: 'open', count: 1 });
      return;
    }
    const alert = alerts.get(route.alias);
    // Opsgenie answers 202 and drops a request for an alias it does not have; so does this receiver.
    if (alert === undefined || alert.status === 'closed') return;
    if (route.kind === 'close') alert.status = 'closed';
    else {
      alert.status = 'acknowledged';
      if (b.user) alert.acknowledgedBy = b.user;
    }
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const method = request.method ?? 'GET';
      const path = request.url ?? '';
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      let reply: Reply;
      let problems: string[] = [];
      const key = String(request.headers.authorization ?? '');
      if (vendor === 'opsgenie' && options.apiKey !== undefined && key !== `GenieKey ${options.apiKey}`) {
        problems = ['Authorization must be GenieKey <the API key>'];
        reply = json(401, { message: 'Could not authenticate', took: 0, requestId: randomUUID() });
      } else if (vendor === 'teams' && Buffer.byteLength(raw) > VENDOR_BODY_LIMITS.teams) {
        problems = [`message is ${Buffer.byteLength(raw)} bytes, over Teams' 28 KB`];
        reply = json(413, { error: { code: 'RequestEntityTooLarge', message: 'Message size is too large' } });
      } else {
        problems = problemsOf(method, path, request.headers, raw, body);
        reply = problems.length > 0 ? refusal(vendor, problems) : (scripted.shift() ?? accepted(vendor, body));
      }
      if (vendor === 'opsgenie' && problems.length === 0 && reply.status === 202) track(method, path, body);
      received.push({ method, path, headers: request.headers, raw, body, problems, status: reply.status });
      const answer = () => {
        if (response.destroyed) return;
        response.writeHead(reply.status, reply.headers ?? {});
        response.end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    alerts,
    script: (...replies) => scripted.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
