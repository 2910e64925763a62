import { CronExpressionParser } from 'cron-parser';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import { RevisionVerdict } from '../../domain/events/revision.events.ts';
import type { ActionParams } from './action.ts';
import { display } from './actionErrors.ts';
import { optionalParam } from './actionParams.ts';
import { parseQuantity } from './quantity.ts';

/**
 * The sanity envelope: bounds on the values a parametric action may set, judged against what the cluster has now.
 * The action's own check already refused malformed params; this refuses well-formed values that no sane plan
 * needs (a 4Ti memory limit, 10000 replicas, a smaller disk), whoever proposed them. It is pure: the facts are
 * read beforehand by `observeEnvelope`, and a fact that could not be read refuses the action (fail closed).
 */

export interface EnvelopeLimits {
  /** A new resource value, PVC size, HPA maximum or Job parallelism stays within this factor of today's. */
  readonly factor: number;
  /** Replicas a scale may set when no HPA bounds the workload (a workload already above it may keep its count). */
  readonly replicaCeiling: number;
}

export const EnvelopeDefaults: EnvelopeLimits = { factor: 4, replicaCeiling: 20 };

/** Fixed ranges, documented in docs/actions.md: wide enough for any real workload, narrow enough to catch nonsense. */
export const EnvelopeRanges = {
  jobDeadlineSeconds: { min: 60, max: 7 * 24 * 3600 },
  jobBackoffLimit: { min: 0, max: 20 },
  cronStartingDeadlineSeconds: { min: 10, max: 24 * 3600 },
  /** No schedule runs more often than this, whatever it ran at before. */
  cronMinIntervalSeconds: 60,
  /** Share of pods a rolling-update strategy may take down at once. */
  maxUnavailableShare: 0.5,
} as const;

export const EnvelopeCode = {
  Resource: 'envelope.resource',
  NodeCapacity: 'envelope.node_capacity',
  Replicas: 'envelope.replicas',
  PvcShrink: 'envelope.pvc_shrink',
  PvcGrowth: 'envelope.pvc_growth',
  Range: 'envelope.range',
  Schedule: 'envelope.schedule',
  Revision: 'envelope.revision',
  Manifest: 'envelope.manifest',
  Unknown: 'envelope.unknown',
} as const;

export interface ContainerResources {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

export interface RevisionEntry {
  readonly revision: number;
  readonly ready: boolean;
  readonly verdict?: RevisionVerdict;
}

/** Proven by a record, or by ready pods now unless Cairn fled it: the latest evidence wins over the older. */
export const knownHealthy = (e: RevisionEntry): boolean =>
  e.verdict === RevisionVerdict.Healthy || (e.verdict !== RevisionVerdict.Bad && e.ready);

export interface RevisionFacts {
  /** The revision the workload runs (or rolls out) now. */
  readonly current: number;
  /**
   * Every revision in the rollout history, newest first: whether some of its pods are ready now, and what Cairn
   * recorded of it (healthy when a rollout of it completed, bad when Cairn rolled back away from it).
   */
  readonly entries: readonly RevisionEntry[];
}

/** What the envelope compares against; each part is read only when an action of the plan needs it. */
export interface EnvelopeFacts {
  /** The target's pod-template containers by name. */
  readonly containers?: Readonly<Record<string, ContainerResources>>;
  /** The largest allocatable CPU (cores) and memory (bytes) of any node. */
  readonly largestNode?: { readonly cpu: number; readonly memory: number };
  /** The target's spec.replicas. */
  readonly replicas?: number;
  /** The HPAs of the namespace, by name, and which of them scales the target. */
  readonly hpas?: Readonly<
    Record<string, { readonly min: number; readonly max: number; readonly targetsTarget: boolean }>
  >;
  /** PersistentVolumeClaims the plan names, by name: the larger of the requested and the provisioned size, bytes. */
  readonly pvcSizes?: Readonly<Record<string, number>>;
  readonly job?: { readonly parallelism: number };
  readonly cronSchedule?: string;
  readonly revisions?: RevisionFacts;
  /**
   * ApplyManifest's manifests, by `configmap/key`: applicable, or why not (another namespace, a kind Cairn never
   * applies, not a manifest at all). Judged from what the ConfigMap holds now, before the plan is created.
   */
  readonly manifests?: Readonly<
    Record<string, { readonly ok: true } | { readonly ok: false; readonly reason: string }>
  >;
}

export type EnvelopeVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: string; readonly reason: string };

