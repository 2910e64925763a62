import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ActionSpec, ResourceRef } from '../../../domain/events/common.schema.ts';
import type { RemediationCommand } from '../../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { planResource } from '../../../projections/kubernetesResources.projection.ts';
import { createNamespace, deleteNamespace, type KubeClients, kubeClients } from '../../../test/support/kube.ts';
import { createCommandHandler } from '../../application/commandHandler.ts';
import {
  createRemediationExecutor,
  type RemediationEffects,
} from '../../application/remediation/remediationExecutor.ts';
import { registerSnapshotKeysCommand } from '../../cli/commands/snapshotKeys.command.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { kubernetesRemediationEffects } from './remediationEffects.ts';
import { dataKeySecretName, KeyEncryptionKeySecret, SnapshotKeyError } from './snapshotKeys.ts';

/**
 * Snapshot secrets at rest, against the real API server: the snapshot a remediation records holds none of the
 * secret values it captured, a rollback still puts back every byte, the keys survive a new process, rotation
 * re-wraps them, and shredding a snapshot's data key makes its rollback fail by name while the log stays whole.
 */

let kube: KubeClients;
let apps: string;
let keys: string;

// Random per run, so nothing here can be found in the log by luck.
const dbPassword = `hunter2-${randomBytes(6).toString('hex')}`;
const apiToken = `tok_${randomBytes(12).toString('hex')}`;
const argPassword = `arg-${randomBytes(6).toString('hex')}`;
const dsnPassword = `dsn${randomBytes(6).toString('hex')}`;
const secretPassword = `sec-${randomBytes(6).toString('hex')}`;
const plaintexts = [
  dbPassword,
  apiToken,
  argPassword,
  dsnPassword,
  secretPassword,
  Buffer.from(secretPassword).toString('base64'),
];

/** A fresh KubeConfig per call, as a new process would load it. */
const loadConfig = () => {
  const config = new k8s.KubeConfig();
  config.loadFromFile(inject('kubeconfig'));
  return config;
};

/** The operator's effects as a fresh process builds them. */
const freshEffects = () => kubernetesRemediationEffects(loadConfig(), undefined, { namespace: keys });

/** `cairn snapshot-keys ...`, through the real command definition; returns what it printed. */
async function cli(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command('cairn').exitOverride();
  registerSnapshotKeysCommand(program, (text) => {
    out += text;
  });
  await program.parseAsync(['snapshot-keys', ...args, '--namespace', keys, '--kubeconfig', inject('kubeconfig')], {
    from: 'user',
  });
  return out;
}

const webDeployment = (name: string): k8s.V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'registry.local/shop/web:1.0.0',
            args: ['--listen', ':8080', '--db-password', argPassword],
            env: [
              { name: 'DB_PASS', value: dbPassword },
              { name: 'AWS_KEY', value: apiToken },
              { name: 'PORT', value: '8080' },
              { name: 'UNICODE', value: 'naïve ✓ "quoted" \\ back\nslash' },
            ],
          },
        ],
      },
    },
  },
});

/** The parts a restore must put back, as the API server returns them (raw JSON, byte for byte). */
async function state(name: string) {
  const deployment = (await kube.custom.getNamespacedCustomObject({
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    namespace: apps,
    name,
  })) as { spec: { template: unknown; replicas: number } };
  const configMap = await kube.core.readNamespacedConfigMap({ name, namespace: apps });
  const secret = await kube.core.readNamespacedSecret({ name, namespace: apps });
  return JSON.stringify({
    template: deployment.spec.template,
    replicas: deployment.spec.replicas,
    configMap: { data: configMap.data, binaryData: configMap.binaryData },
    secret: secret.data,
  });
}

async function createWorkload(name: string) {
  await kube.apps.createNamespacedDeployment({ namespace: apps, body: webDeployment(name) });
  await kube.core.createNamespacedConfigMap({
    namespace: apps,
    body: {
      metadata: { name },
      data: { POOL: '10', DSN: `postgres://app:${dsnPassword}@db:5432/shop` },
      binaryData: { blob: Buffer.from([0, 1, 2, 255]).toString('base64') },
    },
  });
  await kube.core.createNamespacedSecret({
    namespace: apps,
    body: { metadata: { name }, stringData: { password: secretPassword, user: 'app' } },
  });
  await kube.core.createNamespacedSecret({
    namespace: apps,
    body: { metadata: { name: `${name}-next` }, stringData: { password: 'next-password' } },
  });
}

