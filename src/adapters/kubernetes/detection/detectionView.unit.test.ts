import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CAIRN_EVENT_COMPONENT, eventsAbout, staticView } from './detectionView.ts';

const event = (
  name: string,
  involved: { kind: string; name: string; namespace?: string },
  extra: Partial<CoreV1Event> = {},
): CoreV1Event => ({
  metadata: { name, namespace: involved.namespace ?? 'default' },
  involvedObject: involved,
  reason: 'FailedBinding',
  type: 'Warning',
  lastTimestamp: new Date('2026-01-01T00:00:00Z'),
  ...extra,
});

describe('events about an object', () => {
  it('matches kind, namespace and name together, never the name alone', () => {
    const events = [
      event('a', { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'shop' }),
      event('b', { kind: 'Pod', name: 'data', namespace: 'shop' }),
      event(
        'c',
        { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'other' },
        { metadata: { name: 'c', namespace: 'other' } },
      ),
      event('d', { kind: 'PersistentVolumeClaim', name: 'data-2', namespace: 'shop' }),
    ];
    expect(eventsAbout(events, 'PersistentVolumeClaim', 'shop', 'data').map((e) => e.metadata?.name)).toEqual(['a']);
  });

  it("leaves out Cairn's own Events, whichever field names the component", () => {
    const about = { kind: 'Deployment', name: 'web', namespace: 'shop' };
    const events = [
      event('mine-new', about, { reportingComponent: CAIRN_EVENT_COMPONENT }),
      event('mine-old', about, { source: { component: CAIRN_EVENT_COMPONENT } }),
      event('kubelet', about, { source: { component: 'kubelet' } }),
    ];
    expect(eventsAbout(events, 'Deployment', 'shop', 'web').map((e) => e.metadata?.name)).toEqual(['kubelet']);
  });

  it('orders them oldest first, by the latest time each one carries', () => {
    const about = { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'shop' };
    const events = [
      event('late', about, { lastTimestamp: new Date('2026-01-01T00:05:00Z') }),
      event('early', about, { lastTimestamp: undefined, eventTime: new Date('2026-01-01T00:01:00Z') }),
    ];
    expect(eventsAbout(events, 'PersistentVolumeClaim', 'shop', 'data').map((e) => e.metadata?.name)).toEqual([
      'early',
      'late',
    ]);
  });

  it('a cluster-scoped object has its Events in no namespace', () => {
    const view = staticView({
      Event: [
        event(
          'n',
          { kind: 'Node', name: 'worker-1', namespace: '' },
          { metadata: { name: 'n', namespace: 'default' } },
        ),
      ],
    });
    expect(view.eventsFor('Node', '', 'worker-1').map((e) => e.metadata?.name)).toEqual(['n']);
  });
});