const OK: EnvelopeVerdict = { ok: true };
const refuse = (code: string, reason: string): EnvelopeVerdict => ({ ok: false, code, reason });
const unknown = (action: ActionSpec, what: string): EnvelopeVerdict =>
  refuse(EnvelopeCode.Unknown, `${action.type}: ${what} could not be read, so its values cannot be bounded`);

export const ResourceActions = new Set([
  'AdjustResources',
  'AdjustStatefulSetResources',
  'AdjustDaemonSetResources',
  'AdjustJobResources',
  'AdjustCronJobResources',
]);
export const ScaleActions = new Set(['ScaleDeployment', 'ScaleStatefulSet']);
export const RollbackActions = new Set(['RollbackDeployment', 'RollbackStatefulSet', 'RollbackDaemonSet']);

const resourceParams = {
  memory_limit: { resource: 'memory', field: 'limits', other: 'requests' },
  memory_request: { resource: 'memory', field: 'requests', other: 'limits' },
  cpu_limit: { resource: 'cpu', field: 'limits', other: 'requests' },
  cpu_request: { resource: 'cpu', field: 'requests', other: 'limits' },
} as const;

const int = (params: ActionParams, name: string): number | undefined => {
  const text = optionalParam(params, name);
  return text === undefined || !/^-?\d+$/.test(text) ? undefined : Number(text);
};

const amount = (resource: string, value: number) =>
  resource === 'memory' ? `${(value / 2 ** 20).toFixed(0)}Mi` : `${Number(value.toFixed(3))} cores`;

function checkResources(action: ActionSpec, facts: EnvelopeFacts, limits: EnvelopeLimits): EnvelopeVerdict {
  if (facts.containers === undefined) return unknown(action, 'the containers of the target');
  if (facts.largestNode === undefined) return unknown(action, "the nodes' allocatable resources");
  const names = Object.keys(facts.containers);
  const name = optionalParam(action.params, 'container') ?? (names.length === 1 ? names[0] : undefined);
  const container = name === undefined ? undefined : facts.containers[name];
  for (const [param, spec] of Object.entries(resourceParams)) {
    const text = optionalParam(action.params, param);
    const wanted = text === undefined ? undefined : parseQuantity(text);
    if (wanted === undefined) continue;
    const node = facts.largestNode[spec.resource];
    if (wanted > node) {
      return refuse(
        EnvelopeCode.NodeCapacity,
        `${param} ${text} is above the largest node's allocatable ${spec.resource} (${amount(spec.resource, node)}): no pod could be scheduled`,
      );
    }
    if (container === undefined) {
      return refuse(
        EnvelopeCode.Unknown,
        name === undefined
          ? `${action.type}: name the container (${names.join(', ')}), so today's values bound the new ones`
          : `${action.type}: the target has no container ${name} (it has ${names.join(', ') || 'none'})`,
      );
    }
    // Today's value of the same field, or of its sibling (a limit is judged by the request when it has none).
    const currentText = container[spec.field][spec.resource] ?? container[spec.other][spec.resource];
    const current = currentText === undefined ? undefined : parseQuantity(currentText);
    if (current === undefined || current <= 0) continue;
    if (wanted > current * limits.factor || wanted * limits.factor < current) {
      return refuse(
        EnvelopeCode.Resource,
        `${param} ${text} is more than ${limits.factor}× away from the current ${currentText} of container ${name}`,
      );
    }
  }
  return OK;
}

