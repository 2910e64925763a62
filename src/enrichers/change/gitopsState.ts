import type { WorkloadRef } from '../../analysis/workloadFacts.ts';
import type { ArgoFacts, FluxFacts } from './changeFacts.ts';

/**
 * Who deploys the workload, from the GitOps tool's own objects: the Argo CD Application that lists it or that its
 * labels name, the Flux Kustomization or HelmRelease its labels name. Pure: the objects come in already read.
 */

export const ArgoInstanceLabel = 'argocd.argoproj.io/instance';
export const ArgoTrackingAnnotation = 'argocd.argoproj.io/tracking-id';
export const FluxLabels = {
  Kustomization: { name: 'kustomize.toolkit.fluxcd.io/name', namespace: 'kustomize.toolkit.fluxcd.io/namespace' },
  HelmRelease: { name: 'helm.toolkit.fluxcd.io/name', namespace: 'helm.toolkit.fluxcd.io/namespace' },
} as const;

interface ArgoResource {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  status?: string;
  health?: { status?: string };
}

export interface ArgoApplication {
  metadata?: { name?: string; namespace?: string };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    resources?: unknown;
    operationState?: {
      phase?: string;
      message?: string;
      finishedAt?: string;
      syncResult?: { revision?: string };
    };
  };
}

interface Metadata {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

const resourcesOf = (app: ArgoApplication): ArgoResource[] =>
  Array.isArray(app.status?.resources) ? (app.status.resources as ArgoResource[]) : [];

const lists = (app: ArgoApplication, workload: WorkloadRef) =>
  resourcesOf(app).some(
    (r) => r.kind === workload.kind && r.name === workload.name && (r.namespace ?? '') === workload.namespace,
  );

/** The Application names the workload's own annotation and label give, in that order. */
export const argoNamesOf = (metadata: Metadata | undefined): string[] => {
  const tracked = metadata?.annotations?.[ArgoTrackingAnnotation]?.split(':')[0];
  const labelled = metadata?.labels?.[ArgoInstanceLabel];
  return [...new Set([tracked, labelled].filter((n): n is string => Boolean(n)))];
};

/** The Application that deploys the workload, and how it was recognised; the workload's own labels win. */
export function findArgoApplication(
  apps: readonly ArgoApplication[],
  workload: WorkloadRef,
  metadata: Metadata | undefined,
): { app: ArgoApplication; matchedBy: string } | undefined {
  const tracked = metadata?.annotations?.[ArgoTrackingAnnotation]?.split(':')[0];
  const labelled = metadata?.labels?.[ArgoInstanceLabel];
  for (const [name, how] of [
    [tracked, `annotation ${ArgoTrackingAnnotation}`],
    [labelled, `label ${ArgoInstanceLabel}`],
  ] as const) {
    if (!name) continue;
    const app = apps.find((a) => a.metadata?.name === name);
    if (app) return { app, matchedBy: how };
  }
  const listing = apps.find((a) => lists(a, workload));
  return listing ? { app: listing, matchedBy: 'listed in its status.resources' } : undefined;
}

export interface ArgoFactsOptions {
  /** Out-of-sync or unhealthy resources named. Default 10. */
  readonly maxResources?: number;
}

export function argoFacts(app: ArgoApplication, matchedBy: string, options: ArgoFactsOptions = {}): ArgoFacts {
  const maxResources = options.maxResources ?? 10;
  const resources = resourcesOf(app);
  const troubled = resources.filter(
    (r) => (r.status !== undefined && r.status !== 'Synced') || (r.health?.status ?? 'Healthy') !== 'Healthy',
  );
  const status = app.status;
  const op = status?.operationState;
  const operation = op
    ? {
        ...(op.phase ? { phase: op.phase } : {}),
        ...(op.message ? { message: op.message } : {}),
        ...(op.finishedAt ? { finishedAt: op.finishedAt } : {}),
        ...(op.syncResult?.revision ? { revision: op.syncResult.revision } : {}),
      }
    : undefined;
  return {
    name: app.metadata?.name ?? '',
    namespace: app.metadata?.namespace ?? '',
    matchedBy,
    ...(status?.sync?.status ? { syncStatus: status.sync.status } : {}),
    ...(status?.health?.status ? { health: status.health.status } : {}),
    ...(status?.sync?.revision ? { revision: status.sync.revision } : {}),
    ...(operation ? { operation } : {}),
    resourceCount: resources.length,
    troubledResources: troubled
      .slice(0, maxResources)
      .map(
        (r) =>
          `${r.kind ?? '?'} ${r.namespace ? `${r.namespace}/` : ''}${r.name ?? '?'}: ${r.status ?? 'unknown sync'}, ${r.health?.status ?? 'no health'}`,
      ),
    troubledCount: troubled.length,
  };
}

/** The Flux objects the workload's labels name (the namespace label defaults to the workload's). */
export function fluxOwners(
  metadata: Metadata | undefined,
  workloadNamespace: string,
): { kind: FluxFacts['kind']; name: string; namespace: string }[] {
  const owners: { kind: FluxFacts['kind']; name: string; namespace: string }[] = [];
  for (const kind of ['Kustomization', 'HelmRelease'] as const) {
    const name = metadata?.labels?.[FluxLabels[kind].name];
    if (name)
      owners.push({ kind, name, namespace: metadata?.labels?.[FluxLabels[kind].namespace] ?? workloadNamespace });
  }
  return owners;
}

export interface FluxObject {
  spec?: { suspend?: boolean };
  status?: {
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    /** HelmRelease v2: the releases it made, newest first. */
    history?: { chartVersion?: string; chartName?: string; version?: number; status?: string }[];
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

export function fluxFacts(
  owner: { kind: FluxFacts['kind']; name: string; namespace: string },
  object: FluxObject,
): FluxFacts {
  const ready = object.status?.conditions?.find((c) => c.type === 'Ready');
  const latest = object.status?.history?.[0];
  const applied =
    object.status?.lastAppliedRevision ??
    (latest?.chartVersion ? `${latest.chartName ?? 'chart'}@${latest.chartVersion}` : undefined);
  return {
    ...owner,
    ...(applied ? { lastAppliedRevision: applied } : {}),
    ...(object.status?.lastAttemptedRevision ? { lastAttemptedRevision: object.status.lastAttemptedRevision } : {}),
    ...(ready
      ? {
          ready: {
            status: ready.status ?? 'Unknown',
            ...(ready.reason ? { reason: ready.reason } : {}),
            ...(ready.message ? { message: ready.message } : {}),
          },
        }
      : {}),
    ...(object.spec?.suspend ? { suspended: true } : {}),
  };
}
