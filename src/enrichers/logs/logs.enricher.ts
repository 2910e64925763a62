import * as k8s from '@kubernetes/client-node';
import { redactSecrets } from '../../analysis/redaction.ts';
import type { ContextEnricher, ContextSection, EnrichmentTarget } from '../enricher.ts';
import { selectorString } from '../kubernetesContext.ts';
import { analyzeLog } from './logAnalysis.ts';
import { type ContainerLogReport, type ContainerRole, type LogSource, renderLogReport } from './logReport.render.ts';

/**
 * The `logs` enricher: reads the logs of a workload's pods through the API server (so the kubelet, or KWOK on the
 * local control plane, serves them), every container including init containers and sidecars, and the previous
 * run of each container that restarted, and analyses the lines written in a window before the incident.
 * A log the API cannot serve (no kubelet serving logs, a container that never started) is named with the API's
 * reason; when none can be read the section says so instead of failing.
 */
export interface LogEnricherOptions {
  /** Pods read, unhealthy first. Default 5. */
  readonly maxPods?: number;
  /** Lines asked for per log. Default 1,000. */
  readonly tailLines?: number;
  /** Bytes asked for per log. Default 256 KiB. */
  readonly limitBytes?: number;
  /** How far before the incident lines count. Default 10 minutes. */
  readonly windowMinutes?: number;
  /** Lines written this long after the incident still count (the crash that raised it). Default 2 minutes. */
  readonly graceMinutes?: number;
  /** Bound of the section's text. Default 6,000 characters. */
  readonly maxChars?: number;
  readonly now?: () => Date;
}

export const LogEnricherName = 'logs';

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: k8s.V1LabelSelectorRequirement[] };

const concurrency = 4;

/** The API's own explanation of a refused request, from the body of the client's exception. */
export const apiReason = (error: unknown): string => {
  const body = (error as { body?: unknown }).body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      message = body;
    }
  } else if (body && typeof body === 'object') message = (body as { message?: string }).message;
  const code = (error as { code?: number }).code;
  const text = message?.trim() || (error instanceof Error ? error.message : String(error));
  return redactSecrets(`${code ? `HTTP ${code}: ` : ''}${text.split('\n')[0]?.slice(0, 300) ?? ''}`);
};

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

interface PodPlan {
  readonly pod: k8s.V1Pod;
  readonly name: string;
  readonly unhealthy: boolean;
  readonly restarts: number;
}

const statusesOf = (pod: k8s.V1Pod) => [
  ...(pod.status?.initContainerStatuses ?? []),
  ...(pod.status?.containerStatuses ?? []),
];

const planPod = (pod: k8s.V1Pod): PodPlan => {
  const statuses = statusesOf(pod);
  const ready = (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const troubled = statuses.some((s) => {
    const reason = s.state?.waiting?.reason ?? s.state?.terminated?.reason;
    return (
      (reason && !['Completed', 'ContainerCreating', 'PodInitializing'].includes(reason)) || s.lastState?.terminated
    );
  });
  const phase = pod.status?.phase;
  return {
    pod,
    name: pod.metadata?.name ?? '',
    unhealthy: phase !== 'Succeeded' && (!ready || Boolean(troubled) || phase === 'Failed'),
    restarts: statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0),
  };
};

/** Unhealthy first, then the most restarted, then by name, so the same pods come first every time. */
const byConcern = (a: PodPlan, b: PodPlan) =>
  Number(b.unhealthy) - Number(a.unhealthy) || b.restarts - a.restarts || a.name.localeCompare(b.name);

/** Each log to read: every init container (native sidecars among them) and container, current and previous run. */
const logsOf = (pod: k8s.V1Pod): LogSource[] => {
  const name = pod.metadata?.name ?? '';
  const statuses = new Map(statusesOf(pod).map((s) => [s.name, s]));
  const main =
    pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] ?? pod.spec?.containers[0]?.name ?? '';
  const containers: { container: string; role: ContainerRole }[] = [
    ...(pod.spec?.initContainers ?? []).map((c) => ({
      container: c.name,
      // An init container that keeps running beside the app (restartPolicy Always) is a native sidecar.
      role: (c.restartPolicy === 'Always' ? 'sidecar' : 'init') as ContainerRole,
    })),
    ...(pod.spec?.containers ?? []).map((c) => ({
      container: c.name,
      role: (c.name === main ? 'main' : 'sidecar') as ContainerRole,
    })),
  ];
  return containers.flatMap(({ container, role }) => {
    const status = statuses.get(container);
    const restarts = status?.restartCount ?? 0;
    const current: LogSource = { pod: name, container, role, previous: false, restarts };
    return restarts > 0 || status?.lastState?.terminated ? [current, { ...current, previous: true }] : [current];
  });
};

