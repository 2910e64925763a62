import { access } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { matchesTraceFile, stackTraceFiles } from '../../../domain/change/stackTraceFiles.ts';
import {
  CommitRange,
  type CommitRange as CommitRangeType,
  type CommitRecord,
  globMatches,
  mergeSuspects,
  rankSuspectedCommits,
} from '../../../domain/change/suspectedCommits.ts';
import type { SuspectedCommit } from '../../../domain/events/analysis.events.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import type { RevisionVerdict } from '../../../domain/events/revision.events.ts';
import { apiGroup, apiVersion } from '../../adapters/kubernetes/api/kindDefinition.ts';
import type { SourceRepositoryResource } from '../../adapters/kubernetes/api/sourceRepository.kind.ts';
import {
  chartVersionCommit,
  diffStat,
  diffText,
  git,
  logCommits,
  mirrorPath,
  resolveCommit,
} from '../../sourceRepos/git.ts';
import { annotatedRepositories, matchWorkload, repositorySpec } from '../../sourceRepos/sourceRepository.spec.ts';
import type { ContextEnricher, ContextSection, EnrichmentTarget } from '../enricher.ts';
import { selectorString } from '../kubernetesContext.ts';
import { apiReason } from '../logs/logs.enricher.ts';
import { renderCommitsSection } from './commits.render.ts';
import type { CommitsFacts, RepositoryFacts, RevisionPoint } from './commitsFacts.ts';
import { revisionCandidates, type WorkloadRevision } from './revisionHistory.ts';
import { chartOf, HelmChartLabel, revisionRefs, type TemplateLike } from './revisionRefs.ts';

/**
 * The `commits` enricher: the commits that may have broken the workload. It finds the SourceRepositories that build
 * the workload (listed, annotated or matched by a path rule), the failing and the last healthy revision of the
 * workload as commits (commit annotation, image tag, chart version; healthy as the revision ledger proved it), the
 * files named in the stack traces of its pods' logs, and ranks the commits in between (domain/change). It reads
 * the mirrors the SourceRepository module keeps and never fetches: a repository not yet fetched is named, and the
 * analysis goes on.
 */
export interface CommitsEnricherOptions {
  /** Where the SourceRepository module keeps its mirrors. */
  readonly cacheDir: string;
  /** Verdicts on the workload's revisions (pod-template hashes), from the revision ledger. */
  readonly verdicts?: (workload: ResourceRef) => Promise<Readonly<Record<string, RevisionVerdict>>>;
  /** Commits examined between two revisions. Default 200. */
  readonly maxCommits?: number;
  /** Commits examined when one end of the range is unknown. Default 10. */
  readonly recentCommits?: number;
  /** Pods whose logs are read for stack traces. Default 3. */
  readonly maxPods?: number;
  /** Bound of the section's text. Default 5,000 characters. */
  readonly maxChars?: number;
}

const apiVersions: Readonly<Record<string, string>> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};

type Workload = k8s.KubernetesObject & {
  spec?: {
    selector?: k8s.V1LabelSelector;
    template?: k8s.V1PodTemplateSpec;
    jobTemplate?: { spec?: { template?: k8s.V1PodTemplateSpec } };
  };
};

const templateOf = (object: Workload | k8s.V1ReplicaSet): TemplateLike => {
  const template =
    (object as Workload).spec?.template ?? (object as Workload).spec?.jobTemplate?.spec?.template ?? undefined;
  const spec = template?.spec;
  return {
    annotations: { ...(object.metadata?.annotations ?? {}), ...(template?.metadata?.annotations ?? {}) },
    labels: { ...(object.metadata?.labels ?? {}), ...(template?.metadata?.labels ?? {}) },
    images: [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.image ?? '').filter(Boolean),
  };
};

/** A ControllerRevision's pod template: its data is the patch that restores the owner's template. */
const controllerRevisionTemplate = (revision: k8s.V1ControllerRevision): TemplateLike => {
  const data = revision.data as { spec?: { template?: k8s.V1PodTemplateSpec } } | undefined;
  const template = data?.spec?.template;
  const spec = template?.spec;
  return {
    annotations: { ...(template?.metadata?.annotations ?? {}) },
    labels: { ...(template?.metadata?.labels ?? {}) },
    images: [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.image ?? '').filter(Boolean),
  };
};

