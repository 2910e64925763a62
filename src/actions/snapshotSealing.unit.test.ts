import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countSecretValues,
  decrypt,
  encrypt,
  newKey,
  SnapshotSealingError,
  sealCaptured,
  sealedKeyIds,
  unsealCaptured,
} from './snapshotSealing.ts';
import { isSealed, redactedSnapshotView, SealedMarker } from './snapshotSecrets.ts';

const container = {
  name: 'web',
  image: 'registry.local/shop/web:1.0.0',
  command: ['/bin/web', '--db-password=hunter2'],
  args: ['--port', '8080', '--api-key', 'k3y-V4lue', '--log-level', 'info'],
  env: [
    { name: 'DB_PASS', value: 'p@ss w0rd' },
    { name: 'LOG_LEVEL', value: 'debug' },
    { name: 'EMPTY', value: '' },
    { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
  ],
};

const captured = () => ({
  'Deployment/shop/web': {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    name: 'web',
    namespace: 'shop',
    existed: true,
    resourceVersion: '41',
    fields: {
      spec: {
        replicas: 2,
        template: {
          metadata: { annotations: { team: 'shop', 'example.com/dsn': 'postgres://app:s3cr3t@db:5432/shop' } },
          spec: { containers: [container], initContainers: [{ name: 'init', env: [{ name: 'X', value: 'y' }] }] },
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
    fields: { data: { POOL: '10', 'app.properties': 'a=1\nb=2\n' }, binaryData: { blob: 'AAEC' } },
  },
  'Secret/shop/db': {
    kind: 'Secret',
    apiVersion: 'v1',
    name: 'db',
    namespace: 'shop',
    existed: true,
    fields: { data: { password: Buffer.from('hunter2').toString('base64') } },
  },
  'HorizontalPodAutoscaler/shop/web': {
    kind: 'HorizontalPodAutoscaler',
    apiVersion: 'autoscaling/v2',
    name: 'web',
    namespace: 'shop',
    existed: true,
    fields: { spec: { minReplicas: 2, maxReplicas: 5 } },
  },
  'ConfigMap/shop/created': {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    name: 'created',
    namespace: 'shop',
    existed: false,
    fields: {},
  },
});

/** What a reader of the event or the CR must never find. */
const plaintexts = [
  'hunter2',
  Buffer.from('hunter2').toString('base64'),
  'p@ss w0rd',
  'k3y-V4lue',
  'debug',
  's3cr3t',
  'a=1\nb=2\n',
  'AAEC',
];

describe('sealing a snapshot', () => {
  it('encrypts every env value, data value and credential-looking arg, and keeps everything else as it was', () => {
    const key = newKey();
    const sealed = sealCaptured(captured(), 'rem-1-snapshot', key);
    const json = JSON.stringify(sealed);
    for (const secret of plaintexts) expect(json, secret).not.toContain(JSON.stringify(secret).slice(1, -1));

    const web = (
      sealed['Deployment/shop/web'] as {
        fields: { spec: { template: { spec: { containers: (typeof container)[] } } } };
      }
    ).fields.spec.template.spec.containers[0]!;
    // Non-secret args stay readable, so a status still says what the container ran.
    expect(web.args.filter((a) => typeof a === 'string')).toEqual([
      '--port',
      '8080',
      '--api-key',
      '--log-level',
      'info',
    ]);
    expect(isSealed(web.args[3])).toBe(true);
    expect(isSealed(web.command[1])).toBe(true);
    expect(web.command[0]).toBe('/bin/web');
    expect(web.env.map((e) => isSealed(e.value))).toEqual([true, true, false, false]);
    expect(web.env[3]).toEqual(container.env[3]);
    expect(sealed['HorizontalPodAutoscaler/shop/web']).toEqual(captured()['HorizontalPodAutoscaler/shop/web']);
    expect(sealedKeyIds(sealed)).toEqual(['rem-1-snapshot']);
    expect(countSecretValues(captured())).toBe(10);
    expect(countSecretValues(sealed)).toBe(0);
  });

  it('opens back to exactly what was captured', () => {
    const key = newKey();
    const stored = JSON.parse(JSON.stringify(sealCaptured(captured(), 'rem-1-snapshot', key)));
    expect(unsealCaptured(stored, new Map([['rem-1-snapshot', key]]))).toEqual(captured());
  });

  it('restores any string exactly, whatever its characters (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 8 }), (values) => {
        const key = newKey();
        const snapshot = {
          'ConfigMap/a/b': {
            kind: 'ConfigMap',
            name: 'b',
            namespace: 'a',
            existed: true,
            fields: { data: Object.fromEntries(values.map((v, i) => [`k${i}`, v])) },
          },
        };
        const stored = JSON.parse(JSON.stringify(sealCaptured(snapshot, 's', key)));
        expect(unsealCaptured(stored, new Map([['s', key]]))).toEqual(snapshot);
      }),
      { numRuns: 200 },
    );
  });

  it('gives equal values of one snapshot equal hashes, and different snapshots different ones', () => {
    const one = (key: Buffer, id: string) =>
      sealCaptured(
        {
          c: {
            kind: 'ConfigMap',
            name: 'c',
            namespace: 'n',
            existed: true,
            fields: { data: { a: 'same', b: 'same' } },
          },
        },
        id,
        key,
      ) as { c: { fields: { data: Record<string, { [SealedMarker]: { hmac: string; data: string } }> } } };
    const first = one(newKey(), 's1').c.fields.data;
    const second = one(newKey(), 's2').c.fields.data;
    expect(first.a![SealedMarker].hmac).toBe(first.b![SealedMarker].hmac);
    expect(first.a![SealedMarker].hmac).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
    // A fresh IV each time: equal values never give equal ciphertext.
    expect(first.a![SealedMarker].data).not.toBe(first.b![SealedMarker].data);
    expect(second.a![SealedMarker].hmac).not.toBe(first.a![SealedMarker].hmac);
  });

  it('refuses a wrong key, an altered ciphertext and an altered hash, naming the data key', () => {
    const key = newKey();
    const stored = sealCaptured(captured(), 'rem-1-snapshot', key);
    expect(() => unsealCaptured(stored, new Map([['rem-1-snapshot', newKey()]]))).toThrow(
      expect.objectContaining({
        code: SnapshotSealingError.Corrupt,
        message: expect.stringContaining('rem-1-snapshot'),
      }),
    );
    const text = JSON.stringify(stored);
    const hmac = /hmac-sha256:([0-9a-f]{32})/.exec(text)![1]!;
    const flipped = JSON.parse(
      text.replace(
        hmac,
        hmac.replace(/^./, (c) => (c === '0' ? '1' : '0')),
      ),
    ) as typeof stored;
    expect(() => unsealCaptured(flipped, new Map([['rem-1-snapshot', key]]))).toThrow(/does not match its hash/);
    const data = /"data":"([A-Za-z0-9+/=]{20,})"/.exec(text)![1]!;
    const box = Buffer.from(data, 'base64');
    box.writeUInt8(box.readUInt8(box.length - 1) ^ 1, box.length - 1);
    const altered = JSON.parse(text.replace(data, box.toString('base64'))) as typeof stored;
    expect(() => unsealCaptured(altered, new Map([['rem-1-snapshot', key]]))).toThrow(/does not decrypt/);
    expect(() => unsealCaptured(stored, new Map())).toThrow(/no data key rem-1-snapshot/);
  });

  it('leaves a snapshot recorded before sealing (plain values) as it is', () => {
    expect(unsealCaptured(captured(), new Map())).toEqual(captured());
    expect(sealedKeyIds(captured())).toEqual([]);
  });

  it('binds a ciphertext to its context', () => {
    const key = newKey();
    const box = encrypt(key, Buffer.from('x'), 'snapshot a');
    expect(decrypt(key, box, 'snapshot a').toString()).toBe('x');
    expect(() => decrypt(key, box, 'snapshot b')).toThrow();
  });
});

