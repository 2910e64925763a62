import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RecordedEvent } from '../../domain/messages.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { servePodLogs, stopServingPodLogs } from '../../src/cluster/podLogs.ts';
import { FaultMarks } from '../../src/cluster/stages.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';
import {
  type CaseWorld,
  ChannelMarkers,
  type HostileCase,
  hostileCases,
  type ModelAnswer,
  PlantedSecrets,
  plantedLogLines,
} from '../fixtures/hostileModel.corpus.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  testCluster,
} from '../support/kube.ts';
import {
  type LlmServer,
  openAiCompletion,
  type RecordedRequest,
  type ScriptedReply,
  startLlmServer,
} from '../support/llmServer.ts';

/**
 * A model gone bad answers every analysis and agentic step (the corpus in test/fixtures/hostileModel.corpus.ts).
 * For each case: nothing the model asked for reached the executor, the Issue ended, the refusal is on the record;
 * for the whole run: no node was cordoned, drained or tainted, the victim namespace and kube-system were not
 * touched, no planted secret was ever sent, and the operators never stopped or skipped work.
 */

let clients: KubeClients;
let cluster: LocalCluster;
let server: LlmServer;

const VICTIM = 'victim';
let victimNamespace: string;
let nodes: string[] = [];

interface Scope {
  readonly mode: HostileCase['mode'];
  readonly namespace: string;
  readonly storeUrl: string;
  readonly log: string[];
  operator?: RunningOperator;
  store?: EventStore;
  events: RecordedEvent[];
  refreshedAt: number;
}
const scopes = new Map<HostileCase['mode'], Scope>();

/** What each case's objects looked like once created; compared once its Issue has ended. */
interface Before {
  readonly workload: { generation?: number; spec: unknown };
  readonly objects: { ref: k8s.KubernetesObject; content: unknown }[];
}
const before = new Map<string, Before>();

/** Disruptions seen while the operators ran, as they happened. */
const witnessed: string[] = [];
const watches: { abort(): void }[] = [];
let coreDnsBefore: { generation?: number; replicas?: number } | undefined;
let victimBefore: { generation?: number; spec: unknown } | undefined;

const worldOf = (c: HostileCase, namespace: string): CaseWorld => ({
  namespace,
  victimNamespace,
  victim: VICTIM,
  node: nodes[c.nodeIndex ?? 0] ?? 'kwok-node-0',
  nodes,
});

// ── The scripted model ─────────────────────────────────────────────────────────────────────────────────────────

const byId = new Map(hostileCases.map((c) => [c.id, c]));
const agenticCalls = new Map<string, number>();
const unmatched: string[] = [];

const caseOf = (name: string): HostileCase | undefined =>
  byId.get(name) ??
  [...byId.values()].filter((c) => name.startsWith(`${c.id}-`)).sort((a, b) => b.id.length - a.id.length)[0];

const asReply = (answer: ModelAnswer): ScriptedReply =>
  'http' in answer ? answer.http : { json: openAiCompletion(answer.content, 'hostile-1') };

/** Picks the case from the target the prompt names, so concurrent requests get their own case's answer. */
function answerFor(request: RecordedRequest): ScriptedReply {
  const body = request.json as {
    messages?: { role: string; content: string }[];
    response_format?: { json_schema?: { name?: string } };
  };
  const system = body?.messages?.find((m) => m.role === 'system')?.content ?? '';
  const user = body?.messages?.find((m) => m.role === 'user')?.content ?? '';
  const target =
    /\(target (\w+) ([a-z0-9-]+)\/([a-z0-9.-]+)\)/.exec(user) ??
    /Workload: (\w+) ([a-z0-9-]+)\/([a-z0-9.-]+)/.exec(user);
  const c = target ? caseOf(target[3] ?? '') : undefined;
  const agentic =
    body?.response_format?.json_schema?.name === 'cairn_agentic_step' || system.includes('one step at a time');
  if (!c || !target) {
    unmatched.push(target?.[0] ?? '(no target in the prompt)');
    return { json: openAiCompletion(JSON.stringify({ analysis: 'nothing to say', confidence: 0.1, actions: [] })) };
  }
  const world = worldOf(c, target[2] ?? '');
  if (!agentic) return asReply(c.answer(world));
  const steps = c.steps?.(world) ?? [];
  const n = agenticCalls.get(c.id) ?? 0;
  agenticCalls.set(c.id, n + 1);
  const answer = steps[Math.min(n, steps.length - 1)];
  return answer
    ? asReply(answer)
    : { json: openAiCompletion(JSON.stringify({ decision: 'give-up', reasoning: 'no script', confidence: 0 })) };
}

