import type * as k8s from '@kubernetes/client-node';
import { ErrorCategory, isCairnError } from '../../domain/errors.ts';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import type { RevisionVerdict } from '../../domain/events/revision.events.ts';
import type { ActionClients } from './action.ts';
import { display, kube, readOptional } from './actionErrors.ts';
import { optionalParam } from './actionParams.ts';
import { parseManifest, readConfigMapKey } from './config.actions.ts';
import { type RawReplicaSet, revisionOf, revisionsOf, servedReadyPods, templateHashOf } from './deployment.actions.ts';
import type { ContainerResources, EnvelopeFacts, RevisionFacts } from './envelope.ts';
import { factsNeeded, manifestKey } from './envelope.ts';
import { parseQuantity } from './quantity.ts';
import { controllerRevisions, type Raw, readWorkload, TemplateKinds, templateOf } from './templateWorkloads.ts';
import { isPodReady, workloadPods } from './workloadPods.ts';

/**
 * Reads the cluster facts the envelope judges a plan against. A missing object leaves its fact out (the envelope
 * then refuses to guess); any other API failure is thrown, so the caller retries rather than records a verdict
 * built on an outage.
 */
export async function observeEnvelope(
  clients: ActionClients,
  target: ResourceRef,
  actions: readonly ActionSpec[],
  verdicts: RevisionVerdicts = async () => ({}),
): Promise<EnvelopeFacts> {
  const needed = new Set(actions.flatMap(factsNeeded));
  if (needed.size === 0) return {};
  const object = await readTarget(clients, target);
  const facts: { -readonly [K in keyof EnvelopeFacts]: EnvelopeFacts[K] } = {};
  if (needed.has('containers') && object) facts.containers = containersOf(target, object);
  if (needed.has('largestNode')) facts.largestNode = await largestNode(clients);
  if (needed.has('replicas') && object) facts.replicas = replicasOf(target, object);
  if (needed.has('hpas')) facts.hpas = await hpas(clients, target);
  if (needed.has('job') && object && target.kind === 'Job')
    facts.job = { parallelism: (object as k8s.V1Job).spec?.parallelism ?? 1 };
  if (needed.has('cronSchedule') && object && target.kind === 'CronJob') {
    const schedule = (object as k8s.V1CronJob).spec?.schedule;
    if (schedule) facts.cronSchedule = schedule;
  }
  if (needed.has('pvcSizes')) facts.pvcSizes = await pvcSizes(clients, target, actions);
  if (needed.has('manifests')) facts.manifests = await manifests(clients, target, actions);
  if (needed.has('revisions') && object) {
    const revisions = await revisionFacts(clients, target, object, await verdicts(target));
    if (revisions) facts.revisions = revisions;
  }
  return facts;
}

type Json = Raw<object>;

async function readTarget(clients: ActionClients, target: ResourceRef): Promise<Json | undefined> {
  const { name, namespace } = target;
  if (target.kind === 'Deployment') {
    return (await readOptional(`reading ${display(target)}`, () =>
      clients.apps.readNamespacedDeployment({ name, namespace }),
    )) as Json | undefined;
  }
  if (!Object.hasOwn(TemplateKinds, target.kind)) return undefined;
  return readOptional(`reading ${display(target)}`, () =>
    readWorkload<object>(clients, target.kind as keyof typeof TemplateKinds, target),
  );
}

const templateOfTarget = (target: ResourceRef, object: Json): k8s.V1PodTemplateSpec | undefined =>
  target.kind === 'Deployment'
    ? (object as k8s.V1Deployment).spec?.template
    : templateOf(target.kind as keyof typeof TemplateKinds, object);

const containersOf = (target: ResourceRef, object: Json): Record<string, ContainerResources> =>
  Object.fromEntries(
    (templateOfTarget(target, object)?.spec?.containers ?? []).map((c) => [
      c.name,
      { requests: { ...(c.resources?.requests ?? {}) }, limits: { ...(c.resources?.limits ?? {}) } },
    ]),
  );

const replicasOf = (target: ResourceRef, object: Json): number | undefined => {
  if (target.kind === 'Deployment' || target.kind === 'StatefulSet')
    return (object as k8s.V1StatefulSet).spec?.replicas ?? 1;
  if (target.kind === 'DaemonSet') return (object as k8s.V1DaemonSet).status?.desiredNumberScheduled ?? 0;
  return undefined;
};

async function largestNode(clients: ActionClients) {
  const nodes = await kube('listing nodes', () => clients.core.listNode());
  let cpu = 0;
  let memory = 0;
  for (const node of nodes.items) {
    cpu = Math.max(cpu, parseQuantity(node.status?.allocatable?.cpu ?? '0') ?? 0);
    memory = Math.max(memory, parseQuantity(node.status?.allocatable?.memory ?? '0') ?? 0);
  }
  return nodes.items.length === 0 ? undefined : { cpu, memory };
}

