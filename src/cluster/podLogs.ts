import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { kubectl, type LocalCluster, waitFor } from './localCluster.ts';

/**
 * Gives pods of the local control plane log content. KWOK plays the kubelet's log endpoint: it serves a container's
 * log (and its previous run's, for `previous=true`) from files named by `Logs` (one pod) or `ClusterLogs` (pods
 * picked by namespace and name) objects, so `kubectl logs` and Cairn's log enricher read them through the real API
 * server. The files live under the cluster's directory and go away with the cluster.
 */
export interface ContainerLogContent {
  /** The log of the running container, one line per line. */
  readonly current?: string | readonly string[];
  /** The log of the container's previous run (before its last restart). */
  readonly previous?: string | readonly string[];
}

export interface PodLogsSpec {
  readonly namespace: string;
  /** Serve these logs to this pod only (a `Logs` object). */
  readonly pod?: string;
  /** Otherwise a `ClusterLogs` object of this name serves every pod of the namespace, or those in `pods`. */
  readonly name?: string;
  readonly pods?: readonly string[];
  /** Container name → its logs. */
  readonly containers: Readonly<Record<string, ContainerLogContent>>;
  /** The time of the last line; earlier lines are `stepMs` apart. Default now. */
  readonly end?: Date;
  readonly stepMs?: number;
  /** The previous run ended this long before the current one's last line. Default 5 s. */
  readonly previousGapMs?: number;
  /** Wait until the API server serves the first container's log (only when the pod names are known). */
  readonly wait?: boolean;
}

const lines = (content: string | readonly string[]) =>
  typeof content === 'string' ? content.replace(/\n$/, '').split('\n') : [...content];

/**
 * Container runtime (CRI) log format, which is what KWOK reads: `<RFC 3339 time> <stream> F <line>`. Lines get
 * times `stepMs` apart ending at `end`; lines that look like errors go to stderr, as a runtime would write them.
 */
export const criLog = (content: string | readonly string[], end: Date, stepMs = 20): string => {
  const all = lines(content);
  return all
    .map((line, i) => {
      const at = new Date(end.getTime() - (all.length - 1 - i) * stepMs).toISOString().replace('Z', '000000Z');
      const stream = /error|exception|fatal|panic|traceback|^\s+at |^caused by/i.test(line) ? 'stderr' : 'stdout';
      return `${at} ${stream} F ${line}\n`;
    })
    .join('');
};

const objectName = (spec: Pick<PodLogsSpec, 'pod' | 'name'>) => spec.pod ?? spec.name ?? '';

export const logsDir = (cluster: LocalCluster, spec: Pick<PodLogsSpec, 'namespace' | 'pod' | 'name'>) =>
  // Beside the kubeconfig: the cluster's own directory, whatever name the caller knows it by.
  join(
    dirname(cluster.kubeconfig),
    'logs',
    spec.namespace,
    spec.pod ? `pod-${spec.pod}` : `cluster-${spec.name ?? ''}`,
  );

export async function servePodLogs(cluster: LocalCluster, spec: PodLogsSpec): Promise<void> {
  if (!spec.pod && !spec.name) throw new Error('servePodLogs needs a pod or a name for the ClusterLogs object');
  const dir = logsDir(cluster, spec);
  mkdirSync(dir, { recursive: true });
  const end = spec.end ?? new Date();
  const gap = spec.previousGapMs ?? 5_000;
  const logs = Object.entries(spec.containers).map(([container, content]) => {
    const entry: { containers: string[]; logsFile?: string; previousLogsFile?: string } = { containers: [container] };
    if (content.current !== undefined) {
      entry.logsFile = join(dir, `${container}.log`);
      writeFileSync(entry.logsFile, criLog(content.current, end, spec.stepMs));
    }
    if (content.previous !== undefined) {
      entry.previousLogsFile = join(dir, `${container}.previous.log`);
      writeFileSync(entry.previousLogsFile, criLog(content.previous, new Date(end.getTime() - gap), spec.stepMs));
    }
    return entry;
  });
  const object = spec.pod
    ? {
        apiVersion: 'kwok.x-k8s.io/v1alpha1',
        kind: 'Logs',
        metadata: { name: spec.pod, namespace: spec.namespace },
        spec: { logs },
      }
    : {
        apiVersion: 'kwok.x-k8s.io/v1alpha1',
        kind: 'ClusterLogs',
        metadata: { name: spec.name },
        spec: {
          selector: { matchNamespaces: [spec.namespace], ...(spec.pods ? { matchNames: [...spec.pods] } : {}) },
          logs,
        },
      };
  await kubectl(cluster, ['apply', '-f', '-'], stringify(object));
  const pod = spec.pod ?? spec.pods?.[0];
  const [first] = Object.entries(spec.containers).filter(([, c]) => c.current !== undefined);
  if (spec.wait !== false && pod && first) {
    // KWOK learns of the object through a watch: wait until the API server serves the log.
    await waitFor(
      async () => (await kubectl(cluster, ['-n', spec.namespace, 'logs', pod, '-c', first[0], '--tail=1'])) !== '',
      20_000,
      200,
    );
  }
}

export async function stopServingPodLogs(
  cluster: LocalCluster,
  spec: Pick<PodLogsSpec, 'namespace' | 'pod' | 'name'>,
): Promise<void> {
  await kubectl(
    cluster,
    spec.pod
      ? ['-n', spec.namespace, 'delete', 'logs.kwok.x-k8s.io', spec.pod, '--ignore-not-found']
      : ['delete', 'clusterlogs.kwok.x-k8s.io', objectName(spec), '--ignore-not-found'],
  );
}

/**
 * What a release that crashes on start prints: a Java service failing to read its configuration. The crash loop
 * fault serves it to the workload's containers, so the analysis of a crash loop has a stack trace to show.
 */
export const crashLog = (app: string, image: string): string[] => {
  const pkg = `com.example.${app.replace(/[^a-z0-9]/gi, '').toLowerCase() || 'app'}`;
  const now = new Date();
  const stamp = (offsetMs: number) => new Date(now.getTime() - offsetMs).toISOString();
  return [
    `${stamp(900)}  INFO 1 --- [main] ${pkg}.Main : Starting ${app} (${image}) with PID 1`,
    `${stamp(850)}  INFO 1 --- [main] ${pkg}.config.ConfigLoader : Loading configuration from /etc/${app}/application.yaml`,
    `${stamp(800)}  INFO 1 --- [main] ${pkg}.db.Pool : Connection pool ready (10 connections)`,
    `${stamp(40)} ERROR 1 --- [main] ${pkg}.Main : Application run failed`,
    `java.lang.IllegalStateException: Failed to start ${app}: configuration schema version 3 is not supported by this build (reads up to 2)`,
    `\tat ${pkg}.config.ConfigLoader.load(ConfigLoader.java:87)`,
    `\tat ${pkg}.Main.start(Main.java:41)`,
    `\tat ${pkg}.Main.main(Main.java:23)`,
    'Caused by: java.lang.NumberFormatException: For input string: "v3"',
    '\tat java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)',
    '\tat java.base/java.lang.Integer.parseInt(Integer.java:661)',
    `\tat ${pkg}.config.SchemaVersion.parse(SchemaVersion.java:19)`,
    '\t... 3 more',
    `${stamp(0)}  INFO 1 --- [main] ${pkg}.Main : Shutting down: exit status 1`,
  ];
};
