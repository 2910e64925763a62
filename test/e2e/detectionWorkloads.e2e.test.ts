import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PatchAs } from '../../src/actions/patchOptions.ts';
import { markImage } from '../../src/cluster/faults.ts';
import { FaultMarks } from '../../src/cluster/stages.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../support/kube.ts';
import { daemonSet, statefulSet } from '../support/workloads.ts';

/**
 * StatefulSets and DaemonSets through the whole detection path on the local control plane: the controllers of
 * kube-controller-manager create and roll their pods, KWOK plays the kubelets, the operator runs in-process.
 */

interface CairnObject {
  metadata: { name: string };
  spec: Record<string, unknown> & { signal: string; resource: { kind: string; name: string } };
  status?: {
    state?: string;
    correlated?: boolean;
    issueRef?: { name: string };
    cause?: { code: string; message: string };
  };
}

const IMAGE = 'registry.local/shop/db:1.0.0';
/**
 * The local cluster's KWOK nodes carry no taint, so DaemonSet pods need no toleration to land on them; the ones a
 * NotReady node gets (node.kubernetes.io/not-ready, unreachable) are tolerated by every DaemonSet pod by default.
 * Other test files do break kwok-node-1 and kwok-node-2 on purpose (and add nodes of their own that evict their
 * pods), and a pod on such a node is unavailable for real, so the pods here run on kwok-node-0 alone.
 */
const STEADY_NODE = 'kwok-node-0';

let clients: KubeClients;
let namespace: string;
let operator: RunningOperator;

const onSteadyNode = (set: k8s.V1StatefulSet): k8s.V1StatefulSet => {
  const spec = set.spec as k8s.V1StatefulSetSpec;
  spec.template.spec = {
    ...(spec.template.spec as k8s.V1PodSpec),
    nodeSelector: { 'kubernetes.io/hostname': STEADY_NODE },
  };
  return set;
};

const onDaemonNode = (set: k8s.V1DaemonSet): k8s.V1DaemonSet => {
  const spec = set.spec as k8s.V1DaemonSetSpec;
  return {
    ...set,
    spec: {
      ...spec,
      template: {
        ...spec.template,
        spec: {
          ...(spec.template.spec as k8s.V1PodSpec),
          nodeSelector: { 'kubernetes.io/hostname': STEADY_NODE },
        },
      },
    },
  };
};

const readyPods = async (app: string, count: number) =>
  eventually(
    `${count} ready pods of ${app}`,
    async () => {
      const pods = await podsOf(clients, namespace, app);
      return pods.length === count && pods.every(isReady) ? pods : undefined;
    },
    120_000,
  );

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'detect-wl');
  // Everything starts healthy before the operator watches: a StatefulSet creates its pods one at a time, and on a
  // loaded machine that can take longer than the short unavailability window this test uses.
  await clients.apps.createNamespacedStatefulSet({
    namespace,
    body: onSteadyNode(statefulSet('ledger', { replicas: 2 })),
  });
  await clients.apps.createNamespacedStatefulSet({
    namespace,
    body: onSteadyNode(statefulSet('archive', { replicas: 2 })),
  });
  await clients.apps.createNamespacedDaemonSet({ namespace, body: onDaemonNode(daemonSet('node-agent')) });
  await readyPods('ledger', 2);
  await readyPods('archive', 2);
  await readyPods('node-agent', 1);

  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-detect-wl-')), 'events.db')}`,
    namespace,
    thresholds: { workloadUnavailableSeconds: 3, podNotReadySeconds: 3 },
    remediate: false,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 300_000);
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
});

const list = async (plural: 'anomalies' | 'issues') =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;
/** The workload's own objects and its pods' (`ledger-0`, `node-agent-x7k2p`). */
const about = (items: CairnObject[], name: string) =>
  items.filter((i) => i.spec.resource.name === name || i.spec.resource.name.startsWith(`${name}-`));
const sorted = (signals: readonly string[]) => [...signals].sort();

async function issueOf(workload: string, expectSignals: string[]) {
  return eventually(
    `one Issue on ${workload} with ${expectSignals.join(' + ')}`,
    async () => {
      const [issue, ...more] = about(await list('issues'), workload);
      if (more.length > 0) throw new Error(`more than one Issue for ${workload}`);
      const signals = sorted((issue?.spec.signals as string[] | undefined) ?? []);
      return issue && JSON.stringify(signals) === JSON.stringify(sorted(expectSignals)) && issue.status?.state
        ? issue
        : undefined;
    },
    120_000,
  );
}