/** A bad release lands while the plan runs: new env values and args on the Deployment. */
const badRelease = (name: string) =>
  kube.apps.patchNamespacedDeployment(
    {
      name,
      namespace: apps,
      body: [
        { op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: 'changed' },
        { op: 'replace', path: '/spec/template/spec/containers/0/args/3', value: 'changed' },
        { op: 'replace', path: '/spec/replicas', value: 3 },
      ],
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  );

/**
 * Runs a plan with the real executor and effects on an in-memory log: PatchConfig and RotateSecret change the
 * ConfigMap and the Secret, a bad release changes the Deployment, then an action on a ConfigMap that does not
 * exist forces the rollback. `beforeFailing` runs before that last action (to shred the key, say).
 */
async function remediate(name: string, remediationId: string, beforeFailing: () => Promise<void> = async () => {}) {
  const store = openEventStore('memory:');
  const stream = streamName(StreamCategory.Remediation, remediationId);
  const target: ResourceRef = { kind: 'Deployment', name, namespace: apps };
  const actions: ActionSpec[] = [
    { actionId: 'a1', type: 'PatchConfig', params: { configmap: name, key: 'POOL', value: '50' } },
    { actionId: 'a2', type: 'RotateSecret', params: { secret: name, sourceSecret: `${name}-next` } },
    { actionId: 'a3', type: 'PatchConfig', params: { configmap: 'no-such-configmap', key: 'POOL', value: '1' } },
  ];
  await createCommandHandler(store, remediationDecider)(stream, {
    type: 'CreateRemediationPlan',
    data: { remediationId, issueId: `${remediationId}-issue`, attempt: 1, source: 'ai-runbook', target, actions },
    metadata: { occurredAt: new Date().toISOString(), actor: 'system:test' },
  } as RemediationCommand);
  const real = freshEffects();
  const changed: string[] = [];
  const effects: RemediationEffects = {
    ...real,
    // The failing a3 may be refused before it runs or fail when it does: either way the plan rolls back.
    run: async (action, on) => {
      const result = await real.run(action, on);
      if (action.actionId === 'a2') {
        await badRelease(name);
        changed.push(await state(name));
        await beforeFailing();
      }
      return result;
    },
  };
  const execute = createRemediationExecutor({
    store,
    effects,
    now: () => new Date(),
    newId: () => randomBytes(8).toString('hex'),
    signalsOf: async () => [],
    pollIntervalMs: 100,
  });
  const final = await execute(stream);
  const history = await store.readStream(stream);
  await store.close();
  return { final, history, changed: changed[0] };
}

beforeAll(async () => {
  kube = kubeClients();
  apps = await createNamespace(kube, 'snapkeys-app');
  keys = await createNamespace(kube, 'snapkeys-operator');
});
afterAll(async () => {
  await deleteNamespace(kube, apps);
  await deleteNamespace(kube, keys);
});

describe('snapshot secrets at rest', () => {
  it('records a snapshot that holds none of the secret values, and a rollback puts back every byte', async () => {
    await createWorkload('web');
    const before = await state('web');

    const { final, history, changed } = await remediate('web', 'r-exact');

    expect(changed).not.toBe(before);
    expect(history.map((e) => e.type)).toEqual(
      expect.arrayContaining(['SnapshotTaken', 'ActionSucceeded', 'RollbackStarted', 'RollbackCompleted']),
    );
    expect(final.status).toBe('RolledBack');
    expect(await state('web')).toBe(before);

    const taken = history.find((e) => e.type === 'SnapshotTaken');
    // What the store writes for the event: its data (positions are bigints, and hold nothing).
    const json = JSON.stringify(taken?.data);
    for (const secret of plaintexts) expect(json, 'the SnapshotTaken event').not.toContain(secret);
    expect(json).toContain('hmac-sha256:');
    // The whole stream, the rollback's detail included, holds none of them either.
    for (const secret of plaintexts) expect(JSON.stringify(history.map((e) => e.data))).not.toContain(secret);

    // The RemediationPlan status renders markers with hashes, never plaintext or ciphertext.
    const plan = planResource(history, final.status, { name: 'web-i', uid: 'u' }, keys);
    const status = JSON.stringify(plan?.status.snapshot);
    for (const secret of plaintexts) expect(status).not.toContain(secret);
    expect(status).not.toContain('$sealed');
    expect(status).toMatch(/\[sealed hmac-sha256:[0-9a-f]{32}\]/);

    // One data key, wrapped, in the operator's namespace, naming its snapshot.
    const listed = await cli('list');
    expect(listed).toContain('snapshot r-exact-snapshot (remediation r-exact, Issue r-exact-issue, Deployment ');
    const stored = await kube.core.readNamespacedSecret({
      name: dataKeySecretName('r-exact-snapshot'),
      namespace: keys,
    });
    expect(Buffer.from(stored.data?.wrapped ?? '', 'base64')).toHaveLength(12 + 32 + 16);
  });

  it('restores from a new process: the keys are in the cluster, not in memory', async () => {
    await createWorkload('api');
    const before = await state('api');
    const target: ResourceRef = { kind: 'Deployment', name: 'api', namespace: apps };
    const plan: ActionSpec[] = [
      { actionId: 'a1', type: 'RotateSecret', params: { secret: 'api', sourceSecret: 'api-next' } },
    ];
    const snapshot = await freshEffects().snapshot(target, plan, {
      snapshotId: 'r-restart-snapshot',
      remediationId: 'r-restart',
      issueId: 'i-restart',
    });
    // What the log keeps survives JSON; nothing else of the first process does.
    const recorded = JSON.parse(JSON.stringify(snapshot.captured)) as Record<string, unknown>;
    // The same snapshot taken again (a crash before it was recorded) reuses its data key, so either copy restores.
    const again = await freshEffects().snapshot(target, plan, {
      snapshotId: 'r-restart-snapshot',
      remediationId: 'r-restart',
      issueId: 'i-restart',
    });
    expect(JSON.stringify(again.captured)).not.toBe(JSON.stringify(recorded));
    for (const secret of plaintexts) expect(JSON.stringify(recorded)).not.toContain(secret);
    await badRelease('api');
    await freshEffects().run(plan[0]!, target);
    expect(await state('api')).not.toBe(before);

    await freshEffects().restore(target, recorded);
    expect(await state('api')).toBe(before);
    await badRelease('api');
    await freshEffects().restore(target, again.captured);
    expect(await state('api')).toBe(before);

    // After a rotation the same recorded snapshot still restores.
    const rotated = await cli('rotate');
    expect(rotated).toMatch(/^key-encryption key is now kek-2; re-wrapped [1-9]\d* data key\(s\); removed kek-1\n$/);
    const kek = await kube.core.readNamespacedSecret({ name: KeyEncryptionKeySecret, namespace: keys });
    expect(Object.keys(kek.data ?? {})).toEqual(['kek-2']);
    const dek = await kube.core.readNamespacedSecret({
      name: dataKeySecretName('r-restart-snapshot'),
      namespace: keys,
    });
    expect(Buffer.from(dek.data?.kek ?? '', 'base64').toString()).toBe('kek-2');
    await badRelease('api');
    await freshEffects().restore(target, recorded);
    expect(await state('api')).toBe(before);

    // Shredded, the same snapshot cannot be restored, and the error names the key.
    const shredded = await cli('shred', 'r-restart-snapshot');
    expect(shredded).toMatch(
      new RegExp(
        `^destroyed the data key of snapshot r-restart-snapshot \\(remediation r-restart, Issue i-restart, Deployment ${apps}/api\\) ` +
          `Secret ${dataKeySecretName('r-restart-snapshot')}, wrapped by kek-2, created \\S+\\n$`,
      ),
    );
    await badRelease('api');
    const after = await state('api');
    await expect(freshEffects().restore(target, recorded)).rejects.toMatchObject({
      code: SnapshotKeyError.Shredded,
      message: expect.stringContaining('snapshot r-restart-snapshot'),
    });
    // Nothing was half-restored.
    expect(await state('api')).toBe(after);
    await expect(cli('shred', 'r-restart-snapshot')).rejects.toMatchObject({ code: SnapshotKeyError.NotFound });
  });

  it('after shredding, the rollback fails naming the destroyed key and the remediation still ends on the record', async () => {
    await createWorkload('shop');
    let printed = '';
    const { final, history } = await remediate('shop', 'r-shred', async () => {
      // By the Issue's id: what an erasure request for an incident names.
      printed = await cli('shred', 'r-shred-issue');
    });
    expect(printed).toContain(
      'destroyed the data key of snapshot r-shred-snapshot (remediation r-shred, Issue r-shred-issue, Deployment ',
    );
    expect(final.status).toBe('Failed');
    const types = history.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['RollbackStarted', 'RollbackFailed', 'RemediationFailed']));
    const failed = history.find((e) => e.type === 'RollbackFailed')?.data as { error: string };
    expect(failed.error).toContain('r-shred-snapshot');
    expect(failed.error).toContain('crypto-shredded');
    expect(history.find((e) => e.type === 'RemediationFailed')?.data).toMatchObject({ reason: 'rollback_failed' });
    // The log is intact: the SnapshotTaken event is still there, sealed.
    expect(JSON.stringify(history.find((e) => e.type === 'SnapshotTaken')?.data)).toContain('hmac-sha256:');
  });
});

