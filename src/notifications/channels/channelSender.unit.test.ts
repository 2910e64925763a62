import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotifiedIssue } from '../../../domain/events/notification.events.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { notificationDecider } from '../../../domain/notification/notification.decider.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { startVendorReceiver, type VendorReceiver } from '../../../test/support/notificationReceivers.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../../application/commandHandler.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { type NotificationOutbox, startNotificationOutbox } from '../notificationOutbox.ts';
import { channelSender } from '../notifications.module.ts';
import { validatePolicy } from '../policy.validation.ts';

/*
 * The new channels through the real outbox and channelSender, Secrets answered as the API server would: Teams and
 * Opsgenie deliver while the SMTP server hangs, and the hung email is a retryable failure with a plain error.
 */

const genieKey = '11111111-2222-4333-8444-555555555555';
const start = Date.parse('2026-12-07T10:00:00Z');
let clock = start;
const now = () => new Date(clock);

let store: EventStore;
let teams: VendorReceiver;
let opsgenie: VendorReceiver;
let smtp: Server;
let smtpPort: number;
const sockets = new Set<Socket>();
let box: NotificationOutbox | undefined;

const issue: NotifiedIssue = {
  issueId: 'iss-1',
  name: 'checkout-iss-1',
  severity: 'critical',
  signal: 'oom_kill',
  riskScore: 90,
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  state: 'Detected',
  summary: 'container app was OOMKilled',
  detectedAt: new Date(start).toISOString(),
};
const channels = [
  { name: 'chat', type: 'teams' },
  { name: 'genie', type: 'opsgenie' },
  { name: 'mail', type: 'email' },
] as const;

const sender = (secrets: Record<string, string>) => {
  const validated = validatePolicy(
    { namespace: 'cairn-system', name: 'on-call', generation: 1 },
    {
      incidentUrl: 'https://cairn.example.com/api/v1/incidents/{issueId}',
      channels: [
        { name: 'chat', type: 'teams', secretRef: { name: 'teams', key: 'url' } },
        { name: 'genie', type: 'opsgenie', url: opsgenie.url, secretRef: { name: 'opsgenie', key: 'apiKey' } },
        {
          name: 'mail',
          type: 'email',
          timeout: '1s',
          email: {
            host: '127.0.0.1',
            port: smtpPort,
            tls: 'starttls',
            from: 'cairn@example.com',
            to: ['oncall@example.com'],
            authSecretRef: { name: 'smtp-auth' },
          },
        },
      ],
      rules: [{ name: 'prod', channels: ['chat', 'genie', 'mail'] }],
    },
    'cairn-system',
  );
  if (!validated.ok) throw new Error(validated.problem.message);
  return channelSender({ find: () => validated.policy }, async (namespace, ref) => {
    const value = secrets[`${ref.name}/${ref.key}`];
    return value ?? { problem: `Secret ${namespace}/${ref.name} not found` };
  });
};

const group = streamName(StreamCategory.Notification, 'g1');
const detect = () =>
  createCommandHandler(store, notificationDecider)(group, {
    type: 'RecordTransition',
    data: {
      groupId: 'g1',
      policy: { namespace: 'cairn-system', name: 'on-call', rule: 'prod' },
      groupKey: 'namespace=shop',
      channels: [...channels],
      grouping: { groupWaitSeconds: 0, groupIntervalSeconds: 60, repeatIntervalSeconds: 3_600 },
      transition: 'detected',
      subscribed: true,
      issue,
      sourceEventId: 'ev-1',
    },
    metadata: { occurredAt: new Date(start).toISOString(), actor: 'system:notifications' },
  });
const outcomes = async () =>
  (await store.readStream(group))
    .filter((e: RecordedEvent) => e.type === 'NotificationDelivered' || e.type === 'NotificationFailed')
    .map((e) => e.data as { deliveryId: string; statusCode?: number; error?: string; retryAt?: string });

beforeEach(async () => {
  clock = start;
  store = openEventStore('memory:');
  [teams, opsgenie] = await Promise.all([
    startVendorReceiver('teams'),
    startVendorReceiver('opsgenie', { apiKey: genieKey }),
  ]);
  smtp = createServer((socket) => {
    sockets.add(socket);
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  smtpPort = (smtp.address() as { port: number }).port;
});
afterEach(async () => {
  await box?.stop();
  for (const s of sockets) s.destroy();
  smtp.close();
  await Promise.all([teams.close(), opsgenie.close()]);
  await store.close();
});

describe('Teams, Opsgenie and email through the outbox', () => {
  it('delivers to Teams and Opsgenie while the SMTP server hangs; the email fails retryably, no password said', async () => {
    const password = 'smtp-secret-password';
    box = startNotificationOutbox({
      store,
      send: sender({
        'teams/url': `${teams.url}/workflows/w/invoke?sig=SIG`,
        'opsgenie/apiKey': genieKey,
        'smtp-auth/username': 'cairn',
        'smtp-auth/password': password,
      }),
      now,
      random: () => 0,
      tickMs: 3_600_000,
    });
    await detect();
    await box.tick();
    const byId = Object.fromEntries((await outcomes()).map((o) => [o.deliveryId, o]));
    expect(byId['g1-1-chat']).toMatchObject({ statusCode: 202 });
    expect(byId['g1-1-genie-iss-1']).toMatchObject({ statusCode: 202 });
    expect(byId['g1-1-mail']).toMatchObject({ error: 'no answer within 1000 ms' });
    expect(byId['g1-1-mail']?.retryAt).toBeDefined();
    expect(JSON.stringify((await store.readStream(group)).map((e) => e.data))).not.toContain(password);
    expect(opsgenie.alerts.get('iss-1')).toMatchObject({ status: 'open', priority: 'P1' });
    expect(JSON.stringify(teams.received[0]?.body)).toContain('https://cairn.example.com/api/v1/incidents/iss-1');
  });

  it('fails a channel whose Secret is missing with the Secret named, retryably, and sends the others', async () => {
    box = startNotificationOutbox({
      store,
      send: sender({ 'teams/url': `${teams.url}/workflows/w/invoke?sig=SIG` }),
      now,
      random: () => 0,
      tickMs: 3_600_000,
    });
    await detect();
    await box.tick();
    const byId = Object.fromEntries((await outcomes()).map((o) => [o.deliveryId, o]));
    expect(byId['g1-1-chat']).toMatchObject({ statusCode: 202 });
    expect(byId['g1-1-genie-iss-1']).toMatchObject({ error: 'Secret cairn-system/opsgenie not found' });
    expect(byId['g1-1-genie-iss-1']?.retryAt).toBeDefined();
    expect(byId['g1-1-mail']).toMatchObject({ error: 'Secret cairn-system/smtp-auth not found' });
    expect(opsgenie.received).toHaveLength(0);
  });
});
