import type {
  CoreV1Event,
  KubernetesObject,
  V1Container,
  V1ContainerStatus,
  V1ControllerRevision,
  V1CronJob,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { DEFAULT_ENV_ALLOWLIST, envValueShown, redactSecrets } from '../analysis/redaction.ts';
import type {
  BlockerFacts,
  ContainerFacts,
  HpaFacts,
  ImageChange,
  JobFacts,
  KubernetesContext,
  PodFacts,
  RevisionFacts,
  WorkloadFacts,
  WorkloadRef,
} from '../analysis/workloadFacts.ts';
import { absentWorkloadFacts } from '../analysis/workloadFacts.ts';
import {
  blockerLine,
  claimNamesOf,
  creationBlockers,
  emptySurroundings,
  ingressFacts,
  ingressLine,
  jobDeadlineBlocker,
  limitRangeLines,
  podBlockers,
  pvcFacts,
  pvcLine,
  quotaFacts,
  quotaLine,
  RelatedLimits,
  type Surroundings,
  serviceFacts,
  serviceLine,
  subjectPart,
  templateChangePaths,
} from './kubernetesContext.related.ts';

/**
 * Turns what the builder read into the context's text and facts. Pure, so the size bound, the ordering and the
 * redaction are tested without a cluster; kubernetesContext.ts only reads.
 */

/** Everything read about one workload; lists hold only objects that belong to it. */
export interface WorkloadSnapshot {
  readonly ref: WorkloadRef;
  /** Undefined when the workload does not exist. */
  readonly object?: KubernetesObject;
  readonly replicaSets?: readonly V1ReplicaSet[];
  readonly controllerRevisions?: readonly V1ControllerRevision[];
  readonly jobs?: readonly V1Job[];
  /** For an HPA: its scale target as read, when it could be. */
  readonly scaleTarget?: KubernetesObject;
  readonly pods: readonly V1Pod[];
  readonly events: readonly CoreV1Event[];
  /** Parts that could not be read (RBAC, a timeout), said in the text rather than silently missing. */
  readonly notes: readonly string[];
  /** The namespace around the workload: Services, Ingresses, claims, quotas; none read when absent. */
  readonly surroundings?: Surroundings;
}

export const ContextLimits = {
  maxChars: 12_000,
  pods: 5,
  events: 15,
  revisions: 5,
  jobs: 5,
  envVars: 20,
  message: 300,
  args: 300,
  /** One container or pod: a single sprawling item must not push every other one out. */
  item: 1_500,
} as const;

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

// ---------------------------------------------------------------------------------------------------------------
// Small readers

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const oneLine = (text: string | undefined, max: number = ContextLimits.message) =>
  clip((text ?? '').replace(/\s+/g, ' ').trim(), max);

const instant = (value: Date | string | undefined | null): string | undefined => {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
};

const nameOf = (object: { metadata?: { name?: string } } | undefined) => object?.metadata?.name ?? '';

const quantities = (values: Record<string, string> | undefined) =>
  Object.entries(values ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

const templateOf = (snapshot: WorkloadSnapshot): V1PodTemplateSpec | undefined => {
  const object = snapshot.object as { spec?: { template?: V1PodTemplateSpec; jobTemplate?: V1Job } } | undefined;
  if (snapshot.ref.kind === 'CronJob') return object?.spec?.jobTemplate?.spec?.template;
  if (snapshot.ref.kind === 'HorizontalPodAutoscaler') return undefined;
  return object?.spec?.template;
};

const imagesOf = (template: V1PodTemplateSpec | undefined): Record<string, string> =>
  Object.fromEntries((template?.spec?.containers ?? []).map((c) => [c.name, redactSecrets(c.image ?? '')]));

const memoryLimitsOf = (template: V1PodTemplateSpec | undefined): Record<string, string> =>
  Object.fromEntries(
    (template?.spec?.containers ?? []).flatMap((c) => {
      const limit = c.resources?.limits?.memory;
      return limit ? [[c.name, limit]] : [];
    }),
  );

const containerFacts = (container: V1Container): ContainerFacts => {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  return {
    name: container.name,
    image: redactSecrets(container.image ?? ''),
    ...(limits.memory ? { memoryLimit: limits.memory } : {}),
    ...(requests.memory ? { memoryRequest: requests.memory } : {}),
    ...(limits.cpu ? { cpuLimit: limits.cpu } : {}),
    ...(requests.cpu ? { cpuRequest: requests.cpu } : {}),
  };
};

const imageChanges = (older: Record<string, string>, newer: Record<string, string>): ImageChange[] =>
  [...new Set([...Object.keys(older), ...Object.keys(newer)])]
    .sort()
    .filter((c) => older[c] !== newer[c])
    .map((container) => ({
      container,
      ...(older[container] === undefined ? {} : { from: older[container] }),
      ...(newer[container] === undefined ? {} : { to: newer[container] }),
    }));

/** What else changed between two pod templates: resources, environment names, pod annotations, containers. */
const otherTemplateChanges = (older: V1PodTemplateSpec | undefined, newer: V1PodTemplateSpec | undefined): string[] => {
  const changes: string[] = [];
  const before = new Map((older?.spec?.containers ?? []).map((c) => [c.name, c]));
  for (const container of newer?.spec?.containers ?? []) {
    const previous = before.get(container.name);
    if (!previous) continue;
    const was = `${quantities(previous.resources?.requests) || 'none'} / ${quantities(previous.resources?.limits) || 'none'}`;
    const now = `${quantities(container.resources?.requests) || 'none'} / ${quantities(container.resources?.limits) || 'none'}`;
    if (was !== now) changes.push(`${container.name} resources (requests / limits) ${was} → ${now}`);
    const envBefore = new Set((previous.env ?? []).map((e) => e.name));
    const envNow = new Set((container.env ?? []).map((e) => e.name));
    const envChanged = [...new Set([...envBefore, ...envNow])].filter((n) => envBefore.has(n) !== envNow.has(n));
    const valuesChanged = (container.env ?? []).filter((e) => {
      const old = (previous.env ?? []).find((p) => p.name === e.name);
      return old !== undefined && JSON.stringify(old) !== JSON.stringify(e);
    });
    if (envChanged.length > 0 || valuesChanged.length > 0) {
      changes.push(`${container.name} env ${[...envChanged, ...valuesChanged.map((e) => e.name)].sort().join(', ')}`);
    }
    const argvBefore = JSON.stringify([previous.command, previous.args]);
    if (argvBefore !== JSON.stringify([container.command, container.args]))
      changes.push(`${container.name} command/args`);
  }
  const annotationsBefore = older?.metadata?.annotations ?? {};
  const annotationsNow = newer?.metadata?.annotations ?? {};
  const annotationKeys = [...new Set([...Object.keys(annotationsBefore), ...Object.keys(annotationsNow)])]
    .filter((k) => annotationsBefore[k] !== annotationsNow[k])
    .sort();
  if (annotationKeys.length > 0) changes.push(`pod annotations ${annotationKeys.join(', ')}`);
  return changes;
};

// ---------------------------------------------------------------------------------------------------------------
// Revisions

interface RevisionSource {
  readonly revision: number;
  readonly name: string;
  readonly template: V1PodTemplateSpec | undefined;
  readonly replicas: number;
  readonly readyReplicas: number;
  /** The label value a pod of this revision carries (`pod-template-hash` or `controller-revision-hash`). */
  readonly podHash: string | undefined;
}

const isReadyPod = (pod: V1Pod) =>
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

const revisionSources = (snapshot: WorkloadSnapshot): { sources: RevisionSource[]; current?: number } => {
  const { kind } = snapshot.ref;
  if (kind === 'Deployment') {
    const sources = (snapshot.replicaSets ?? []).flatMap((rs): RevisionSource[] => {
      const revision = Number(rs.metadata?.annotations?.[REVISION_ANNOTATION]);
      if (!Number.isInteger(revision)) return [];
      return [
        {
          revision,
          name: nameOf(rs),
          template: rs.spec?.template,
          replicas: rs.status?.replicas ?? 0,
          readyReplicas: rs.status?.readyReplicas ?? 0,
          podHash: rs.metadata?.labels?.['pod-template-hash'],
        },
      ];
    });
    const current = Number(snapshot.object?.metadata?.annotations?.[REVISION_ANNOTATION]);
    return { sources, ...(Number.isInteger(current) ? { current } : {}) };
  }
  if (kind === 'StatefulSet' || kind === 'DaemonSet') {
    // ControllerRevisions carry no replica counts; the pods say which revision they run.
    const sources = (snapshot.controllerRevisions ?? []).map((cr): RevisionSource => {
      const name = nameOf(cr);
      const pods = snapshot.pods.filter((p) => {
        const hash = p.metadata?.labels?.['controller-revision-hash'];
        return hash !== undefined && (hash === name || name.endsWith(`-${hash}`));
      });
      const data = cr.data as { spec?: { template?: V1PodTemplateSpec } } | undefined;
      return {
        revision: cr.revision,
        name,
        template: data?.spec?.template,
        replicas: pods.length,
        readyReplicas: pods.filter(isReadyPod).length,
        podHash: name,
      };
    });
    // The controller bumps a reused revision to the top, so the highest number is the template in force; the
    // status's updateRevision says the same but can lag right after a change.
    const current = Math.max(...sources.map((s) => s.revision), Number.NEGATIVE_INFINITY);
    return { sources, ...(Number.isFinite(current) ? { current } : {}) };
  }
  return { sources: [] };
};

const revisionOfPod = (pod: V1Pod, sources: readonly RevisionSource[]): number | undefined => {
  const labels = pod.metadata?.labels ?? {};
  const templateHash = labels['pod-template-hash'];
  const revisionHash = labels['controller-revision-hash'];
  return sources.find(
    (s) =>
      s.podHash !== undefined &&
      ((templateHash !== undefined && s.podHash === templateHash) ||
        (revisionHash !== undefined && (s.podHash === revisionHash || s.podHash.endsWith(`-${revisionHash}`)))),
  )?.revision;
};

// ---------------------------------------------------------------------------------------------------------------
// Pods

interface PodView {
  readonly facts: PodFacts;
  readonly unhealthy: boolean;
  readonly terminating: boolean;
  readonly text: string;
}

const stateText = (status: V1ContainerStatus): string => {
  const { waiting, running, terminated } = status.state ?? {};
  if (waiting) return `waiting ${waiting.reason ?? ''}${waiting.message ? ` (${oneLine(waiting.message, 200)})` : ''}`;
  if (terminated) {
    return `terminated ${terminated.reason ?? ''} (exit ${terminated.exitCode})${terminated.message ? `: ${oneLine(terminated.message, 200)}` : ''}`;
  }
  if (running) return `running since ${instant(running.startedAt) ?? '?'}`;
  return 'state unknown';
};

const podView = (pod: V1Pod, sources: readonly RevisionSource[]): PodView => {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const phase = pod.status?.phase ?? 'Unknown';
  const ready = isReadyPod(pod);
  const restarts = statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
  const reasons = new Set<string>();
  const oomKilled = new Set<string>();
  for (const s of statuses) {
    const now = s.state?.waiting?.reason ?? s.state?.terminated?.reason;
    const last = s.lastState?.terminated?.reason;
    if (now && now !== 'Completed' && now !== 'ContainerCreating' && now !== 'PodInitializing') reasons.add(now);
    if (last && last !== 'Completed') reasons.add(last);
    if (s.state?.terminated?.reason === 'OOMKilled' || last === 'OOMKilled') oomKilled.add(s.name);
  }
  const terminating = pod.metadata?.deletionTimestamp !== undefined;
  const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') reasons.add(scheduled.reason ?? 'Unschedulable');
  // Never started: not scheduled, or its containers wait on configuration or an image, none ever ran.
  const pending =
    phase === 'Pending' &&
    !terminating &&
    statuses.every(
      (s) => !s.state?.running && !s.state?.terminated && !s.lastState?.terminated && (s.restartCount ?? 0) === 0,
    );
  const revision = revisionOfPod(pod, sources);
  const unhealthy = phase !== 'Succeeded' && (!ready || reasons.size > 0 || phase === 'Failed');
  const lines = [
    `- ${nameOf(pod)}${revision === undefined ? '' : ` [revision ${revision}]`}: phase ${phase}, ${ready ? 'ready' : 'not ready'}, restarts ${restarts}` +
      `${pod.spec?.nodeName ? `, node ${pod.spec.nodeName}` : ''}${terminating ? ', terminating' : ''}` +
      `${pod.status?.reason ? `, reason ${pod.status.reason}` : ''}`,
  ];
  for (const s of statuses) {
    const last = s.lastState?.terminated;
    lines.push(
      `    ${s.name} (${redactSecrets(s.image ?? '')}): ${stateText(s)}; restarts ${s.restartCount ?? 0}` +
        (last
          ? `; last terminated ${last.reason ?? ''} (exit ${last.exitCode}) at ${instant(last.finishedAt) ?? '?'}`
          : ''),
    );
  }
  for (const c of pod.status?.conditions ?? []) {
    if (c.status !== 'True' && (c.type !== 'PodScheduled' || c.reason === 'Unschedulable')) {
      lines.push(
        `    condition ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${oneLine(c.message, 200)}` : ''}`,
      );
    }
  }
  return {
    facts: {
      name: nameOf(pod),
      ...(revision === undefined ? {} : { revision }),
      phase,
      ready,
      restarts,
      reasons: [...reasons].sort(),
      oomKilledContainers: [...oomKilled].sort(),
      ...(pending ? { pending } : {}),
    },
    unhealthy,
    terminating,
    text: redactSecrets(clip(lines.join('\n'), ContextLimits.item)),
  };
};

/** Unhealthy first, then the most restarted, then by name, so the same pods always come first. */
const byConcern = (a: PodView, b: PodView) =>
  Number(b.unhealthy) - Number(a.unhealthy) ||
  Number(a.terminating) - Number(b.terminating) ||
  b.facts.restarts - a.facts.restarts ||
  a.facts.name.localeCompare(b.facts.name);

// ---------------------------------------------------------------------------------------------------------------
// Events

const eventInstant = (event: CoreV1Event): string =>
  instant(event.lastTimestamp) ??
  instant(event.series?.lastObservedTime as Date | string | undefined) ??
  instant(event.eventTime as Date | string | undefined) ??
  instant(event.firstTimestamp) ??
  instant(event.metadata?.creationTimestamp) ??
  '';

const newestEventsFirst = (events: readonly CoreV1Event[]) =>
  [...events].sort((a, b) => eventInstant(b).localeCompare(eventInstant(a)) || nameOf(b).localeCompare(nameOf(a)));

const isCairnEvent = (event: CoreV1Event) =>
  /^cairn/i.test(event.reportingComponent ?? '') || /^cairn/i.test(event.source?.component ?? '');

const eventText = (event: CoreV1Event) => {
  const count = event.series?.count ?? event.count ?? 1;
  return redactSecrets(
    `- ${eventInstant(event) || '?'} ${event.type ?? 'Normal'} ${event.reason ?? ''} ` +
      `${event.involvedObject.kind ?? ''}/${event.involvedObject.name ?? ''}: ${oneLine(event.message)}` +
      `${count > 1 ? ` (x${count})` : ''}`,
  );
};

// ---------------------------------------------------------------------------------------------------------------
// The workload itself

const conditionLines = (conditions: { type: string; status: string; reason?: string; message?: string }[] = []) =>
  conditions.length === 0
    ? ['  (none reported)']
    : conditions.map(
        (c) =>
          `  - ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${oneLine(c.message, 200)}` : ''}`,
      );

/** Env values are shown only for allowlisted names: any other value may be a credential, whatever it is called. */
const containerText = (container: V1Container, envAllowlist: readonly string[]): string => {
  const lines = [
    `- ${container.name}: image ${container.image ?? '?'}` +
      `${container.resources?.requests ? `; requests ${quantities(container.resources.requests)}` : ''}` +
      `${container.resources?.limits ? `; limits ${quantities(container.resources.limits)}` : '; no limits'}`,
  ];
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  if (argv.length > 0) lines.push(`    command: ${clip(argv.join(' '), ContextLimits.args)}`);
  const env = container.env ?? [];
  if (env.length > 0) {
    const shown = env.slice(0, ContextLimits.envVars).map((e) => {
      const from = e.valueFrom;
      // No `=` for references: they hold no secret, and `NAME=` would be redacted as if they did.
      if (from?.secretKeyRef) return `${e.name} (from secret ${from.secretKeyRef.name}/${from.secretKeyRef.key})`;
      if (from?.configMapKeyRef) {
        return `${e.name} (from configmap ${from.configMapKeyRef.name}/${from.configMapKeyRef.key})`;
      }
      if (from) return `${e.name} (from ${Object.keys(from).join(',')})`;
      return `${e.name}=${clip(envValueShown(e.name, e.value ?? '', envAllowlist), 100)}`;
    });
    const more = env.length > shown.length ? ` (+${env.length - shown.length} more)` : '';
    lines.push(`    env: ${shown.join(' ')}${more}`);
  }
  const probe = container.readinessProbe;
  if (probe) {
    const how = probe.httpGet
      ? `http ${probe.httpGet.path ?? '/'}:${probe.httpGet.port}`
      : probe.tcpSocket
        ? `tcp ${probe.tcpSocket.port}`
        : probe.exec
          ? `exec ${clip((probe.exec.command ?? []).join(' '), 100)}`
          : 'grpc';
    lines.push(
      `    readiness probe: ${how}, period ${probe.periodSeconds ?? 10}s, failure threshold ${probe.failureThreshold ?? 3}`,
    );
  }
  return redactSecrets(clip(lines.join('\n'), ContextLimits.item));
};

interface StatusPart {
  readonly lines: string[];
  readonly replicas?: WorkloadFacts['replicas'];
  readonly hpa?: HpaFacts;
  readonly job?: JobFacts;
}

const jobState = (job: V1Job): JobFacts => {
  const done = (job.status?.conditions ?? []).find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
  return {
    active: job.status?.active ?? 0,
    succeeded: job.status?.succeeded ?? 0,
    failed: job.status?.failed ?? 0,
    ...(job.spec?.backoffLimit === undefined ? {} : { backoffLimit: job.spec.backoffLimit }),
    state: done ? `${done.type}${done.reason ? ` (${done.reason})` : ''}` : job.spec?.suspend ? 'Suspended' : 'Running',
  };
};

const jobLine = (job: V1Job) => {
  const state = jobState(job);
  return `${nameOf(job)}: ${state.state}, active ${state.active}, succeeded ${state.succeeded}, failed ${state.failed}${
    state.backoffLimit === undefined ? '' : ` (backoffLimit ${state.backoffLimit})`
  }, started ${instant(job.status?.startTime) ?? '-'}`;
};

const statusPart = (snapshot: WorkloadSnapshot): StatusPart => {
  const { kind } = snapshot.ref;
  switch (kind) {
    case 'Deployment': {
      const d = snapshot.object as V1Deployment;
      const s = d.status ?? {};
      const strategy = d.spec?.strategy;
      const replicas = {
        desired: d.spec?.replicas ?? 1,
        ready: s.readyReplicas ?? 0,
        available: s.availableReplicas ?? 0,
        updated: s.updatedReplicas ?? 0,
      };
      return {
        replicas,
        lines: [
          `Replicas: desired ${replicas.desired}, current ${s.replicas ?? 0}, updated ${replicas.updated}, ready ${replicas.ready}, available ${replicas.available}, unavailable ${s.unavailableReplicas ?? 0}`,
          `Strategy: ${strategy?.type ?? 'RollingUpdate'}${
            strategy?.rollingUpdate
              ? ` (maxUnavailable ${strategy.rollingUpdate.maxUnavailable ?? '25%'}, maxSurge ${strategy.rollingUpdate.maxSurge ?? '25%'})`
              : ''
          }${d.spec?.paused ? ', paused' : ''}`,
          `Revision: ${d.metadata?.annotations?.[REVISION_ANNOTATION] ?? '?'}; generation ${d.metadata?.generation ?? '?'}, observed ${s.observedGeneration ?? '?'}`,
          'Conditions:',
          ...conditionLines(s.conditions),
        ],
      };
    }
    case 'StatefulSet': {
      const st = snapshot.object as V1StatefulSet;
      const s = st.status ?? { replicas: 0 };
      const replicas = {
        desired: st.spec?.replicas ?? 1,
        ready: s.readyReplicas ?? 0,
        available: s.availableReplicas ?? 0,
        updated: s.updatedReplicas ?? 0,
      };
      const claims = (st.spec?.volumeClaimTemplates ?? []).map(
        (c) =>
          `${nameOf(c)} ${c.spec?.resources?.requests?.storage ?? '?'}${c.spec?.storageClassName ? ` (${c.spec.storageClassName})` : ''}`,
      );
      return {
        replicas,
        lines: [
          `Replicas: desired ${replicas.desired}, current ${s.currentReplicas ?? 0}, updated ${replicas.updated}, ready ${replicas.ready}, available ${replicas.available}`,
          `Update strategy: ${st.spec?.updateStrategy?.type ?? 'RollingUpdate'}, partition ${st.spec?.updateStrategy?.rollingUpdate?.partition ?? 0}; pod management ${st.spec?.podManagementPolicy ?? 'OrderedReady'}`,
          `Revisions: current ${s.currentRevision ?? '?'}, update ${s.updateRevision ?? '?'}`,
          `Volume claim templates: ${claims.length > 0 ? claims.join(', ') : 'none'}`,
          'Conditions:',
          ...conditionLines(s.conditions),
        ],
      };
    }
    case 'DaemonSet': {
      const ds = snapshot.object as V1DaemonSet;
      const s = ds.status;
      const replicas = {
        desired: s?.desiredNumberScheduled ?? 0,
        ready: s?.numberReady ?? 0,
        available: s?.numberAvailable ?? 0,
        updated: s?.updatedNumberScheduled ?? 0,
      };
      const spec = ds.spec?.template?.spec;
      return {
        replicas,
        lines: [
          `Pods: desired ${replicas.desired}, current ${s?.currentNumberScheduled ?? 0}, updated ${replicas.updated}, ready ${replicas.ready}, available ${replicas.available}, unavailable ${s?.numberUnavailable ?? 0}, misscheduled ${s?.numberMisscheduled ?? 0}`,
          `Update strategy: ${ds.spec?.updateStrategy?.type ?? 'RollingUpdate'}${ds.spec?.updateStrategy?.rollingUpdate ? ` (maxUnavailable ${ds.spec.updateStrategy.rollingUpdate.maxUnavailable ?? 1})` : ''}`,
          `Node selector: ${quantities(spec?.nodeSelector) || 'none'}; tolerations: ${
            (spec?.tolerations ?? [])
              .map((t) => `${t.key ?? '*'}${t.operator === 'Exists' ? '' : `=${t.value ?? ''}`}:${t.effect ?? '*'}`)
              .join(', ') || 'none'
          }`,
          'Conditions:',
          ...conditionLines(s?.conditions),
        ],
      };
    }
    case 'Job': {
      const job = snapshot.object as V1Job;
      return {
        job: jobState(job),
        lines: [
          `Job ${jobLine(job)}`,
          `Completions ${job.spec?.completions ?? 1}, parallelism ${job.spec?.parallelism ?? 1}, activeDeadlineSeconds ${job.spec?.activeDeadlineSeconds ?? 'none'}`,
          'Conditions:',
          ...conditionLines(job.status?.conditions),
        ],
      };
    }
    case 'CronJob': {
      const cron = snapshot.object as V1CronJob;
      const jobs = [...(snapshot.jobs ?? [])].sort(
        (a, b) =>
          (instant(b.status?.startTime) ?? '').localeCompare(instant(a.status?.startTime) ?? '') ||
          nameOf(b).localeCompare(nameOf(a)),
      );
      const newest = jobs[0];
      return {
        ...(newest ? { job: jobState(newest) } : {}),
        lines: [
          `Schedule: ${cron.spec?.schedule ?? '?'}${cron.spec?.timeZone ? ` (${cron.spec.timeZone})` : ''}, suspend ${cron.spec?.suspend ?? false}, concurrency ${cron.spec?.concurrencyPolicy ?? 'Allow'}`,
          `Last schedule ${instant(cron.status?.lastScheduleTime) ?? 'never'}, last success ${instant(cron.status?.lastSuccessfulTime) ?? 'never'}, active jobs ${(cron.status?.active ?? []).length}`,
          `History limits: successful ${cron.spec?.successfulJobsHistoryLimit ?? 3}, failed ${cron.spec?.failedJobsHistoryLimit ?? 1}`,
          `Recent jobs (newest first${jobs.length > ContextLimits.jobs ? `, ${ContextLimits.jobs} of ${jobs.length}` : ''}):`,
          ...jobs.slice(0, ContextLimits.jobs).map((j) => `  - ${jobLine(j)}`),
        ],
      };
    }
    case 'HorizontalPodAutoscaler': {
      const hpa = snapshot.object as V2HorizontalPodAutoscaler;
      const min = hpa.spec?.minReplicas ?? 1;
      const max = hpa.spec?.maxReplicas ?? 0;
      const current = hpa.status?.currentReplicas ?? 0;
      const desired = hpa.status?.desiredReplicas ?? 0;
      const ref = hpa.spec?.scaleTargetRef;
      const target = `${ref?.kind ?? '?'}/${ref?.name ?? '?'}`;
      const facts: HpaFacts = {
        minReplicas: min,
        maxReplicas: max,
        currentReplicas: current,
        desiredReplicas: desired,
        maxedOut: max > 0 && current >= max && desired >= max,
        target,
      };
      const metricTargets = (hpa.spec?.metrics ?? []).map((m) => {
        const r = m.resource ?? m.containerResource;
        if (r)
          return `${r.name} ${r.target.averageUtilization !== undefined ? `${r.target.averageUtilization}%` : (r.target.averageValue ?? r.target.value ?? '?')}`;
        return `${m.type} ${m.pods?.metric.name ?? m.object?.metric.name ?? m.external?.metric.name ?? ''}`.trim();
      });
      const currentMetrics = (hpa.status?.currentMetrics ?? []).map((m) => {
        const r = m.resource ?? m.containerResource;
        if (r)
          return `${r.name} ${r.current.averageUtilization !== undefined ? `${r.current.averageUtilization}%` : (r.current.averageValue ?? r.current.value ?? '?')}`;
        return m.type;
      });
      const scaled = snapshot.scaleTarget as { status?: { replicas?: number; readyReplicas?: number } } | undefined;
      return {
        hpa: facts,
        lines: [
          `Scale target: ${target}${scaled ? ` (replicas ${scaled.status?.replicas ?? 0}, ready ${scaled.status?.readyReplicas ?? 0})` : ''}`,
          `Replicas: min ${min}, max ${max}, current ${current}, desired ${desired}${facts.maxedOut ? ' — MAXED OUT' : ''}`,
          `Targets: ${metricTargets.join(', ') || 'none'}; current: ${currentMetrics.join(', ') || 'unknown'}`,
          `Last scale ${instant(hpa.status?.lastScaleTime) ?? 'never'}`,
          'Conditions:',
          ...conditionLines(hpa.status?.conditions),
        ],
      };
    }
    default:
      return { lines: [] };
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Causes and subjects

/** Kinds an Issue can be about that are configuration rather than a workload running pods. */
const SUBJECT_KINDS = new Set([
  'Service',
  'Ingress',
  'PersistentVolumeClaim',
  'HorizontalPodAutoscaler',
  'NetworkPolicy',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

/** Why pods cannot run or be created, the newest revision first, one entry per distinct cause. */
const collectBlockers = (
  snapshot: WorkloadSnapshot,
  sources: readonly RevisionSource[],
  events: readonly CoreV1Event[],
): BlockerFacts[] => {
  const setRevisions = new Map(
    (snapshot.replicaSets ?? []).map((rs) => [nameOf(rs), Number(rs.metadata?.annotations?.[REVISION_ANNOTATION])]),
  );
  const revisionOfOwner = (kind: string, name: string) => {
    const revision = kind === 'ReplicaSet' ? setRevisions.get(name) : undefined;
    return revision !== undefined && Number.isInteger(revision) ? revision : undefined;
  };
  const all: BlockerFacts[] = [
    ...snapshot.pods.flatMap((pod) => podBlockers(pod, revisionOfPod(pod, sources))),
    ...creationBlockers(
      (snapshot.replicaSets ?? []).map((set) => {
        const revision = revisionOfOwner('ReplicaSet', nameOf(set));
        return { set, ...(revision === undefined ? {} : { revision }) };
      }),
      events,
      revisionOfOwner,
      (kind, name) => {
        if (kind === 'ReplicaSet') {
          const set = (snapshot.replicaSets ?? []).find((rs) => nameOf(rs) === name);
          return set !== undefined && (set.spec?.replicas ?? 1) > (set.status?.replicas ?? 0);
        }
        if (kind === 'StatefulSet' && snapshot.ref.kind === 'StatefulSet') {
          const sts = snapshot.object as V1StatefulSet;
          return (sts.spec?.replicas ?? 1) > (sts.status?.replicas ?? 0);
        }
        if (kind === 'Job') {
          const job =
            snapshot.ref.kind === 'Job'
              ? (snapshot.object as V1Job)
              : (snapshot.jobs ?? []).find((j) => nameOf(j) === name);
          const done = (job?.status?.conditions ?? []).some(
            (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
          );
          return job !== undefined && !done && (job.status?.active ?? 0) < (job.spec?.parallelism ?? 1);
        }
        return false;
      },
    ),
  ];
  const jobs =
    snapshot.ref.kind === 'Job'
      ? [snapshot.object as V1Job]
      : snapshot.ref.kind === 'CronJob'
        ? // Only the newest run: an old run past its deadline says nothing about the one failing now.
          [...(snapshot.jobs ?? [])]
            .sort(
              (a, b) =>
                (instant(b.status?.startTime) ?? '').localeCompare(instant(a.status?.startTime) ?? '') ||
                nameOf(b).localeCompare(nameOf(a)),
            )
            .slice(0, 1)
        : [];
  for (const job of jobs) {
    const deadline = jobDeadlineBlocker(job);
    if (deadline) all.push(deadline);
  }
  // Pods of one revision share their cause: say it once, naming the first pod.
  const seen = new Set<string>();
  const distinct = all.filter((b) => {
    const key = `${b.code}|${b.revision ?? ''}|${b.object?.kind ?? ''}/${b.object?.name ?? ''}|${b.seenOn.startsWith('Pod/') ? b.message.replace(/\S*-[a-z0-9]{5}\b/g, '') : b.seenOn}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return distinct.sort((a, b) => (b.revision ?? -1) - (a.revision ?? -1)).slice(0, RelatedLimits.blockers);
};

// ---------------------------------------------------------------------------------------------------------------
// Size bound

interface Section {
  readonly title: string;
  readonly items: string[];
  /** Items dropped to fit the bound; said in the title so a reader knows the list is incomplete. */
  dropped: number;
  readonly noun: string;
}

const sectionText = (section: Section) => {
  if (section.items.length === 0 && section.dropped === 0) return '';
  const note = section.dropped > 0 ? ` [${section.dropped} ${section.noun} omitted to fit the size limit]` : '';
  return `== ${section.title}${note} ==\n${section.items.join('\n')}`;
};

const joinSections = (sections: readonly Section[]) =>
  sections
    .map(sectionText)
    .filter((text) => text.length > 0)
    .join('\n\n');

/**
 * Drops items, least important first, until the text fits: old events, then healthy-looking pods and old
 * revisions, then the rest. What is left is always the start of each list (newest events, sickest pods).
 */
const fitToBound = (
  sections: Record<'status' | 'causes' | 'containers' | 'related' | 'pods' | 'revisions' | 'events', Section>,
  maxChars: number,
) => {
  const ordered = [
    sections.status,
    sections.causes,
    sections.containers,
    sections.revisions,
    sections.related,
    sections.pods,
    sections.events,
  ];
  const stages: [Section, number][] = [
    [sections.events, 5],
    [sections.related, 4],
    [sections.pods, 2],
    [sections.revisions, 2],
    [sections.events, 0],
    [sections.causes, 2],
    [sections.related, 1],
    [sections.pods, 1],
    [sections.containers, 1],
    [sections.revisions, 0],
    [sections.related, 0],
    [sections.pods, 0],
    [sections.causes, 0],
  ];
  let text = joinSections(ordered);
  for (const [section, floor] of stages) {
    while (text.length > maxChars && section.items.length > floor) {
      section.items.pop();
      section.dropped += 1;
      text = joinSections(ordered);
    }
  }
  if (text.length > maxChars) {
    const marker = `\n[context cut at ${maxChars} characters]`;
    text = `${text.slice(0, Math.max(0, maxChars - marker.length))}${marker}`;
  }
  return text;
};

// ---------------------------------------------------------------------------------------------------------------

export function renderKubernetesContext(
  snapshot: WorkloadSnapshot,
  options: {
    readonly maxChars?: number;
    /** Env names whose literal values are shown; DEFAULT_ENV_ALLOWLIST unless said otherwise. */
    readonly envAllowlist?: readonly string[];
  } = {},
): KubernetesContext {
  const maxChars = options.maxChars ?? ContextLimits.maxChars;
  const envAllowlist = options.envAllowlist ?? DEFAULT_ENV_ALLOWLIST;
  const { ref } = snapshot;
  const title = `${ref.kind} ${ref.namespace}/${ref.name}`;
  const notes = snapshot.notes.map((n) => `(${oneLine(n, 300)})`);
  if (!snapshot.object) {
    const text = redactSecrets([`${title} was not found.`, ...notes].join('\n'));
    return { text: clip(text, maxChars), facts: absentWorkloadFacts(ref) };
  }

  const status = statusPart(snapshot);
  const surroundings = snapshot.surroundings ?? emptySurroundings;
  const template = templateOf(snapshot);
  const containers = template?.spec?.containers ?? [];

  const { sources, current } = revisionSources(snapshot);
  const sortedSources = [...sources].sort((a, b) => b.revision - a.revision);
  const revisions: RevisionFacts[] = sortedSources.slice(0, ContextLimits.revisions).map((source, index) => {
    const older = sortedSources[index + 1];
    const images = imagesOf(source.template);
    return {
      revision: source.revision,
      name: source.name,
      images,
      memoryLimits: memoryLimitsOf(source.template),
      replicas: source.replicas,
      readyReplicas: source.readyReplicas,
      ready: source.readyReplicas > 0,
      current: source.revision === current,
      imageChanges: older ? imageChanges(imagesOf(older.template), images) : [],
      ...(older
        ? {
            templateChanges: templateChangePaths(older.template, source.template).slice(
              0,
              RelatedLimits.templateChanges,
            ),
          }
        : {}),
    };
  });
  const revisionItems = revisions.map((r) => {
    const change =
      r.imageChanges.length > 0
        ? `image changed: ${r.imageChanges.map((c) => `${c.container} ${c.from ?? '(new)'} → ${c.to ?? '(removed)'}`).join(', ')}`
        : sortedSources.some((s) => s.revision < r.revision)
          ? 'same images as the revision before'
          : `images: ${Object.entries(r.images)
              .map(([c, i]) => `${c}=${i}`)
              .join(', ')}`;
    const pods = r.replicas === 0 ? 'scaled down' : `${r.replicas} pod(s), ${r.readyReplicas} ready`;
    const index = sortedSources.findIndex((source) => source.revision === r.revision);
    const other = otherTemplateChanges(sortedSources[index + 1]?.template, sortedSources[index]?.template);
    const also = other.length > 0 ? `; also changed: ${clip(other.join('; '), 400)}` : '';
    const fields =
      r.templateChanges && r.templateChanges.length > 0
        ? `; template fields changed: ${clip(r.templateChanges.join(', '), 400)}`
        : '';
    return redactSecrets(
      `- revision ${r.revision} (${r.name})${r.current ? ' CURRENT' : ''}: ${pods}; ${change}${also}${fields}`,
    );
  });

  const views = snapshot.pods.map((pod) => podView(pod, sources)).sort(byConcern);
  const shownPods = views.slice(0, ContextLimits.pods);
  const live = views.filter((v) => !v.terminating && v.facts.phase !== 'Succeeded');
  const oomContainers = [...new Set(views.flatMap((v) => v.facts.oomKilledContainers))].sort();
  const allStatuses = snapshot.pods.flatMap((p) => p.status?.containerStatuses ?? []);

  // Cairn's own events (Issue opened...) would feed its earlier conclusions back in as evidence.
  const events = newestEventsFirst(snapshot.events.filter((e) => !isCairnEvent(e)));
  const shownEvents = events.slice(0, ContextLimits.events);

  const blockers = collectBlockers(snapshot, sources, events);
  const statefulSet = snapshot.ref.kind === 'StatefulSet' ? (snapshot.object as V1StatefulSet) : undefined;
  const subjectRef =
    SUBJECT_KINDS.has(ref.kind) && ref.kind !== 'HorizontalPodAutoscaler'
      ? { kind: ref.kind, name: ref.name }
      : undefined;
  const relatedInput = {
    surroundings,
    pods: snapshot.pods,
    ...(template?.metadata?.labels ? { templateLabels: template.metadata.labels } : {}),
    claimNames: claimNamesOf(
      template,
      statefulSet
        ? { name: ref.name, claimTemplates: (statefulSet.spec?.volumeClaimTemplates ?? []).map((c) => nameOf(c)) }
        : undefined,
    ),
    ...(subjectRef ? { subject: subjectRef } : {}),
    events: snapshot.events,
  };
  const services = serviceFacts(relatedInput);
  const ingresses = ingressFacts(relatedInput, services);
  const pvcs = pvcFacts(relatedInput);
  const quotas = quotaFacts(surroundings.quotas);
  const limitRanges = limitRangeLines(surroundings.limitRanges);
  const subject = SUBJECT_KINDS.has(ref.kind)
    ? subjectPart(ref.kind, snapshot.object, { services, ingresses, pvcs, surroundings })
    : undefined;

  const sections = {
    status: {
      title: title,
      items: [...status.lines, ...(subject?.lines ?? []).slice(0, 2 * RelatedLimits.problems + 5), ...notes].map(
        (line) => redactSecrets(clip(line, 600)),
      ),
      dropped: 0,
      noun: 'lines',
    },
    causes: {
      title: 'Why pods cannot run or be created',
      items: blockers.map(blockerLine),
      dropped: 0,
      noun: 'causes',
    },
    related: {
      title: 'Services, Ingresses, claims and quotas',
      items: [
        ...services.map(serviceLine),
        ...(ref.kind === 'Ingress' ? [] : ingresses.map(ingressLine)),
        ...(ref.kind === 'PersistentVolumeClaim' ? [] : pvcs.map(pvcLine)),
        ...quotas.map(quotaLine),
        ...limitRanges.map((line) => `- LimitRange ${line}`),
      ],
      dropped: 0,
      noun: 'lines',
    },
    containers: {
      title: 'Containers',
      items: containers.map((c) => containerText(c, envAllowlist)),
      dropped: 0,
      noun: 'containers',
    },
    revisions: {
      title: `Revisions (newest first${sortedSources.length > revisions.length ? `, ${revisions.length} of ${sortedSources.length}` : ''})`,
      items: revisionItems,
      dropped: 0,
      noun: 'revisions',
    },
    pods: {
      title: `Pods (${shownPods.length} of ${views.length}, unhealthy first)`,
      items: shownPods.map((v) => v.text),
      dropped: 0,
      noun: 'pods',
    },
    events: {
      title: `Recent events (${shownEvents.length} of ${events.length}, newest first)`,
      items: shownEvents.map(eventText),
      dropped: 0,
      noun: 'events',
    },
  } satisfies Record<string, Section>;

  const text = redactSecrets(fitToBound(sections, maxChars));
  const facts: WorkloadFacts = {
    kind: ref.kind,
    name: ref.name,
    namespace: ref.namespace,
    found: true,
    ...(status.replicas ? { replicas: status.replicas } : {}),
    containers: containers.map(containerFacts),
    revisions,
    ...(current === undefined ? {} : { currentRevision: current }),
    pods: shownPods.map((v) => v.facts),
    podCount: views.length,
    notReadyPods: live.filter((v) => !v.facts.ready).length,
    maxRestarts: Math.max(0, ...views.map((v) => v.facts.restarts)),
    oomKilled: oomContainers.length > 0,
    oomKilledContainers: oomContainers,
    crashLooping: allStatuses.some(
      (s) =>
        s.state?.waiting?.reason === 'CrashLoopBackOff' ||
        ((s.restartCount ?? 0) >= 3 && (s.lastState?.terminated?.exitCode ?? 0) !== 0),
    ),
    imagePullFailing: allStatuses.some((s) => IMAGE_PULL_REASONS.has(s.state?.waiting?.reason ?? '')),
    warningReasons: [...new Set(shownEvents.filter((e) => e.type === 'Warning').map((e) => e.reason ?? ''))]
      .filter((r) => r.length > 0)
      .sort(),
    ...(status.hpa ? { hpa: status.hpa } : {}),
    ...(status.job ? { job: status.job } : {}),
    blockers,
    services,
    ingresses,
    pvcs,
    quotas,
    limitRanges,
    ...(subject
      ? { subject: { ...subject.subject, problems: subject.subject.problems.slice(0, RelatedLimits.problems) } }
      : {}),
  };
  // A redaction that lengthens the text (rare) must not break the bound.
  return { text: text.length > maxChars ? clip(text, maxChars) : text, facts };
}