describe('the key-encryption key', () => {
  it('when Cairn may not create it, stops with what to create; a key created that way is used', async () => {
    const namespace = await createNamespace(kube, 'snapkeys-locked');
    try {
      // An account that may read Secrets in its namespace and the workload, but not create anything.
      await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'cairn' } } });
      const rbac = kube.config.makeApiClient(k8s.RbacAuthorizationV1Api);
      const grant = async (where: string, rules: k8s.V1PolicyRule[]) => {
        await rbac.createNamespacedRole({
          namespace: where,
          body: { metadata: { name: `locked-${namespace}` }, rules },
        });
        await rbac.createNamespacedRoleBinding({
          namespace: where,
          body: {
            metadata: { name: `locked-${namespace}` },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `locked-${namespace}` },
            subjects: [{ kind: 'ServiceAccount', name: 'cairn', namespace }],
          },
        });
      };
      await grant(namespace, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }]);
      await grant(apps, [
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
        { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list'] },
      ]);
      await kube.apps.createNamespacedDeployment({ namespace: apps, body: webDeployment('locked') });
      const token = await kube.core.createNamespacedServiceAccountToken({
        name: 'cairn',
        namespace,
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
      const admin = kube.config.getCurrentCluster();
      if (!admin || !token.status?.token) throw new Error('no cluster or token');
      const restricted = new k8s.KubeConfig();
      restricted.loadFromOptions({
        clusters: [admin],
        users: [{ name: 'cairn', token: token.status.token }],
        contexts: [{ name: 'cairn', cluster: admin.name, user: 'cairn' }],
        currentContext: 'cairn',
      });
      const effects = kubernetesRemediationEffects(restricted, undefined, { namespace });
      const target: ResourceRef = { kind: 'Deployment', name: 'locked', namespace: apps };
      const ids = { snapshotId: 'r-locked-snapshot', remediationId: 'r-locked', issueId: 'i-locked' };

      const refused = await effects.snapshot(target, [], ids).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ code: SnapshotKeyError.KeyEncryptionKeyMissing });
      const message = (refused as Error).message;
      expect(message).toContain(`Secret ${namespace}/${KeyEncryptionKeySecret}`);
      const command =
        /kubectl -n \S+ create secret generic cairn-snapshot-key --from-literal=kek-1="\$\(openssl rand -base64 32\)"/.exec(
          message,
        );
      expect(command).not.toBeNull();

      // What the message says, done by an administrator: the base64 text is what kubectl stores.
      await kube.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name: KeyEncryptionKeySecret },
          stringData: { 'kek-1': randomBytes(32).toString('base64') },
        },
      });
      // The account may not create the data key either: the failure names it rather than losing anything.
      await expect(effects.snapshot(target, [], ids)).rejects.toThrow(
        /storing the data key of snapshot r-locked-snapshot/,
      );
      await rbac.replaceNamespacedRole({
        name: `locked-${namespace}`,
        namespace,
        body: {
          metadata: { name: `locked-${namespace}` },
          rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'create', 'update'] }],
        },
      });
      const sealed = await eventuallyResolves(() => effects.snapshot(target, [], ids));
      const text = JSON.stringify(sealed.captured);
      expect(text).not.toContain(dbPassword);
      expect(text).toContain('hmac-sha256:');
    } finally {
      await deleteNamespace(kube, namespace);
    }
  });
});

/** RBAC changes reach the authorizer within moments; retry until they have. */
async function eventuallyResolves<T>(call: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      return await call();
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}
