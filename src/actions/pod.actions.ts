import { Writable } from 'node:stream';
import type * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { envValueShown, redactSecrets } from '../analysis/redaction.ts';
import {
  type ActionClients,
  type ActionContext,
  ActionFieldManager,
  type ActionParams,
  MaxDetailLength,
  MaxOutputLength,
} from './action.ts';
import {
  ActionErrorCode,
  display,
  illegalState,
  invalidParam,
  kube,
  missing,
  readOptional,
  unsafe,
} from './actionErrors.ts';
import { bounded, defineAction, nameParam, optionalParam } from './actionParams.ts';
import { RestartedAtAnnotation } from './deployment.actions.ts';
import { PatchAs } from './patchOptions.ts';
import { createdSince, isTerminating, podOwnerKinds, sickestPod, sickness, workloadPods } from './workloadPods.ts';

export const podRef = (namespace: string, name: string): ResourceRef => ({ kind: 'Pod', name, namespace });

/** The pod a pod-level action works on: the one named, or the target itself, or the sickest of the workload. */
export async function choosePod(clients: ActionClients, target: ResourceRef, params: ActionParams) {
  const { owner, pods } = await workloadPods(clients, target);
  const named = nameParam(params, 'pod') ?? (target.kind === 'Pod' ? target.name : undefined);
  if (named === undefined) {
    const pod = sickestPod(pods);
    if (!pod) throw missing('pod', `${display(target)} has no running pod`);
    return { owner, pods, pod, chosen: 'sickest' as const };
  }
  const pod = pods.find((p) => p.metadata?.name === named);
  if (!pod) throw invalidParam('pod', `pod ${named} is not a live pod of ${display(owner)}`);
  return { owner, pods, pod, chosen: 'named' as const };
}

export const describePod = (pod: k8s.V1Pod): string => {
  const status = pod.status?.containerStatuses?.[0];
  const reason = status?.state?.waiting?.reason ?? status?.lastState?.terminated?.reason;
  const restarts = (pod.status?.containerStatuses ?? []).reduce((sum, s) => sum + s.restartCount, 0);
  return `${pod.status?.phase ?? 'unknown phase'}${reason ? `, ${reason}` : ''}, ${restarts} restarts`;
};

export const deletePodNow = (clients: ActionClients, pod: k8s.V1Pod) =>
  kube(`deleting pod ${pod.metadata?.namespace}/${pod.metadata?.name}`, () =>
    clients.core.deleteNamespacedPod({
      name: pod.metadata?.name ?? '',
      namespace: pod.metadata?.namespace ?? '',
      // Guards against deleting a same-named successor (StatefulSet pods keep their names).
      body: { preconditions: { uid: pod.metadata?.uid } },
    }),
  );

/** The pod (named or not) was deleted or replaced since the action started. */
export async function podReplacedSince({ clients, target, params, startedAt }: ActionContext): Promise<boolean> {
  const named = optionalParam(params, 'pod') ?? (target.kind === 'Pod' ? target.name : undefined);
  if (named !== undefined) {
    const pod = await readOptional('reading pod', () =>
      clients.core.readNamespacedPod({ name: named, namespace: target.namespace }),
    );
    return pod === undefined || isTerminating(pod) || createdSince(pod, startedAt);
  }
  const { pods } = await workloadPods(clients, target, { includeTerminating: true });
  return pods.some((p) => isTerminating(p) || createdSince(p, startedAt));
}

export const deletePod = defineAction({
  type: 'DeletePod',
  targetKinds: podOwnerKinds,
  destructive: true,
  describe:
    "Deletes one pod of the workload so its controller replaces it: the named one, or the sickest. Never the workload's last pod.",
  params: { pod: { description: 'the pod to delete; by default the sickest pod of the target' } },
  validate: (params) => void nameParam(params, 'pod'),
  async execute({ clients, target, params }) {
    const { owner, pods, pod, chosen } = await choosePod(clients, target, params);
    const name = pod.metadata?.name ?? '';
    if (owner.kind === 'Pod') {
      throw unsafe('pod', `pod ${name} has no controller: deleted, it would not come back`);
    }
    if (pods.length <= 1) {
      throw unsafe('pod', `pod ${name} is the last pod of ${display(owner)}: deleting it would take the workload down`);
    }
    await deletePodNow(clients, pod);
    return {
      detail: `deleted pod ${name} of ${display(owner)} (${chosen}: ${describePod(pod)}, sickness ${sickness(pod)}); its controller replaces it`,
      touched: [podRef(target.namespace, name)],
    };
  },
  isDone: podReplacedSince,
});

