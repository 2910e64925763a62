import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { type ApprovalPolicies, startApprovalPolicies } from './approvalPolicies.informer.ts';

const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const plural = 'approvalpolicies';

let clients: KubeClients;
let namespace: string;
let policies: ApprovalPolicies;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'apol');
  policies = startApprovalPolicies({ config: clients.config, operatorNamespace: 'cairn-system' });
});
afterAll(async () => {
  await policies?.stop();
  await deleteNamespace(clients, namespace);
});

interface PolicyObject {
  metadata: { generation?: number };
  status?: {
    activeGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number }[];
  };
}

const read = async (name: string) =>
  (await clients.custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as PolicyObject;

const readyOf = (object: PolicyObject) => object.status?.conditions?.find((c) => c.type === 'Ready');

/** Waits until Cairn has judged generation `generation` of the policy, and returns its Ready condition. */
const judged = (name: string, generation: number) =>
  eventually(
    `ApprovalPolicy ${name} generation ${generation} to be judged`,
    async () => {
      const object = await read(name);
      const ready = readyOf(object);
      return ready?.observedGeneration === generation ? { ready, object } : undefined;
    },
    60_000,
  );

const replaceSpec = async (name: string, spec: unknown) => {
  const current = (await clients.custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as {
    metadata: Record<string, unknown>;
  };
  await clients.custom.replaceNamespacedCustomObject({
    group,
    version,
    namespace,
    plural,
    name,
    body: { apiVersion: `${group}/${version}`, kind: 'ApprovalPolicy', metadata: current.metadata, spec },
  });
};

const rulesOf = async (name: string) =>
  (await policies.current()).find((p) => p.namespace === namespace && p.name === name);

const quorum = { rules: [{ name: 'two', mode: 'quorum', requiredApprovers: 2, expiry: '10m' }] };

describe('ApprovalPolicy objects on the API server', () => {
  it('are Ready when valid, and an edit takes effect without a restart', async () => {
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: { apiVersion: `${group}/${version}`, kind: 'ApprovalPolicy', metadata: { name: 'changes' }, spec: quorum },
    });
    const first = await judged('changes', 1);
    expect(first.ready).toMatchObject({ status: 'True', reason: 'Valid' });
    expect(first.object.status?.activeGeneration).toBe(1);
    expect((await rulesOf('changes'))?.rules[0]).toMatchObject({ mode: 'quorum', requiredApprovers: 2 });

    await replaceSpec('changes', { rules: [{ name: 'never', mode: 'deny', match: { actionTypes: ['DrainNode'] } }] });
    await judged('changes', 2);
    await eventually('the edited rules to be in force', async () => (await rulesOf('changes'))?.generation === 2);
    expect((await rulesOf('changes'))?.rules).toEqual([
      expect.objectContaining({ name: 'never', mode: 'deny', match: { actionTypes: ['DrainNode'] } }),
    ]);
  });

  it.each([
    [
      'an unknown action type',
      { rules: [{ name: 'a', mode: 'single', match: { actionTypes: ['RebootCluster'] } }] },
      'spec.rules[0].match.actionTypes[0]: unknown action type "RebootCluster"',
    ],
    ['an empty quorum', { rules: [{ name: 'a', mode: 'quorum' }] }, 'spec.rules[0].requiredApprovers: a quorum needs'],
    [
      'overlapping windows',
      {
        rules: [{ name: 'a', mode: 'auto' }],
        changeWindows: {
          weekly: [
            { days: ['Monday'], start: '09:00', end: '12:00' },
            { days: ['Monday'], start: '11:00', end: '13:00' },
          ],
        },
      },
      'spec.changeWindows.weekly[1]: overlaps spec.changeWindows.weekly[0]',
    ],
    [
      'an unknown time zone',
      { rules: [{ name: 'a', mode: 'auto' }], changeWindows: { timeZone: 'Europe/Atlantis' } },
      'spec.changeWindows.timeZone: unknown time zone "Europe/Atlantis"',
    ],
  ])('refuse %s with Ready=False naming the field, and change nothing', async (_, bad, message) => {
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: { apiVersion: `${group}/${version}`, kind: 'ApprovalPolicy', metadata: { name }, spec: quorum },
    });
    await judged(name, 1);
    await replaceSpec(name, bad);
    const { ready, object } = await judged(name, 2);
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(ready?.message).toContain(message);
    expect(ready?.message).toContain('still decided by generation 1');
    // The last valid generation keeps deciding.
    expect(object.status?.activeGeneration).toBe(1);
    const active = await rulesOf(name);
    expect(active?.generation).toBe(1);
    expect(active?.rules[0]).toMatchObject({ mode: 'quorum', requiredApprovers: 2 });
  });

  it('decide nothing while disabled', async () => {
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ApprovalPolicy',
        metadata: { name: 'paused' },
        spec: { ...quorum, enabled: false },
      },
    });
    const { ready } = await judged('paused', 1);
    expect(ready).toMatchObject({ status: 'False', reason: 'Disabled' });
    expect(await rulesOf('paused')).toBeUndefined();
  });

  it('decide nothing from a policy that was never valid', async () => {
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ApprovalPolicy',
        metadata: { name: 'never-valid' },
        spec: { rules: [{ name: 'a', mode: 'quorum', requiredApprovers: 0 }] },
      },
    });
    const { ready } = await judged('never-valid', 1);
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(ready?.message).toContain('decides nothing until it is fixed');
    expect(await rulesOf('never-valid')).toBeUndefined();
  });
});
