import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { PatchAs } from '../actions/patchOptions.ts';
import { createSqliteEventStore } from '../adapters/eventstore/sqlite.eventStore.ts';
import {
  auditEventAdmissionPolicy,
  auditEventImmutableMessage,
} from '../adapters/kubernetes/api/auditEventAdmission.ts';
import type { CustomObject } from '../adapters/kubernetes/customResources.ts';
import type { ReactorCheckpoints } from '../application/reactor.ts';
import { registerAuditCommand } from '../cli/commands/audit.command.ts';
import type { AuditableEventStore } from '../ports/eventStore.ts';
import {
  auditEventResources,
  checkAuditEventObjects,
  type RunningAuditEvents,
  startAuditEvents,
} from './auditEvents.module.ts';

/*
 * AuditEvent objects on a real API server: written once from the chain, refused any edit by the API server itself,
 * pruned to their retention, and checked against the chain by `cairn audit verify --audit-events`.
 */

const group = { group: 'aiops.cairn.dev', version: 'v1alpha1', plural: 'auditevents' };
let clients: KubeClients;
let namespace: string;
let storePath: string;
let store: AuditableEventStore;
let audit: RunningAuditEvents | undefined;
/** The clock of retention: the events below happened on 2026-12-01, "now" is a day later unless a test moves it. */
let now = new Date('2026-12-02T00:00:00Z');

const memoryCheckpoints = (): ReactorCheckpoints => {
  const positions = new Map<string, bigint>();
  return { read: (name) => positions.get(name), write: (name, position) => void positions.set(name, position) };
};

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute)).toISOString();

async function appendRemediation(id: string, minute: number) {
  await store.appendToStream(`remediation-iss${id}-insight-1-plan`, [
    {
      type: 'ActionStarted',
      data: { actionId: '1-rollback', type: 'RollbackDeployment', params: { toRevision: '1' }, index: 0 },
      metadata: { occurredAt: at(minute), actor: 'system:executor' },
    },
    // Not high-value: in the chain, but no AuditEvent object.
    { type: 'VerificationStarted', data: {}, metadata: { occurredAt: at(minute), actor: 'system:executor' } },
    {
      type: 'ActionSucceeded',
      data: { actionId: '1-rollback', type: 'RollbackDeployment', result: 'rolled back to revision 1' },
      metadata: { occurredAt: at(minute + 1), actor: 'system:executor' },
    },
    {
      type: 'ApprovalGranted',
      data: { requestId: `r${id}-approval`, approver: 'alice@example.com', approvals: 1, quorumReached: true },
      metadata: { occurredAt: at(minute + 2), actor: 'key:alice' },
    },
  ]);
}

/** Read through retries: the shared API server may answer 429 while another suite re-registers a CRD. */
const objects = (): Promise<CustomObject[]> =>
  eventually('the AuditEvent list', async () =>
    (
      (await clients.custom.listNamespacedCustomObject({ ...group, namespace })) as { items: CustomObject[] }
    ).items.sort((a, b) => Number(a.spec?.sequence) - Number(b.spec?.sequence)),
  );

async function verify(...extra: string[]) {
  let out = '';
  const program = new Command('cairn').exitOverride();
  registerAuditCommand(program, (text) => {
    out += text;
  });
  await program.parseAsync([
    'node',
    'cairn',
    'audit',
    'verify',
    '--store',
    `sqlite:${storePath}`,
    '--audit-events',
    namespace,
    '--kubeconfig',
    inject('kubeconfig'),
    ...extra,
  ]);
  return out;
}

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'auditev');
  storePath = join(mkdtempSync(join(tmpdir(), 'cairn-auditev-')), 'events.db');
  store = createSqliteEventStore({ path: storePath });
  await appendRemediation('1', 0);
  await appendRemediation('2', 10);
  audit = startAuditEvents({
    config: clients.config,
    store,
    checkpoints: memoryCheckpoints(),
    namespace,
    retention: { maxCount: 100, maxAgeSeconds: 7 * 86_400 },
    // Retention runs when a test asks for it.
    pruneEveryMs: 3_600_000,
    pruneOnStart: false,
    now: () => now,
  });
}, 120_000);
afterAll(async () => {
  await audit?.stop();
  await store?.close();
  await deleteNamespace(clients, namespace);
});

