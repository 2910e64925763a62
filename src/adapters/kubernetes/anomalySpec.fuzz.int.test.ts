import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import { createMemoryEventStore } from '../eventstore/memory.eventStore.ts';
import { type ManualAnomalyController, startManualAnomalyController } from './manualAnomaly.controller.ts';
import { createWorkloadLookup } from './workloadLookup.ts';

/**
 * Arbitrary Anomaly specs written to the real API server by a cluster administrator (whom the admission policy
 * trusts, so the operator's own checks are what is tested), read by the real controller: the API server never
 * answers 5xx, every object it accepts is decided (Accepted True or False), nothing is recorded outside the
 * object's namespace or twice, and the controller keeps working. CAIRN_FUZZ_RUNS sets the number of objects.
 */

const GROUP = { group: 'aiops.cairn.dev', version: 'v1alpha1', plural: 'anomalies' };
const runs = Math.min(Number(process.env.CAIRN_FUZZ_RUNS ?? 30), 500);

let clients: KubeClients;
let shop: string;
let victim: string;
let controller: ManualAnomalyController | undefined;
const store = createMemoryEventStore();
const errors: string[] = [];

beforeAll(async () => {
  clients = kubeClients();
  shop = await createNamespace(clients, 'fuzz-shop');
  victim = await createNamespace(clients, 'fuzz-victim');
  await clients.apps.createNamespacedDeployment({ namespace: shop, body: deployment('web', { replicas: 1 }) });
  await clients.apps.createNamespacedDeployment({ namespace: victim, body: deployment('ledger', { replicas: 1 }) });
  controller = startManualAnomalyController({
    config: clients.config,
    intake: createAnomalyIntake({
      record: createAnomalyRecorder({ store, newId: () => randomBytes(8).toString('hex'), now: () => new Date() }),
      store,
    }),
    workloads: createWorkloadLookup(clients.config),
    onError: (what, error) => errors.push(`${what}: ${String(error)}`),
  });
});
afterAll(async () => {
  await controller?.stop();
  await deleteNamespace(clients, shop);
  await deleteNamespace(clients, victim);
});

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Mostly what the CRD accepts (so the operator's checks are reached), sometimes what it must refuse. */
const mostly = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: hostile, weight: 1 });
const spec = () =>
  fc.record(
    {
      signal: mostly(
        fc.constantFrom('oom_kill', 'pod_restart', 'crashloop', 'latency_spike', 'node_not_ready', 'error_rate'),
        fc.string({ maxLength: 20 }),
      ),
      source: maybe(
        mostly(
          fc.constantFrom('manual', 'watcher', 'grpc', 'kafka', 'prometheus'),
          fc.constantFrom('alertmanager', 'evil'),
        ),
      ),
      message: mostly(fc.string({ minLength: 1, maxLength: 60 }), fc.constantFrom('', 'x'.repeat(5_000))),
      resource: fc.record(
        {
          kind: mostly(
            fc.constantFrom('Deployment', 'Node', 'Pod', 'StatefulSet'),
            fc.constantFrom('ClusterRole', 'x'),
          ),
          name: mostly(fc.constantFrom('web', 'ledger', 'kwok-node-0', 'nope'), fc.constantFrom('Web!', '')),
          namespace: maybe(fc.constantFrom('SHOP', 'VICTIM', 'kube-system', 'default')),
        },
        { requiredKeys: ['kind', 'name'] },
      ),
      observedAt: maybe(
        mostly(
          fc.constantFrom('0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', new Date().toISOString()),
          fc.constant('soon'),
        ),
      ),
      alertName: maybe(fc.string({ minLength: 1, maxLength: 40 })),
    },
    { requiredKeys: ['signal', 'message', 'resource'] },
  );

describe('hostile Anomaly specs on the real API server', () => {
  it('are refused or decided, never recorded outside their namespace or twice, and never break the controller', async () => {
    let seq = 0;
    let decided = 0;
    await fc.assert(
      fc.asyncProperty(spec(), async (s) => {
        const name = `fuzz-${++seq}`;
        // Placeholders for the two test namespaces, whose names are generated per run.
        const ns =
          s.resource.namespace === 'SHOP' ? shop : s.resource.namespace === 'VICTIM' ? victim : s.resource.namespace;
        const body = {
          apiVersion: 'aiops.cairn.dev/v1alpha1',
          kind: 'Anomaly',
          metadata: { name },
          spec: { ...s, resource: { ...s.resource, ...(ns === undefined ? {} : { namespace: ns }) } },
        };
        const created = await clients.custom.createNamespacedCustomObject({ ...GROUP, namespace: shop, body }).then(
          () => true,
          (error: { code?: number }) => {
            expect(error.code, `API server on ${JSON.stringify(body.spec).slice(0, 300)}`).toBeLessThan(500);
            return false;
          },
        );
        if (!created) return;
        const condition = await eventually(
          `Anomaly ${name} to be decided`,
          async () => {
            const object = (await clients.custom.getNamespacedCustomObject({ ...GROUP, namespace: shop, name })) as {
              status?: { conditions?: { type: string; status: string }[] };
            };
            return object.status?.conditions?.find((c) => c.type === 'Accepted');
          },
          30_000,
        );
        expect(['True', 'False']).toContain(condition.status);
        decided++;
      }),
      { numRuns: runs },
    );
    if (process.env.CAIRN_FUZZ_REPORT) process.stderr.write(`fuzz: ${seq} objects, ${decided} decided\n`);
    expect(decided, 'no generated object got past the API server: the property tested nothing').toBeGreaterThan(0);

    const detected = (await store.readAll()).filter((e) => e.type === 'AnomalyDetected');
    for (const e of detected) {
      const d = e.data as { resource: ResourceRef; source: string };
      expect(d.resource.namespace).toBe(shop);
      expect(d.source).toBe('manual');
    }
    const keys = detected.map((e) => (e.data as { dedupKey: string }).dedupKey);
    expect(new Set(keys).size).toBe(keys.length);
    // A watch that restarts (the API server warming up its cache answers 429 at first) is retried and harmless;
    // an error deciding an object is not.
    expect(errors.filter((e) => !e.startsWith('watch '))).toEqual([]);

    // Still at work: an ordinary Anomaly is recorded.
    await clients.custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: shop,
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'Anomaly',
        metadata: { name: 'after-the-storm' },
        spec: { signal: 'error_rate', message: 'ordinary', resource: { kind: 'Deployment', name: 'web' } },
      },
    });
    await eventually('the ordinary Anomaly to be recorded', async () =>
      (await store.readAll()).some(
        (e) => e.type === 'AnomalyDetected' && (e.data as { signal: string }).signal === 'error_rate',
      )
        ? true
        : undefined,
    );
  });
});