export const restartStatefulSetPod = defineAction({
  type: 'RestartStatefulSetPod',
  targetKinds: ['StatefulSet'],
  destructive: true,
  describe:
    'Restarts one StatefulSet pod (deleted and recreated with the same name and volumes), or all of them in order when no pod is named.',
  params: { pod: { description: 'the pod to restart; without it, an ordered rolling restart of every pod' } },
  validate: (params) => void nameParam(params, 'pod'),
  async execute({ clients, target, params }) {
    const named = nameParam(params, 'pod');
    if (named === undefined) {
      const at = new Date().toISOString();
      await kube(`restarting ${display(target)}`, () =>
        clients.apps.patchNamespacedStatefulSet(
          {
            name: target.name,
            namespace: target.namespace,
            body: { spec: { template: { metadata: { annotations: { [RestartedAtAnnotation]: at } } } } },
            fieldManager: ActionFieldManager,
          },
          PatchAs.merge,
        ),
      );
      return { detail: `rolling restart of ${display(target)} (${RestartedAtAnnotation}=${at})`, touched: [target] };
    }
    const { pods, pod } = await choosePod(clients, target, params);
    if (pods.length <= 1) {
      throw unsafe('pod', `pod ${named} is the only pod of ${display(target)}: restarting it takes the workload down`);
    }
    await deletePodNow(clients, pod);
    return {
      detail: `restarted pod ${named} of ${display(target)} (${describePod(pod)}); it comes back with the same name and volumes`,
      touched: [podRef(target.namespace, named)],
    };
  },
  async isDone(ctx) {
    if (optionalParam(ctx.params, 'pod') !== undefined) return podReplacedSince(ctx);
    const set = await kube(`reading ${display(ctx.target)}`, () =>
      ctx.clients.apps.readNamespacedStatefulSet({ name: ctx.target.name, namespace: ctx.target.namespace }),
    );
    const at = set.spec?.template?.metadata?.annotations?.[RestartedAtAnnotation];
    return at !== undefined && (ctx.startedAt === undefined || new Date(at) >= new Date(ctx.startedAt));
  },
});

// --- ExecDiagnostic --------------------------------------------------------------------------------------------

/** Read-only commands, matched exactly: no shell, no arguments of the caller's choosing. */
export const DiagnosticCommands = {
  'cat /proc/meminfo': ['cat', '/proc/meminfo'],
  'cat /proc/cpuinfo': ['cat', '/proc/cpuinfo'],
  'cat /proc/loadavg': ['cat', '/proc/loadavg'],
  'cat /proc/1/status': ['cat', '/proc/1/status'],
  'cat /sys/fs/cgroup/memory.max': ['cat', '/sys/fs/cgroup/memory.max'],
  'cat /sys/fs/cgroup/memory.current': ['cat', '/sys/fs/cgroup/memory.current'],
  'cat /etc/resolv.conf': ['cat', '/etc/resolv.conf'],
  ps: ['ps'],
  'ps aux': ['ps', 'aux'],
  'df -h': ['df', '-h'],
  'free -m': ['free', '-m'],
  uptime: ['uptime'],
  env: ['env'],
  'netstat -tlnp': ['netstat', '-tlnp'],
  'ss -tlnp': ['ss', '-tlnp'],
  'top -bn1': ['top', '-bn1'],
} as const satisfies Record<string, readonly string[]>;
export type DiagnosticCommand = keyof typeof DiagnosticCommands;

const diagnosticCommand = (params: ActionParams): DiagnosticCommand => {
  const text = (optionalParam(params, 'command') ?? '').replace(/\s+/g, ' ');
  if (text === '') throw invalidParam('command', 'is required');
  if (!Object.hasOwn(DiagnosticCommands, text)) {
    throw unsafe(
      'command',
      `"${text}" is not on the read-only allowlist (${Object.keys(DiagnosticCommands).join('; ')})`,
    );
  }
  return text as DiagnosticCommand;
};

/**
 * `env` output with every value replaced except those of the default allowlist (which still go through the
 * credential detectors): a value can be a credential whatever its name, and this output reaches the model.
 */