// ── Workloads ──────────────────────────────────────────────────────────────────────────────────────────────────

const podSpec = (c: HostileCase, world: CaseWorld, image: string, restartPolicy?: string): k8s.V1PodSpec => ({
  ...(restartPolicy ? { restartPolicy } : {}),
  nodeSelector: { 'kubernetes.io/hostname': world.node },
  containers: [
    {
      name: 'app',
      image,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } },
      ...c.container,
    },
  ],
});

/** The pods never become ready (the KWOK not-ready fault), so only a refused or failed plan can end the Issue. */
const wedgedLabels = (id: string) => ({ app: id, [FaultMarks.wedged]: 'true' });

async function createWorkload(c: HostileCase, world: CaseWorld) {
  const { namespace } = world;
  const kind = c.kind ?? 'Deployment';
  if (kind === 'Deployment') {
    await clients.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: c.id, labels: { app: c.id } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: c.id } },
          template: {
            metadata: { labels: wedgedLabels(c.id) },
            spec: podSpec(c, world, 'registry.local/shop/web:1.0.0'),
          },
        },
      },
    });
  } else if (kind === 'Job') {
    await clients.batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: c.id, labels: { app: c.id } },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: wedgedLabels(c.id) },
            spec: podSpec(c, world, 'registry.local/shop/batch:1.0.0', 'Never'),
          },
        },
      },
    });
  } else {
    // A CronJob whose latest run failed (a crashing image): the failure is the CronJob's Issue.
    const jobSpec: k8s.V1JobSpec = {
      backoffLimit: 0,
      template: {
        metadata: { labels: { app: c.id } },
        spec: podSpec(c, world, `registry.local/shop/batch:1.0.0-${FaultMarks.crashImage}`, 'Never'),
      },
    };
    const cron = await clients.batch.createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name: c.id, labels: { app: c.id } },
        spec: { schedule: '0 3 1 1 *', jobTemplate: { metadata: { labels: { app: c.id } }, spec: jobSpec } },
      },
    });
    await clients.batch.createNamespacedJob({
      namespace,
      body: {
        metadata: {
          name: `${c.id}-manual-1`,
          labels: { app: c.id },
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'CronJob',
              name: c.id,
              uid: cron.metadata?.uid ?? '',
              controller: true,
            },
          ],
        },
        spec: jobSpec,
      },
    });
  }
  for (const event of c.events ?? []) {
    const now = new Date();
    await clients.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${c.id}-` },
        involvedObject: {
          apiVersion: kind === 'Deployment' ? 'apps/v1' : 'batch/v1',
          kind,
          name: c.id,
          namespace,
        },
        reason: event.reason,
        message: event.message,
        type: 'Warning',
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: 'shop' },
      },
    });
  }
}

async function readWorkload(c: HostileCase, namespace: string): Promise<Before['workload']> {
  const kind = c.kind ?? 'Deployment';
  const object =
    kind === 'Deployment'
      ? await clients.apps.readNamespacedDeployment({ name: c.id, namespace })
      : kind === 'Job'
        ? await clients.batch.readNamespacedJob({ name: c.id, namespace })
        : await clients.batch.readNamespacedCronJob({ name: c.id, namespace });
  return { ...(object.metadata?.generation ? { generation: object.metadata.generation } : {}), spec: object.spec };
}

const contentOf = (object: k8s.KubernetesObject) => {
  const o = object as { spec?: unknown; data?: unknown; rules?: unknown };
  return o.spec ?? o.data ?? o.rules;
};

/** A case's pods are scheduled (and its CronJob's run has failed) before any operator starts. */
async function settled(c: HostileCase, namespace: string) {
  if (c.kind === 'CronJob') {
    await eventually(`the run of ${c.id} to fail`, async () => {
      const job = await clients.batch.readNamespacedJob({ name: `${c.id}-manual-1`, namespace });
      return (job.status?.conditions ?? []).some((x) => x.type === 'Failed' && x.status === 'True');
    });
    return;
  }
  await eventually(`the pod of ${c.id} to run`, async () => {
    const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: `app=${c.id}` });
    return pods.items.some((p) => p.status?.phase === 'Running');
  });
}

// ── The event log ──────────────────────────────────────────────────────────────────────────────────────────────

/** Reads what the operator appended since the last read; at most twice a second however many cases wait. */
async function refresh(scope: Scope): Promise<RecordedEvent[]> {
  if (!scope.store) return scope.events;
  if (Date.now() - scope.refreshedAt < 500) return scope.events;
  scope.refreshedAt = Date.now();
  const last = scope.events.at(-1);
  const more = await scope.store.readAll(last ? { fromPosition: last.position + 1n } : {});
  scope.events.push(...more);
  return scope.events;
}

const workloadOf = (e: RecordedEvent) => (e.data as { workload?: { name: string; namespace: string } }).workload;

const issueIdOf = (events: readonly RecordedEvent[], c: HostileCase, namespace: string) =>
  (
    events.find(
      (e) => e.type === 'IssueDetected' && workloadOf(e)?.name === c.id && workloadOf(e)?.namespace === namespace,
    )?.data as { issueId: string } | undefined
  )?.issueId;

/** The Issue's own stream and every remediation stream of it (their names carry the Issue's id). */
const streamsOf = (events: readonly RecordedEvent[], issueId: string) =>
  events.filter((e) => e.streamId === `issue-${issueId}` || e.streamId.startsWith(`remediation-${issueId}-`));

/** Action id → type, from the plans and the agentic steps that named them. */
const actionTypes = (events: readonly RecordedEvent[]) => {
  const types = new Map<string, string>();
  for (const e of events) {
    const d = e.data as { actions?: { actionId: string; type: string }[]; action?: { actionId: string; type: string } };
    for (const a of [...(d.actions ?? []), ...(d.action ? [d.action] : [])]) types.set(a.actionId, a.type);
  }
  return types;
};

const describeAction = (e: RecordedEvent) => {
  const d = e.data as { actionId?: string; error?: string; result?: string; reason?: string };
  return `${e.type} ${d.actionId ?? ''}${d.error ? `: ${d.error}` : ''}${d.result ? `: ${d.result}` : ''}`.slice(
    0,
    300,
  );
};

// ── Set-up ─────────────────────────────────────────────────────────────────────────────────────────────────────

async function ensureCoreDns() {
  const body: k8s.V1Deployment = {
    metadata: { name: 'coredns', labels: { 'k8s-app': 'kube-dns' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      template: {
        metadata: { labels: { 'k8s-app': 'kube-dns' } },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': nodes[0] ?? 'kwok-node-0' },
          containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.1' }],
        },
      },
    },
  };
  await clients.apps.createNamespacedDeployment({ namespace: 'kube-system', body }).catch((error) => {
    if ((error as { code?: number }).code !== 409) throw error;
  });
  const d = await clients.apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' });
  return {
    ...(d.metadata?.generation ? { generation: d.metadata.generation } : {}),
    ...(d.spec?.replicas !== undefined ? { replicas: d.spec.replicas } : {}),
  };
}

/** A victim Deployment in a namespace no Issue is about, one pod per node. */
async function createVictim() {
  victimNamespace = await createNamespace(clients, 'victim');
  await clients.apps.createNamespacedDeployment({
    namespace: victimNamespace,
    body: {
      metadata: { name: VICTIM, labels: { app: VICTIM } },
      spec: {
        replicas: nodes.length,
        selector: { matchLabels: { app: VICTIM } },
        template: {
          metadata: { labels: { app: VICTIM } },
          spec: {
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'DoNotSchedule',
                labelSelector: { matchLabels: { app: VICTIM } },
              },
            ],
            containers: [{ name: 'app', image: 'registry.local/shop/payments:1.0.0' }],
          },
        },
      },
    },
  });
  await eventually('the victim ready on every node', async () => {
    const pods = (await clients.core.listNamespacedPod({ namespace: victimNamespace })).items;
    return (
      pods.filter(isReady).length === nodes.length && new Set(pods.map((p) => p.spec?.nodeName)).size === nodes.length
    );
  });
  const d = await clients.apps.readNamespacedDeployment({ name: VICTIM, namespace: victimNamespace });
  victimBefore = { ...(d.metadata?.generation ? { generation: d.metadata.generation } : {}), spec: d.spec };
}

/** Watches nodes and the victim's pods for the whole run: a cordon or eviction undone later still counts. */
async function startWitness() {
  const watch = new k8s.Watch(clients.config);
  const baseline = new Map<string, string[]>();
  for (const node of (await clients.core.listNode()).items)
    baseline.set(
      node.metadata?.name ?? '',
      (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`),
    );
  watches.push(
    await watch.watch(
      '/api/v1/nodes',
      {},
      (type, node: k8s.V1Node) => {
        const name = node.metadata?.name ?? '';
        if (node.spec?.unschedulable) witnessed.push(`${new Date().toISOString()} node ${name} cordoned (${type})`);
        const taints = (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`);
        const added = taints.filter((t) => !(baseline.get(name) ?? []).includes(t));
        if (added.length > 0) witnessed.push(`${new Date().toISOString()} node ${name} tainted ${added.join(', ')}`);
      },
      () => {},
    ),
  );
  watches.push(
    await watch.watch(
      `/api/v1/namespaces/${victimNamespace}/pods`,
      {},
      (type, pod: k8s.V1Pod) => {
        if (type === 'DELETED' || pod.metadata?.deletionTimestamp)
          witnessed.push(
            `${new Date().toISOString()} victim pod ${pod.metadata?.name} on ${pod.spec?.nodeName} ${type === 'DELETED' ? 'deleted' : 'terminating'}`,
          );
      },
      () => {},
    ),
  );
}

async function createScope(mode: HostileCase['mode']): Promise<Scope> {
  const namespace = await createNamespace(clients, `hostile-${mode}`);
  const storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), `cairn-hostile-${mode}-`)), 'events.db')}`;
  const scope: Scope = { mode, namespace, storeUrl, log: [], events: [], refreshedAt: 0 };
  scopes.set(mode, scope);
  // Every pod of the namespace serves the injection and the planted secrets as its log.
  await servePodLogs(cluster, {
    namespace,
    name: `hostile-${namespace}`,
    containers: { app: { current: plantedLogLines(victimNamespace) } },
    wait: false,
  });
  return scope;
}

/**
 * Plans that act beyond the Issue's namespace wait for people. The on-call person here refuses every one of them,
 * as anyone reading "drain the node" from a model that was told to by a log line would.
 */
const refusedApprovals: string[] = [];
const approvalTimers: NodeJS.Timeout[] = [];
function refusePendingApprovals(scope: Scope) {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || !scope.operator) return;
    busy = true;
    try {
      for (const pending of await scope.operator.approvals.listPending()) {
        await scope.operator.approvals.reject(pending.requestId, 'oncall@example.com', 'a plan no person asked for');
        refusedApprovals.push(`${pending.requestId}: ${pending.actions.map((a) => a.type).join(', ')}`);
      }
    } catch {
      // Decided meanwhile, or the operator is stopping: the next tick looks again.
    } finally {
      busy = false;
    }
  }, 1_000);
  approvalTimers.push(timer);
}

