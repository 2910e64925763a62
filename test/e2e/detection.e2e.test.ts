import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import { createAnomalyRecorder } from '../../src/application/detection/anomalyRecorder.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import { kubectl, type LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  testCluster,
} from '../support/kube.ts';

interface CairnObject {
  metadata: { name: string; generation?: number; labels?: Record<string, string> };
  spec: Record<string, unknown> & { signal: string; resource: { kind: string; name: string } };
  status?: Record<string, unknown> & { state?: string; correlated?: boolean; issueRef?: { name: string } };
}

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
let storeUrl: string;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'detect');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-detect-')), 'events.db')}`;
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    // Short windows keep the test quick; deploy_failing stays out of the way so risk sums are exact, and so does
    // hpa_misconfigured (this control plane serves no metrics API, so the CPU autoscaler below cannot compute).
    thresholds: {
      podNotReadySeconds: 3,
      workloadUnavailableSeconds: 3600,
      nodeNotReadySeconds: 0,
      hpaMisconfiguredSeconds: 3600,
    },
    // Detection and correlation only: remediation has its own scenarios.
    remediate: false,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});
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
const forWorkload = (items: CairnObject[], name: string) =>
  items.filter((i) => i.spec.resource.name === name || i.spec.resource.name.startsWith(`${name}-`));
const signalsOf = (items: CairnObject[]) => items.map((i) => i.spec.signal).sort();

async function issueOf(workload: string, expectSignals: string[]) {
  return eventually(`an Issue on ${workload} with ${expectSignals.join(' + ')}`, async () => {
    const [issue, ...more] = forWorkload(await list('issues'), workload);
    if (more.length > 0) throw new Error(`more than one Issue for ${workload}`);
    const signals = [...((issue?.spec.signals as string[]) ?? [])].sort();
    return issue && JSON.stringify(signals) === JSON.stringify([...expectSignals].sort()) && issue.status?.state
      ? issue
      : undefined;
  });
}

