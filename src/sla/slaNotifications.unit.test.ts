import { describe, expect, it } from 'vitest';
import type { SlaTerms } from '../../domain/sla/sla.commands.ts';
import { slaDecider } from '../../domain/sla/sla.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { slaAudience, slaTransitionOf } from './slaNotifications.ts';

const policies = [
  { namespace: 'shop', name: 'on-call' },
  { namespace: 'shop', name: 'managers' },
  { namespace: 'cairn-system', name: 'on-call' },
];

async function warned(notificationPolicy?: SlaTerms['notificationPolicy']) {
  const store = openEventStore('memory:');
  const clocks = createCommandHandler(store, slaDecider);
  const stream = streamName(StreamCategory.Sla, 'i1');
  const t0 = Date.parse('2026-12-07T10:00:00.000Z');
  await clocks(stream, {
    type: 'StartSla',
    data: {
      issueId: 'i1',
      severity: 'high',
      workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
      detectedAt: new Date(t0).toISOString(),
      terms: {
        sla: { namespace: 'shop', name: 'web', generation: 1 },
        responseSeconds: 100,
        resolutionSeconds: 1_000,
        warningAt: 0.5,
        escalateOn: [],
        ...(notificationPolicy ? { notificationPolicy } : {}),
      },
    },
    metadata: { occurredAt: new Date(t0).toISOString(), actor: 'system:sla' },
  });
  await clocks(stream, {
    type: 'SweepSla',
    data: {},
    metadata: { occurredAt: new Date(t0 + 60_000).toISOString(), actor: 'system:sla' },
  });
  const events = await store.readStream(stream);
  return { store, warning: events.find((e) => e.type === 'SlaWarned')!, started: events[0]! };
}

describe('SLA notifications', () => {
  it('turn warnings and violations into the sla_warning and sla_violated transitions, nothing else', async () => {
    const { warning, started } = await warned();
    expect(slaTransitionOf(warning)).toBe('sla_warning');
    expect(slaTransitionOf({ ...warning, type: 'SlaViolated' })).toBe('sla_violated');
    expect(slaTransitionOf(started)).toBeUndefined();
  });

  it('reach only the policy the IncidentSLA names, or every policy when it names none', async () => {
    const named = await warned({ namespace: 'shop', name: 'on-call' });
    expect(await slaAudience(named.store, named.warning, policies)).toEqual([{ namespace: 'shop', name: 'on-call' }]);
    const open = await warned();
    expect(await slaAudience(open.store, open.warning, policies)).toEqual(policies);
  });
});