describe('AuditEvent objects', () => {
  it('are written once per high-value event, with the hash and place of its chain link', async () => {
    const written = await eventually('six AuditEvent objects', async () => {
      const items = await objects();
      return items.length === 6 ? items : undefined;
    });
    expect(written.map((o) => o.spec?.eventType)).toEqual([
      'ActionStarted',
      'ActionSucceeded',
      'ApprovalGranted',
      'ActionStarted',
      'ActionSucceeded',
      'ApprovalGranted',
    ]);
    const links = (await store.readAuditLog()).flatMap((e) => (e.link ? [e.link] : []));
    for (const o of written) {
      const link = links.find((l) => Number(l.seq) === o.spec?.sequence);
      expect(o.spec?.hash).toBe(link?.hash);
      expect(o.spec?.eventId).toBe(link?.eventId);
    }
    expect(written[0]?.spec).toMatchObject({
      stream: 'remediation-iss1-insight-1-plan',
      actor: { type: 'system', name: 'system:executor' },
      issueRef: { name: 'iss1' },
      details: { type: 'RollbackDeployment', actionId: '1-rollback' },
    });
    expect(written[2]?.spec).toMatchObject({ actor: { type: 'apikey', name: 'key:alice' } });
    expect(written[0]?.metadata.labels).toMatchObject({ 'aiops.cairn.dev/event-type': 'ActionStarted' });
    expect(await verify()).toMatch(/AuditEvent objects ok: 6 in auditev-[0-9a-f]+ match the chain/);
  });

  it('refuses every edit of the spec at the API server: replace and patch alike', async () => {
    const [first] = await objects();
    const name = first!.metadata.name;
    const replaced = clients.custom.replaceNamespacedCustomObject({
      ...group,
      namespace,
      name,
      body: { ...first, spec: { ...first!.spec, hash: 'f'.repeat(64) } },
    });
    await expect(replaced).rejects.toMatchObject({ code: 422 });
    await expect(replaced).rejects.toThrow(/an AuditEvent is immutable/);
    const patched = clients.custom.patchNamespacedCustomObject({
      ...group,
      namespace,
      name,
      body: [{ op: 'replace', path: '/spec/actor/name', value: 'someone-else' }],
    });
    await expect(patched).rejects.toMatchObject({ code: 422 });
    await expect(patched).rejects.toThrow(/an AuditEvent is immutable/);
    const merged = clients.custom.patchNamespacedCustomObject(
      { ...group, namespace, name, body: { spec: { summary: 'nothing happened' } } },
      PatchAs.merge,
    );
    await expect(merged).rejects.toThrow(/immutable/);
    const after = (await clients.custom.getNamespacedCustomObject({ ...group, namespace, name })) as CustomObject;
    expect(after.spec).toEqual(first!.spec);
  });

  it('refuses any other edit too (labels, annotations), while deletion still works, foreground included', async () => {
    // Installed with the CRDs (crds/auditevents.admission.yaml); applied here too for a cluster started before it.
    for (const doc of auditEventAdmissionPolicy()) {
      await eventually(`the ${String(doc.kind)} in place`, () =>
        clients.objects.create(doc as never).then(
          () => true,
          (error: { code?: number }) => {
            if (error.code === 409) return true;
            throw error;
          },
        ),
      );
    }
    const [first] = await objects();
    const name = first!.metadata.name;
    const relabel = () =>
      clients.custom.patchNamespacedCustomObject(
        { ...group, namespace, name, body: { metadata: { labels: { 'aiops.cairn.dev/event-type': 'Nothing' } } } },
        PatchAs.merge,
      );
    // A new policy takes effect once the API server has loaded it.
    const refused = await eventually(
      'the admission policy to refuse a label edit',
      async () =>
        relabel().then(
          () => undefined,
          (error: { code?: number; body?: string }) => (error.code === 403 ? error : undefined),
        ),
      60_000,
    );
    expect(String(refused.body)).toContain(auditEventImmutableMessage);
    const annotated = clients.custom.patchNamespacedCustomObject(
      { ...group, namespace, name, body: { metadata: { annotations: { note: 'hello' } } } },
      PatchAs.merge,
    );
    await expect(annotated).rejects.toMatchObject({ code: 403 });
    const after = (await clients.custom.getNamespacedCustomObject({ ...group, namespace, name })) as CustomObject;
    expect(after.metadata.labels).toEqual(first!.metadata.labels);

    // A throwaway copy deleted in the foreground: the garbage collector's own update (its finalizer) goes through.
    await clients.custom.createNamespacedCustomObject({
      ...group,
      namespace,
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'AuditEvent',
        metadata: { name: 'audit-doomed' },
        spec: first!.spec,
      },
    });
    await clients.custom.deleteNamespacedCustomObject({
      ...group,
      namespace,
      name: 'audit-doomed',
      propagationPolicy: 'Foreground',
    });
    await eventually(
      'the foreground deletion to finish',
      async () =>
        clients.custom.getNamespacedCustomObject({ ...group, namespace, name: 'audit-doomed' }).then(
          () => undefined,
          (error: { code?: number }) => error.code === 404,
        ),
      120_000,
    );
  });

  it('cairn audit verify finds an object deleted and recreated with a hash the chain does not hold', async () => {
    const items = await objects();
    const victim = items[3]!;
    await clients.custom.deleteNamespacedCustomObject({ ...group, namespace, name: victim.metadata.name });
    const forged = { ...victim.spec, hash: 'a'.repeat(64) };
    await clients.custom.createNamespacedCustomObject({
      ...group,
      namespace,
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'AuditEvent',
        metadata: { name: victim.metadata.name, labels: victim.metadata.labels },
        spec: forged,
      },
    });
    await expect(verify()).rejects.toThrow(
      new RegExp(
        `1 of 6 AuditEvent object\\(s\\) in ${namespace} do not match the audit chain: ${victim.metadata.name}: spec.hash is "a{64}", the chain says "${victim.spec?.hash}"`,
      ),
    );
    // An actor rewritten the same way is found too, not only the hash.
    await clients.custom.deleteNamespacedCustomObject({ ...group, namespace, name: victim.metadata.name });
    await clients.custom.createNamespacedCustomObject({
      ...group,
      namespace,
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'AuditEvent',
        metadata: { name: victim.metadata.name },
        spec: { ...victim.spec, actor: { type: 'user', name: 'mallory' } },
      },
    });
    const check = await checkAuditEventObjects(store, await auditEventResources(clients.config).list(namespace));
    expect(check).toMatchObject({
      ok: false,
      mismatches: [{ name: victim.metadata.name, sequence: victim.spec?.sequence }],
    });
    // Put back as Cairn wrote it, the set passes again.
    await clients.custom.deleteNamespacedCustomObject({ ...group, namespace, name: victim.metadata.name });
    await clients.custom.createNamespacedCustomObject({
      ...group,
      namespace,
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'AuditEvent',
        metadata: { name: victim.metadata.name },
        spec: victim.spec,
      },
    });
    expect(await verify()).toMatch(/AuditEvent objects ok: 6/);
  });

  it('cairn audit verify finds an object whose event the chain never held', async () => {
    const items = await objects();
    await clients.custom.createNamespacedCustomObject({
      ...group,
      namespace,
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'AuditEvent',
        metadata: { name: 'audit-invented' },
        spec: { ...items[0]!.spec, sequence: 999 },
      },
    });
    await expect(verify()).rejects.toThrow(/audit-invented: the audit chain has no entry 999/);
    await clients.custom.deleteNamespacedCustomObject({ ...group, namespace, name: 'audit-invented' });
  });

  it('writes pages and policy refusals, and leaves out notifications that page nobody and refusals of the parser', async () => {
    const other = await createNamespace(clients, 'auditev2');
    const otherStore = createSqliteEventStore({
      path: join(mkdtempSync(join(tmpdir(), 'cairn-auditev2-')), 'events.db'),
    });
    const delivery = (pagingAction?: string) => ({
      deliveryId: 'd1',
      channel: { policy: { name: 'oncall', namespace: 'ops' }, name: 'pager' },
      repeat: false,
      issues: [],
      omitted: 0,
      ...(pagingAction ? { pagingAction } : {}),
    });
    const meta = { occurredAt: at(1), actor: 'system:notifications' };
    await otherStore.appendToStream('notification-g1', [
      {
        type: 'NotificationDecided',
        data: { notificationId: 'n1', groupKey: 'g1', deliveries: [delivery('trigger')] },
        metadata: meta,
      },
      {
        type: 'NotificationDecided',
        data: { notificationId: 'n2', groupKey: 'g1', deliveries: [delivery()] },
        metadata: meta,
      },
    ]);
    await otherStore.appendToStream('issue-iss3', [
      {
        type: 'ProposalRefused',
        data: { refusalId: 'r1', stage: 'parser', code: 'parser.unknown_action_type', reason: 'x' },
        metadata: meta,
      },
      {
        type: 'ProposalRefused',
        data: { refusalId: 'r2', stage: 'policy', code: 'policy.observe_mode', reason: 'observe' },
        metadata: meta,
      },
    ]);
    const running = startAuditEvents({
      config: clients.config,
      store: otherStore,
      checkpoints: memoryCheckpoints(),
      namespace: other,
      pruneEveryMs: 3_600_000,
      now: () => now,
    });
    try {
      await eventually('the projection to catch up', async () => {
        const p = await running.reactor.progress();
        return p.live && p.behind === 0 && !p.retrying;
      });
      const items = (
        (await clients.custom.listNamespacedCustomObject({ ...group, namespace: other })) as { items: CustomObject[] }
      ).items;
      expect(
        items
          .map((o) => [
            o.spec?.eventType,
            (o.spec?.details as Record<string, string>)?.notificationId ??
              (o.spec?.details as Record<string, string>)?.code,
          ])
          .sort(),
      ).toEqual([
        ['NotificationDecided', 'n1'],
        ['ProposalRefused', 'policy.observe_mode'],
      ]);
      expect(items.find((o) => o.spec?.eventType === 'ProposalRefused')?.spec?.issueRef).toEqual({ name: 'iss3' });
    } finally {
      await running.stop();
      await otherStore.close();
      await deleteNamespace(clients, other);
    }
  });

  it('retention deletes the oldest beyond the count, then what is older than the age; the chain keeps all', async () => {
    const before = (await objects()).map((o) => o.spec?.sequence);
    const restart = async (maxCount: number) => {
      await audit?.stop();
      // Fresh checkpoints: the projection replays the whole log, as after a lost read model.
      audit = startAuditEvents({
        config: clients.config,
        store,
        checkpoints: memoryCheckpoints(),
        namespace,
        retention: { maxCount, maxAgeSeconds: 7 * 86_400 },
        pruneEveryMs: 3_600_000,
        pruneOnStart: false,
        now: () => now,
      });
      const running = audit;
      await eventually('the projection to catch up', async () => {
        const p = await running.reactor.progress();
        return p.live && p.behind === 0 && !p.retrying;
      });
    };
    await restart(4);
    // The replay found every object already there: none twice, none lost.
    expect((await objects()).map((o) => o.spec?.sequence)).toEqual(before);
    expect(await audit!.prune()).toHaveLength(2);
    expect((await objects()).map((o) => o.spec?.sequence)).toEqual(before.slice(-4));

    // Three weeks later, everything is older than 7 days.
    now = new Date('2026-12-22T00:00:00Z');
    expect(await audit!.prune()).toHaveLength(4);
    expect(await objects()).toEqual([]);
    // Replayed from the start, the projection does not bring back what is older than the age limit.
    await restart(4);
    expect(await objects()).toEqual([]);
    // Retention also runs as the capability starts: a limit lowered over a restart holds at once.
    now = new Date('2026-12-02T00:00:00Z');
    await restart(100);
    expect(await objects()).toHaveLength(6);
    await audit!.stop();
    audit = startAuditEvents({
      config: clients.config,
      store,
      checkpoints: memoryCheckpoints(),
      namespace,
      retention: { maxCount: 1, maxAgeSeconds: 7 * 86_400 },
      pruneEveryMs: 3_600_000,
      now: () => now,
    });
    const running = audit;
    await eventually('the projection to catch up', async () => {
      const p = await running.reactor.progress();
      return p.live && p.behind === 0 && !p.retrying;
    });
    await eventually('retention at start to keep one object', async () => (await objects()).length === 1);
    now = new Date('2026-12-22T00:00:00Z');
    expect(await audit!.prune()).toHaveLength(1);
    // The full trail is still in the event store, and still verifies.
    expect((await store.readAuditLog()).filter((e) => e.link !== null)).toHaveLength(8);
    expect(await verify()).toMatch(/audit chain ok: 8 links[\s\S]*AuditEvent objects ok: 0/);
  });
});
