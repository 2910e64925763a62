import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../support/kube.ts';
import { startVendorReceiver, type VendorReceiver } from '../support/notificationReceivers.ts';

const routingKey = 'R0UT1NGKEY0123456789abcdefABCDEF';
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const plural = 'notificationpolicies';

let clients: KubeClients;
let cluster: LocalCluster;
let operator: RunningOperator;
let namespace: string;
let slack: VendorReceiver;
let pagerDuty: VendorReceiver;

const policySpec = (grouping: Record<string, string>) => ({
  channels: [
    { name: 'chat', type: 'slack', secretRef: { name: 'slack-webhook', key: 'url' } },
    {
      name: 'pager',
      type: 'pagerduty',
      url: `${pagerDuty.url}/v2/enqueue`,
      secretRef: { name: 'pagerduty', key: 'routingKey' },
    },
  ],
  rules: [
    { name: 'everything', match: { transitions: ['detected', 'escalated', 'resolved'] }, channels: ['chat', 'pager'] },
  ],
  grouping,
});

const readyOf = async () => {
  const policy = (await clients.custom.getNamespacedCustomObject({
    group,
    version,
    namespace,
    plural,
    name: 'on-call',
  })) as {
    status?: {
      activeGeneration?: number;
      conditions?: { type: string; status: string; message: string; observedGeneration?: number }[];
    };
  };
  return { active: policy.status?.activeGeneration, ready: policy.status?.conditions?.find((c) => c.type === 'Ready') };
};

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  [slack, pagerDuty] = await Promise.all([startVendorReceiver('slack'), startVendorReceiver('pagerduty')]);
  namespace = await createNamespace(clients, 'notify');
  await clients.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'slack-webhook' }, stringData: { url: `${slack.url}/services/T0/B0/SECRETPATH` } },
  });
  await clients.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'pagerduty' }, stringData: { routingKey } },
  });
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-notify-')), 'events.db')}`,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 20,
    maxAttempts: 1,
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[notify] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
  await Promise.all([slack?.close(), pagerDuty?.close()]);
});

describe('notifications on a real cluster', () => {
  it('a fault pages PagerDuty and posts to Slack; when Cairn resolves it, PagerDuty resolves and Slack is told', async () => {
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'NotificationPolicy',
        metadata: { name: 'on-call' },
        spec: policySpec({ groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' }),
      },
    });
    await eventually('the policy to be Ready', async () => {
      const { active, ready } = await readyOf();
      return ready?.status === 'True' && active === 1;
    });

    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
    await eventually('web ready', async () => (await podsOf(clients, namespace, 'web')).filter(isReady).length === 2);
    await applyFault(cluster, 'crashloop', `${namespace}/web`);

    const actions = () =>
      pagerDuty.received.map(
        (r) => r.body as { event_action: string; dedup_key: string; payload?: { source: string } },
      );
    await eventually(
      'PagerDuty to be triggered and then resolved',
      async () => actions().some((a) => a.event_action === 'resolve'),
      180_000,
    );
    expect(pagerDuty.received.every((r) => r.problems.length === 0)).toBe(true);
    const [trigger, ...rest] = actions();
    expect(trigger).toMatchObject({ event_action: 'trigger', payload: { source: `${namespace}/deployment/web` } });
    expect(rest.map((a) => a.event_action)).toEqual(['resolve']);
    expect(rest[0]?.dedup_key).toBe(trigger?.dedup_key);

    await eventually('Slack to hear of the resolution', async () =>
      slack.received.some((r) => JSON.stringify(r.body).includes('resolved')),
    );
    expect(slack.received.every((r) => r.problems.length === 0 && r.path === '/services/T0/B0/SECRETPATH')).toBe(true);
    expect(JSON.stringify(slack.received[0]?.body)).toContain(`on Deployment ${namespace}/web: detected`);
  });

  it('a malformed update is refused in Ready, naming the field, while the last valid generation keeps routing', async () => {
    await clients.custom.patchNamespacedCustomObject(
      {
        group,
        version,
        namespace,
        plural,
        name: 'on-call',
        body: [{ op: 'replace', path: '/spec/grouping', value: { groupInterval: '10m', repeatInterval: '5m' } }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await eventually('Ready=False to name the field', async () => {
      const { active, ready } = await readyOf();
      return ready?.status === 'False' && ready.observedGeneration === 2 && active === 1 ? ready : undefined;
    });
    const { ready } = await readyOf();
    expect(ready?.message).toContain('spec.grouping.repeatInterval');
    expect(ready?.message).toContain('still follow generation 1');
  });
});
