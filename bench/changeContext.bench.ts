/**
 * The pure work behind "what changed and what it touches", on inputs larger than a busy cluster gives one analysis:
 *
 *   node --import tsx bench/changeContext.bench.ts     (CHANGE_BENCH_WORKLOADS=2000, CHANGE_BENCH_COMMITS=1000)
 *
 * - `dependency_graph_ms`: buildDependencyGraph over WORKLOADS workloads in 20 namespaces, each behind its own
 *   Service, with 6 env vars (2 naming another Service by URL, one by host:port, 3 plain values), one ConfigMap taken
 *   whole whose keys name 2 more Services, and one Ingress per namespace;
 * - `cascade_ms`: findCascade for one new Issue among 200 open ones over that graph's edges;
 * - `dependants_ms`: dependantsOf the most called workload (transitive callers, cycles included);
 * - `rank_commits_ms`: rankSuspectedCommits over COMMITS commits of 8 files each, against a scope of 2 manifest
 *   globs, a chart folder and the files of a 60-frame stack trace;
 * - `stack_trace_ms`: stackTraceFiles over 6,000 log lines mixing Node, Python, Go and Java frames.
 *
 * Each figure is the median of ROUNDS runs (after one warm-up); reading the cluster and running git are not
 * included (those are I/O, bounded by the enrichers' deadlines).
 */
import { performance } from 'node:perf_hooks';
import { stackTraceFiles } from '../domain/change/stackTraceFiles.ts';
import { CommitRange, type CommitRecord, FileChange, rankSuspectedCommits } from '../domain/change/suspectedCommits.ts';
import { findCascade } from '../domain/correlation/cascade.policy.ts';
import type { CascadeMember } from '../domain/events/correlation.events.ts';
import {
  buildDependencyGraph,
  type ConfigMapFact,
  type DependencyFacts,
  dependantsOf,
  type IngressFact,
  type ServiceFact,
  type WorkloadFact,
} from '../src/cascade/dependencyGraph.ts';

const WORKLOADS = Number(process.env.CHANGE_BENCH_WORKLOADS ?? 2_000);
const COMMITS = Number(process.env.CHANGE_BENCH_COMMITS ?? 1_000);
const ROUNDS = Number(process.env.CHANGE_BENCH_ROUNDS ?? 7);
const NAMESPACES = 20;

const report = (name: string, value: number, unit: string, digits = 1) => {
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/** The median of ROUNDS timed runs of `work`, after one untimed run. */
const timed = <T>(work: () => T): { ms: number; result: T } => {
  let result = work();
  const runs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    result = work();
    runs.push(performance.now() - start);
  }
  return { ms: median(runs), result };
};

const facts = (): DependencyFacts => {
  const perNamespace = Math.ceil(WORKLOADS / NAMESPACES);
  const namespaceOf = (i: number) => `team-${i % NAMESPACES}`;
  const nameOf = (i: number) => `svc-${i}`;
  const workloads: WorkloadFact[] = [];
  const services: ServiceFact[] = [];
  const configMaps: ConfigMapFact[] = [];
  const ingresses: IngressFact[] = [];
  for (let i = 0; i < WORKLOADS; i++) {
    const namespace = namespaceOf(i);
    // Callees in the same namespace (i + NAMESPACES * k has the same namespace), a few hops down, so chains form.
    const callee = (k: number) => nameOf((i + NAMESPACES * k) % WORKLOADS);
    services.push({ namespace, name: nameOf(i), selector: { app: nameOf(i) } });
    configMaps.push({
      namespace,
      name: `${nameOf(i)}-config`,
      data: { 'cache.url': `redis://${callee(3)}:6379/0`, peers: `${callee(4)}:80,${callee(5)}:80` },
    });
    workloads.push({
      ref: { kind: 'Deployment', name: nameOf(i), namespace },
      podLabels: { app: nameOf(i) },
      annotations: {},
      env: [
        { name: 'API_URL', value: `http://${callee(1)}:8080/v1` },
        { name: 'AUTH_URL', value: `https://${callee(2)}.${namespace}.svc.cluster.local/login` },
        { name: 'DB_HOST', value: `${callee(6)}:5432` },
        { name: 'LOG_LEVEL', value: 'info' },
        { name: 'GREETING', value: 'hello from the service mesh of a busy cluster' },
        { name: 'FEATURES', value: 'a,b,c,d' },
      ],
      configMaps: [{ name: `${nameOf(i)}-config`, via: 'envFrom' }],
    });
  }
  for (let n = 0; n < NAMESPACES; n++) {
    ingresses.push({ namespace: `team-${n}`, name: 'edge', serviceNames: [nameOf(n), nameOf(n + NAMESPACES)] });
  }
  if (perNamespace < 7) throw new Error('CHANGE_BENCH_WORKLOADS must be at least 140');
  return { workloads, services, configMaps, ingresses };
};

