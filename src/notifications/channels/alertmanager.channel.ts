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

/** Every Issue is one alert of this name; its labels say which. */
export const ALERTNAME = 'CairnIssue';

/**
 * How long Alertmanager keeps a firing alert without hearing from Cairn again. Cairn repeats a firing group at the
 * policy's repeatInterval, which a policy with an alertmanager channel keeps well under this (see validatePolicy),
 * so a firing Issue stays firing, and an alert Cairn can no longer speak for ends by itself.
 */
export const ALERT_HOLD_MS = 24 * 3600_000;

export const ALERTMANAGER_LIMITS = { annotation: 4_096, label: 256 } as const;

/** One alert per Issue of the message, as Alertmanager's API v2 takes it (`POST /api/v2/alerts`). */
export function alertmanagerAlerts(message: ChannelMessage): Record<string, unknown>[] {
  const decided = Date.parse(message.decidedAt);
  return message.delivery.issues.map((entry) => {
    const { issue } = entry;
    const w = issue.workload;
    const link = incidentLink(message, issue);
    const labels: Record<string, string> = {
      alertname: ALERTNAME,
      severity: issue.severity,
      ...(w.namespace ? { namespace: w.namespace } : {}),
      workload: clip(`${w.kind.toLowerCase()}/${w.name}`, ALERTMANAGER_LIMITS.label),
      issue: clip(issue.name, ALERTMANAGER_LIMITS.label),
      signal: issue.signal,
    };
    return {
      labels,
      annotations: {
        summary: clip(issueLine(entry), ALERTMANAGER_LIMITS.annotation),
        description: clip(issue.summary, ALERTMANAGER_LIMITS.annotation),
        ...(link ? { link } : {}),
      },
      startsAt: issue.detectedAt,
      endsAt:
        entry.status === 'resolved'
          ? message.decidedAt
          : new Date(Math.max(decided, Date.parse(issue.detectedAt) || 0) + ALERT_HOLD_MS).toISOString(),
      ...(link ? { generatorURL: link } : {}),
    };
  });
}

export function alertmanagerRequest(message: ChannelMessage, credentials: ChannelCredentials): HttpRequest {
  return {
    url: `${credentials.target.replace(/\/+$/, '')}/api/v2/alerts`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alertmanagerAlerts(message)),
  };
}

/** Alertmanager answers 200 with no body; 400 names what it refused. */
export const sendAlertmanager = (
  message: ChannelMessage,
  credentials: ChannelCredentials,
  timeoutMs: number,
): Promise<SendResult> =>
  post(alertmanagerRequest(message, credentials), {
    timeoutMs,
    // Harmless when the URL is no secret, and it may be one (read from a Secret).
    secrets: [credentials.target],
    accept: (status) => status >= 200 && status < 300,
  });
