import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as k8s from '@kubernetes/client-node';
import { type WatchedKind, watchCluster } from '../../src/adapters/kubernetes/clusterWatch.ts';

/**
 * Where the operator's memory goes, kind by kind: the V8 heap one informer cache of that kind holds once it has
 * listed the cluster, measured in this process between two full garbage collections, with the objects as the
 * operator keeps them (trimmed) and as the API server sends them (the same list, untrimmed).
 */
export interface CacheFootprint {
  readonly kind: WatchedKind;
  readonly objects: number;
  /** Heap held by the operator's informer cache of this kind, in bytes. */
  readonly cached: number;
  /** Heap the same objects take untrimmed, in bytes. */
  readonly untrimmed: number;
}

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Heap in use once what the previous step let go (closed sockets, settled promises) has been collected. */
const heapAfterGc = async () => {
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 3; i++) collect();
  return process.memoryUsage().heapUsed;
};

const API_VERSIONS: Partial<Record<WatchedKind, string>> = {
  Pod: 'v1',
  Event: 'v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  Node: 'v1',
  ReplicaSet: 'apps/v1',
  Deployment: 'apps/v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Ingress: 'networking.k8s.io/v1',
};

/** Heap an informer cache of this kind holds once synced; the informer is gone when this returns. */
async function cachedHeap(config: k8s.KubeConfig, kind: WatchedKind) {
  const before = await heapAfterGc();
  const watch = watchCluster(config, { kinds: [kind], onChange: () => undefined });
  await watch.synced();
  const cached = (await heapAfterGc()) - before;
  const objects = watch.list(kind).length;
  await watch.stop();
  return { objects, cached };
}

/** Heap the same objects take as the API server sends them (the typed list), released when this returns. */
async function untrimmedHeap(objects: k8s.KubernetesObjectApi, kind: WatchedKind) {
  const apiVersion = API_VERSIONS[kind];
  if (!apiVersion) return Number.NaN;
  const before = await heapAfterGc();
  const listed = await objects.list(apiVersion, kind);
  const held = (await heapAfterGc()) - before;
  // Read after the collection, so the list is still live when it is measured.
  return listed.items.length >= 0 ? held : Number.NaN;
}

export async function cacheFootprints(
  config: k8s.KubeConfig,
  kinds: readonly WatchedKind[] = Object.keys(API_VERSIONS) as WatchedKind[],
): Promise<CacheFootprint[]> {
  const api = k8s.KubernetesObjectApi.makeApiClient(config);
  const footprints: CacheFootprint[] = [];
  for (const kind of kinds) {
    const untrimmed = await untrimmedHeap(api, kind);
    const { objects, cached } = await cachedHeap(config, kind);
    footprints.push({ kind, objects, cached, untrimmed });
  }
  return footprints;
}