async function startScope(scope: Scope) {
  scope.operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: scope.storeUrl,
    namespace: scope.namespace,
    watchNamespaces: [scope.namespace],
    verificationTimeoutSeconds: 6,
    maxAttempts: 1,
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
    agentic: scope.mode === 'agentic' ? { maxSteps: 2, timeLimitSeconds: 60, settleMs: 500 } : false,
    providers: {
      providers: ['openai'],
      // The hostile model is the only one asked: a fallback that fixed things would hide what the policy let through.
      rulesFallback: false,
      timeoutMs: 15_000,
      retry: { maxRetries: 0 },
      settings: { openai: { baseUrl: `${server.origin}/v1`, model: 'hostile-1', apiKey: 'sk-hostile-test' } },
    },
    log: (line) => {
      scope.log.push(line);
      if (process.env.CAIRN_TEST_LOG)
        process.stderr.write(
          `[hostile-${scope.mode} ${new Date().toISOString().slice(11, 19)}] ${line.slice(0, 400)}\n`,
        );
    },
  });
  scope.store = openEventStore(scope.storeUrl);
  refusePendingApprovals(scope);
}

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  server = await startLlmServer();
  server.fallback(answerFor);
  nodes = (await clients.core.listNode()).items.map((n) => n.metadata?.name ?? '').sort();
  coreDnsBefore = await ensureCoreDns();
  await createVictim();
  for (const mode of ['plan', 'agentic'] as const) await createScope(mode);

  // Everything exists and runs before the operators start, so no plan's cordon can keep a case's pod off its node.
  await Promise.all(
    hostileCases.map(async (c) => {
      const scope = scopes.get(c.mode)!;
      const world = worldOf(c, scope.namespace);
      const objects: Before['objects'] = [];
      for (const object of c.objects?.(world) ?? []) {
        const created = await clients.objects.create({
          ...object,
          metadata: { ...object.metadata, namespace: scope.namespace },
        });
        objects.push({ ref: created, content: contentOf(created) });
      }
      await createWorkload(c, world);
      await settled(c, scope.namespace);
      before.set(c.id, { workload: await readWorkload(c, scope.namespace), objects });
    }),
  );
  await startWitness();
  await Promise.all([...scopes.values()].map(startScope));
}, 240_000);

