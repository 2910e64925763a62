import { request } from 'node:http';
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
    const viewer = side.keys.header('viewer');
    const all = await subscribe(`${side.url}/graphql`, 'subscription { incidentChanged { id state severity } }', {
      headers: viewer,
    });
    const onlyB = await subscribe(
      `${side.url}/graphql`,
      'subscription ($id: ID) { incidentChanged(id: $id) { id state remediation { status actions { status } } } }',
      { variables: { id: 'live-b' }, headers: viewer },
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

  it('asks a websocket for an API key, on its upgrade or (from a browser) in connection_init', async () => {
    const query = 'subscription { incidentChanged { id } }';
    const url = `${side.url}/graphql`;
    // A key in the header is checked on the upgrade, as on any request.
    await expect(subscribe(url, query, { headers: { 'x-api-key': 'nope' } })).rejects.toThrow(/HTTP 401/);
    // A wrong key in connection_init ends the connection.
    await expect(subscribe(url, query, { initPayload: { apiKey: 'nope' } })).rejects.toThrow(/Forbidden/);
    // No key anywhere: the connection opens (the key could still come), but the subscription is refused.
    const keyless = await subscribe(url, query);
    expect(JSON.stringify(await keyless.refusal())).toMatch(/API key/);
    // A browser's way: a keyless upgrade and the key in connection_init.
    const browser = await subscribe(url, query, { initPayload: { apiKey: side.keys.keys.viewer } });
    // The subscription starts a moment after the ack, with nothing to tell when: write until a change arrives.
    for (let i = 0; browser.received.length === 0 && i < 20; i++) {
      await writePipelineIncident(side.store, { issueId: `live-c${i}`, outcome: 'open', start: 300 + i });
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(browser.received[0]?.data?.incidentChanged.id).toMatch(/^live-c\d+$/);
    expect(keyless.received).toEqual([]);
    // Only subscriptions travel over the websocket: a query there is refused, so none can slip past the key check.
    const overSocket = await subscribe(url, '{ incidents { items { id } } }');
    expect(JSON.stringify(await overSocket.refusal())).toMatch(/Invalid operation: query/);
    expect(overSocket.received).toEqual([]);
    await overSocket.close();
    await keyless.close();
    await browser.close();
  });

  it('answers no query over HTTP to a keyless request that only claims to be an upgrade', async () => {
    const url = new URL(`${side.url}/graphql?query=${encodeURIComponent('{ incidents { items { id } } }')}`);
    // Without `Connection: Upgrade` this is a plain GET, which Node hands to the HTTP routes.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { headers: { upgrade: 'websocket' } }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'auth.required' });
    expect(JSON.parse(answer.body).data).toBeUndefined();
  });

  it('answers queries over HTTP for a viewer key, and refuses a request without one', async () => {
    const body = JSON.stringify({ query: '{ incidents { items { id } } }' });
    const post = (headers: Record<string, string>) =>
      fetch(`${side.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const refused = await post({});
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string }).code).toBe('auth.required');
    const answered = await post(side.keys.header('viewer'));
    expect(answered.status).toBe(200);
    const { items } = ((await answered.json()) as { data: { incidents: { items: { id: string }[] } } }).data.incidents;
    expect(items.map((i) => i.id)).toEqual(expect.arrayContaining(['live-a', 'live-b']));
  });
});
