import { describe, expect, it } from 'vitest';
import { minute, writeIncident } from '../../test/support/incidentLog.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createIncidentIndex } from './incidentIndex.ts';

describe('incident index', () => {
  it('answers as of a position: detections, ended Issues, and an incident with its remediation streams', async () => {
    const store = openEventStore('memory:');
    await writeIncident(store, 'a', 0);
    await writeIncident(store, 'b', 1);
    // A small page size, so catching up takes several reads.
    const index = createIncidentIndex(store, 3);
    await index.catchUp();
    const all = await store.readAll();
    const endOf = (id: string) => all.find((e) => e.streamId === `issue-${id}` && e.type === 'IssueResolved')!.position;

    const incident = await index.incident('a', endOf('a'));
    expect(incident.map((e) => [e.streamId, e.type])).toEqual([
      ['issue-a', 'IssueDetected'],
      ['issue-a', 'IssueAnomalyAttached'],
      ['remediation-a-r1', 'RemediationPlanCreated'],
      ['issue-a', 'IssueResolved'],
    ]);
    expect(index.detectionsBefore(endOf('b')).map((d) => [d.data.issueId, d.metadata.occurredAt])).toEqual([
      ['a', minute(0)],
      ['b', minute(1)],
    ]);
    expect(index.detectionsBefore(endOf('a')).map((d) => d.data.issueId)).toEqual(['a']);
    expect(index.endedBefore(endOf('b'))).toEqual(new Set(['a']));
    expect(index.endedBefore(endOf('b') + 1n)).toEqual(new Set(['a', 'b']));

    // Catching up again reads only what is new, and never indexes an event twice.
    await writeIncident(store, 'c', 10);
    await Promise.all([index.catchUp(), index.catchUp()]);
    const last = (await store.readAll()).at(-1)!.position;
    expect(index.detectionsBefore(last + 1n).map((d) => d.data.issueId)).toEqual(['a', 'b', 'c']);
    expect(await index.incident('a', endOf('a'))).toEqual(incident);
  });
});