describe('the redacted view of a snapshot', () => {
  it('shows a sealed value as its marker and hash, never its ciphertext', () => {
    const sealed = sealCaptured(captured(), 'rem-1-snapshot', newKey());
    const view = redactedSnapshotView(sealed);
    const text = JSON.stringify(view);
    expect(text).not.toContain(SealedMarker);
    for (const secret of plaintexts) expect(text).not.toContain(JSON.stringify(secret).slice(1, -1));
    const data = (view['ConfigMap/shop/web'] as { fields: { data: Record<string, string> } }).fields.data;
    expect(data.POOL).toMatch(/^\[sealed hmac-sha256:[0-9a-f]{32}\]$/);
    expect((view['HorizontalPodAutoscaler/shop/web'] as { fields: unknown }).fields).toEqual({
      spec: { minReplicas: 2, maxReplicas: 5 },
    });
  });

  it('redacts the plain secret values of a snapshot recorded before sealing, without a hash', () => {
    const view = redactedSnapshotView(captured());
    const text = JSON.stringify(view);
    for (const secret of plaintexts) expect(text).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(text).not.toContain('hmac');
    const env = (
      view['Deployment/shop/web'] as { fields: { spec: { template: { spec: { containers: (typeof container)[] } } } } }
    ).fields.spec.template.spec.containers[0]!.env;
    expect(env.map((e) => e.value)).toEqual(['[REDACTED]', '[REDACTED]', '', undefined]);
    // Entries of another shape (hand-written, or from an older Cairn) are searched too.
    expect(redactedSnapshotView({ spec: { env: [{ name: 'A', value: 'b' }] } })).toEqual({
      spec: { env: [{ name: 'A', value: '[REDACTED]' }] },
    });
  });
});
