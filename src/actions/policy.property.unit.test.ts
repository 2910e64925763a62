import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ActionSpec, RemediationSource, type ResourceRef } from '../../domain/events/common.schema.ts';
import type { RemediationCommand } from '../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { createRemediationExecutor, type RemediationEffects } from '../application/remediation/remediationExecutor.ts';
import type { EnvelopeFacts } from './envelope.ts';
import { defaultRemediationPolicy, evaluatePlan, nodeDisruptedBy, type PlanFacts } from './policy.ts';
import { parseQuantity } from './quantity.ts';
import { requireAction } from './registry.ts';

/**
 * Arbitrary plans (any types, any params, hostile values included) against arbitrary cluster facts, run through the
 * real executor whose admission is the real policy: nothing the policy refuses ever reaches `run`, every refusal is
 * on the record, and what does run stays inside the envelope by an independent reading of the bounds.
 */

const web: ResourceRef = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const at = '2030-01-01T00:00:00.000Z';
const Mi = 2 ** 20;

const quantity = fc.oneof(
  fc.constantFrom('4Ti', '1e12', '0', '-1Gi', 'lots', '512MB', ''),
  fc
    .tuple(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom('Mi', 'Gi', 'Ti', 'm', '', 'k', 'Ki'))
    .map(([n, unit]) => `${n}${unit}`),
);
const whole = fc.oneof(fc.integer({ min: -5, max: 100_000 }).map(String), fc.constantFrom('1e3', 'ten', '', '3.5'));

const resourceParams = fc.record(
  {
    container: fc.constantFrom('app', 'other'),
    memory_limit: quantity,
    memory_request: quantity,
    cpu_limit: quantity,
    cpu_request: quantity,
  },
  { requiredKeys: [] },
);

const actionArb: fc.Arbitrary<Omit<ActionSpec, 'actionId'>> = fc.oneof(
  resourceParams.map((params) => ({ type: 'AdjustResources', params })),
  fc.record({ replicas: whole }).map((params) => ({ type: 'ScaleDeployment', params })),
  fc
    .record({ toRevision: fc.oneof(fc.constantFrom('previous', 'last-healthy'), whole) }, { requiredKeys: [] })
    .map((params) => ({ type: 'RollbackDeployment', params })),
  fc.record({ pvc: fc.constantFrom('data', 'ghost'), size: quantity }).map((params) => ({ type: 'ResizePVC', params })),
  fc
    .record({ node: fc.constantFrom('n1', 'n2') }, { requiredKeys: [] })
    .chain((params) => fc.constantFrom('DrainNode', 'CordonNode').map((type) => ({ type, params }))),
  fc.constantFrom('RestartDeployment', 'DeletePod', 'Custom', 'Teleport').map((type) => ({ type, params: {} })),
  fc
    .dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 20 }), { maxKeys: 3 })
    .chain((params) =>
      fc.constantFrom('AdjustResources', 'ScaleDeployment', 'ArgoSyncApp').map((type) => ({ type, params })),
    ),
);

const factsArb: fc.Arbitrary<PlanFacts> = fc
  .record({
    replicas: fc.integer({ min: 1, max: 30 }),
    memory: fc.integer({ min: 64, max: 4096 }),
    cpuMilli: fc.integer({ min: 50, max: 4000 }),
    nodeMemoryGi: fc.integer({ min: 1, max: 64 }),
    nodeCpu: fc.integer({ min: 1, max: 64 }),
    hpa: fc.option(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 5, max: 40 }))),
    pvcGi: fc.integer({ min: 1, max: 100 }),
    history: fc.array(fc.record({ ready: fc.boolean(), verdict: fc.constantFrom(undefined, 'healthy', 'bad') }), {
      minLength: 1,
      maxLength: 4,
    }),
    evictable: fc.array(fc.constantFrom('shop', 'payments'), { maxLength: 15 }),
  })
  .map((f) => {
    const envelope: EnvelopeFacts = {
      containers: { app: { requests: { memory: `${f.memory}Mi`, cpu: `${f.cpuMilli}m` }, limits: {} } },
      largestNode: { cpu: f.nodeCpu, memory: f.nodeMemoryGi * 1024 * Mi },
      replicas: f.replicas,
      hpas: f.hpa ? { web: { min: f.hpa[0], max: f.hpa[1], targetsTarget: true } } : {},
      pvcSizes: { data: f.pvcGi * 1024 * Mi },
      revisions: {
        current: f.history.length,
        entries: f.history.map(({ ready, verdict }, i) => ({
          revision: f.history.length - i,
          ready,
          ...(verdict ? { verdict } : {}),
        })),
      },
    };
    return { replicas: f.replicas, evictablePodsByNode: { n1: f.evictable, n2: [] }, envelope };
  });