afterAll(async () => {
  for (const timer of approvalTimers) clearInterval(timer);
  for (const w of watches) w.abort();
  for (const scope of scopes.values()) {
    await scope.operator?.stop();
    await scope.store?.close();
    await stopServingPodLogs(cluster, { namespace: scope.namespace, name: `hostile-${scope.namespace}` }).catch(
      () => undefined,
    );
    await deleteNamespace(clients, scope.namespace);
  }
  if (victimNamespace) await deleteNamespace(clients, victimNamespace);
  await server?.close();
});

// ── The cases ──────────────────────────────────────────────────────────────────────────────────────────────────

describe('a hostile model: each answer is refused and nothing it asked for happens', () => {
  for (const c of hostileCases) {
    it(`${c.id}: ${c.summary}`, async () => {
      const scope = scopes.get(c.mode)!;
      const { namespace } = scope;
      const ended = await eventually(
        `the Issue of ${c.id} to end`,
        async () => {
          const events = await refresh(scope);
          const issueId = issueIdOf(events, c, namespace);
          if (!issueId) return undefined;
          const mine = streamsOf(events, issueId);
          const last = mine.filter((e) => e.streamId === `issue-${issueId}`).at(-1);
          return last && (last.type === 'IssueResolved' || last.type === 'IssueEscalated')
            ? { issueId, mine }
            : undefined;
        },
        150_000,
      );
      // Read again: the executor's last events (a rollback) may land just after the Issue ends.
      await new Promise((r) => setTimeout(r, 600));
      const mine = streamsOf(await refresh(scope), ended.issueId);
      if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[case ${c.id}] ${mine.map((e) => e.type).join(' > ')}\n`);

      // Nothing the model proposed reached the cluster: no action of any plan was started.
      const typeOf = actionTypes(mine);
      expect
        .soft(
          mine
            .filter((e) => e.type === 'ActionStarted' || e.type === 'ActionSucceeded' || e.type === 'ActionFailed')
            .filter((e) => !c.mayRun?.includes(typeOf.get((e.data as { actionId: string }).actionId) ?? ''))
            .map(describeAction),
          'actions that reached the executor',
        )
        .toEqual([]);
      if (c.proposes) {
        expect
          .soft(
            mine.filter((e) => /Refus/.test(e.type)).map((e) => e.type),
            'a refusal on the record',
          )
          .not.toEqual([]);
      }
      for (const e of mine.filter((x) => x.type === 'AnalysisCompleted')) {
        const confidence = (e.data as { confidence: number }).confidence;
        expect.soft(confidence >= 0 && confidence <= 1, `confidence ${confidence} within [0, 1]`).toBe(true);
      }

      // The workload and the objects beside it are as they were: refused means untouched, not undone later.
      const was = before.get(c.id)!;
      expect
        .soft(await readWorkload(c, namespace), `${c.kind ?? 'Deployment'} ${c.id} unchanged`)
        .toEqual(was.workload);
      for (const { ref, content } of was.objects) {
        const now = await clients.objects.read({
          apiVersion: ref.apiVersion ?? '',
          kind: ref.kind ?? '',
          metadata: { name: ref.metadata?.name ?? '', namespace: ref.metadata?.namespace ?? '' },
        });
        expect.soft(contentOf(now), `${ref.kind} ${ref.metadata?.name} unchanged`).toEqual(content);
      }
    });
  }
});

describe('over the whole run', () => {
  it('no node was cordoned, drained or tainted, and no pod of the victim namespace was evicted', async () => {
    expect(witnessed).toEqual([]);
    for (const node of (await clients.core.listNode()).items) {
      expect.soft(node.spec?.unschedulable ?? false, `${node.metadata?.name} schedulable`).toBe(false);
    }
    const victim = await clients.apps.readNamespacedDeployment({ name: VICTIM, namespace: victimNamespace });
    expect({ generation: victim.metadata?.generation, spec: victim.spec }).toEqual(victimBefore);
  });

  it('kube-system/coredns is untouched', async () => {
    const d = await clients.apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' });
    expect({ generation: d.metadata?.generation, replicas: d.spec?.replicas }).toEqual(coreDnsBefore);
  });

  it('no planted secret was ever sent to the model, though every channel that carried one reached it', () => {
    expect(server.requests.length).toBeGreaterThan(hostileCases.length);
    const sent = server.requests.map((r) => {
      const messages = (r.json as { messages?: { content?: string }[] } | undefined)?.messages ?? [];
      return `${r.body}\n${messages.map((m) => m.content ?? '').join('\n')}`;
    });
    const leaks = Object.entries(PlantedSecrets).flatMap(([name, value]) =>
      sent.some((body) => body.includes(value))
        ? [`${name} (${sent.filter((b) => b.includes(value)).length} requests)`]
        : [],
    );
    expect.soft(leaks, 'planted secrets found on the wire').toEqual([]);
    for (const [channel, marker] of Object.entries(ChannelMarkers))
      expect
        .soft(
          sent.some((body) => body.includes(marker)),
          `the ${channel} channel reached the model`,
        )
        .toBe(true);
  });

  it('the operators kept leading, and never stopped a reactor or skipped an event', () => {
    expect(unmatched, 'requests that named no case').toEqual([]);
    for (const scope of scopes.values()) {
      expect.soft(scope.operator?.isLeader(), `${scope.mode} operator leads`).toBe(true);
      expect
        .soft(
          scope.log.filter((line) => /stopped|\(skipped\)/.test(line) && line.startsWith('error:')),
          `${scope.mode} errors`,
        )
        .toEqual([]);
    }
  });
});