describe('detection and correlation on a real cluster', () => {
  it('OOM kills with restarts become one Medium Issue (oom_kill 30 + pod_restart 20); an error rate makes it High (75)', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('checkout', { replicas: 2 }) });
    await applyFault(cluster, 'oom', `${namespace}/checkout`);
    const issue = await issueOf('checkout', ['oom_kill', 'pod_restart']);
    expect(issue.spec).toMatchObject({
      severity: 'medium',
      riskScore: 50,
      resource: { kind: 'Deployment', name: 'checkout' },
    });
    expect(issue.status?.state).toBe('Detected');
    // The status says which spec it describes, on itself and on each condition (written just after the spec).
    const settled = await eventually('the status to catch up with the spec', async () => {
      const [current] = forWorkload(await list('issues'), 'checkout');
      return current?.status?.observedGeneration === current?.metadata.generation ? current : undefined;
    });
    expect(settled.status?.conditions).toEqual([
      expect.objectContaining({ type: 'Open', status: 'True', observedGeneration: settled.metadata.generation }),
    ]);

    const anomalies = forWorkload(await list('anomalies'), 'checkout');
    expect(signalsOf(anomalies)).toEqual(['oom_kill', 'pod_restart']);
    for (const anomaly of anomalies) {
      expect(anomaly.status).toMatchObject({ correlated: true, issueRef: { name: issue.metadata.name } });
    }
    const events = await clients.core.listNamespacedEvent({ namespace, fieldSelector: 'reason=CairnIssueDetected' });
    expect(events.items.map((e) => [e.involvedObject.kind, e.involvedObject.name])).toEqual([
      ['Deployment', 'checkout'],
    ]);

    // An alert from another source about the same workload joins the open Issue.
    const store = openEventStore(storeUrl);
    const workload = { kind: 'Deployment', name: 'checkout', namespace };
    await createAnomalyRecorder({ store, newId: () => `e${Date.now().toString(36)}`, now: () => new Date() })({
      signal: 'error_rate',
      source: 'prometheus',
      resource: workload,
      workload,
      message: '5xx ratio 12% over 5m',
      observedAt: new Date().toISOString(),
    });
    await store.close();
    const raised = await issueOf('checkout', ['oom_kill', 'pod_restart', 'error_rate']);
    expect(raised.spec).toMatchObject({ severity: 'high', riskScore: 75 });
  });

  it('keeps a continuing fault to one Anomaly per signal, however many pods and restarts', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('loop', { replicas: 3 }) });
    await applyFault(cluster, 'crashloop', `${namespace}/loop`);
    await issueOf('loop', ['pod_restart']);
    // Let every pod crash a few more times.
    await eventually('three pods restarted at least 3 times', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'app=loop' });
      const looping = pods.items.filter((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 3);
      return looping.length >= 2;
    });
    expect(signalsOf(forWorkload(await list('anomalies'), 'loop'))).toEqual(['pod_restart']);
    expect(forWorkload(await list('issues'), 'loop')).toHaveLength(1);
  });

  it('detects image pulls, unready pods and failing CronJobs, each on its workload', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('pull', { replicas: 1 }) });
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('wedge', { replicas: 1 }) });
    await eventually('wedge to run', async () =>
      (await clients.core.listNamespacedPod({ namespace, labelSelector: 'app=wedge' })).items.some(
        (p) => p.status?.phase === 'Running',
      ),
    );
    await applyFault(cluster, 'image-pull', `${namespace}/pull`);
    await applyFault(cluster, 'not-ready', `${namespace}/wedge`);
    await clients.batch.createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name: 'nightly' },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: {
            spec: {
              backoffLimit: 0,
              template: {
                spec: { restartPolicy: 'Never', containers: [{ name: 't', image: 'batch/report:1-broken' }] },
              },
            },
          },
        },
      },
    });
    await kubectl(cluster, ['-n', namespace, 'create', 'job', 'nightly-now', '--from=cronjob/nightly']);

    expect((await issueOf('pull', ['image_pull'])).spec.resource).toMatchObject({ kind: 'Deployment', name: 'pull' });
    expect((await issueOf('wedge', ['pod_not_ready'])).spec.resource).toMatchObject({
      kind: 'Deployment',
      name: 'wedge',
    });
    expect((await issueOf('nightly', ['cronjob_failing'])).spec.resource).toMatchObject({
      kind: 'CronJob',
      name: 'nightly',
    });
  });

  it('reports a NotReady node, and nothing about healthy nodes, a completed Job or an HPA at its limit', async () => {
    await clients.batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'fine' },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 't', image: 'batch/ok:1' }] } } },
      },
    });
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('steady', { replicas: 2 }) });
    await kubectl(cluster, [
      '-n',
      namespace,
      'autoscale',
      'deployment',
      'steady',
      '--min=2',
      '--max=2',
      '--cpu-percent=80',
    ]);
    await eventually('the Job to complete', async () =>
      (await clients.batch.readNamespacedJob({ name: 'fine', namespace })).status?.conditions?.some(
        (c) => c.type === 'Complete',
      ),
    );

    await applyFault(cluster, 'node-not-ready', 'kwok-node-1');
    try {
      const nodeIssue = await eventually('an Issue about kwok-node-1', async () =>
        (await list('issues')).find((i) => i.spec.resource.kind === 'Node' && i.spec.resource.name === 'kwok-node-1'),
      );
      expect(nodeIssue.spec.signal).toBe('node_not_ready');
    } finally {
      await applyFault(cluster, 'node-not-ready', 'kwok-node-1', { clear: true });
    }
    const quiet = [...forWorkload(await list('anomalies'), 'fine'), ...forWorkload(await list('anomalies'), 'steady')];
    expect(quiet).toEqual([]);
    expect(
      (await list('issues')).filter((i) => i.spec.resource.kind === 'Node' && i.spec.resource.name !== 'kwok-node-1'),
    ).toEqual([]);
  });

  it('opens a new Issue when a fault comes back after its Issue ended', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('again', { replicas: 1 }) });
    await applyFault(cluster, 'crashloop', `${namespace}/again`);
    const first = await issueOf('again', ['pod_restart']);

    const store: EventStore = openEventStore(storeUrl);
    const issueId = first.metadata.labels?.['aiops.cairn.dev/issue-id'] ?? '';
    await createCommandHandler(store, issueDecider)(streamName(StreamCategory.Issue, issueId), {
      type: 'ResolveIssue',
      data: { note: 'fixed by hand' },
      metadata: { occurredAt: new Date().toISOString(), actor: 'test' },
    });
    await store.close();
    await eventually('the first Issue to show Resolved', async () =>
      forWorkload(await list('issues'), 'again').find(
        (i) => i.metadata.name === first.metadata.name && i.status?.state === 'Resolved',
      ),
    );

    await applyFault(cluster, 'crashloop', `${namespace}/again`, { clear: true });
    await eventually('healthy pods again', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'app=again' });
      return pods.items.length === 1 && pods.items[0]?.status?.containerStatuses?.[0]?.ready === true;
    });
    await applyFault(cluster, 'crashloop', `${namespace}/again`);
    const second = await eventually('a second Issue on again', async () => {
      const issues = forWorkload(await list('issues'), 'again');
      // The Issue object is created before the projection writes its status: wait for both.
      return issues.length === 2
        ? issues.find((i) => i.metadata.name !== first.metadata.name && i.status?.state !== undefined)
        : undefined;
    });
    expect(second.status?.state).toBe('Detected');
    expect(second.spec.signal).toBe('pod_restart');
  });
});
