import * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import { redactSecrets } from '../analysis/redaction.ts';
import { absentWorkloadFacts, type KubernetesContext, type WorkloadRef } from '../analysis/workloadFacts.ts';
import { claimNamesOf, emptySurroundings, podsSelectedBy, type Surroundings } from './kubernetesContext.related.ts';
import { ContextLimits, renderKubernetesContext, type WorkloadSnapshot } from './kubernetesContext.render.ts';
import { createNodeContextBuilder } from './nodeContext.ts';

/**
 * Reads a workload, its revisions, pods and events through the API server (never a cache: the context must show
 * the cluster as it is when the analysis runs) and renders them with kubernetesContext.render.ts.
 */
export interface KubernetesContextBuilder {
  /**
   * A missing workload is an answer (a context saying so, `facts.found` false); failing to reach the API server
   * is thrown as a Transient CairnError so the caller retries or analyses without context.
   */
  build(workload: WorkloadRef, options?: { readonly signal?: AbortSignal }): Promise<KubernetesContext>;
}

export interface KubernetesContextOptions {
  /** Bound of the rendered text; 12,000 characters unless said otherwise. */
  readonly maxChars?: number;
  /** Env names whose literal values the context shows (`*` wildcards); DEFAULT_ENV_ALLOWLIST by default. */
  readonly envAllowlist?: readonly string[];
}

export const ContextErrorCode = { ReadFailed: 'KubernetesContextReadFailed' } as const;

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: k8s.V1LabelSelectorRequirement[] };

/** A label selector in the query syntax the list calls take. */
export const selectorString = (selector: Selector | undefined): string => {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
};

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

const ownedBy = (owners: ReadonlySet<string>) => (object: { metadata?: k8s.V1ObjectMeta }) =>
  (object.metadata?.ownerReferences ?? []).some((o) => owners.has(o.uid));

const uidOf = (object: { metadata?: k8s.V1ObjectMeta }) => object.metadata?.uid ?? '';