describe('StatefulSet and DaemonSet detection on a real cluster', () => {
  it('a StatefulSet rolled out to a crashing image: statefulset_unavailable and pod_restart in one Issue on the StatefulSet', async () => {
    await clients.apps.patchNamespacedStatefulSet(
      {
        name: 'ledger',
        namespace,
        body: [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: markImage(IMAGE, FaultMarks.crashImage),
          },
        ],
      },
      PatchAs.json,
    );
    const issue = await issueOf('ledger', ['pod_restart', 'statefulset_unavailable']);
    expect(issue.spec.resource).toMatchObject({ kind: 'StatefulSet', name: 'ledger' });
    expect(issue.status?.state).toBe('Detected');

    const anomalies = about(await list('anomalies'), 'ledger');
    expect(sorted(anomalies.map((a) => a.spec.signal))).toEqual(['pod_restart', 'statefulset_unavailable']);
    const workloadAnomaly = anomalies.find((a) => a.spec.signal === 'statefulset_unavailable');
    expect(workloadAnomaly?.spec.resource).toMatchObject({ kind: 'StatefulSet', name: 'ledger' });
    expect(workloadAnomaly?.spec.message).toMatch(/^1 of 2 replicas ready/);
    // The crashing pod is the highest ordinal: a StatefulSet rolls from the top down and stops at the first failure.
    expect(anomalies.find((a) => a.spec.signal === 'pod_restart')?.spec.resource).toMatchObject({
      kind: 'Pod',
      name: 'ledger-1',
    });
    await eventually('every anomaly of ledger to join the Issue', async () =>
      about(await list('anomalies'), 'ledger').every(
        (a) => a.status?.correlated === true && a.status.issueRef?.name === issue.metadata.name,
      ),
    );
  });

  it('a DaemonSet whose image does not exist: daemonset_unavailable and image_pull in one Issue on the DaemonSet', async () => {
    await clients.apps.createNamespacedDaemonSet({
      namespace,
      body: onDaemonNode(daemonSet('log-shipper', { image: markImage(IMAGE, FaultMarks.missingImage) })),
    });
    const issue = await issueOf('log-shipper', ['daemonset_unavailable', 'image_pull']);
    expect(issue.spec.resource).toMatchObject({ kind: 'DaemonSet', name: 'log-shipper' });

    const anomalies = about(await list('anomalies'), 'log-shipper');
    const workloadAnomaly = anomalies.find((a) => a.spec.signal === 'daemonset_unavailable');
    expect(workloadAnomaly?.spec.resource).toMatchObject({ kind: 'DaemonSet', name: 'log-shipper' });
    expect(workloadAnomaly?.spec.message).toMatch(/^1 of 1 daemon pods unavailable/);
    const pull = anomalies.find((a) => a.spec.signal === 'image_pull');
    expect(pull?.spec.resource.kind).toBe('Pod');
    expect(pull?.spec.message).toContain(markImage(IMAGE, FaultMarks.missingImage));
  });

  it('name the cause when their pods cannot start: a node nobody has, a ConfigMap that does not exist', async () => {
    const unschedulable = statefulSet('search', { replicas: 1 });
    (unschedulable.spec as k8s.V1StatefulSetSpec).template.spec = {
      ...(unschedulable.spec?.template.spec as k8s.V1PodSpec),
      nodeSelector: { 'cloud.example.com/pool': 'gpu' },
    };
    await clients.apps.createNamespacedStatefulSet({ namespace, body: unschedulable });
    const settings = 'agent-settings';
    const reader = onDaemonNode(daemonSet('config-agent'));
    const template = (reader.spec as k8s.V1DaemonSetSpec).template;
    // The local cluster's missing-config fault: the pod reads its environment from a ConfigMap that is not there.
    template.metadata = { ...template.metadata, annotations: { [FaultMarks.missingConfig]: settings } };
    for (const container of template.spec?.containers ?? []) container.envFrom = [{ configMapRef: { name: settings } }];
    await clients.apps.createNamespacedDaemonSet({ namespace, body: reader });

    const causeOf = (workload: string, signal: string) =>
      eventually(
        `${signal} with its cause on ${workload}`,
        async () => {
          const found = about(await list('anomalies'), workload).find((a) => a.spec.signal === signal);
          return found?.status?.cause ? found : undefined;
        },
        120_000,
      );
    const search = await causeOf('search', 'statefulset_unavailable');
    expect(search.spec.resource).toMatchObject({ kind: 'StatefulSet', name: 'search' });
    expect(search.status?.cause?.code).toBe('unschedulable');
    expect(search.spec.message).toContain('cloud.example.com/pool=gpu');

    const agent = await causeOf('config-agent', 'daemonset_unavailable');
    expect(agent.spec.resource).toMatchObject({ kind: 'DaemonSet', name: 'config-agent' });
    expect(agent.status?.cause?.code).toBe('config_missing');
    expect(agent.spec.message).toContain(settings);
  });

  it('a healthy StatefulSet and a healthy DaemonSet stay silent', async () => {
    // Proof that detection runs on this namespace right now: a fault created after the healthy sets is found
    // (so this test also means something when it runs alone).
    await clients.apps.createNamespacedDaemonSet({
      namespace,
      body: onDaemonNode(daemonSet('probe', { image: markImage(IMAGE, FaultMarks.missingImage) })),
    });
    await issueOf('probe', ['daemonset_unavailable', 'image_pull']);

    // Still healthy as the API shows them, so silence is the detector's verdict, not a cluster hiccup.
    await readyPods('archive', 2);
    await readyPods('node-agent', 1);
    const anomalies = await list('anomalies');
    const issues = await list('issues');
    expect(about(anomalies, 'archive')).toEqual([]);
    expect(about(anomalies, 'node-agent')).toEqual([]);
    expect(about(issues, 'archive')).toEqual([]);
    expect(about(issues, 'node-agent')).toEqual([]);
  });
});
