import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RecordedEvent } from '../../domain/messages.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
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
import { killOperators, spawnOperator } from '../support/operatorProcess.ts';

/**
 * `cairn operator` processes on one sqlite store, killed with SIGKILL (no lease release, no flush) while level 1's
 * deadline is pending. The deadline falls due while no operator runs; the next leader must page level 2 once.
 */
const LEASE_MS = 4_000;
const key = (name: string) => name.toUpperCase().padEnd(32, '0');
const KEYS = { primary: key('primary'), secondary: key('secondary') };
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let storeDir: string;
let storeUrl: string;
let pagerDuty: VendorReceiver;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  pagerDuty = await startVendorReceiver('pagerduty');
  namespace = await createNamespace(clients, 'escalate-crash');
  storeDir = mkdtempSync(join(tmpdir(), 'cairn-escalate-crash-'));
  storeUrl = `sqlite:${join(storeDir, 'events.db')}`;
});
afterAll(async () => {
  await killOperators();
  await deleteNamespace(clients, namespace);
  await pagerDuty?.close();
  rmSync(storeDir, { recursive: true, force: true });
});

function startOperatorProcess(identity: string) {
  return spawnOperator(identity, [
    '--kubeconfig',
    inject('kubeconfig'),
    '--store',
    storeUrl,
    '--namespace',
    namespace,
    '--watch-namespace',
    namespace,
    '--lease-duration',
    String(LEASE_MS),
    '--threshold',
    'workloadUnavailableSeconds=3600',
    '--http-port',
    '0',
    // The Issue stays open: nothing but the escalation acts on it.
    '--no-remediate',
  ]);
}

const pagesTo = (routingKey: string) =>
  pagerDuty.received
    .map((r) => r.body as { routing_key: string; event_action: string; dedup_key: string })
    .filter((p) => p.routing_key === routingKey);

/** The escalation stream as the operators recorded it (read with the store closed again at once). */
async function escalationEvents(issueId: string): Promise<RecordedEvent[]> {
  const store = openEventStore(storeUrl);
  try {
    return await store.readStream(`escalation-${issueId}`);
  } finally {
    await store.close();
  }
}

describe('an escalation deadline across a kill -9 of the operator', () => {
  it('falls due while no operator runs, and the next leader pages level 2 exactly once', async () => {
    for (const [name, routingKey] of Object.entries(KEYS)) {
      await clients.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: `pagerduty-${name}` }, stringData: { routingKey } },
      });
    }
    const pager = (name: string) => ({
      name: `pager-${name}`,
      type: 'pagerduty',
      url: `${pagerDuty.url}/v2/enqueue`,
      secretRef: { name: `pagerduty-${name}`, key: 'routingKey' },
    });
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'notificationpolicies',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'NotificationPolicy',
        metadata: { name: 'on-call' },
        spec: {
          channels: [pager('primary'), pager('secondary')],
          rules: [{ name: 'elsewhere', match: { namespaces: ['nowhere'] }, channels: ['pager-primary'] }],
        },
      },
    });
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'escalationpolicies',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'EscalationPolicy',
        metadata: { name: 'platform' },
        spec: {
          default: true,
          namespaces: [namespace],
          notificationPolicyRef: { name: 'on-call' },
          levels: [
            // Long enough that the kill lands before it, however loaded the machine.
            { name: 'primary', escalateAfter: '15s', channels: ['pager-primary'] },
            { name: 'secondary', channels: ['pager-secondary'] },
          ],
        },
      },
    });

    const first = startOperatorProcess('escalation-first');
    await eventually('the first operator to lead', async () => first.leading(), 60_000);
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
    await eventually('web ready', async () => (await podsOf(clients, namespace, 'web')).filter(isReady).length === 2);
    await applyFault(cluster, 'crashloop', `${namespace}/web`);

    await eventually('level 1 to be paged', async () => pagesTo(KEYS.primary).length > 0, 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const issueId = pagesTo(KEYS.primary)[0]!.dedup_key;

    // Killed with level 1's deadline recorded and pending: level 2 was neither paged nor decided.
    const recorded = await escalationEvents(issueId);
    const paged = recorded.filter((e) => e.type === 'EscalationLevelPaged');
    expect(paged.map((e) => (e.data as { level: number }).level)).toEqual([1]);
    const deadline = (paged[0]?.data as { nextDeadline?: string } | undefined)?.nextDeadline;
    expect(deadline).toBeDefined();
    expect(pagesTo(KEYS.secondary)).toEqual([]);

    // Nothing runs until the deadline has passed.
    await eventually('level 1 deadline to pass', async () => Date.now() > Date.parse(deadline!) + 500, 30_000);
    expect(pagesTo(KEYS.secondary)).toEqual([]);

    const second = startOperatorProcess('escalation-second');
    await eventually('the second operator to lead', async () => second.leading(), 60_000);
    await eventually('level 2 to be paged by the new leader', async () => pagesTo(KEYS.secondary).length > 0, 60_000);
    const delivered = await eventually('the new leader to record the page as delivered', async () => {
      const events = await escalationEvents(issueId);
      const level2 = events.find((e) => e.type === 'EscalationLevelPaged' && (e.data as { level: number }).level === 2);
      const id = (level2?.data as { deliveries?: { deliveryId: string }[] } | undefined)?.deliveries?.[0]?.deliveryId;
      return id !== undefined &&
        events.some((e) => e.type === 'EscalationPageDelivered' && (e.data as { deliveryId: string }).deliveryId === id)
        ? events
        : undefined;
    });

    // Killed again and replaced: the deadline that already fired fires no more.
    second.child.kill('SIGKILL');
    await second.exited;
    const third = startOperatorProcess('escalation-third');
    await eventually('the third operator to lead', async () => third.leading(), 60_000);
    await eventually('the third operator to settle the escalation it inherits', async () => {
      const events = await escalationEvents(issueId);
      // Level 1's trigger may have been sent again by a later leader (at least once, folded by PagerDuty's dedup
      // key); what matters is that every decided page has an outcome recorded by now.
      const decided = events.flatMap((e) =>
        e.type === 'EscalationLevelPaged'
          ? (e.data as { deliveries: { deliveryId: string }[] }).deliveries.map((d) => d.deliveryId)
          : [],
      );
      return decided.every((id) =>
        events.some(
          (e) => e.type === 'EscalationPageDelivered' && (e.data as { deliveryId: string }).deliveryId === id,
        ),
      );
    });

    const finalEvents = await escalationEvents(issueId);
    expect(
      finalEvents.filter((e) => e.type === 'EscalationLevelPaged').map((e) => (e.data as { level: number }).level),
    ).toEqual([1, 2]);
    expect(delivered.length).toBeGreaterThan(0);
    expect(pagesTo(KEYS.secondary).map((p) => p.event_action)).toEqual(['trigger']);
    expect(pagesTo(KEYS.secondary)[0]?.dedup_key).toBe(issueId);
    expect(pagerDuty.received.every((r) => r.problems.length === 0)).toBe(true);
  });
});
