import { describe, expect, it } from 'vitest';
import { escalationDecider } from '../../domain/escalation/escalation.decider.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { slaDecider } from '../../domain/sla/sla.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { slaEscalationReactor } from './slaEscalation.reactor.ts';

const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const t0 = Date.parse('2026-12-07T10:00:00.000Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();

async function violated(escalateOn: ('response' | 'resolution')[]) {
  const store = openEventStore('memory:');
  const issues = createCommandHandler(store, issueDecider);
  const clocks = createCommandHandler(store, slaDecider);
  await issues(streamName(StreamCategory.Issue, 'i1'), {
    type: 'DetectIssue',
    data: {
      issueId: 'i1',
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'a',
      description: 'x',
    },
    metadata: { occurredAt: at(0), actor: 'system:test' },
  });
  const sla = streamName(StreamCategory.Sla, 'i1');
  await clocks(sla, {
    type: 'StartSla',
    data: {
      issueId: 'i1',
      severity: 'high',
      workload,
      detectedAt: at(0),
      terms: {
        sla: { namespace: 'shop', name: 'web', generation: 1 },
        responseSeconds: 60,
        resolutionSeconds: 600,
        escalateOn,
      },
    },
    metadata: { occurredAt: at(0), actor: 'system:sla' },
  });
  await clocks(sla, { type: 'SweepSla', data: {}, metadata: { occurredAt: at(61), actor: 'system:sla' } });
  const violation = (await store.readStream(sla)).find((e) => e.type === 'SlaViolated')!;
  const issueEvents = async () => (await store.readStream(streamName(StreamCategory.Issue, 'i1'))).map((e) => e);
  return { store, violation, issueEvents };
}

describe('SLA violations that escalate', () => {
  it('escalate the Issue (sla_breached) once, however often the violation is handled', async () => {
    const { store, violation, issueEvents } = await violated(['response']);
    const reactor = slaEscalationReactor({ store });
    await reactor.handle(violation);
    await reactor.handle(violation);
    const escalated = (await issueEvents()).filter((e) => e.type === 'IssueEscalated');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]?.data).toMatchObject({ reason: 'sla_breached', detail: expect.stringContaining('response') });
  });

  it('leave the Issue alone when the SLA does not ask for it', async () => {
    const { store, violation, issueEvents } = await violated(['resolution']);
    await slaEscalationReactor({ store }).handle(violation);
    expect((await issueEvents()).map((e) => e.type)).toEqual(['IssueDetected']);
  });

  it('page the next level of an escalation already under way instead, once per violation', async () => {
    const { store, violation, issueEvents } = await violated(['response']);
    const escalations = createCommandHandler(store, escalationDecider);
    const stream = streamName(StreamCategory.Escalation, 'i1');
    await escalations(stream, {
      type: 'StartEscalation',
      data: {
        issueId: 'i1',
        policy: { namespace: 'shop', name: 'platform', generation: 1 },
        notificationPolicy: { namespace: 'shop', name: 'on-call' },
        levels: [
          { name: 'primary', channels: [{ name: 'pager', type: 'pagerduty' }], escalateAfterSeconds: 600 },
          { name: 'secondary', channels: [{ name: 'pager', type: 'pagerduty' }] },
        ],
        trigger: 'detected',
        issue: {
          issueId: 'i1',
          name: 'checkout-i1',
          severity: 'high',
          signal: 'oom_kill',
          riskScore: 50,
          workload,
          state: 'Detected',
          summary: 'x',
          detectedAt: at(0),
        },
      },
      metadata: { occurredAt: at(0), actor: 'system:escalation' },
    });
    const reactor = slaEscalationReactor({ store });
    await reactor.handle(violation);
    await reactor.handle(violation);
    const pages = (await store.readStream(stream)).filter((e) => e.type === 'EscalationLevelPaged');
    expect(pages.map((e) => (e.data as { level: number; reason: string }).reason)).toEqual(['started', 'requested']);
    expect(pages[1]?.data).toMatchObject({ level: 2, detail: expect.stringContaining('response target') });
    // The Issue itself is left to the escalation policy.
    expect((await issueEvents()).map((e) => e.type)).toEqual(['IssueDetected']);
  });
});
