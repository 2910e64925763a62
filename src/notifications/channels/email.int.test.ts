import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotifiedIssue } from '../../../domain/events/notification.events.ts';
import { type Mailpit, selfSignedCertificate, startMailpit } from '../../../test/support/mailpit.ts';
import type { ChannelMessage } from './channel.ts';
import { EMAIL_LIMITS, emailSubject, type SmtpSettings, sendEmail } from './email.channel.ts';

/*
 * The email channel against a real SMTP server, Mailpit (built from the Go module proxy on first use and cached in
 * ~/.cache/cairn): each message is read back through Mailpit's REST API.
 */

const issue = (extra: Partial<NotifiedIssue> = {}): NotifiedIssue => ({
  issueId: 'iss-mail-1',
  name: 'checkout-iss-mail-1',
  severity: 'high',
  signal: 'crash_loop',
  riskScore: 70,
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  state: 'Detected',
  summary: 'container app restarts: <exit code 1> & back-off',
  detectedAt: '2026-12-07T10:00:00.000Z',
  ...extra,
});
const message = (id: string, extra: Partial<NotifiedIssue> = {}): ChannelMessage => ({
  notificationId: `g-${id}`,
  policy: { namespace: 'shop', name: 'on-call', rule: 'all' },
  groupKey: 'namespace=shop',
  decidedAt: '2026-12-07T10:00:30.000Z',
  attempt: 1,
  incidentUrl: 'https://cairn.example.com/api/v1/incidents/{issueId}',
  delivery: {
    deliveryId: `g-${id}-mail`,
    channel: { name: 'mail', type: 'email' },
    repeat: false,
    issues: [{ issue: issue(extra), status: 'firing', transition: 'detected', changed: true }],
    omitted: 0,
  },
});
const to = ['oncall@example.com', 'sre@example.com'];
const settings = (mailpit: Mailpit, tls: SmtpSettings['tls']): SmtpSettings => ({
  host: '127.0.0.1',
  port: mailpit.smtpPort,
  tls,
  from: 'cairn@example.com',
  to,
});

/** The message Mailpit holds with this subject, read through its API. */
async function received(mailpit: Mailpit, subject: string) {
  const summary = (await mailpit.messages()).find((m) => m.Subject === subject);
  if (summary === undefined) throw new Error(`Mailpit holds no message "${subject}"`);
  return mailpit.message(summary.ID);
}

describe('email through a real SMTP server (Mailpit)', () => {
  let plain: Mailpit;
  let secured: Mailpit;
  let implicit: Mailpit;
  let ca: string;
  const login = { username: 'cairn', password: 'S3cret-pass-for-smtp' };

  beforeAll(async () => {
    const certificate = await selfSignedCertificate();
    ca = certificate.cert;
    [plain, secured, implicit] = await Promise.all([
      startMailpit({ chaos: true }),
      startMailpit({ tls: certificate, requireStartTls: true, auth: login }),
      startMailpit({ tls: { ...certificate, implicit: true } }),
    ]);
  }, 600_000);
  afterAll(async () => {
    await Promise.all([plain?.stop(), secured?.stop(), implicit?.stop()]);
  });

  it('delivers a subject with severity and Issue, a text and an HTML body, both linking the incident', async () => {
    const m = message('plain');
    const result = await sendEmail(m, settings(plain, 'none'), {}, 10_000);
    expect(result).toMatchObject({ ok: true, statusCode: 250 });
    const mail = await received(plain, emailSubject(m));
    expect(mail.Subject).toBe(
      '[HIGH] Cairn: HIGH crash_loop on Deployment shop/checkout: detected (Issue checkout-iss-mail-1)',
    );
    expect(mail.From.Address).toBe('cairn@example.com');
    expect(mail.To.map((t) => t.Address)).toEqual(to);
    expect(mail.MessageID).toBe('g-plain-mail@cairn');
    expect(mail.Text).toContain('HIGH crash_loop on Deployment shop/checkout: detected');
    expect(mail.Text).toContain('container app restarts: <exit code 1> & back-off');
    expect(mail.Text).toContain('Incident: https://cairn.example.com/api/v1/incidents/iss-mail-1');
    expect(mail.HTML).toContain(
      '<a href="https://cairn.example.com/api/v1/incidents/iss-mail-1">Open the incident</a>',
    );
    expect(mail.HTML).toContain('container app restarts: &lt;exit code 1&gt; &amp; back-off');
  });

  it('cuts an overlong subject to its limit and the server takes it', async () => {
    const m = message('long', { workload: { kind: 'Deployment', name: 'x'.repeat(253), namespace: 'shop' } });
    expect((await sendEmail(m, settings(plain, 'none'), {}, 10_000)).ok).toBe(true);
    const mail = await received(plain, emailSubject(m));
    expect(mail.Subject.length).toBe(EMAIL_LIMITS.subject);
    expect(mail.Subject.endsWith('…')).toBe(true);
  });

  it('retries a transient 4yz reply and gives up on a permanent 5yz one, saying what the server answered', async () => {
    try {
      await plain.chaos({ Recipient: { ErrorCode: 451, Probability: 100 } });
      const busy = await sendEmail(message('busy'), settings(plain, 'none'), {}, 10_000);
      expect(busy).toMatchObject({ ok: false, retryable: true });
      expect(busy.statusCode).toBeUndefined();
      expect(busy.error).toBe('SMTP EENVELOPE: 451 Chaos recipient error');
      await plain.chaos({ Recipient: { ErrorCode: 550, Probability: 100 } });
      const refused = await sendEmail(message('refused'), settings(plain, 'none'), {}, 10_000);
      expect(refused).toMatchObject({ ok: false, retryable: false });
      expect(refused.error).toContain('550');
    } finally {
      await plain.chaos({ Recipient: { ErrorCode: 451, Probability: 0 } });
    }
    const ids = (await plain.messages()).map((m) => m.MessageID);
    expect(ids).toContain('g-plain-mail@cairn');
    expect(ids.filter((id) => /^g-(busy|refused)-/.test(id))).toEqual([]);
  });

  it('sends over STARTTLS with a login to a server that requires both, trusting the CA from the channel', async () => {
    const m = message('starttls');
    const result = await sendEmail(m, settings(secured, 'starttls'), { ...login, ca }, 10_000);
    expect(result).toMatchObject({ ok: true, statusCode: 250 });
    expect((await received(secured, emailSubject(m))).To.map((t) => t.Address)).toEqual(to);
  });

  it('refuses a wrong password for good, without saying the password', async () => {
    const result = await sendEmail(
      message('wrong-password'),
      settings(secured, 'starttls'),
      { username: 'cairn', password: 'not-the-right-one', ca },
      10_000,
    );
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result.error).toMatch(/EAUTH/);
    expect(result.error).not.toContain('not-the-right-one');
  });

  it('will not send in the clear when STARTTLS is required but the certificate is not trusted', async () => {
    const result = await sendEmail(message('untrusted'), settings(secured, 'starttls'), login, 10_000);
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/certificate/i);
    expect(result.error).not.toContain(login.password);
    expect((await secured.messages()).some((m) => m.Subject.includes('untrusted'))).toBe(false);
  });

  it('speaks TLS from the first byte to an implicit-TLS port', async () => {
    const m = message('implicit');
    expect(await sendEmail(m, settings(implicit, 'implicit'), { ca }, 10_000)).toMatchObject({ ok: true });
    expect((await received(implicit, emailSubject(m))).Text).toContain('iss-mail-1');
  });
});
