import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { RemediationCommand } from '../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../domain/streams.ts';
import { newKey, sealCaptured } from '../src/actions/snapshotSealing.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { RemediationPlanStatusSchema } from '../src/adapters/kubernetes/api/remediationPlan.kind.ts';
import { createCommandHandler } from '../src/application/commandHandler.ts';
import { planResource } from './kubernetesResources.projection.ts';

const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const owner = { name: 'web-i1', uid: '0b8c7a1e-1111-4222-8333-944455556666' };
const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, s)).toISOString();

/** What the snapshot of a Deployment with a literal password, its ConfigMap and its Secret captures. */
const captured = {
  'Deployment/shop/web': {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    name: 'web',
    namespace: 'shop',
    existed: true,
    fields: {
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              {
                name: 'web',
                image: 'registry.local/shop/web:1.0.0',
                args: ['--listen', ':8080', '--db-password', 'hunter2'],
                env: [
                  { name: 'DB_PASS', value: 'hunter2' },
                  { name: 'PORT', value: '8080' },
                ],
              },
            ],
          },
        },
      },
    },
  },
  'ConfigMap/shop/web': {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    name: 'web',
    namespace: 'shop',
    existed: true,
    fields: { data: { DSN: 'postgres://app:s3cr3t@db/shop' } },
  },
  'Secret/shop/db': {
    kind: 'Secret',
    apiVersion: 'v1',
    name: 'db',
    namespace: 'shop',
    existed: true,
    fields: { data: { password: Buffer.from('hunter2').toString('base64') } },
  },
};
const plaintext = ['hunter2', Buffer.from('hunter2').toString('base64'), 's3cr3t'];

/** The plan's stream written by the real decider, with `snapshot` as the SnapshotTaken content. */
async function planHistory(snapshot: Record<string, unknown>) {
  const store = openEventStore('memory:');
  const decide = createCommandHandler(store, remediationDecider);
  const stream = streamName(StreamCategory.Remediation, 'r1');
  const send = (s: number, command: Omit<RemediationCommand, 'metadata'>) =>
    decide(stream, { ...command, metadata: { occurredAt: at(s), actor: 'system:test' } } as RemediationCommand);
  await send(0, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId: 'r1',
      issueId: 'i1',
      attempt: 1,
      source: 'ai-runbook',
      target: web,
      actions: [{ actionId: 'a1', type: 'RestartDeployment', params: {} }],
      verificationTimeoutSeconds: 60,
    },
  });
  await send(1, { type: 'StartSnapshot', data: { snapshotId: 'r1-snapshot' } });
  await send(2, { type: 'RecordSnapshot', data: { snapshotId: 'r1-snapshot', captured: snapshot } });
  return store.readStream(stream);
}

const snapshotOf = (history: Awaited<ReturnType<typeof planHistory>>) => {
  const plan = planResource(history, 'Executing', owner, 'cairn-system');
  if (!plan) throw new Error('no plan rendered');
  expect(Value.Errors(RemediationPlanStatusSchema, plan.status).First()).toBeUndefined();
  return plan.status.snapshot;
};

describe('RemediationPlan.status.snapshot', () => {
  it('shows each sealed value as a marker with its keyed hash, and neither plaintext nor ciphertext', async () => {
    const sealed = sealCaptured(captured, 'r1-snapshot', newKey());
    const history = await planHistory(sealed);
    const snapshot = snapshotOf(history);
    const text = JSON.stringify(snapshot);
    for (const secret of plaintext) expect(text).not.toContain(secret);
    // No ciphertext: the event's sealed data fields are nowhere in the status.
    const ciphertexts = [...JSON.stringify(sealed).matchAll(/"data":"([A-Za-z0-9+/=]{20,})"/g)].map((m) => m[1]);
    expect(ciphertexts.length).toBeGreaterThanOrEqual(5);
    for (const c of ciphertexts) expect(text).not.toContain(c as string);
    expect(text).not.toContain('$sealed');

    const object = snapshot?.object as typeof captured;
    const container = object['Deployment/shop/web'].fields.spec.template.spec.containers[0]!;
    const marker = /^\[sealed hmac-sha256:[0-9a-f]{32}\]$/;
    expect(container.env.map((e) => e.value)).toEqual([expect.stringMatching(marker), expect.stringMatching(marker)]);
    expect(container.args).toEqual(['--listen', ':8080', '--db-password', expect.stringMatching(marker)]);
    // The same password in env, args and the Secret's (base64) data: env and args show the same hash.
    expect(container.args[3]).toBe(container.env[0]?.value);
    expect(object['ConfigMap/shop/web'].fields.data.DSN).toMatch(marker);
    expect(object['Secret/shop/db'].fields.data.password).toMatch(marker);
    expect(container.image).toBe('registry.local/shop/web:1.0.0');
    expect(snapshot).toMatchObject({ takenAt: at(2), resource: web });
  });

  it('renders the same document from the same events (replay safe)', async () => {
    const history = await planHistory(sealCaptured(captured, 'r1-snapshot', newKey()));
    expect(snapshotOf(history)).toEqual(snapshotOf(history));
  });

  it('redacts the plain secret values of a snapshot recorded before sealing, with no hash to guess from', async () => {
    const snapshot = snapshotOf(await planHistory(captured));
    const text = JSON.stringify(snapshot);
    for (const secret of plaintext) expect(text).not.toContain(secret);
    expect(text).not.toContain('hmac');
    const object = snapshot?.object as typeof captured;
    const container = object['Deployment/shop/web'].fields.spec.template.spec.containers[0]!;
    expect(container.env.map((e) => e.value)).toEqual(['[REDACTED]', '[REDACTED]']);
    expect(container.args).toEqual(['--listen', ':8080', '--db-password', '[REDACTED]']);
    expect(object['Secret/shop/db'].fields.data.password).toBe('[REDACTED]');
  });
});
