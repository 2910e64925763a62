import {
  type ChannelCredentials,
  type ChannelMessage,
  clip,
  type HttpRequest,
  headline,
  incidentLink,
  issueLine,
  post,
  type SendResult,
} from './channel.ts';

/** Block Kit's limits: a header's text, a section's text, and blocks per message. */
export const SLACK_LIMITS = { header: 150, section: 3_000, blocks: 50, fallback: 4_000 } as const;

const emoji = (status: string, severity: string) =>
  status === 'resolved'
    ? ':white_check_mark:'
    : severity === 'critical' || severity === 'high'
      ? ':rotating_light:'
      : ':warning:';

/** An incoming-webhook body: a plain-text fallback for notifications, and blocks for the channel. */
export function slackPayload(message: ChannelMessage): Record<string, unknown> {
  const { delivery } = message;
  const lines = delivery.issues.map((entry) => {
    const link = incidentLink(message, entry.issue);
    // The link goes first, so cutting an overlong summary never cuts it.
    return `${emoji(entry.status, entry.issue.severity)} ${entry.changed ? '*' : ''}${issueLine(entry)}${entry.changed ? '*' : ''}${link ? ` <${link}|Open the incident>` : ''}\n>${entry.issue.summary.replace(/\n/g, ' ')}`;
  });
  // One section per Issue, within Slack's block limit; what does not fit is counted in the last block.
  const room = SLACK_LIMITS.blocks - 2;
  const shown = lines.slice(0, room);
  const more = lines.length - shown.length + delivery.omitted;
  const title = clip(headline(message), SLACK_LIMITS.header);
  return {
    text: clip(`${title}\n${lines.join('\n')}`, SLACK_LIMITS.fallback),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
      ...shown.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text: clip(text, SLACK_LIMITS.section) } })),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: clip(
              `${more > 0 ? `and ${more} more · ` : ''}policy ${message.policy.namespace}/${message.policy.name}, rule ${message.policy.rule} · notification ${message.notificationId}`,
              SLACK_LIMITS.section,
            ),
          },
        ],
      },
    ],
  };
}

export function slackRequest(message: ChannelMessage, credentials: ChannelCredentials): HttpRequest {
  return {
    url: credentials.target,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(slackPayload(message)),
  };
}

/** Slack answers 200 with the body `ok`; its errors are 4xx words (`invalid_payload`, `no_service`) or 429/5xx. */
export const sendSlack = (
  message: ChannelMessage,
  credentials: ChannelCredentials,
  timeoutMs: number,
): Promise<SendResult> =>
  post(slackRequest(message, credentials), {
    timeoutMs,
    secrets: [credentials.target],
    accept: (status) => status >= 200 && status < 300,
  });
