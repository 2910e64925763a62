import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postMortemName } from '../../../projections/kubernetesResources.projection.ts';
import { writeIncident } from '../../../test/support/incidentLog.ts';
import { createNamespace, deleteNamespace, type KubeClients, kubeClients } from '../../../test/support/kube.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { resourceWriterReactor } from './resourceWriter.reactor.ts';

interface Written {
  metadata: { name: string; uid: string; resourceVersion: string; ownerReferences?: { uid: string }[] };
  status?: { postMortemRef?: { name: string }; recurrence?: unknown; timeline?: unknown[] };
}

let clients: KubeClients;
let namespace: string;
beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'pm');
});
afterAll(() => deleteNamespace(clients, namespace));

const get = async (plural: string, name: string) =>
  (await clients.custom.getNamespacedCustomObject({
    group: 'aiops.cairn.dev',
    version: 'v1alpha1',
    namespace,
    plural,
    name,
  })) as Written;

describe('resource writer: PostMortems on a real API server', () => {
  it('writes an ended Issue its PostMortem, counts recurrences, and leaves it untouched on replay', async () => {
    const store = openEventStore('memory:');
    const checkout = { kind: 'Deployment', name: 'checkout', namespace };
    await writeIncident(store, 'pm1', 0, checkout);
    await writeIncident(store, 'pm2', 10, checkout);
    const events = await store.readAll();
    const replay = async () => {
      // A fresh reactor each time: after a restart, nothing of the previous run's index is left.
      const reactor = resourceWriterReactor({ store, config: clients.config, namespace });
      for (const event of events) {
        if (reactor.filter.streamPrefixes?.some((p) => event.streamId.startsWith(p))) await reactor.handle(event);
      }
    };
    await replay();

    const issue = await get('issues', 'checkout-pm2');
    expect(issue.status?.postMortemRef).toEqual({ name: postMortemName('pm2', checkout) });
    const first = await get('postmortems', postMortemName('pm1', checkout));
    const second = await get('postmortems', postMortemName('pm2', checkout));
    expect(second.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: issue.metadata.uid })]);
    expect(first.status?.recurrence).toEqual({ last30Days: 0 });
    expect(second.status?.recurrence).toEqual({ last30Days: 1, related: [first.metadata.name] });
    expect(second.status?.timeline).toHaveLength(4);

    // Server-side apply of an identical document is a no-op: the resourceVersion does not move.
    await replay();
    expect((await get('postmortems', first.metadata.name)).metadata.resourceVersion).toBe(
      first.metadata.resourceVersion,
    );
    expect((await get('postmortems', second.metadata.name)).metadata.resourceVersion).toBe(
      second.metadata.resourceVersion,
    );
  });
});
