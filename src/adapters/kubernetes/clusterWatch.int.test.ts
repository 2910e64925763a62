import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { PatchAs } from '../../actions/patchOptions.ts';
import { type ClusterWatch, watchCluster } from './clusterWatch.ts';

/** More Events than one page of the first listing holds (500), so the cache is only complete if every page is read. */
const EVENTS = 1_050;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

let clients: KubeClients;
let namespace: string;
let watch: ClusterWatch | undefined;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'cluster-watch');
  const at = new Date();
  for (let i = 0; i < EVENTS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, EVENTS - i) }, (_, j) =>
        clients.core.createNamespacedEvent({
          namespace,
          body: {
            metadata: { name: `note-${i + j}` },
            involvedObject: { kind: 'ConfigMap', name: `settings-${i + j}`, namespace },
            reason: 'Noted',
            message: `note ${i + j}`,
            type: 'Warning',
            firstTimestamp: at,
            lastTimestamp: at,
          },
        }),
      ),
    );
  }
  await clients.core.createNamespacedEvent({ namespace, body: routine('pulled-before', at) });
  const web = deployment('web', { replicas: 0 });
  web.metadata = { ...web.metadata, annotations: { [LAST_APPLIED]: JSON.stringify(web.spec), team: 'shop' } };
  await clients.apps.createNamespacedDeployment({ namespace, body: web });
}, 120_000);
afterAll(async () => {
  await watch?.stop();
  await deleteNamespace(clients, namespace);
});

/** A Normal Event no detector reads: a pod's image was pulled. */
const routine = (name: string, at: Date, type = 'Normal'): k8s.CoreV1Event => ({
  metadata: { name },
  involvedObject: { kind: 'Pod', name: 'web-abc', namespace },
  reason: 'Pulled',
  message: 'Successfully pulled image',
  type,
  firstTimestamp: at,
  lastTimestamp: at,
});

const isTrimmed = (object: k8s.KubernetesObject | undefined) => {
  const entries = object?.metadata?.managedFields ?? [];
  return (
    entries.length > 0 &&
    entries.every((e) => Object.values(e.fieldsV1 ?? {}).every((v) => Object.keys(v as object).length === 0)) &&
    object?.metadata?.annotations?.[LAST_APPLIED] === undefined
  );
};

describe('the cluster watch against the real API server', () => {
  it('lists every object of a kind across pages and keeps each one trimmed, listed or watched', async () => {
    watch = watchCluster(clients.config, { kinds: ['Event', 'Deployment'], onChange: () => undefined });
    await watch.synced();
    expect(watch.list<k8s.CoreV1Event>('Event', namespace)).toHaveLength(EVENTS);
    expect(watch.get<k8s.CoreV1Event>('Event', namespace, `note-${EVENTS - 1}`)?.message).toBe(`note ${EVENTS - 1}`);

    // The API server records every field the creator set; the cache keeps who wrote which section, and when.
    const listed = watch.get<k8s.V1Deployment>('Deployment', namespace, 'web');
    expect(isTrimmed(listed)).toBe(true);
    expect(listed?.metadata?.managedFields?.some((e) => Object.hasOwn(e.fieldsV1 ?? {}, 'f:spec'))).toBe(true);
    expect(listed?.metadata?.annotations).toMatchObject({ team: 'shop' });
    expect(listed?.metadata?.annotations).not.toHaveProperty([LAST_APPLIED]);
    expect(listed?.spec?.template.spec?.containers[0]?.image).toBe('registry.local/shop/web:1.0.0');

    // A change that arrives through the watch is trimmed the same way.
    await clients.apps.patchNamespacedDeployment(
      { name: 'web', namespace, body: { metadata: { labels: { tier: 'front' } } } },
      PatchAs.merge,
    );
    const watched = await eventually('the label change in the cache', async () => {
      const current = watch?.get<k8s.V1Deployment>('Deployment', namespace, 'web');
      return current?.metadata?.labels?.tier === 'front' ? current : undefined;
    });
    expect(isTrimmed(watched)).toBe(true);
  });

  it('caches Warning Events and the Normal ones a detector reads, never the routine rest, listed or watched', async () => {
    expect(watch?.get('Event', namespace, 'pulled-before')).toBeUndefined();
    const at = new Date();
    await clients.core.createNamespacedEvent({ namespace, body: routine('pulled-after', at) });
    await clients.core.createNamespacedEvent({
      namespace,
      body: { ...routine('created-after', at), reason: 'SuccessfulCreate', message: 'Created pod: web-abc' },
    });
    await clients.core.createNamespacedEvent({ namespace, body: routine('pull-failed-after', at, 'Warning') });
    await eventually('the Warning in the cache', async () => watch?.get('Event', namespace, 'pull-failed-after'));
    await eventually('the SuccessfulCreate in the cache', async () => watch?.get('Event', namespace, 'created-after'));
    // Created before the two that arrived after it, so the watch has passed it.
    expect(watch?.get('Event', namespace, 'pulled-after')).toBeUndefined();
    expect(watch?.list('Event', namespace)).toHaveLength(EVENTS + 2);
  });
});