/** The bounds, read again from the facts without the envelope's code: what ran must sit inside them. */
function withinBounds(action: ActionSpec, facts: PlanFacts): string | undefined {
  const envelope = facts.envelope ?? {};
  if (action.type === 'AdjustResources') {
    const node = envelope.largestNode;
    const app = envelope.containers?.app;
    for (const [param, resource, current] of [
      ['memory_limit', 'memory', app?.requests.memory],
      ['memory_request', 'memory', app?.requests.memory],
      ['cpu_limit', 'cpu', app?.requests.cpu],
      ['cpu_request', 'cpu', app?.requests.cpu],
    ] as const) {
      const value = action.params[param] === undefined ? undefined : parseQuantity(action.params[param]);
      if (value === undefined || node === undefined) continue;
      if (value > node[resource]) return `${param} above the node`;
      const now = parseQuantity(current ?? '') ?? 0;
      if (action.params.container === 'other') return 'a container the target does not have';
      if (now > 0 && (value > 4 * now || value * 4 < now)) return `${param} beyond 4x`;
    }
  }
  if (action.type === 'ScaleDeployment') {
    const n = Number(action.params.replicas);
    const hpa = envelope.hpas?.web;
    const [min, max] = hpa ? [hpa.min, hpa.max] : [1, Math.max(20, facts.replicas ?? 0)];
    if (!(n >= min && n <= max)) return `replicas ${n} outside ${min}-${max}`;
  }
  if (action.type === 'ResizePVC') {
    const size = parseQuantity(action.params.size ?? '') ?? 0;
    const current = envelope.pvcSizes?.data ?? 0;
    if (!(size > current && size <= 4 * current)) return 'PVC size out of bounds';
  }
  if (action.type === 'RollbackDeployment') {
    const revisions = envelope.revisions;
    const to = action.params.toRevision?.trim() || 'previous';
    const older = revisions?.entries.filter((e) => e.revision !== revisions.current) ?? [];
    const chosen =
      to === 'previous'
        ? older[0]
        : to === 'last-healthy'
          ? older.find((e) => e.ready)
          : revisions?.entries.find((e) => e.revision === Number(to));
    if (chosen?.revision === revisions?.current) return undefined;
    if (chosen?.verdict === 'bad') return 'rollback to a revision Cairn fled';
    if (chosen?.verdict !== 'healthy' && !chosen?.ready) return 'rollback to an unproven revision';
  }
  if (nodeDisruptedBy(action, web) !== undefined) return 'a node disrupted without approval';
  return undefined;
}

describe('policy and executor agree', () => {
  it('never runs what the policy refuses, records every refusal, and keeps what runs inside the envelope', async () => {
    const policy = defaultRemediationPolicy();
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 5 }), factsArb, async (drafts, facts) => {
        const plan: ActionSpec[] = drafts.map((d, i) => ({ ...d, actionId: `a${i + 1}` }));
        const store = openEventStore('memory:');
        const stream = 'remediation-r1';
        const decide = createCommandHandler(store, remediationDecider);
        await decide(stream, {
          type: 'CreateRemediationPlan',
          data: {
            remediationId: 'r1',
            issueId: 'i1',
            attempt: 1,
            source: RemediationSource.AiRunbook,
            target: web,
            actions: plan,
            doNotRepeat: [],
          },
          metadata: { occurredAt: at },
        } as RemediationCommand);
        const ran: ActionSpec[] = [];
        const effects: RemediationEffects = {
          snapshot: async () => ({ captured: {} }),
          restore: async () => 'restored',
          // What the Kubernetes effects do, with the facts fixed instead of read from a cluster.
          admit: async (action, target, judged, context) => {
            const refusal = evaluatePlan(judged, target, policy, facts, context).refused.find(
              (r) => r.action.actionId === action.actionId,
            );
            return refusal ? { policy: refusal.code, reason: refusal.reason } : null;
          },
          run: async (action, target) => {
            requireAction(action.type).check(action.params, target);
            ran.push(action);
            return 'ran';
          },
          wasApplied: async () => false,
          verify: async () => ({ healthy: true, detail: 'ok' }),
        };
        const execute = createRemediationExecutor({
          store,
          effects,
          now: () => new Date(at),
          newId: () => 'id',
          signalsOf: async () => [],
        });
        await execute(stream);

        const verdict = evaluatePlan(plan, web, policy, facts, { approved: false, earlier: [] });
        const refusedIds = new Set(verdict.refused.map((r) => r.action.actionId));
        const events = await store.readStream(stream);
        const recorded = events
          .filter((e) => e.type === 'ActionRefusedByPolicy')
          .map((e) => (e.data as { actionId: string }).actionId);
        for (const action of ran) {
          expect(refusedIds.has(action.actionId), `${action.type} ran although refused`).toBe(false);
          expect(withinBounds(action, facts), `${action.type} ${JSON.stringify(action.params)}`).toBeUndefined();
        }
        // The executor stops at the first refusal; that one, at least, is on the record.
        const firstRefused = plan.find((a) => refusedIds.has(a.actionId) && !ran.includes(a));
        if (firstRefused && !ran.some((a) => plan.indexOf(a) > plan.indexOf(firstRefused))) {
          expect(recorded).toContain(firstRefused.actionId);
        }
        await store.close();
      }),
      { numRuns: Number(process.env.CAIRN_PROPERTY_RUNS ?? 300) },
    );
  });
});
