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

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

const severity: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
};

/**
 * An Events API v2 event. The dedup key is the Issue, so PagerDuty folds every trigger of one Issue into one
 * incident, and acknowledges or resolves that incident when Cairn says so; sending the same event twice is harmless.
 */
export function pagerDutyEvent(message: ChannelMessage, routingKey: string): Record<string, unknown> {
  const { delivery } = message;
  const entry = delivery.issues[0]!;
  const { issue } = entry;
  const action = delivery.pagingAction ?? 'trigger';
  const base = { routing_key: routingKey, event_action: action, dedup_key: clip(issue.issueId, 255) };
  if (action !== 'trigger') return base;
  const w = issue.workload;
  const link = incidentLink(message, issue);
  return {
    ...base,
    client: 'Cairn',
    ...(link ? { client_url: link, links: [{ href: link, text: 'The incident in Cairn' }] } : {}),
    payload: {
      summary: clip(`${issueLine(entry)}: ${issue.summary}`, 1_024),
      source: clip(`${w.namespace ? `${w.namespace}/` : ''}${w.kind.toLowerCase()}/${w.name}`, 255),
      severity: severity[issue.severity],
      timestamp: issue.detectedAt,
      component: clip(w.name, 255),
      group: clip(w.namespace || 'cluster', 255),
      class: clip(issue.signal, 255),
      custom_details: {
        issue: issue.name,
        issue_id: issue.issueId,
        signal: issue.signal,
        risk_score: issue.riskScore,
        state: issue.state,
        policy: `${message.policy.namespace}/${message.policy.name}`,
        rule: message.policy.rule,
      },
    },
  };
}

export function pagerDutyRequest(message: ChannelMessage, credentials: ChannelCredentials): HttpRequest {
  return {
    url: credentials.url ?? PAGERDUTY_EVENTS_URL,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(pagerDutyEvent(message, credentials.target)),
  };
}

/** PagerDuty answers 202 when it took the event; 400 for a malformed one (never retried), 429 and 5xx otherwise. */
export const sendPagerDuty = (
  message: ChannelMessage,
  credentials: ChannelCredentials,
  timeoutMs: number,
): Promise<SendResult> =>
  post(pagerDutyRequest(message, credentials), {
    timeoutMs,
    secrets: [credentials.target],
    accept: (status) => status === 202 || status === 200,
  });