function checkReplicas(action: ActionSpec, target: ResourceRef, facts: EnvelopeFacts, limits: EnvelopeLimits) {
  const wanted = int(action.params, 'replicas');
  if (wanted === undefined) return OK;
  if (facts.hpas === undefined) return unknown(action, 'the HorizontalPodAutoscalers of the namespace');
  const hpa = Object.entries(facts.hpas).find(([, h]) => h.targetsTarget);
  if (hpa) {
    const [name, { min, max }] = hpa;
    return wanted < min || wanted > max
      ? refuse(
          EnvelopeCode.Replicas,
          `replicas ${wanted} is outside ${min}-${max}, the bounds of HorizontalPodAutoscaler ${name}`,
        )
      : OK;
  }
  if (facts.replicas === undefined) return unknown(action, `the replica count of ${display(target)}`);
  const ceiling = Math.max(limits.replicaCeiling, facts.replicas);
  return wanted > ceiling
    ? refuse(
        EnvelopeCode.Replicas,
        `replicas ${wanted} is above the ceiling of ${ceiling} (no HorizontalPodAutoscaler bounds ${display(target)})`,
      )
    : OK;
}

function checkHpa(action: ActionSpec, facts: EnvelopeFacts, limits: EnvelopeLimits): EnvelopeVerdict {
  const max = int(action.params, 'maxReplicas');
  const min = int(action.params, 'minReplicas');
  if (max === undefined && min === undefined) return OK;
  if (facts.hpas === undefined) return unknown(action, 'the HorizontalPodAutoscalers of the namespace');
  const named = optionalParam(action.params, 'hpa');
  const hpa = named === undefined ? Object.values(facts.hpas).find((h) => h.targetsTarget) : facts.hpas[named];
  // No such HPA: the action itself says so when it runs.
  if (hpa === undefined) return OK;
  const ceiling = Math.max(limits.replicaCeiling, hpa.max * limits.factor);
  for (const [param, value] of [
    ['maxReplicas', max],
    ['minReplicas', min],
  ] as const) {
    if (value !== undefined && value > ceiling) {
      return refuse(
        EnvelopeCode.Replicas,
        `${param} ${value} is above ${ceiling} (${limits.factor}× the current maximum ${hpa.max}, or the replica ceiling)`,
      );
    }
  }
  return OK;
}

function checkPvc(action: ActionSpec, facts: EnvelopeFacts, limits: EnvelopeLimits): EnvelopeVerdict {
  const name = optionalParam(action.params, 'pvc');
  const text = optionalParam(action.params, 'size');
  const wanted = text === undefined ? undefined : parseQuantity(text);
  if (name === undefined || wanted === undefined) return OK;
  const current = facts.pvcSizes?.[name];
  if (current === undefined) return unknown(action, `the size of PersistentVolumeClaim ${name}`);
  if (wanted <= current) {
    return refuse(
      EnvelopeCode.PvcShrink,
      `size ${text} is not larger than the current ${amount('memory', current)} of ${name}: a claim never shrinks`,
    );
  }
  return wanted > current * limits.factor
    ? refuse(
        EnvelopeCode.PvcGrowth,
        `size ${text} is more than ${limits.factor}× the current ${amount('memory', current)} of ${name}`,
      )
    : OK;
}

const inRange = (action: ActionSpec, param: string, range: { min: number; max: number }): EnvelopeVerdict => {
  const value = int(action.params, param);
  return value !== undefined && (value < range.min || value > range.max)
    ? refuse(EnvelopeCode.Range, `${param} ${value} is outside ${range.min}-${range.max}`)
    : OK;
};