const commits = (): CommitRecord[] =>
  Array.from({ length: COMMITS }, (_, i) => ({
    sha: i.toString(16).padStart(40, '0'),
    author: `dev${i % 17}`,
    message: `change ${i}`,
    at: new Date(Date.UTC(2026, 11, 1) + i * 60_000).toISOString(),
    parents: i % 50 === 0 ? 2 : 1,
    files: Array.from({ length: 8 }, (_, f) => ({
      path:
        f === 0 && i % 97 === 0
          ? 'src/handlers/orders.ts'
          : f === 1 && i % 31 === 0
            ? 'deploy/web/deployment.yaml'
            : `src/module${(i + f) % 300}/file${f}.ts`,
      change: FileChange.Modified,
    })),
  }));

const logLines = (): string[] =>
  Array.from({ length: 6_000 }, (_, i) => {
    switch (i % 6) {
      case 0:
        return `    at handle (/app/src/handlers/orders.ts:${i % 200}:12)`;
      case 1:
        return `  File "/app/worker/jobs.py", line ${i % 300}, in run`;
      case 2:
        return `\t/app/cmd/server/main.go:${i % 90} +0x1d`;
      case 3:
        return `\tat com.example.Orders.place(Orders.java:${i % 120})`;
      case 4:
        return `2026-12-07T10:00:${String(i % 60).padStart(2, '0')}Z info request served in 12 ms`;
      default:
        return '    at node:internal/process/task_queues:95:5';
    }
  });

const input = facts();
const graph = timed(() => buildDependencyGraph(input));
report('dependency_graph_ms', graph.ms, 'ms');
report('dependency_graph_edges', graph.result.edges.length, 'edges', 0);

const edges = graph.result.edges.map((edge) => ({ from: edge.from, to: edge.to }));
const detectedAt = (minute: number) => new Date(Date.UTC(2026, 11, 7, 10, minute % 60)).toISOString();
const open: CascadeMember[] = Array.from({ length: 200 }, (_, i) => ({
  issueId: `issue-${i}`,
  workload: input.workloads[(i * 7) % WORKLOADS]!.ref,
  detectedAt: detectedAt(i % 10),
}));
const anchor: CascadeMember = { issueId: 'new', workload: input.workloads[0]!.ref, detectedAt: detectedAt(5) };
const cascade = timed(() => findCascade(anchor, open, edges));
report('cascade_ms', cascade.ms, 'ms', 2);
report('cascade_members', cascade.result?.length ?? 0, 'issues', 0);

const callers = timed(() => dependantsOf(graph.result, input.workloads[0]!.ref));
report('dependants_ms', callers.ms, 'ms', 2);
report('dependants_found', callers.result.length, 'workloads', 0);

const lines = logLines();
const trace = timed(() => stackTraceFiles(lines));
report('stack_trace_ms', trace.ms, 'ms', 2);

const history = commits();
const ranked = timed(() =>
  rankSuspectedCommits({
    repository: 'shop/web',
    commits: history,
    scope: { manifests: ['deploy/web/**', 'k8s/web/*.yaml'], chart: ['charts/web/**'], traceFiles: trace.result },
    range: CommitRange.Exact,
  }),
);
report('rank_commits_ms', ranked.ms, 'ms', 2);
report('rank_commits_top_confidence', ranked.result[0]?.confidence ?? 0, 'fraction', 2);