export const maskEnvironment = (text: string): string =>
  text
    .split('\n')
    .map((line) => {
      const eq = line.indexOf('=');
      if (eq <= 0) return redactSecrets(line);
      const name = line.slice(0, eq);
      return `${name}=${envValueShown(name, line.slice(eq + 1))}`;
    })
    .join('\n');

const ExecTimeoutMs = 15_000;

/** Runs one command through the API server's exec subresource, collecting bounded output. */
async function runExec(
  clients: ActionClients,
  pod: { namespace: string; name: string; container: string },
  command: readonly string[],
): Promise<{ output: string; exitCode: number }> {
  const chunks: string[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (size < MaxOutputLength * 2) chunks.push(chunk.toString('utf8'));
      size += chunk.length;
      done();
    },
  });
  const where = `${pod.namespace}/${pod.name} (container ${pod.container})`;
  return new Promise((resolve, reject) => {
    let status: k8s.V1Status | undefined;
    let socket: { close(): void } | undefined;
    const timer = setTimeout(() => {
      socket?.close();
      reject(illegalState(`exec in pod ${where} did not finish within ${ExecTimeoutMs / 1000} s`));
    }, ExecTimeoutMs);
    clients.exec
      .exec(pod.namespace, pod.name, pod.container, [...command], sink, sink, null, false, (s) => {
        status = s;
      })
      .then((opened) => {
        socket = opened;
        opened.on('close', () => {
          clearTimeout(timer);
          if (status === undefined) {
            // The session ended without the API server's closing status: the output may be cut short.
            resolve({ output: chunks.join(''), exitCode: Number.NaN });
            return;
          }
          if (status.status === 'Success') {
            resolve({ output: chunks.join(''), exitCode: 0 });
            return;
          }
          const exit = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
          if (status.reason === 'NonZeroExitCode' && exit !== undefined) {
            resolve({ output: chunks.join(''), exitCode: Number(exit) });
            return;
          }
          reject(
            new CairnError(
              ActionErrorCode.Unavailable,
              ErrorCategory.IllegalState,
              `could not run the command in pod ${where}: ${status.message ?? status.reason ?? 'exec failed'}`,
              { details: { status: status.code, reason: status.reason } },
            ),
          );
        });
      })
      .catch((error: unknown) => {
        clearTimeout(timer);
        reject(
          new CairnError(
            ActionErrorCode.Unavailable,
            ErrorCategory.IllegalState,
            `could not open an exec session to pod ${where}: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          ),
        );
      });
  });
}

export const execDiagnostic = defineAction({
  type: 'ExecDiagnostic',
  targetKinds: podOwnerKinds,
  destructive: false,
  describe: `Runs one read-only diagnostic command inside a pod (${Object.keys(DiagnosticCommands).join(', ')}); env values are masked but for a few harmless names (LOG_LEVEL, PORT, PATH…).`,
  params: {
    command: { description: 'one command from the allowlist, exactly', required: true },
    pod: { description: 'the pod; by default the sickest pod of the target' },
    container: { description: 'the container; by default the first' },
  },
  validate(params) {
    diagnosticCommand(params);
    nameParam(params, 'pod');
    nameParam(params, 'container');
  },
  async execute({ clients, target, params }) {
    const command = diagnosticCommand(params);
    const { pod } = await choosePod(clients, target, params);
    const name = pod.metadata?.name ?? '';
    const containers = (pod.spec?.containers ?? []).map((c) => c.name);
    const container = nameParam(params, 'container') ?? containers[0] ?? '';
    if (!containers.includes(container)) {
      throw invalidParam('container', `pod ${name} has no container "${container}" (it has ${containers.join(', ')})`);
    }
    const result = await runExec(
      clients,
      { namespace: target.namespace, name, container },
      DiagnosticCommands[command],
    );
    const output = bounded(command === 'env' ? maskEnvironment(result.output) : result.output, MaxOutputLength);
    const exit = Number.isNaN(result.exitCode) ? 'exit status unknown' : `exit code ${result.exitCode}`;
    const head = `ran "${command}" in pod ${target.namespace}/${name} (container ${container}), ${exit}`;
    return {
      detail: bounded(`${head}:\n${output}`, MaxDetailLength),
      touched: [],
      output,
    };
  },
});

export const podActions = [deletePod, restartStatefulSetPod, execDiagnostic] as const;