/** The shortest gap between the next runs of a cron line, in seconds; undefined when it cannot be parsed. */
export const shortestInterval = (schedule: string, from: Date, runs = 48): number | undefined => {
  try {
    const times = CronExpressionParser.parse(schedule, { currentDate: from, tz: 'UTC' })
      .take(runs)
      .map((d) => d.getTime());
    let shortest = Number.POSITIVE_INFINITY;
    for (let i = 1; i < times.length; i++)
      shortest = Math.min(shortest, ((times[i] ?? 0) - (times[i - 1] ?? 0)) / 1000);
    return shortest;
  } catch {
    return undefined;
  }
};

function checkSchedule(action: ActionSpec, facts: EnvelopeFacts, limits: EnvelopeLimits): EnvelopeVerdict {
  const schedule = optionalParam(action.params, 'schedule');
  if (schedule === undefined) return OK;
  if (facts.cronSchedule === undefined) return unknown(action, 'the current schedule');
  // A fixed instant keeps the verdict a function of its inputs: the gaps of a cron line repeat weekly at most.
  const from = new Date('2026-01-05T00:00:00Z');
  const wanted = shortestInterval(schedule.replace(/\s+/g, ' '), from);
  const current = shortestInterval(facts.cronSchedule, from);
  if (wanted === undefined) return OK;
  if (wanted < EnvelopeRanges.cronMinIntervalSeconds) {
    return refuse(EnvelopeCode.Schedule, `schedule "${schedule}" runs more often than once a minute`);
  }
  return current !== undefined && wanted * limits.factor < current
    ? refuse(
        EnvelopeCode.Schedule,
        `schedule "${schedule}" runs more than ${limits.factor}× as often as the current "${facts.cronSchedule}"`,
      )
    : OK;
}

function checkParallelism(action: ActionSpec, facts: EnvelopeFacts, limits: EnvelopeLimits): EnvelopeVerdict {
  const wanted = int(action.params, 'parallelism');
  if (wanted === undefined) return OK;
  if (facts.job === undefined) return unknown(action, 'the current parallelism');
  const ceiling = Math.max(1, facts.job.parallelism) * limits.factor;
  return wanted > ceiling
    ? refuse(
        EnvelopeCode.Range,
        `parallelism ${wanted} is more than ${limits.factor}× the current ${facts.job.parallelism}`,
      )
    : OK;
}

function checkMaxUnavailable(action: ActionSpec, facts: EnvelopeFacts): EnvelopeVerdict {
  const text = optionalParam(action.params, 'maxUnavailable');
  if (text === undefined) return OK;
  const share = EnvelopeRanges.maxUnavailableShare;
  if (text.endsWith('%')) {
    return Number(text.slice(0, -1)) > share * 100
      ? refuse(EnvelopeCode.Range, `maxUnavailable ${text} takes down more than ${share * 100}% of the pods at once`)
      : OK;
  }
  const value = Number(text);
  if (facts.replicas === undefined) return unknown(action, 'the replica count');
  const most = Math.max(1, Math.floor(facts.replicas * share));
  return value > most
    ? refuse(
        EnvelopeCode.Range,
        `maxUnavailable ${value} takes down more than ${share * 100}% of ${facts.replicas} pods at once`,
      )
    : OK;
}

/**
 * Resolves the revision a rollback would go to, as the actions choose it, and requires it to be known healthy and
 * never one Cairn rolled back away from. `last-healthy` is the action's own choice (the newest older revision with
 * ready pods), refused when Cairn knows it bad.
 */
