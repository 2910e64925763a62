import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribe } from '../../../../test/support/graphqlSocket.ts';
import { writePipelineIncident } from '../../../../test/support/pipelineLog.ts';
import { type ReadSide, startReadSide } from '../../../../test/support/readSide.ts';

/**
 * The `incidentChanged` subscription over a real websocket: events written through the deciders reach the read
 * model, and each commit reaches subscribed clients, with the Incident as the read model now shows it.
 */
let side: ReadSide;
beforeAll(async () => {
  side = await startReadSide();
});
afterAll(async () => {
  await side?.stop();
});

describe('GraphQL subscription incidentChanged', () => {
  it('delivers every change of an incident live, and only the named one to a filtered subscriber', async () => {
    const all = await subscribe(`${side.url}/graphql`, 'subscription { incidentChanged { id state severity } }');
    const onlyB = await subscribe(
      `${side.url}/graphql`,
      'subscription ($id: ID) { incidentChanged(id: $id) { id state remediation { status actions { status } } } }',
      { variables: { id: 'live-b' } },
    );

    await writePipelineIncident(side.store, { issueId: 'live-a', outcome: 'open' });
    const detected = await all.waitFor((p) => p.data?.incidentChanged.id === 'live-a');
    expect(detected.data?.incidentChanged).toEqual({ id: 'live-a', state: 'Detected', severity: 'low' });
    await all.waitFor((p) => p.data?.incidentChanged.id === 'live-a' && p.data.incidentChanged.state === 'Remediating');

    await writePipelineIncident(side.store, { issueId: 'live-b', outcome: 'resolved', start: 100 });
    const resolved = await onlyB.waitFor((p) => p.data?.incidentChanged.state === 'Resolved');
    expect(resolved.data?.incidentChanged.remediation).toEqual({
      status: 'Completed',
      actions: [{ status: 'succeeded' }],
    });
    // Five events of the Issue's own stream, and eight of its remediation's (plan, snapshot, action, verification,
    // completion): each commit is a notification, so a dashboard sees the actions progress too.
    expect(onlyB.received).toHaveLength(13);
    expect(onlyB.received.every((p) => p.data?.incidentChanged.id === 'live-b')).toBe(true);
    await all.waitFor((p) => p.data?.incidentChanged.id === 'live-b' && p.data.incidentChanged.state === 'Resolved');
    await all.close();
    await onlyB.close();
  });
});
