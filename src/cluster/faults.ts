import { kubectl, type LocalCluster } from './localCluster.ts';
import { crashLog, servePodLogs, stopServingPodLogs } from './podLogs.ts';
import { FaultMarks } from './stages.ts';

/**
 * Applies (or clears) the trigger of a simulated fault. Each trigger is an ordinary change a team could make, so
 * what clears it is an ordinary remediation too: a rollback, a memory increase, a restart, a node repair.
 */
export const Faults = {
  crashloop: { target: 'deployment', summary: 'roll out an image that crashes on start (CrashLoopBackOff)' },
  'image-pull': { target: 'deployment', summary: 'roll out an image that cannot be pulled (ImagePullBackOff)' },
  oom: { target: 'deployment', summary: 'roll out a release that needs twice its memory limit (OOMKilled)' },
  'not-ready': { target: 'deployment', summary: "wedge the deployment's current pods (readiness fails)" },
  'missing-config': {
    target: 'deployment',
    summary: 'roll out a release that reads a ConfigMap that does not exist (CreateContainerConfigError)',
  },
  'job-failed': { target: 'cronjob', summary: "make the cronjob's jobs crash (Job fails: BackoffLimitExceeded)" },
  'node-not-ready': { target: 'node', summary: 'stop a node reporting Ready (NotReady)' },
  'disk-pressure': { target: 'node', summary: 'make a node report DiskPressure (it runs out of disk)' },
  'memory-pressure': { target: 'node', summary: 'make a node report MemoryPressure (it runs out of memory)' },
} as const;
export type FaultName = keyof typeof Faults;

export const isFaultName = (name: string): name is FaultName => Object.hasOwn(Faults, name);

interface Container {
  name: string;
  image: string;
  envFrom?: { configMapRef?: { name?: string }; secretRef?: { name?: string }; prefix?: string }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}

/** `nginx:1.27` + `broken` → `nginx:1.27-broken`; an untagged image gets the mark as its tag. */
export const markImage = (image: string, mark: string): string => {
  const lastSlash = image.lastIndexOf('/');
  return image.slice(lastSlash + 1).includes(':') ? `${image}-${mark}` : `${image}:${mark}`;
};

export const unmarkImage = (image: string, mark: string): string =>
  image.endsWith(`-${mark}`)
    ? image.slice(0, -(mark.length + 1))
    : image.endsWith(`:${mark}`)
      ? image.slice(0, -(mark.length + 1))
      : image;

const MiB = 1024 * 1024;
const units: Record<string, number> = { Ki: 1024, Mi: MiB, Gi: 1024 * MiB, K: 1e3, M: 1e6, G: 1e9 };

