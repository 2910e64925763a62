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
  utf8Bytes,
} from './channel.ts';

/**
 * Teams takes a message of about 28 KB at most, the card included; Cairn keeps its cards under `card` bytes so
 * the envelope and Teams' own additions fit. A text block is kept short enough to read in a channel.
 */
export const TEAMS_LIMITS = { card: 27_000, text: 2_000, title: 250, issues: 50 } as const;

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

type Entry = ChannelMessage['delivery']['issues'][number];

const colour = (entry: Entry) =>
  entry.status === 'resolved'
    ? 'Good'
    : entry.issue.severity === 'critical' || entry.issue.severity === 'high'
      ? 'Attention'
      : 'Warning';

function issueContainer(message: ChannelMessage, entry: Entry): Record<string, unknown> {
  const link = incidentLink(message, entry.issue);
  return {
    type: 'Container',
    separator: true,
    items: [
      {
        type: 'TextBlock',
        text: clip(issueLine(entry), TEAMS_LIMITS.text),
        weight: entry.changed ? 'Bolder' : 'Default',
        color: colour(entry),
        wrap: true,
      },
      { type: 'TextBlock', text: clip(entry.issue.summary, TEAMS_LIMITS.text), isSubtle: true, wrap: true },
      ...(link ? [{ type: 'TextBlock', text: `[Open the incident](${link})`, wrap: true }] : []),
    ],
  };
}

function card(message: ChannelMessage, shown: readonly Entry[], more: number): Record<string, unknown> {
  const { delivery } = message;
  const firing = delivery.issues.some((i) => i.status === 'firing');
  const only = delivery.issues.length === 1 ? delivery.issues[0] : undefined;
  const link = only ? incidentLink(message, only.issue) : undefined;
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    msteams: { width: 'Full' },
    body: [
      {
        type: 'TextBlock',
        text: clip(headline(message), TEAMS_LIMITS.title),
        size: 'Large',
        weight: 'Bolder',
        color: firing ? 'Attention' : 'Good',
        wrap: true,
      },
      ...shown.map((entry) => issueContainer(message, entry)),
      {
        type: 'FactSet',
        separator: true,
        facts: [
          ...(more > 0 ? [{ title: 'Not shown', value: `${more} more Issues` }] : []),
          { title: 'Policy', value: `${message.policy.namespace}/${message.policy.name}` },
          { title: 'Rule', value: message.policy.rule },
          { title: 'Notification', value: message.notificationId },
        ],
      },
    ],
    ...(link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the incident', url: link }] } : {}),
  };
}

/**
 * The message a Teams workflow (or an incoming webhook) posts: one Adaptive Card listing the group's Issues, the
 * changed ones in bold. When it would not fit Teams' size limit, Issues are left out from the end and counted.
 */
export function teamsPayload(message: ChannelMessage): Record<string, unknown> {
  const { delivery } = message;
  let shown = delivery.issues.slice(0, TEAMS_LIMITS.issues);
  let content = card(message, shown, delivery.issues.length - shown.length + delivery.omitted);
  while (shown.length > 1 && utf8Bytes(JSON.stringify(content)) > TEAMS_LIMITS.card) {
    shown = shown.slice(0, Math.max(1, Math.floor(shown.length * 0.75)));
    content = card(message, shown, delivery.issues.length - shown.length + delivery.omitted);
  }
  return { type: 'message', attachments: [{ contentType: ADAPTIVE_CARD, contentUrl: null, content }] };
}

export function teamsRequest(message: ChannelMessage, credentials: ChannelCredentials): HttpRequest {
  return {
    url: credentials.target,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(teamsPayload(message)),
  };
}

/**
 * A workflow answers 202, an older incoming webhook 200 with `1`. The older kind also answers 200 with a text
 * naming the error when Teams refused the message (`Microsoft Teams endpoint returned HTTP error 413`): that is a
 * failure, not a delivery.
 */
export async function sendTeams(
  message: ChannelMessage,
  credentials: ChannelCredentials,
  timeoutMs: number,
): Promise<SendResult> {
  const result = await post(teamsRequest(message, credentials), {
    timeoutMs,
    secrets: [credentials.target],
    accept: (status, body) => status >= 200 && status < 300 && !EMBEDDED_ERROR.test(body),
  });
  // The status Teams meant is the one in the text: a throttled (429) or failing (5xx) message is worth retrying.
  const meant = Number(EMBEDDED_ERROR.exec(result.error)?.[1]);
  if (result.ok || result.statusCode === undefined || result.statusCode >= 300 || !meant) return result;
  return { ...result, retryable: meant === 429 || meant === 408 || meant >= 500 };
}

const EMBEDDED_ERROR = /returned HTTP error (\d{3})/i;