interface RolloutHistory {
  readonly revisions: readonly WorkloadRevision[];
  /** The revision the controller names as its current one, when it does. */
  readonly current?: string;
}

const revisionOf = (rs: k8s.V1ReplicaSet) =>
  Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '0');

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** The commit a template names in a mirror: the first of its refs that resolves. */
async function resolveTemplate(
  dir: string,
  branch: string,
  template: TemplateLike,
  signal?: AbortSignal,
): Promise<RevisionPoint | undefined> {
  for (const { ref, from } of revisionRefs(template)) {
    const commit = await resolveCommit(dir, ref, signal);
    if (commit) return { ref, from, commit };
  }
  const chart = chartOf(template.labels?.[HelmChartLabel]);
  if (chart) {
    const commit = await chartVersionCommit(dir, branch, chart.version, signal);
    if (commit) return { ref: chart.version, from: `the chart version of ${HelmChartLabel}`, commit };
  }
  return undefined;
}

/** The directories of the charts named `chart` in the mirror (a Chart.yaml whose name is it), as globs. */
async function chartGlobs(
  dir: string,
  branch: string,
  chart: string | undefined,
  signal?: AbortSignal,
): Promise<string[]> {
  if (!chart) return [];
  const listing = await git(['ls-tree', '-r', '--name-only', `refs/heads/${branch}`], { cwd: dir, signal }).catch(
    () => '',
  );
  const charts = listing
    .split('\n')
    .filter((p) => p === 'Chart.yaml' || p.endsWith('/Chart.yaml'))
    .slice(0, 50);
  const globs: string[] = [];
  for (const path of charts) {
    const text = await git(['show', `refs/heads/${branch}:${path}`], { cwd: dir, signal }).catch(() => '');
    if (new RegExp(`^name:\\s*["']?${chart.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*$`, 'm').test(text)) {
      const base = path.slice(0, -'Chart.yaml'.length);
      globs.push(base === '' ? '**' : `${base}**`);
    }
  }
  return globs;
}