/** Parses the memory quantities Cairn's faults use (plain bytes or a binary/decimal suffix). */
export const memoryBytes = (quantity: string): number => {
  const match = /^(\d+(?:\.\d+)?)([KMG]i?)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported memory quantity: ${quantity}`);
  return Number(match[1]) * (match[2] ? (units[match[2]] ?? 1) : 1);
};

export async function applyFault(
  cluster: LocalCluster,
  fault: FaultName,
  target: string,
  options: { clear?: boolean } = {},
): Promise<string> {
  const clear = options.clear ?? false;
  if (fault === 'node-not-ready') {
    await kubectl(cluster, ['label', 'node', target, `${FaultMarks.nodeDown}${clear ? '-' : '=true'}`, '--overwrite']);
    return `${clear ? 'repaired' : 'broke'} node ${target}`;
  }
  if (fault === 'disk-pressure' || fault === 'memory-pressure') {
    const pressure = fault === 'disk-pressure' ? 'disk' : 'memory';
    const mark = clear ? `${FaultMarks.nodePressure}-` : `${FaultMarks.nodePressure}=${pressure}`;
    await kubectl(cluster, ['label', 'node', target, mark, '--overwrite']);
    return clear ? `relieved node ${target}` : `node ${target} is short of ${pressure}`;
  }
  const [namespace, name] = target.split('/');
  if (!namespace || !name) throw new Error(`target must be <namespace>/<name>, got "${target}"`);
  const kind = Faults[fault].target;
  const object = JSON.parse(await kubectl(cluster, ['-n', namespace, 'get', kind, name, '-o', 'json']));
  const podSpecPath = kind === 'cronjob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
  const template = podSpecPath.reduce((o, k) => o[k], object);
  const containers: Container[] = template.spec.containers;
  const jsonPatch = (ops: object[]) =>
    kubectl(cluster, ['-n', namespace, 'patch', kind, name, '--type=json', '-p', JSON.stringify(ops)]);
  const templatePath = `/${podSpecPath.join('/')}`;

  switch (fault) {
    case 'crashloop':
    case 'image-pull':
    case 'job-failed': {
      const mark = fault === 'image-pull' ? FaultMarks.missingImage : FaultMarks.crashImage;
      const images = containers.map((c) =>
        clear ? unmarkImage(c.image, mark) : markImage(unmarkImage(c.image, mark), mark),
      );
      await jsonPatch(
        images.map((image, i) => ({ op: 'replace', path: `${templatePath}/spec/containers/${i}/image`, value: image })),
      );
      if (fault === 'crashloop') {
        // The crashing release prints why it dies, current run and previous, as a real one would.
        const logs = { namespace, name: `cairn-crashloop-${namespace}-${name}` };
        if (clear) await stopServingPodLogs(cluster, logs);
        else {
          const containerLogs = Object.fromEntries(
            containers.map((c, i) => {
              const log = crashLog(name, images[i] ?? c.image);
              return [c.name, { current: log, previous: log }];
            }),
          );
          await servePodLogs(cluster, { ...logs, containers: containerLogs });
        }
      }
      return `${kind} ${target} now runs ${images.join(', ')}`;
    }
    case 'oom': {
      const annotations = template.metadata?.annotations ?? {};
      if (clear) {
        if (!(FaultMarks.workingSet in annotations)) return `${target} has no memory fault`;
        const key = FaultMarks.workingSet.replaceAll('/', '~1');
        await jsonPatch([{ op: 'remove', path: `${templatePath}/metadata/annotations/${key}` }]);
        return `${target} no longer needs more memory than its limit`;
      }
      const ops: object[] = [];
      const limits = containers.map((c) => c.resources?.limits?.memory);
      containers.forEach((c, i) => {
        if (limits[i]) return;
        limits[i] = '128Mi';
        ops.push({
          op: 'add',
          path: `${templatePath}/spec/containers/${i}/resources`,
          value: { ...c.resources, limits: { ...c.resources?.limits, memory: '128Mi' } },
        });
      });
      const need = `${Math.ceil((2 * Math.max(...limits.map((l) => memoryBytes(l ?? '128Mi')))) / MiB)}Mi`;
      if (!template.metadata?.annotations)
        ops.push({ op: 'add', path: `${templatePath}/metadata/annotations`, value: {} });
      ops.push({
        op: 'add',
        path: `${templatePath}/metadata/annotations/${FaultMarks.workingSet.replaceAll('/', '~1')}`,
        value: need,
      });
      await jsonPatch(ops);
      return `${target} now needs ${need} with a memory limit of ${limits.join(', ')}`;
    }
    case 'missing-config': {
      const key = FaultMarks.missingConfig.replaceAll('/', '~1');
      const annotations: Record<string, string> = template.metadata?.annotations ?? {};
      const current = annotations[FaultMarks.missingConfig];
      if (clear) {
        if (!current) return `${target} reads no missing ConfigMap`;
        const ops: object[] = [{ op: 'remove', path: `${templatePath}/metadata/annotations/${key}` }];
        containers.forEach((c, i) => {
          const kept = (c.envFrom ?? []).filter((from) => from.configMapRef?.name !== current);
          if (kept.length === (c.envFrom ?? []).length) return;
          const path = `${templatePath}/spec/containers/${i}/envFrom`;
          ops.push(kept.length > 0 ? { op: 'replace', path, value: kept } : { op: 'remove', path });
        });
        await jsonPatch(ops);
        return `${target} no longer reads ConfigMap ${current}`;
      }
      if (current) return `${target} already reads the missing ConfigMap ${current}`;
      const configMap = `${name}-settings`;
      // The simulation cannot see ConfigMaps: one that exists would be reported missing all the same.
      const existing = await kubectl(cluster, [
        '-n',
        namespace,
        'get',
        'configmap',
        configMap,
        '--ignore-not-found',
        '-o',
        'name',
      ]);
      if (existing.trim() !== '')
        throw new Error(`ConfigMap ${namespace}/${configMap} exists; the missing-config fault needs one that does not`);
      const ops: object[] = [];
      if (!template.metadata?.annotations)
        ops.push({ op: 'add', path: `${templatePath}/metadata/annotations`, value: {} });
      ops.push({ op: 'add', path: `${templatePath}/metadata/annotations/${key}`, value: configMap });
      containers.forEach((c, i) => {
        const ref = { configMapRef: { name: configMap } };
        const path = `${templatePath}/spec/containers/${i}/envFrom`;
        ops.push(c.envFrom ? { op: 'add', path: `${path}/-`, value: ref } : { op: 'add', path, value: [ref] });
      });
      await jsonPatch(ops);
      return `${target} now reads its environment from ConfigMap ${configMap}, which does not exist`;
    }
    case 'not-ready': {
      const selector = Object.entries(object.spec.selector.matchLabels as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      await kubectl(cluster, [
        '-n',
        namespace,
        'label',
        'pod',
        '-l',
        selector,
        `${FaultMarks.wedged}${clear ? '-' : '=true'}`,
        '--overwrite',
      ]);
      return `${clear ? 'unwedged' : 'wedged'} the pods of ${target}`;
    }
  }
}
