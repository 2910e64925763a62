import type { Severity } from '../../../domain/events/common.schema.ts';
import {
  type ChannelCredentials,
  type ChannelMessage,
  clip,
  type HttpRequest,
  incidentLink,
  issueLine,
  post,
  type SendResult,
} from './channel.ts';

/** The US instance; EU accounts use https://api.eu.opsgenie.com (the channel's url). */
export const OPSGENIE_API_URL = 'https://api.opsgenie.com';

/** The Alert API's limits, in characters. */
export const OPSGENIE_LIMITS = {
  message: 130,
  alias: 512,
  description: 15_000,
  entity: 512,
  source: 100,
  user: 100,
  note: 25_000,
  tags: 20,
  tag: 50,
  detailKey: 128,
  detailValue: 512,
} as const;

const priority: Record<Severity, 'P1' | 'P2' | 'P3' | 'P4'> = {
  critical: 'P1',
  high: 'P2',
  medium: 'P3',
  low: 'P4',
};

/** The alias is the Issue: Opsgenie folds every create of one Issue into one open alert and closes it by alias. */
export const opsgenieAlias = (message: ChannelMessage): string =>
  clip(message.delivery.issues[0]!.issue.issueId, OPSGENIE_LIMITS.alias);

/** The request of a paging action: create, acknowledge or close the Issue's alert. */
export function opsgenieCall(message: ChannelMessage): { path: string; body: Record<string, unknown> } {
  const entry = message.delivery.issues[0]!;
  const { issue } = entry;
  const alias = opsgenieAlias(message);
  const action = message.delivery.pagingAction ?? 'trigger';
  const byAlias = (what: string) => `/v2/alerts/${encodeURIComponent(alias)}/${what}?identifierType=alias`;
  const link = incidentLink(message, issue);
  if (action === 'acknowledge') {
    return {
      path: byAlias('acknowledge'),
      body: {
        source: 'Cairn',
        ...(issue.acknowledgedBy ? { user: clip(issue.acknowledgedBy, OPSGENIE_LIMITS.user) } : {}),
        note: clip(`Acknowledged in Cairn${issue.acknowledgedBy ? ` by ${issue.acknowledgedBy}` : ''}`, 1_000),
      },
    };
  }
  if (action === 'resolve') {
    return {
      path: byAlias('close'),
      body: { source: 'Cairn', note: clip(`Resolved in Cairn: ${issue.summary}`, OPSGENIE_LIMITS.note) },
    };
  }
  const w = issue.workload;
  const where = `${w.namespace ? `${w.namespace}/` : ''}${w.kind.toLowerCase()}/${w.name}`;
  const tags = ['cairn', issue.severity, issue.signal, ...(w.namespace ? [w.namespace] : [])]
    .map((t) => clip(t, OPSGENIE_LIMITS.tag))
    .slice(0, OPSGENIE_LIMITS.tags);
  const details: Record<string, string> = {
    issue: issue.name,
    issueId: issue.issueId,
    signal: issue.signal,
    riskScore: String(issue.riskScore),
    state: issue.state,
    policy: `${message.policy.namespace}/${message.policy.name}`,
    rule: message.policy.rule,
    ...(link ? { link } : {}),
  };
  return {
    path: '/v2/alerts',
    body: {
      message: clip(`${issue.severity.toUpperCase()} ${issue.signal} on ${where}`, OPSGENIE_LIMITS.message),
      alias,
      description: clip(
        `${issueLine(entry)}\n\n${issue.summary}${link ? `\n\nIncident: ${link}` : ''}`,
        OPSGENIE_LIMITS.description,
      ),
      entity: clip(where, OPSGENIE_LIMITS.entity),
      source: 'Cairn',
      priority: priority[issue.severity],
      tags,
      details: Object.fromEntries(
        Object.entries(details).map(([k, v]) => [
          clip(k, OPSGENIE_LIMITS.detailKey),
          clip(v, OPSGENIE_LIMITS.detailValue),
        ]),
      ),
    },
  };
}

export function opsgenieRequest(message: ChannelMessage, credentials: ChannelCredentials): HttpRequest {
  const base = (credentials.url ?? OPSGENIE_API_URL).replace(/\/+$/, '');
  const call = opsgenieCall(message);
  return {
    url: `${base}${call.path}`,
    headers: { 'content-type': 'application/json', authorization: `GenieKey ${credentials.target}` },
    body: JSON.stringify(call.body),
  };
}

/**
 * Opsgenie answers 202 (`Request will be processed`) to every alert request; 401/403 for a wrong key and 422 for a
 * malformed body are not retried, 429 and 5xx are.
 */
export const sendOpsgenie = (
  message: ChannelMessage,
  credentials: ChannelCredentials,
  timeoutMs: number,
): Promise<SendResult> =>
  post(opsgenieRequest(message, credentials), {
    timeoutMs,
    secrets: [credentials.target],
    accept: (status) => status === 202 || status === 200,
  });