export function createKubernetesContextBuilder(
  config: k8s.KubeConfig,
  options: KubernetesContextOptions = {},
): KubernetesContextBuilder {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const autoscaling = config.makeApiClient(k8s.AutoscalingV2Api);
  const networking = config.makeApiClient(k8s.NetworkingV1Api);
  const discovery = config.makeApiClient(k8s.DiscoveryV1Api);
  const storage = config.makeApiClient(k8s.StorageV1Api);
  const admission = config.makeApiClient(k8s.AdmissionregistrationV1Api);
  const maxChars = options.maxChars ?? ContextLimits.maxChars;
  const render = { maxChars, ...(options.envAllowlist ? { envAllowlist: options.envAllowlist } : {}) };
  const nodes = createNodeContextBuilder(config, { maxChars });

  const readers: Record<string, (name: string, namespace: string) => Promise<k8s.KubernetesObject>> = {
    Deployment: (name, namespace) => apps.readNamespacedDeployment({ name, namespace }),
    StatefulSet: (name, namespace) => apps.readNamespacedStatefulSet({ name, namespace }),
    DaemonSet: (name, namespace) => apps.readNamespacedDaemonSet({ name, namespace }),
    Job: (name, namespace) => batch.readNamespacedJob({ name, namespace }),
    CronJob: (name, namespace) => batch.readNamespacedCronJob({ name, namespace }),
    HorizontalPodAutoscaler: (name, namespace) =>
      autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace }),
    Service: (name, namespace) => core.readNamespacedService({ name, namespace }),
    Ingress: (name, namespace) => networking.readNamespacedIngress({ name, namespace }),
    PersistentVolumeClaim: (name, namespace) => core.readNamespacedPersistentVolumeClaim({ name, namespace }),
    NetworkPolicy: (name, namespace) => networking.readNamespacedNetworkPolicy({ name, namespace }),
    ValidatingWebhookConfiguration: (name) => admission.readValidatingWebhookConfiguration({ name }),
    MutatingWebhookConfiguration: (name) => admission.readMutatingWebhookConfiguration({ name }),
  };
  /** The workload kinds whose own reader must not serve as an HPA's scale target (an HPA scales workloads only). */
  const scalable = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

  /**
   * The namespace around the workload. Each list is context, not the subject: one that cannot be read (RBAC often
   * forbids quotas or secrets) is said in a note and left empty.
   */
  const readSurroundings = async (
    namespace: string,
    notes: string[],
    signal: AbortSignal | undefined,
    extra: { readonly webhookServices?: readonly { namespace: string; name: string }[] } = {},
  ): Promise<Surroundings> => {
    const attempt = async <T>(what: string, read: () => Promise<{ items: T[] }>): Promise<T[]> => {
      signal?.throwIfAborted();
      try {
        return (await read()).items;
      } catch (error) {
        if (signal?.aborted) throw error;
        notes.push(
          `${what} could not be read: ${redactSecrets(error instanceof Error ? error.message : String(error))}`,
        );
        return [];
      }
    };
    if (namespace === '') {
      // Cluster-scoped subject (webhook configurations): only the endpoints of the Services it calls.
      const slices = await Promise.all(
        (extra.webhookServices ?? []).map((s) =>
          attempt(`endpointslices of ${s.namespace}/${s.name}`, () =>
            discovery.listNamespacedEndpointSlice({
              namespace: s.namespace,
              labelSelector: `kubernetes.io/service-name=${s.name}`,
            }),
          ),
        ),
      );
      return { ...emptySurroundings, endpointSlices: slices.flat() };
    }
    const [services, endpointSlices, ingresses, pvcs, storageClasses, quotas, limitRanges, namespacePods] =
      await Promise.all([
        attempt('services', () => core.listNamespacedService({ namespace })),
        attempt('endpointslices', () => discovery.listNamespacedEndpointSlice({ namespace })),
        attempt('ingresses', () => networking.listNamespacedIngress({ namespace })),
        attempt('persistentvolumeclaims', () => core.listNamespacedPersistentVolumeClaim({ namespace })),
        attempt('storageclasses', () => storage.listStorageClass()),
        attempt('resourcequotas', () => core.listNamespacedResourceQuota({ namespace })),
        attempt('limitranges', () => core.listNamespacedLimitRange({ namespace })),
        attempt('pods of the namespace', () => core.listNamespacedPod({ namespace })),
      ]);
    // Only the names of TLS Secrets, and only when an Ingress asks for one: their content is never kept.
    const wantsTls = ingresses.some((i) => (i.spec?.tls ?? []).some((t) => t.secretName));
    const tlsSecretNames = wantsTls
      ? (
          await attempt('TLS secrets', () =>
            core.listNamespacedSecret({ namespace, fieldSelector: 'type=kubernetes.io/tls' }),
          )
        ).map((secret) => secret.metadata?.name ?? '')
      : [];
    return {
      services,
      endpointSlices,
      ingresses,
      pvcs,
      storageClasses,
      quotas,
      limitRanges,
      tlsSecretNames,
      namespacePods,
    };
  };

  return {
    async build(workload, buildOptions = {}) {
      const { signal } = buildOptions;
      const step = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
        signal?.throwIfAborted();
        try {
          return await read();
        } catch (error) {
          throw new CairnError(
            ContextErrorCode.ReadFailed,
            ErrorCategory.Transient,
            `reading ${what} for the context of ${workload.kind} ${workload.namespace}/${workload.name} failed`,
            { cause: error },
          );
        }
      };
      const { namespace } = workload;
      if (workload.kind === 'Node') return nodes.build(workload, buildOptions);
      const reader = Object.hasOwn(readers, workload.kind) ? readers[workload.kind] : undefined;
      if (!reader) {
        return {
          text: `Cairn builds no Kubernetes context for kind ${workload.kind} (${workload.namespace}/${workload.name}).`,
          facts: absentWorkloadFacts(workload),
        };
      }
      const object = await step(workload.kind, async () => {
        try {
          return await reader(workload.name, namespace);
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      });
      const notes: string[] = [];
      if (!object) return renderKubernetesContext({ ref: workload, pods: [], events: [], notes }, render);

      const spec = (object as { spec?: { selector?: Selector } }).spec;
      const labelSelector = selectorString(spec?.selector);
      const snapshot: {
        replicaSets?: k8s.V1ReplicaSet[];
        controllerRevisions?: k8s.V1ControllerRevision[];
        jobs?: k8s.V1Job[];
        scaleTarget?: k8s.KubernetesObject;
        pods: k8s.V1Pod[];
      } = { pods: [] };
      // Names of the objects whose events belong in the context, and prefixes of pods that may be gone already.
      const eventNames = new Set<string>([`${workload.kind}/${workload.name}`]);
      const podPrefixes: RegExp[] = [];
      const listPods = (selector: string) =>
        step('pods', () => core.listNamespacedPod({ namespace, labelSelector: selector })).then((l) => l.items);
      const self = new Set([uidOf(object)]);
      let scaleTargetExists: boolean | undefined;

      switch (workload.kind) {
        case 'Deployment': {
          const sets = await step('replicasets', () => apps.listNamespacedReplicaSet({ namespace, labelSelector }));
          snapshot.replicaSets = sets.items.filter(ownedBy(self));
          const setUids = new Set(snapshot.replicaSets.map(uidOf));
          snapshot.pods = (await listPods(labelSelector)).filter(ownedBy(setUids));
          for (const rs of snapshot.replicaSets) {
            eventNames.add(`ReplicaSet/${rs.metadata?.name}`);
            podPrefixes.push(new RegExp(`^${escapeRegExp(rs.metadata?.name ?? '')}-[a-z0-9]{5}$`));
          }
          break;
        }
        case 'StatefulSet':
        case 'DaemonSet': {
          const revisions = await step('controllerrevisions', () =>
            apps.listNamespacedControllerRevision({ namespace, labelSelector }),
          );
          snapshot.controllerRevisions = revisions.items.filter(ownedBy(self));
          snapshot.pods = (await listPods(labelSelector)).filter(ownedBy(self));
          podPrefixes.push(
            workload.kind === 'StatefulSet'
              ? new RegExp(`^${escapeRegExp(workload.name)}-\\d+$`)
              : new RegExp(`^${escapeRegExp(workload.name)}-[a-z0-9]{5}$`),
          );
          break;
        }
        case 'Job': {
          snapshot.pods = (await listPods(labelSelector)).filter(ownedBy(self));
          podPrefixes.push(new RegExp(`^${escapeRegExp(workload.name)}-[a-z0-9]{5}$`));
          break;
        }
        case 'CronJob': {
          const jobs = await step('jobs', () => batch.listNamespacedJob({ namespace }));
          snapshot.jobs = jobs.items.filter(ownedBy(self));
          const names = snapshot.jobs.map((j) => j.metadata?.name ?? '').filter((n) => n.length > 0);
          if (names.length > 0) {
            const jobUids = new Set(snapshot.jobs.map(uidOf));
            snapshot.pods = (await listPods(`batch.kubernetes.io/job-name in (${names.join(',')})`)).filter(
              ownedBy(jobUids),
            );
          }
          for (const name of names) {
            eventNames.add(`Job/${name}`);
            podPrefixes.push(new RegExp(`^${escapeRegExp(name)}-[a-z0-9]{5}$`));
          }
          break;
        }
        case 'HorizontalPodAutoscaler': {
          const ref = (object as k8s.V2HorizontalPodAutoscaler).spec?.scaleTargetRef;
          const readTarget = ref && scalable.has(ref.kind) ? readers[ref.kind] : undefined;
          if (ref && readTarget) {
            const target = await step(`${ref.kind} ${ref.name}`, () =>
              readTarget(ref.name, namespace).catch((error) => {
                if (isNotFound(error)) return undefined;
                throw error;
              }),
            );
            if (target) snapshot.scaleTarget = target;
            else notes.push(`scale target ${ref.kind}/${ref.name} does not exist`);
            scaleTargetExists = target !== undefined;
            eventNames.add(`${ref.kind}/${ref.name}`);
          }
          break;
        }
      }
      const webhookServices =
        workload.kind === 'ValidatingWebhookConfiguration' || workload.kind === 'MutatingWebhookConfiguration'
          ? ((object as k8s.V1ValidatingWebhookConfiguration).webhooks ?? []).flatMap((w) =>
              w.clientConfig.service
                ? [{ namespace: w.clientConfig.service.namespace, name: w.clientConfig.service.name }]
                : [],
            )
          : [];
      const clusterScoped = webhookServices.length > 0 || workload.kind.endsWith('WebhookConfiguration');
      const surroundings = await readSurroundings(clusterScoped ? '' : namespace, notes, signal, { webhookServices });
      // Subjects that are not workloads: the pods they are about.
      if (workload.kind === 'Service') {
        const selector = (object as k8s.V1Service).spec?.selector ?? {};
        if (Object.keys(selector).length > 0) snapshot.pods = podsSelectedBy(selector, surroundings.namespacePods);
      } else if (workload.kind === 'PersistentVolumeClaim') {
        snapshot.pods = surroundings.namespacePods.filter((p) =>
          (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === workload.name),
        );
      } else if (workload.kind === 'Ingress') {
        const backends = new Set(
          [
            (object as k8s.V1Ingress).spec?.defaultBackend?.service?.name,
            ...((object as k8s.V1Ingress).spec?.rules ?? []).flatMap((r) =>
              (r.http?.paths ?? []).map((p) => p.backend.service?.name),
            ),
          ].filter((n): n is string => n !== undefined),
        );
        const selectors = surroundings.services
          .filter((s) => backends.has(s.metadata?.name ?? ''))
          .map((s) => s.spec?.selector ?? {})
          .filter((sel) => Object.keys(sel).length > 0);
        snapshot.pods = surroundings.namespacePods.filter((p) =>
          selectors.some((sel) => podsSelectedBy(sel, [p]).length > 0),
        );
      }
      const templateSpec = (object as { spec?: { template?: k8s.V1PodTemplateSpec } }).spec?.template;
      const statefulClaims =
        workload.kind === 'StatefulSet'
          ? ((object as k8s.V1StatefulSet).spec?.volumeClaimTemplates ?? []).map((c) => c.metadata?.name ?? '')
          : [];
      for (const claim of claimNamesOf(templateSpec, { name: workload.name, claimTemplates: statefulClaims })) {
        if (claim.endsWith('-')) podPrefixes.push(new RegExp(`^${escapeRegExp(claim)}\\d+$`));
        else eventNames.add(`PersistentVolumeClaim/${claim}`);
      }
      for (const pod of snapshot.pods) eventNames.add(`Pod/${pod.metadata?.name}`);

      // Events are context, not the subject: when they cannot be read (RBAC often forbids them), say so and go on.
      let events: k8s.CoreV1Event[] = [];
      try {
        signal?.throwIfAborted();
        // Events about cluster-scoped objects are recorded in the default namespace.
        const list = await core.listNamespacedEvent({ namespace: clusterScoped ? 'default' : namespace });
        events = list.items.filter((e) => {
          const kind = e.involvedObject.kind ?? '';
          const name = e.involvedObject.name ?? '';
          return (
            eventNames.has(`${kind}/${name}`) ||
            ((kind === 'Pod' || kind === 'PersistentVolumeClaim') && podPrefixes.some((p) => p.test(name)))
          );
        });
      } catch (error) {
        if (signal?.aborted) throw error;
        notes.push(
          `events could not be read: ${redactSecrets(error instanceof Error ? error.message : String(error))}`,
        );
      }

      return renderKubernetesContext(
        {
          ref: workload,
          object,
          ...snapshot,
          events,
          notes,
          surroundings: { ...surroundings, ...(scaleTargetExists === undefined ? {} : { scaleTargetExists }) },
        } satisfies WorkloadSnapshot,
        render,
      );
    },
  };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
