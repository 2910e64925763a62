import { Value } from '@sinclair/typebox/value';
import {
  type SourceRepositorySpec,
  SourceRepositorySpecSchema,
} from '../adapters/kubernetes/api/sourceRepository.kind.ts';
import { durationSeconds } from '../notifications/policy.validation.ts';
import { urlProblem } from './git.ts';

/** The annotation by which a workload names the repositories it is built from: `ns/name`, comma-separated. */
export const SourceRepositoryAnnotation = 'cairn.dev/source-repository';

export interface RepositorySpec {
  readonly url: string;
  readonly branch: string;
  readonly auth: { readonly type: 'none' | 'token' | 'bearer' | 'basic' | 'ssh'; readonly secret?: string };
  readonly syncIntervalMs: number;
  readonly spec: SourceRepositorySpec;
}

/** Checks what the schema cannot and fills in the defaults; the first problem names its field. Pure. */
export function repositorySpec(
  spec: unknown,
): { ok: true; spec: RepositorySpec } | { ok: false; field: string; message: string } {
  if (!Value.Check(SourceRepositorySpecSchema, spec)) {
    const first = Value.Errors(SourceRepositorySpecSchema, spec).First();
    const path = (first?.path ?? '').split('/').filter(Boolean);
    return {
      ok: false,
      field: `spec${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`,
      message: first?.message ?? 'is invalid',
    };
  }
  const s = spec as SourceRepositorySpec;
  const problem = urlProblem(s.url);
  if (problem) return { ok: false, field: 'spec.url', message: problem };
  const interval = durationSeconds(s.syncInterval ?? '10m');
  if (interval === undefined || interval <= 0) {
    return { ok: false, field: 'spec.syncInterval', message: `${s.syncInterval} is not a duration such as 10m` };
  }
  const type = s.auth?.type ?? 'none';
  if (type !== 'none' && !s.auth?.secretRef?.name) {
    return { ok: false, field: 'spec.auth.secretRef', message: `${type} credentials need a Secret` };
  }
  return {
    ok: true,
    spec: {
      url: s.url.startsWith('/') ? `file://${s.url}` : s.url,
      branch: s.branch ?? 'main',
      auth: { type, ...(type !== 'none' && s.auth?.secretRef ? { secret: s.auth.secretRef.name } : {}) },
      syncIntervalMs: interval * 1000,
      spec: s,
    },
  };
}

export interface WorkloadIdentity {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** The workload's annotations and its pod template's. */
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RepositoryMatch {
  /** How the workload was tied to the repository, one phrase each. */
  readonly by: readonly string[];
  /** Path globs of the workload in the repository; empty means the whole repository. */
  readonly paths: readonly string[];
}

const namePattern = (glob: string) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** The repositories a workload's annotation names, as `namespace/name` (its own namespace when none is given). */
export function annotatedRepositories(workload: WorkloadIdentity): string[] {
  const value = workload.annotations[SourceRepositoryAnnotation];
  if (!value) return [];
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => (v.includes('/') ? v : `${workload.namespace}/${v}`));
}

/**
 * Whether the repository `namespace/name` builds the workload, and from which paths: listed in `spec.resources`,
 * named by the workload's annotation, or matched by a `spec.workloadPaths` rule (workloads of the repository's own
 * namespace only). Pure.
 */
export function matchWorkload(
  repository: { readonly namespace: string; readonly name: string; readonly spec: SourceRepositorySpec },
  workload: WorkloadIdentity,
): RepositoryMatch | undefined {
  const by: string[] = [];
  const { spec } = repository;
  const listed = (spec.resources ?? []).some(
    (r) =>
      r.kind === workload.kind &&
      r.name === workload.name &&
      (r.namespace ?? repository.namespace) === workload.namespace,
  );
  if (listed) by.push('listed in spec.resources');
  if (annotatedRepositories(workload).includes(`${repository.namespace}/${repository.name}`)) {
    by.push(`the workload's ${SourceRepositoryAnnotation} annotation`);
  }
  const rules =
    workload.namespace === repository.namespace
      ? (spec.workloadPaths ?? []).filter(
          (rule) =>
            (rule.kind === undefined || rule.kind === workload.kind) && namePattern(rule.name).test(workload.name),
        )
      : [];
  if (rules.length > 0) by.push(`the workloadPaths rule ${rules.map((r) => `"${r.name}"`).join(', ')}`);
  if (by.length === 0) return undefined;
  const fill = (p: string) => p.replaceAll('{name}', workload.name).replaceAll('{namespace}', workload.namespace);
  const paths = rules.length > 0 ? rules.flatMap((r) => r.paths.map(fill)) : (spec.paths ?? []).map(fill);
  return { by, paths: [...new Set(paths)] };
}