function checkRollback(action: ActionSpec, target: ResourceRef, facts: EnvelopeFacts): EnvelopeVerdict {
  if (facts.revisions === undefined) return unknown(action, `the rollout history of ${display(target)}`);
  const { current, entries } = facts.revisions;
  const to = optionalParam(action.params, 'toRevision') ?? 'previous';
  const older = entries.filter((e) => e.revision !== current);
  const chosen =
    to === 'previous'
      ? older[0]
      : to === 'last-healthy'
        ? older.find((e) => e.ready)
        : entries.find((e) => e.revision === Number(to));
  const history = entries.map((e) => e.revision).join(', ') || 'none';
  if (chosen === undefined) {
    return refuse(
      EnvelopeCode.Revision,
      `${display(target)} has no revision to go back to for toRevision=${to} (history: ${history})`,
    );
  }
  if (chosen.revision === current || knownHealthy(chosen)) return OK;
  return refuse(
    EnvelopeCode.Revision,
    chosen.verdict === RevisionVerdict.Bad
      ? `revision ${chosen.revision} of ${display(target)} is one Cairn rolled back away from; it never goes back there`
      : `revision ${chosen.revision} of ${display(target)} is not known to have run healthy (no completed rollout recorded, no ready pod now); Cairn never rolls back to an unproven revision`,
  );
}

/** The envelope's verdict on one action whose own check passed. */
export const checkEnvelope = (
  action: ActionSpec,
  target: ResourceRef,
  facts: EnvelopeFacts,
  limits: EnvelopeLimits = EnvelopeDefaults,
): EnvelopeVerdict => {
  if (ResourceActions.has(action.type)) return checkResources(action, facts, limits);
  if (ScaleActions.has(action.type)) return checkReplicas(action, target, facts, limits);
  if (RollbackActions.has(action.type)) return checkRollback(action, target, facts);
  switch (action.type) {
    case 'AdjustHPA':
      return checkHpa(action, facts, limits);
    case 'ResizePVC':
      return checkPvc(action, facts, limits);
    case 'AdjustJobParallelism':
      return checkParallelism(action, facts, limits);
    case 'AdjustJobDeadline':
      return inRange(action, 'activeDeadlineSeconds', EnvelopeRanges.jobDeadlineSeconds);
    case 'AdjustJobBackoffLimit':
      return inRange(action, 'backoffLimit', EnvelopeRanges.jobBackoffLimit);
    case 'AdjustCronJobDeadline':
      return inRange(action, 'startingDeadlineSeconds', EnvelopeRanges.cronStartingDeadlineSeconds);
    case 'AdjustCronJobSchedule':
      return checkSchedule(action, facts, limits);
    case 'UpdateStatefulSetStrategy':
    case 'UpdateDaemonSetStrategy':
      return checkMaxUnavailable(action, facts);
    case 'ApplyManifest':
      return checkManifest(action, facts);
    default:
      return OK;
  }
};

export const manifestKey = (params: ActionParams) =>
  `${optionalParam(params, 'configmap') ?? ''}/${optionalParam(params, 'key') ?? ''}`;

/** A manifest for another namespace, or of a kind Cairn never applies, is refused before anything runs. */
function checkManifest(action: ActionSpec, facts: EnvelopeFacts): EnvelopeVerdict {
  const key = manifestKey(action.params);
  const judged = facts.manifests?.[key];
  if (judged === undefined) return unknown(action, `the manifest in ConfigMap key ${key}`);
  return judged.ok ? OK : refuse(EnvelopeCode.Manifest, judged.reason);
}

/** Which facts an action needs, so the observer reads nothing a plan does not use. */
export const factsNeeded = (action: ActionSpec): readonly (keyof EnvelopeFacts)[] => {
  if (ResourceActions.has(action.type)) return ['containers', 'largestNode'];
  if (ScaleActions.has(action.type)) return ['hpas', 'replicas'];
  if (RollbackActions.has(action.type)) return ['revisions'];
  switch (action.type) {
    case 'AdjustHPA':
      return ['hpas'];
    case 'ResizePVC':
      return ['pvcSizes'];
    case 'AdjustJobParallelism':
      return ['job'];
    case 'AdjustCronJobSchedule':
      return ['cronSchedule'];
    case 'UpdateStatefulSetStrategy':
    case 'UpdateDaemonSetStrategy':
      return ['replicas'];
    case 'ApplyManifest':
      return ['manifests'];
    default:
      return [];
  }
};