export function createCommitsEnricher(config: k8s.KubeConfig, options: CommitsEnricherOptions): ContextEnricher {
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const appsApi = config.makeApiClient(k8s.AppsV1Api);
  const custom = config.makeApiClient(k8s.CustomObjectsApi);
  const maxCommits = options.maxCommits ?? 200;
  const recentCommits = options.recentCommits ?? 10;

  /**
   * The workload's rollout history with the ledger's keys: a Deployment's ReplicaSets (by `pod-template-hash`), a
   * StatefulSet's or a DaemonSet's ControllerRevisions (by name; a StatefulSet names its current one). Other kinds
   * have only their current template.
   */
  const revisions = async (workload: Workload, ref: ResourceRef): Promise<RolloutHistory> => {
    const uid = workload.metadata?.uid;
    if (!uid) return { revisions: [] };
    if (ref.kind === 'Deployment') {
      const list = await appsApi.listNamespacedReplicaSet({
        namespace: ref.namespace,
        labelSelector: selectorString(workload.spec?.selector as never),
      });
      return {
        revisions: list.items
          .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.uid === uid))
          .map((rs) => ({
            key: rs.metadata?.labels?.['pod-template-hash'] ?? '',
            number: revisionOf(rs),
            template: templateOf(rs),
          })),
      };
    }
    if (ref.kind !== 'StatefulSet' && ref.kind !== 'DaemonSet') return { revisions: [] };
    const list = await appsApi.listNamespacedControllerRevision({
      namespace: ref.namespace,
      labelSelector: selectorString(workload.spec?.selector as never),
    });
    const current = (workload as { status?: { updateRevision?: string } }).status?.updateRevision;
    return {
      revisions: list.items
        .filter((r) => r.metadata?.ownerReferences?.some((o) => o.controller && o.uid === uid))
        .map((r) => ({
          key: r.metadata?.name ?? '',
          number: Number(r.revision ?? 0),
          template: controllerRevisionTemplate(r),
        })),
      ...(current ? { current } : {}),
    };
  };

  const traceFilesOf = async (workload: Workload, ref: ResourceRef, unreadable: string[]): Promise<string[]> => {
    const selector = selectorString(workload.spec?.selector as never);
    if (!selector) return [];
    try {
      const pods = (await core.listNamespacedPod({ namespace: ref.namespace, labelSelector: selector })).items
        .sort(
          (a, b) =>
            (b.status?.containerStatuses ?? []).reduce((s, c) => s + c.restartCount, 0) -
            (a.status?.containerStatuses ?? []).reduce((s, c) => s + c.restartCount, 0),
        )
        .slice(0, options.maxPods ?? 3);
      // Read at once (a slow API server must not spend the section's deadline), kept in a stable order.
      const reads = pods.flatMap((pod) =>
        (pod.status?.containerStatuses ?? []).flatMap((status) =>
          (status.restartCount > 0 ? [true, false] : [false]).map((previous) =>
            core
              .readNamespacedPodLog({
                name: pod.metadata?.name ?? '',
                namespace: ref.namespace,
                container: status.name,
                previous,
                tailLines: 400,
                limitBytes: 128 * 1024,
              })
              .then(
                (text) => String(text ?? ''),
                () => '',
              ),
          ),
        ),
      );
      const lines = (await Promise.all(reads)).flatMap((text) => text.split('\n'));
      return stackTraceFiles(lines);
    } catch (error) {
      unreadable.push(`logs of ${ref.kind} ${ref.namespace}/${ref.name}: ${apiReason(error)}`);
      return [];
    }
  };

  return {
    name: 'commits',
    async enrich(target: EnrichmentTarget, { signal }): Promise<ContextSection> {
      const ref = target.workload;
      const unreadable: string[] = [];
      let workload: Workload | undefined;
      const version = apiVersions[ref.kind];
      if (version) {
        try {
          workload = (await objects.read({
            apiVersion: version,
            kind: ref.kind,
            metadata: { name: ref.name, namespace: ref.namespace },
          })) as Workload;
        } catch (error) {
          unreadable.push(`${ref.kind} ${ref.namespace}/${ref.name}: ${apiReason(error)}`);
        }
      }
      const failingTemplate: TemplateLike = workload ? templateOf(workload) : { images: [] };
      const identity = {
        kind: ref.kind,
        namespace: ref.namespace,
        name: ref.name,
        annotations: failingTemplate.annotations ?? {},
      };

      let repositories: SourceRepositoryResource[];
      try {
        repositories =
          (
            (await custom.listClusterCustomObject({
              group: apiGroup,
              version: apiVersion,
              plural: 'sourcerepositories',
            })) as {
              items?: SourceRepositoryResource[];
            }
          ).items ?? [];
      } catch (error) {
        return {
          enricher: 'commits',
          title: 'Suspected commits',
          text: `commits: not available (SourceRepositories: ${apiReason(error)})`,
          unavailable: `SourceRepositories: ${apiReason(error)}`,
        };
      }
      const matched = repositories
        .map((r) => {
          const parsed = repositorySpec(r.spec);
          const namespace = r.metadata?.namespace ?? '';
          const name = r.metadata?.name ?? '';
          const match = parsed.ok ? matchWorkload({ namespace, name, spec: parsed.spec.spec }, identity) : undefined;
          return match && parsed.ok ? { repository: r, namespace, name, spec: parsed.spec, match } : undefined;
        })
        .filter((m) => m !== undefined)
        .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
      for (const named of annotatedRepositories(identity)) {
        if (!matched.some((m) => `${m.namespace}/${m.name}` === named)) {
          unreadable.push(`SourceRepository ${named}, which the workload's annotation names: no such (valid) object`);
        }
      }
      if (matched.length === 0) {
        return renderCommitsSection({
          workload: ref,
          facts: { repositories: [], suspectedCommits: [], traceFiles: [], unreadable },
        });
      }

      const [traceFiles, history, verdicts] = await Promise.all([
        workload ? traceFilesOf(workload, ref, unreadable) : Promise.resolve([]),
        workload
          ? revisions(workload, ref).catch((error: unknown) => {
              const of = ref.kind === 'Deployment' ? 'ReplicaSets' : 'ControllerRevisions';
              unreadable.push(`${of} of ${ref.namespace}/${ref.name}: ${apiReason(error)}`);
              return { revisions: [] } as RolloutHistory;
            })
          : Promise.resolve<RolloutHistory>({ revisions: [] }),
        options.verdicts ? options.verdicts(ref).catch(() => ({})) : Promise.resolve({}),
      ]);
      // The current revision is the failing one; the older ones, newest first, are candidates for the healthy one.
      const { proven, previous } = revisionCandidates(history.revisions, verdicts, history.current);
      const chart = chartOf(failingTemplate.labels?.[HelmChartLabel]);

      const lists: SuspectedCommit[][] = [];
      const repoFacts: RepositoryFacts[] = [];
      const candidates = new Map<string, { dir: string; files: readonly string[] }>();
      for (const m of matched) {
        const repository = `${m.namespace}/${m.name}`;
        const dir = mirrorPath(options.cacheDir, m.namespace, m.name, m.spec.url);
        const base = { repository, matchedBy: m.match.by, paths: m.match.paths };
        const branch = m.spec.branch;
        const fetched =
          (await exists(join(dir, 'HEAD'))) &&
          (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { cwd: dir }).then(
            () => true,
            () => false,
          ));
        if (!fetched) {
          const why = m.repository.status?.conditions?.find((c) => c.type === 'Ready');
          repoFacts.push({
            ...base,
            unreadable: `not fetched yet${why && why.status === 'False' ? ` (${why.reason}: ${why.message})` : ''}`,
          });
          continue;
        }
        try {
          const failing = await resolveTemplate(dir, branch, failingTemplate, signal);
          let healthy: (RevisionPoint & { proven: boolean }) | undefined;
          for (const [list, isProven] of [
            [proven, true],
            [previous, false],
          ] as const) {
            for (const revision of list) {
              const point = await resolveTemplate(dir, branch, revision.template, signal);
              if (point && point.commit !== failing?.commit) {
                healthy = { ...point, proven: isProven };
                break;
              }
            }
            if (healthy) break;
          }
          let range: CommitRangeType;
          let commits: CommitRecord[];
          if (failing && healthy) {
            range = healthy.proven ? CommitRange.Exact : CommitRange.PreviousRevision;
            commits = await logCommits(dir, { from: healthy.commit, to: failing.commit, max: maxCommits }, signal);
          } else if (failing) {
            range = CommitRange.FailingOnly;
            commits = await logCommits(dir, { to: failing.commit, max: recentCommits }, signal);
          } else if (healthy) {
            range = CommitRange.HealthyOnly;
            commits = await logCommits(
              dir,
              {
                from: healthy.commit,
                to: `refs/heads/${branch}`,
                before: target.detectedAt,
                max: maxCommits,
              },
              signal,
            );
          } else {
            range = CommitRange.BeforeDetection;
            commits = await logCommits(
              dir,
              {
                to: `refs/heads/${branch}`,
                before: target.detectedAt,
                max: recentCommits,
              },
              signal,
            );
          }
          const chartPaths = await chartGlobs(dir, branch, chart?.name, signal);
          const ranked = rankSuspectedCommits({
            repository,
            commits,
            scope: { manifests: m.match.paths, chart: chartPaths, traceFiles },
            range,
          });
          lists.push(ranked);
          const inScope = [...m.match.paths, ...chartPaths];
          for (const s of ranked) {
            const files = s.filesChanged.filter(
              (f) => inScope.some((g) => globMatches(g, f)) || traceFiles.some((t) => matchesTraceFile(f, t)),
            );
            candidates.set(`${repository}@${s.sha}`, { dir, files });
          }
          repoFacts.push({
            ...base,
            range,
            ...(failing ? { failing } : {}),
            ...(healthy ? { healthy } : {}),
            commitsExamined: commits.length,
          });
        } catch (error) {
          repoFacts.push({
            ...base,
            unreadable: `the mirror could not be read: ${error instanceof Error ? error.message : String(error)}`,
          });
        }
      }
      const suspectedCommits = mergeSuspects(lists);
      const stats: Record<string, string> = {};
      for (const s of suspectedCommits) {
        const where = candidates.get(`${s.repository}@${s.sha}`);
        if (where) stats[s.sha] = await diffStat(where.dir, s.sha, signal).catch(() => '');
      }
      const top = suspectedCommits[0];
      const topWhere = top ? candidates.get(`${top.repository}@${top.sha}`) : undefined;
      const topDiff =
        top && topWhere ? await diffText(topWhere.dir, top.sha, topWhere.files, signal).catch(() => '') : undefined;
      const facts: CommitsFacts = { repositories: repoFacts, suspectedCommits, traceFiles, unreadable };
      return renderCommitsSection({
        workload: ref,
        facts,
        stats,
        ...(topDiff ? { topDiff } : {}),
        ...(options.maxChars ? { maxChars: options.maxChars } : {}),
      });
    },
  };
}
