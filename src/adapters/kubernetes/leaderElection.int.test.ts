import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { startLeaderElection } from './leaderElection.ts';

const candidateScript = new URL('../../../test/support/bin/leaderCandidate.ts', import.meta.url).pathname;

let clients: KubeClients;
let namespace: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'lease');
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await deleteNamespace(clients, namespace);
});

interface LeaseTimes {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly leaseTransitions?: number;
  readonly acquireTime: string | Date;
  readonly renewTime: string | Date;
}

function candidate(identity: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', candidateScript, inject('kubeconfig'), namespace, identity],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const said: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => said.push(...d.trim().split('\n')));
  return { child, said, leading: () => said.at(-1) === 'leading' };
}

describe('leader election on a Lease', () => {
  it('lets one candidate lead; when the leader is killed, the standby takes over once its lease has run out', async () => {
    const a = candidate('operator-a');
    await eventually('operator-a to lead', async () => a.leading(), 30_000);
    const b = candidate('operator-b');
    // b must see a renewed lease and stay standby for several renew periods.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(b.said).not.toContain('leading');
    const lease = await clients.objects.read({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'cairn-operator', namespace },
    });
    const held = (lease as { spec: LeaseTimes }).spec;
    expect(held.holderIdentity).toBe('operator-a');

    a.child.kill('SIGKILL');
    await eventually('operator-b to take over', async () => b.leading(), 20_000);
    // What the Lease records, not a stopwatch: b holds it as the next transition, and took it only once the 4 s
    // lease had run out past a's last renewal (which is no earlier than the renewal read above).
    const taken = (
      (await clients.objects.read({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'cairn-operator', namespace },
      })) as { spec: LeaseTimes }
    ).spec;
    expect(taken.holderIdentity).toBe('operator-b');
    expect(taken.leaseTransitions).toBe((held.leaseTransitions ?? 0) + 1);
    expect(taken.leaseDurationSeconds).toBe(4);
    expect(new Date(taken.acquireTime).getTime() - new Date(held.renewTime).getTime()).toBeGreaterThan(4_000);
  });

  it('hands the lease over at once when a leader stops cleanly', async () => {
    const config = clients.config;
    const events: string[] = [];
    const options = {
      namespace,
      name: 'handover',
      leaseDurationMs: 30_000,
      renewDeadlineMs: 20_000,
      retryPeriodMs: 300,
    };
    const first = startLeaderElection(config, {
      ...options,
      identity: 'first',
      onStartedLeading: () => events.push('first leads'),
      onStoppedLeading: () => events.push('first stops'),
    });
    await eventually('first to lead', async () => first.isLeader());
    const second = startLeaderElection(config, {
      ...options,
      identity: 'second',
      onStartedLeading: () => events.push('second leads'),
      onStoppedLeading: () => events.push('second stops'),
    });
    await first.stop();
    // With a 30 s lease, only a released lease explains a takeover within a few seconds.
    await eventually('second to lead', async () => second.isLeader(), 5_000);
    await second.stop();
    expect(events).toEqual(['first leads', 'first stops', 'second leads', 'second stops']);
  });
});