async function hpas(clients: ActionClients, target: ResourceRef) {
  if (target.namespace === '') return {};
  const list = await kube('listing HorizontalPodAutoscalers', () =>
    clients.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: target.namespace }),
  );
  return Object.fromEntries(
    list.items.map((h) => [
      h.metadata?.name ?? '',
      {
        min: h.spec?.minReplicas ?? 1,
        max: h.spec?.maxReplicas ?? 1,
        targetsTarget:
          (h.spec?.scaleTargetRef.kind === target.kind && h.spec.scaleTargetRef.name === target.name) ||
          (target.kind === 'HorizontalPodAutoscaler' && h.metadata?.name === target.name),
      },
    ]),
  );
}

/** Each manifest an ApplyManifest names, vetted as the action will vet it; a missing ConfigMap or key stays out. */
async function manifests(clients: ActionClients, target: ResourceRef, actions: readonly ActionSpec[]) {
  const judged: Record<string, { ok: true } | { ok: false; reason: string }> = {};
  for (const action of actions) {
    if (action.type !== 'ApplyManifest') continue;
    const key = manifestKey(action.params);
    if (Object.hasOwn(judged, key)) continue;
    let text: string | undefined;
    try {
      text = await readConfigMapKey(clients, target.namespace, action.params);
    } catch (error) {
      // No such ConfigMap or key: the fact stays out and the envelope refuses; an outage is retried instead.
      if (
        isCairnError(error) &&
        (error.category === ErrorCategory.NotFound || error.category === ErrorCategory.Validation)
      )
        continue;
      throw error;
    }
    try {
      parseManifest(text, target.namespace);
      judged[key] = { ok: true };
    } catch (error) {
      if (!isCairnError(error)) throw error;
      judged[key] = { ok: false, reason: error.message };
    }
  }
  return judged;
}

async function pvcSizes(clients: ActionClients, target: ResourceRef, actions: readonly ActionSpec[]) {
  const sizes: Record<string, number> = {};
  for (const action of actions) {
    const name = action.type === 'ResizePVC' ? optionalParam(action.params, 'pvc') : undefined;
    if (name === undefined || Object.hasOwn(sizes, name)) continue;
    const pvc = await readOptional(`reading PersistentVolumeClaim ${name}`, () =>
      clients.core.readNamespacedPersistentVolumeClaim({ name, namespace: target.namespace }),
    );
    if (pvc === undefined) continue;
    const requested = parseQuantity(pvc.spec?.resources?.requests?.storage ?? '0') ?? 0;
    const provisioned = parseQuantity(pvc.status?.capacity?.storage ?? '0') ?? 0;
    sizes[name] = Math.max(requested, provisioned);
  }
  return sizes;
}

/** What Cairn recorded of the workload's revisions, by template hash (the revision ledger). */
export type RevisionVerdicts = (workload: ResourceRef) => Promise<Readonly<Record<string, RevisionVerdict>>>;

/**
 * The rollout history with, for each revision, whether some of its pods are ready now and what Cairn recorded of
 * it. A revision scaled away long ago proves nothing by itself; its record does.
 */
async function revisionFacts(
  clients: ActionClients,
  target: ResourceRef,
  object: Json,
  recorded: Readonly<Record<string, RevisionVerdict>>,
): Promise<RevisionFacts | undefined> {
  const verdictOf = (hash: string | undefined) =>
    hash !== undefined && Object.hasOwn(recorded, hash) ? { verdict: recorded[hash] as RevisionVerdict } : {};
  if (target.kind === 'Deployment') {
    const revisions: RawReplicaSet[] = await revisionsOf(clients, object as k8s.V1Deployment);
    const [newest] = revisions;
    if (newest === undefined) return undefined;
    return {
      current: revisionOf(newest),
      entries: revisions.map((rs) => ({
        revision: revisionOf(rs),
        ready: servedReadyPods(rs),
        ...verdictOf(templateHashOf(rs)),
      })),
    };
  }
  if (target.kind !== 'StatefulSet' && target.kind !== 'DaemonSet') return undefined;
  const revisions = await controllerRevisions(clients, object);
  const [newest] = revisions;
  if (newest === undefined) return undefined;
  const { pods } = await workloadPods(clients, target);
  // StatefulSet pods carry the revision's name, DaemonSet pods only its hash (the name's last segment).
  const runsReady = (name: string) =>
    pods.some((p) => {
      const label = p.metadata?.labels?.['controller-revision-hash'];
      return isPodReady(p) && label !== undefined && (label === name || name.endsWith(`-${label}`));
    });
  return {
    current: newest.revision ?? 0,
    entries: revisions.map((r) => ({
      revision: r.revision ?? 0,
      ready: runsReady(r.metadata?.name ?? ''),
      ...verdictOf(r.metadata?.name),
    })),
  };
}
