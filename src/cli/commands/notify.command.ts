import type { Command } from 'commander';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';

export type Write = (text: string) => void;

interface Delivery {
  readonly deliveryId: string;
  readonly channel: { readonly name: string; readonly type: string };
  readonly pagingAction: string | null;
  readonly attempts: number;
  readonly outcome: string;
  readonly statusCode: number | null;
  readonly latencyMs: number | null;
  readonly error: string | null;
  readonly retryAt: string | null;
}

export interface NotifyTestOptions {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly namespace: string;
  readonly policy: string;
  readonly channel: string;
  /** How long to wait for the outcome; a delivery still being retried after it is reported as such. */
  readonly waitMs: number;
  readonly pollMs?: number;
  readonly write: Write;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const problemOf = async (response: Response): Promise<string> => {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { detail?: string; title?: string; code?: string };
    return `${body.detail ?? body.title ?? text}${body.code ? ` (${body.code})` : ''}`;
  } catch {
    return text.slice(0, 300) || response.statusText;
  }
};

const line = (d: Delivery): string => {
  const what = `${d.channel.name} (${d.channel.type}${d.pagingAction ? ` ${d.pagingAction}` : ''})`;
  const answer = `${d.statusCode === null ? 'no answer' : `HTTP ${d.statusCode}`}${d.latencyMs === null ? '' : ` in ${d.latencyMs} ms`}`;
  switch (d.outcome) {
    case 'delivered':
      return `delivered to ${what}: ${answer}, attempt ${d.attempts}`;
    case 'failed':
      return `FAILED on ${what} after ${d.attempts} attempt(s), given up: ${d.error ?? answer}`;
    case 'retrying':
      return `not delivered yet to ${what}: attempt ${d.attempts} failed (${d.error ?? answer}), next try at ${d.retryAt}`;
    default:
      return `not tried yet on ${what}`;
  }
};

/**
 * Asks the API for a test message on one channel, then follows the notification until every delivery is delivered
 * or given up (or the wait ends). Returns whether everything was delivered.
 */
export async function notifyTest(options: NotifyTestOptions): Promise<boolean> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const base = options.apiUrl.replace(/\/+$/, '');
  const headers = { 'x-api-key': options.apiKey, 'content-type': 'application/json' };
  const path = `/api/v1/notification-policies/${encodeURIComponent(options.namespace)}/${encodeURIComponent(options.policy)}/test`;
  let response: Response;
  try {
    response = await doFetch(`${base}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ channel: options.channel }),
    });
  } catch (error) {
    throw new CairnError('cli.api_unreachable', ErrorCategory.Transient, `cannot reach the Cairn API at ${base}`, {
      cause: error,
    });
  }
  if (response.status !== 202) {
    throw new CairnError(
      'cli.notify_refused',
      ErrorCategory.Validation,
      `the API refused the test (HTTP ${response.status}): ${await problemOf(response)}`,
    );
  }
  const sent = (await response.json()) as { notificationId: string; deliveryIds: string[] };
  options.write(`test notification ${sent.notificationId} recorded; waiting for the outbox to deliver it\n`);
  const deadline = now() + options.waitMs;
  let last: Delivery[] = [];
  for (;;) {
    const answer = await doFetch(`${base}/api/v1/notifications/${encodeURIComponent(sent.notificationId)}`, {
      headers: { 'x-api-key': options.apiKey },
    });
    if (answer.ok) {
      last = ((await answer.json()) as { items: Delivery[] }).items;
      const done = last.length > 0 && last.every((d) => d.outcome === 'delivered' || d.outcome === 'failed');
      if (done) break;
    } else if (answer.status !== 404) {
      throw new CairnError(
        'cli.notify_status',
        ErrorCategory.Transient,
        `cannot read notification ${sent.notificationId} (HTTP ${answer.status}): ${await problemOf(answer)}`,
      );
    }
    if (now() >= deadline) break;
    await sleep(options.pollMs ?? 250);
  }
  if (last.length === 0) {
    options.write(
      `no outcome within ${Math.round(options.waitMs / 1000)} s: is a Cairn leader running? The message stays recorded and will be sent.\n`,
    );
    return false;
  }
  for (const d of last) options.write(`${line(d)}\n`);
  return last.every((d) => d.outcome === 'delivered');
}

/** `cairn notify test <policy> <channel>`: a test message through the outbox, and what became of it. */
export function registerNotifyCommand(program: Command, write: Write = (t) => process.stdout.write(t)): void {
  const notify = program.command('notify').description('notification channels');
  notify
    .command('test')
    .description(
      'send a test message on one channel of a NotificationPolicy (through the outbox: audited and retried) and print the outcome',
    )
    .argument('<policy>', 'the NotificationPolicy: <name> (in --namespace) or <namespace>/<name>')
    .argument('<channel>', 'a channel name of spec.channels')
    .option('--namespace <name>', "the policy's namespace", 'cairn-system')
    .option(
      '--api-url <url>',
      'the Cairn API (also CAIRN_API_URL)',
      process.env.CAIRN_API_URL ?? 'http://127.0.0.1:8090',
    )
    .option('--wait <seconds>', 'how long to wait for the outcome', (v) => Number.parseInt(v, 10), 60)
    .action(async (policyArg: string, channel: string, opts: { namespace: string; apiUrl: string; wait: number }) => {
      const apiKey = process.env.CAIRN_API_KEY;
      if (!apiKey) {
        throw new CairnError(
          'cli.api_key_missing',
          ErrorCategory.Validation,
          'set CAIRN_API_KEY to an operator or admin key (see `cairn apikey create`)',
        );
      }
      if (!Number.isInteger(opts.wait) || opts.wait < 0) {
        throw new CairnError('cli.invalid_wait', ErrorCategory.Validation, '--wait takes a whole number of seconds');
      }
      const parts = policyArg.split('/');
      const dns = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
      if (parts.length > 2 || !parts.every((p) => dns.test(p)) || !dns.test(channel)) {
        throw new CairnError(
          'cli.invalid_argument',
          ErrorCategory.Validation,
          `<policy> is <name> or <namespace>/<name> and <channel> a channel name (lower-case letters, digits, -): got ${JSON.stringify(policyArg)} ${JSON.stringify(channel)}`,
        );
      }
      const [namespace, name] = parts.length === 2 ? (parts as [string, string]) : [opts.namespace, policyArg];
      const ok = await notifyTest({
        apiUrl: opts.apiUrl,
        apiKey,
        namespace,
        policy: name,
        channel,
        waitMs: opts.wait * 1000,
        write,
      });
      if (!ok) process.exitCode = 1;
    });
}
