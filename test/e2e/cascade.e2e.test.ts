import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
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

interface IssueObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { resource: { name: string }; cascadeRootRef?: { name: string } };
  status?: {
    state?: string;
    postMortemRef?: { name: string };
    recoveredWithRoot?: { root: { name: string }; detail: string };
    cascade?: { role: string; root: { name: string }; chain: { name: string; resource: { name: string } }[] };
    remediationDeferred?: { root: { name: string }; reason: string };
    conditions?: { type: string; status: string; reason: string }[];
  };
}

const WEDGED = 'fault.cairn.dev/wedged';
const FRONTENDS = ['web', 'mobile'];

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
let storeUrl: string;
let discovery: k8s.DiscoveryV1Api;
let probing = true;
let prober: Promise<void> | undefined;

const issues = async () =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'issues',
    })) as { items: IssueObject[] }
  ).items;

const issueOf = async (workload: string) => (await issues()).find((i) => i.spec.resource.name === workload);
const plansOf = async (issue: IssueObject) =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'remediationplans',
    })) as { items: { spec: { issueRef?: { name: string } } }[] }
  ).items.filter((p) => p.spec.issueRef?.name === issue.metadata.name);

const backendHasReadyEndpoint = async () => {
  const slices = await discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: 'kubernetes.io/service-name=backend',
  });
  return slices.items.some((slice) => (slice.endpoints ?? []).some((e) => e.conditions?.ready === true));
};

const labelPod = (pod: k8s.V1Pod, value: string | null) =>
  clients.objects.patch(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: pod.metadata!.name!,
        namespace,
        // null removes the label (a JSON merge patch).
        labels: { [WEDGED]: value } as Record<string, string>,
      },
    },
    undefined,
    undefined,
    'cascade-test',
    undefined,
    k8s.PatchStrategy.MergePatch,
  );

/**
 * Plays the frontends' readiness probe honestly: a real frontend whose readiness checks its backend turns unready
 * while the backend Service has no ready endpoint, and ready again once it has one. KWOK runs no containers, so the
 * test does what such a probe would: it puts the `fault.cairn.dev/wedged` label (readiness fails) on the frontends'
 * pods while the backend has no ready endpoint, and takes it off when it has one.
 */
const probeFrontends = async () => {
  while (probing) {
    try {
      const ready = await backendHasReadyEndpoint();
      for (const app of FRONTENDS) {
        for (const pod of await podsOf(clients, namespace, app)) {
          const wedged = pod.metadata?.labels?.[WEDGED] === 'true';
          if (!ready && !wedged) await labelPod(pod, 'true');
          if (ready && wedged) await labelPod(pod, null);
        }
      }
    } catch {
      // A pod deleted under the loop (a restart): the next round sees the new ones.
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
};

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  discovery = clients.config.makeApiClient(k8s.DiscoveryV1Api);
  namespace = await createNamespace(clients, 'cascade');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-cascade-')), 'events.db')}`;
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 30,
    maxAttempts: 2,
    // Unready frontends count after 10 s, so the crash-looping backend (seen at its first restart) has an Issue by the
    // time theirs are analysed even on a loaded machine: a frontend plan decided before the root exists is not held.
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 10 },
    // The backend's rollback waits for a person, so the test sees the frontends wait for it whatever the load:
    // without this gate a fast rollback could fix the backend before the frontends' Issues are even analysed.
    approvalRules: [
      { name: 'rollbacks-wait', match: { actionTypes: ['RollbackDeployment'] }, mode: 'manual', timeoutSeconds: 900 },
    ],
    // The frontends are checked this long after the backend's fix: ample for the prober below to bring their readiness
    // back on a loaded machine (a still-unready frontend would get a plan and fail the test).
    cascade: { recoveryGraceSeconds: 45 },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[cascade] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});

afterAll(async () => {
  probing = false;
  await prober;
  await operator?.stop();
  if (namespace) await deleteNamespace(clients, namespace);
});

