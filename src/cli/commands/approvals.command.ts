import type { Command } from 'commander';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';

export type Write = (text: string) => void;

export interface ApprovalsClientOptions {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly write: Write;
  readonly fetch?: typeof fetch;
}

interface Approval {
  readonly id: string;
  readonly remediationId: string;
  readonly issueId: string;
  readonly state: string;
  readonly requiredApprovals: number;
  readonly approvers: readonly string[];
  readonly refusedBy: string | null;
  readonly reason: string | null;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
}

interface Remediation {
  readonly source: string;
  readonly status: string;
  readonly target: { readonly kind: string; readonly name: string; readonly namespace?: string };
  readonly runbook: string | null;
  readonly actions?: readonly { readonly type: string; readonly params?: Record<string, string> }[];
}

export const approvalStates = ['pending', 'approved', 'refused', 'expired', 'all'] as const;

const problemOf = async (response: Response): Promise<string> => {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { detail?: string; title?: string; message?: string; code?: string };
    return `${body.detail ?? body.message ?? body.title ?? text}${body.code ? ` (${body.code})` : ''}`;
  } catch {
    return text.slice(0, 300) || response.statusText;
  }
};

/** The approval routes of the REST API, as `cairn approvals` uses them; every failure names what the API said. */
export function approvalsClient(options: ApprovalsClientOptions) {
  const doFetch = options.fetch ?? fetch;
  const base = options.apiUrl.replace(/\/+$/, '');
  const request = async <T>(path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await doFetch(`${base}/api/v1${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          'x-api-key': options.apiKey,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new CairnError('cli.api_unreachable', ErrorCategory.Transient, `cannot reach the Cairn API at ${base}`, {
        cause: error,
      });
    }
    if (!response.ok) {
      const category =
        response.status === 404
          ? ErrorCategory.NotFound
          : response.status === 409
            ? ErrorCategory.Conflict
            : ErrorCategory.Validation;
      throw new CairnError('cli.api_refused', category, `HTTP ${response.status}: ${await problemOf(response)}`);
    }
    return (await response.json()) as T;
  };
  const id = (value: string) => encodeURIComponent(value);
  const describe = (a: Approval) =>
    `${a.id}: ${a.state}, ${a.approvers.length}/${a.requiredApprovals} approval(s)${a.approvers.length > 0 ? ` (${a.approvers.join(', ')})` : ''}${a.refusedBy ? `, rejected by ${a.refusedBy}${a.reason ? `: ${a.reason}` : ''}` : ''}`;

  return {
    async list(state: (typeof approvalStates)[number]): Promise<Approval[]> {
      const all: Approval[] = [];
      let cursor: string | undefined;
      do {
        const query = new URLSearchParams({ limit: '100', ...(state === 'all' ? {} : { state }) });
        if (cursor) query.set('cursor', cursor);
        const page = await request<{ items: Approval[]; nextCursor?: string | null }>(`/approvals?${query}`);
        all.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      if (all.length === 0) {
        options.write(`no ${state === 'all' ? '' : `${state} `}approval requests\n`);
        return all;
      }
      const rows = [
        ['REQUEST', 'STATE', 'APPROVALS', 'ISSUE', 'EXPIRES'],
        ...all.map((a) => [a.id, a.state, `${a.approvers.length}/${a.requiredApprovals}`, a.issueId, a.expiresAt]),
      ];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const row of rows)
        options.write(
          `${row
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join('  ')
            .trimEnd()}\n`,
        );
      return all;
    },

    async show(requestId: string): Promise<Approval> {
      const approval = await request<Approval>(`/approvals/${id(requestId)}`);
      const plan = await request<Remediation>(`/remediations/${id(approval.remediationId)}`);
      const target = `${plan.target.kind} ${plan.target.namespace ? `${plan.target.namespace}/` : ''}${plan.target.name}`;
      options.write(`${describe(approval)}\n`);
      options.write(`issue:     ${approval.issueId}\n`);
      options.write(
        `plan:      ${approval.remediationId} (${plan.source}${plan.runbook ? `, runbook ${plan.runbook}` : ''}), ${plan.status}\n`,
      );
      options.write(`target:    ${target}\n`);
      const actions = plan.actions ?? [];
      if (actions.length === 0) options.write('actions:   decided step by step by the agentic loop\n');
      for (const a of actions) {
        const params = Object.entries(a.params ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        options.write(`action:    ${a.type}${params ? ` ${params}` : ''}\n`);
      }
      options.write(`requested: ${approval.requestedAt}\nexpires:   ${approval.expiresAt}\n`);
      if (approval.decidedAt) options.write(`decided:   ${approval.decidedAt}\n`);
      return approval;
    },

    async approve(requestId: string): Promise<Approval> {
      await request(`/approvals/${id(requestId)}/approve`, {});
      const approval = await request<Approval>(`/approvals/${id(requestId)}`);
      options.write(`${describe(approval)}\n`);
      return approval;
    },

    async reject(requestId: string, reason: string): Promise<Approval> {
      await request(`/approvals/${id(requestId)}/reject`, { reason });
      const approval = await request<Approval>(`/approvals/${id(requestId)}`);
      options.write(`${describe(approval)}\n`);
      return approval;
    },
  };
}

/** `cairn approvals list|show|approve|reject`: decisions through the REST API, as the key in CAIRN_API_KEY. */
export function registerApprovalsCommand(program: Command, write: Write = (t) => process.stdout.write(t)): void {
  const approvals = program
    .command('approvals')
    .description('remediation plans waiting for people: list, show, approve, reject (through the REST API)')
    .option(
      '--api-url <url>',
      'the Cairn API (also CAIRN_API_URL)',
      process.env.CAIRN_API_URL ?? 'http://127.0.0.1:8090',
    );
  const client = () => {
    const apiKey = process.env.CAIRN_API_KEY;
    if (!apiKey) {
      throw new CairnError(
        'cli.api_key_missing',
        ErrorCategory.Validation,
        'set CAIRN_API_KEY to your API key (an operator key to decide; see `cairn apikey create`)',
      );
    }
    return approvalsClient({ apiUrl: (approvals.opts() as { apiUrl: string }).apiUrl, apiKey, write });
  };
  approvals
    .command('list')
    .description('approval requests, newest first (pending ones by default)')
    .option('--state <state>', `one of ${approvalStates.join(', ')}`, 'pending')
    .action(async (opts: { state: string }) => {
      if (!(approvalStates as readonly string[]).includes(opts.state)) {
        throw new CairnError(
          'cli.invalid_state',
          ErrorCategory.Validation,
          `--state takes one of ${approvalStates.join(', ')}, not ${JSON.stringify(opts.state)}`,
        );
      }
      await client().list(opts.state as (typeof approvalStates)[number]);
    });
  approvals
    .command('show')
    .description('one request: the plan, its actions and target, the decisions so far, the deadline')
    .argument('<request>', 'the request id (see `cairn approvals list`)')
    .action(async (requestId: string) => {
      await client().show(requestId);
    });
  approvals
    .command('approve')
    .description('approve as the key in CAIRN_API_KEY; a quorum needs distinct keys')
    .argument('<request>', 'the request id')
    .action(async (requestId: string) => {
      await client().approve(requestId);
    });
  approvals
    .command('reject')
    .description('reject as the key in CAIRN_API_KEY: the plan never runs')
    .argument('<request>', 'the request id')
    .requiredOption('--reason <text>', 'why, recorded with the decision')
    .action(async (requestId: string, opts: { reason: string }) => {
      if (opts.reason.trim() === '') {
        throw new CairnError('cli.empty_reason', ErrorCategory.Validation, '--reason needs some text');
      }
      await client().reject(requestId, opts.reason.trim());
    });
}