async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function createLogEnricher(config: k8s.KubeConfig, options: LogEnricherOptions = {}): ContextEnricher {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const autoscaling = config.makeApiClient(k8s.AutoscalingV2Api);
  const maxPods = options.maxPods ?? 5;
  const tailLines = options.tailLines ?? 1_000;
  const limitBytes = options.limitBytes ?? 256 * 1024;
  const windowMs = (options.windowMinutes ?? 10) * 60_000;
  const graceMs = (options.graceMinutes ?? 2) * 60_000;
  const maxChars = options.maxChars ?? 6_000;
  const now = options.now ?? (() => new Date());

  const selectorOf: Record<string, (name: string, namespace: string) => Promise<Selector | undefined>> = {
    Deployment: async (name, namespace) => (await apps.readNamespacedDeployment({ name, namespace })).spec?.selector,
    StatefulSet: async (name, namespace) => (await apps.readNamespacedStatefulSet({ name, namespace })).spec?.selector,
    DaemonSet: async (name, namespace) => (await apps.readNamespacedDaemonSet({ name, namespace })).spec?.selector,
    ReplicaSet: async (name, namespace) => (await apps.readNamespacedReplicaSet({ name, namespace })).spec?.selector,
    Job: async (name, namespace) => (await batch.readNamespacedJob({ name, namespace })).spec?.selector,
  };

  /** The workload's pods; undefined when the workload does not exist. */
  const podsOf = async (kind: string, name: string, namespace: string, depth = 0): Promise<k8s.V1Pod[] | undefined> => {
    const list = async (labelSelector: string) => (await core.listNamespacedPod({ namespace, labelSelector })).items;
    try {
      if (kind === 'Pod') return [await core.readNamespacedPod({ name, namespace })];
      if (kind === 'CronJob') {
        const cronJob = await batch.readNamespacedCronJob({ name, namespace });
        const jobs = (await batch.listNamespacedJob({ namespace })).items.filter((j) =>
          (j.metadata?.ownerReferences ?? []).some((o) => o.uid === cronJob.metadata?.uid),
        );
        const names = jobs.map((j) => j.metadata?.name ?? '').filter(Boolean);
        return names.length === 0 ? [] : list(`batch.kubernetes.io/job-name in (${names.join(',')})`);
      }
      if (kind === 'HorizontalPodAutoscaler' && depth === 0) {
        const ref = (await autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace })).spec?.scaleTargetRef;
        return ref ? podsOf(ref.kind, ref.name, namespace, depth + 1) : [];
      }
      const read = selectorOf[kind];
      if (!read) return [];
      const selector = selectorString(await read(name, namespace));
      // An empty selector would list every pod of the namespace.
      return selector ? list(selector) : [];
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };

  return {
    name: LogEnricherName,
    async enrich(target: EnrichmentTarget, { signal }): Promise<ContextSection> {
      const { workload } = target;
      const detected = Date.parse(target.detectedAt);
      const incident = Number.isNaN(detected) ? now().getTime() : detected;
      const window = { from: incident - windowMs, until: incident + graceMs };
      const unavailable = (reason: string): ContextSection => ({
        enricher: LogEnricherName,
        title: 'Logs',
        text: `Logs of ${workload.kind} ${workload.namespace}/${workload.name}: not available (${reason}).`,
        unavailable: reason,
      });

      let pods: k8s.V1Pod[] | undefined;
      try {
        pods = await podsOf(workload.kind, workload.name, workload.namespace);
      } catch (error) {
        return unavailable(`the workload's pods could not be read: ${apiReason(error)}`);
      }
      if (pods === undefined) return unavailable(`${workload.kind} ${workload.name} does not exist`);
      if (pods.length === 0) return unavailable(`${workload.kind} ${workload.name} has no pods`);

      const chosen = pods.map(planPod).sort(byConcern).slice(0, maxPods);
      const sources = chosen.flatMap((p) => logsOf(p.pod));
      // Only the window is asked for; a few seconds more so lines at its edge are not lost to rounding.
      const sinceSeconds = Math.max(1, Math.ceil((now().getTime() - window.from) / 1000) + 5);
      const reports = await mapBounded(sources, concurrency, async (source): Promise<ContainerLogReport> => {
        signal.throwIfAborted();
        try {
          const raw = await core.readNamespacedPodLog({
            name: source.pod,
            namespace: workload.namespace,
            container: source.container,
            previous: source.previous,
            timestamps: true,
            tailLines,
            limitBytes,
            sinceSeconds,
          });
          return { source, analysis: analyzeLog(String(raw ?? ''), { apiTimestamps: true, window }) };
        } catch (error) {
          if (signal.aborted) throw error;
          return { source, unavailable: apiReason(error) };
        }
      });

      const read = reports.filter((r) => r.analysis);
      if (read.length === 0) {
        const reasons = [...new Set(reports.map((r) => r.unavailable ?? ''))].slice(0, 3).join('; ');
        const section = unavailable(
          `no container log could be read from ${chosen.length} pod${chosen.length === 1 ? '' : 's'}: ${reasons}`,
        );
        return { ...section, facts: { podsRead: 0, logsRead: 0, logsUnavailable: reports.length } };
      }
      const notes =
        pods.length > chosen.length ? [`${pods.length - chosen.length} more pods not read (at most ${maxPods})`] : [];
      const { text, facts } = renderLogReport(
        {
          workload,
          window,
          podsRead: chosen.length,
          podsTotal: pods.length,
          reports,
          notes,
        },
        { maxChars },
      );
      return {
        enricher: LogEnricherName,
        title: 'Logs',
        text,
        facts: { ...facts, ...(facts.finding ? { finding: redactSecrets(facts.finding) } : {}) },
      };
    },
  };
}