describe('cascade correlation on a real cluster', () => {
  it('names the broken backend the root, links the frontends to it, fixes the root first, and the frontends recover with it', {
    timeout: 420_000,
  }, async () => {
    // A backend behind a Service; two frontends whose env names that Service.
    const backend = deployment('backend', { replicas: 1 });
    await clients.apps.createNamespacedDeployment({ namespace, body: backend });
    await clients.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'backend' },
        spec: { selector: { app: 'backend' }, ports: [{ port: 8080, targetPort: 8080 }] },
      },
    });
    for (const name of FRONTENDS) {
      const body = deployment(name, { replicas: 1 });
      body.spec!.template.spec!.containers[0]!.env = [{ name: 'BACKEND_URL', value: 'http://backend:8080/api' }];
      await clients.apps.createNamespacedDeployment({ namespace, body });
    }
    for (const name of ['backend', ...FRONTENDS]) {
      await eventually(`${name} ready`, async () => (await podsOf(clients, namespace, name)).some(isReady), 120_000);
    }
    await eventually('the backend Service to have a ready endpoint', backendHasReadyEndpoint, 120_000);
    prober = probeFrontends();

    // The backend gets a broken image: its pod crash-loops, the Service loses its endpoint, the frontends go unready.
    await applyFault(cluster, 'crashloop', `${namespace}/backend`);

    const linked = await eventually(
      'the frontends linked to the backend Issue',
      async () => {
        const all = await issues();
        const root = all.find((i) => i.spec.resource.name === 'backend');
        const fronts = FRONTENDS.map((name) => all.find((i) => i.spec.resource.name === name));
        if (root?.status?.cascade?.role !== 'root') return undefined;
        if (fronts.some((f) => f?.status?.cascade?.root.name !== root.metadata.name)) return undefined;
        return { root, fronts: fronts as IssueObject[] };
      },
      240_000,
    );
    // One root Issue, on the backend; the frontends' Issues name it, in spec and status.
    expect(linked.root.status?.cascade?.role).toBe('root');
    for (const front of linked.fronts) {
      expect(front.spec.cascadeRootRef).toEqual({ name: linked.root.metadata.name });
      expect(front.status?.cascade?.role).toBe('dependant');
      expect(front.status?.cascade?.chain[0]?.resource.name).toBe('backend');
    }

    // While the root's plan waits for its approval, no frontend has a plan: each waits for the root, and says so.
    const rootId = linked.root.metadata.labels?.['aiops.cairn.dev/issue-id'];
    const request = await eventually(
      "the backend's rollback waiting for approval",
      async () => (await operator.approvals.listPending()).find((r) => r.issueId === rootId),
      240_000,
    );
    const waiting = await eventually(
      'both frontends to wait for the root',
      async () => {
        const fronts = await Promise.all(FRONTENDS.map(issueOf));
        return fronts.every((f) => f?.status?.remediationDeferred?.root.name === linked.root.metadata.name)
          ? (fronts as IssueObject[])
          : undefined;
      },
      240_000,
    );
    for (const front of waiting) {
      expect(front.status?.conditions).toContainEqual(
        expect.objectContaining({ type: 'RemediationDeferred', status: 'True', reason: 'WaitingForCascadeRoot' }),
      );
      expect(await plansOf(front)).toEqual([]);
    }
    await operator.approvals.approve(request.requestId, 'alice@example.com');

    // The backend is rolled back by Cairn, then every Issue ends Resolved.
    const resolved = await eventually(
      'every Issue to be resolved',
      async () => {
        const all = await issues();
        const mine = ['backend', ...FRONTENDS].map((name) => all.find((i) => i.spec.resource.name === name));
        return mine.every((i) => i?.status?.state === 'Resolved') ? (mine as IssueObject[]) : undefined;
      },
      300_000,
    );
    const [backendPod] = (await podsOf(clients, namespace, 'backend')).filter(isReady);
    expect(backendPod?.spec?.containers[0]?.image).toBe('registry.local/shop/web:1.0.0');

    // The frontends recovered with the root: their Issues say so, and no RemediationPlan was made for them.
    for (const front of resolved.slice(1)) {
      expect(front.status?.recoveredWithRoot?.root).toEqual({ name: linked.root.metadata.name });
      expect(await plansOf(front)).toEqual([]);
    }

    // Each Issue's PostMortem places it in the cascade: the backend first, as the root cause.
    const postMortemOf = (issue: IssueObject) =>
      eventually(
        `the PostMortem of ${issue.spec.resource.name}`,
        async () => {
          const ref = (await issueOf(issue.spec.resource.name))?.status?.postMortemRef?.name;
          if (!ref) return undefined;
          return (await clients.custom
            .getNamespacedCustomObject({
              group: 'aiops.cairn.dev',
              version: 'v1alpha1',
              namespace,
              plural: 'postmortems',
              name: ref,
            })
            .catch(() => undefined)) as
            | { status?: { cascadeChain?: string[]; cascadePosition?: number; conditions?: { reason: string }[] } }
            | undefined;
        },
        120_000,
      );
    const rootPostMortem = await postMortemOf(resolved[0]!);
    expect(rootPostMortem.status?.cascadePosition).toBe(1);
    expect(rootPostMortem.status?.cascadeChain?.[0]).toBe(`Deployment ${namespace}/backend`);
    for (const front of resolved.slice(1)) {
      const pm = await postMortemOf(front);
      expect(pm.status?.cascadeChain?.[0]).toBe(`Deployment ${namespace}/backend`);
      expect(pm.status?.cascadeChain).toContain(`Deployment ${namespace}/${front.spec.resource.name}`);
      expect(pm.status?.cascadePosition).toBe(
        pm.status!.cascadeChain!.indexOf(`Deployment ${namespace}/${front.spec.resource.name}`) + 1,
      );
      expect(pm.status?.cascadePosition).toBeGreaterThan(1);
      expect(pm.status?.conditions).toContainEqual(expect.objectContaining({ reason: 'RecoveredWithRoot' }));
    }

    // From the log: the backend was remediated (rolled back); no frontend plan was ever made, and each frontend's
    // deferral named the root.
    const store = openEventStore(storeUrl);
    try {
      const streamOf = (issue: IssueObject) => `issue-${issue.metadata.labels?.['aiops.cairn.dev/issue-id']}`;
      const rootEvents = await store.readStream(streamOf(resolved[0]!));
      const rootResolved = rootEvents.find((e) => e.type === 'IssueResolved');
      expect(rootResolved?.data).toMatchObject({ resolution: 'remediated' });
      const plans = (await store.readAll()).filter((e) => e.type === 'RemediationPlanCreated');
      expect(
        plans.find((p) => (p.data as { issueId: string }).issueId === rootId)?.data as { actions: { type: string }[] },
      ).toMatchObject({ actions: [{ type: 'RollbackDeployment' }] });
      for (const front of resolved.slice(1)) {
        const events = await store.readStream(streamOf(front));
        const started = events.filter((e) => e.type === 'RemediationStarted');
        for (const start of started) expect(start.position > rootResolved!.position).toBe(true);
        const deferred = events.filter((e) => e.type === 'IssueRemediationDeferred');
        for (const d of deferred) expect(d.data).toMatchObject({ rootIssueId: rootId });
      }
      // Each frontend's wait ended with its recovery, checked after the grace, not with a release of its plan.
      for (const front of resolved.slice(1)) {
        const events = await store.readStream(streamOf(front));
        expect(events.filter((e) => e.type === 'IssueRemediationReleased')).toEqual([]);
        expect(events.filter((e) => e.type === 'RemediationStarted')).toEqual([]);
        expect(events.find((e) => e.type === 'IssueRecoveredWithRoot')?.data).toMatchObject({ rootIssueId: rootId });
        expect(events.find((e) => e.type === 'IssueResolved')?.data).toMatchObject({
          resolution: 'recovered_with_root',
        });
        expect(plans.filter((p) => (p.data as { issueId: string }).issueId === streamOf(front).slice(6))).toEqual([]);
      }
    } finally {
      await store.close();
    }
  });
});
