import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import {
  display,
  isConflict,
  isNotFound,
  kube,
  kubeFailure,
  readOptional,
  statusCode,
} from '../../actions/actionErrors.ts';
import { decrypt, encrypt, KeyBytes, newKey } from '../../actions/snapshotSealing.ts';

/**
 * Where snapshot data keys live: in Kubernetes Secrets of the operator's namespace, never in the event log.
 *
 * - `cairn-snapshot-key` holds the key-encryption keys, one entry `kek-<n>` each; the highest n wraps new data
 *   keys. Rotation adds the next one, wraps every data key again under it, then removes the older ones.
 * - One Secret per snapshot (`cairn-snapshot-dek-<hash of the snapshot id>`) holds that snapshot's data key,
 *   wrapped, and names its snapshot, remediation and target in annotations. Deleting it is crypto-shredding: the
 *   ciphertext stays in the log, and nothing can read it any more.
 */

export const KeyEncryptionKeySecret = 'cairn-snapshot-key';
export const DataKeyLabel = 'aiops.cairn.dev/snapshot-key';
const DataKeyLabelValue = 'data';
const Annotations = {
  snapshotId: 'aiops.cairn.dev/snapshot-id',
  remediationId: 'aiops.cairn.dev/remediation-id',
  issueId: 'aiops.cairn.dev/issue-id',
  target: 'aiops.cairn.dev/target',
} as const;
const ManagedBy = { 'app.kubernetes.io/managed-by': 'cairn' };

export const SnapshotKeyError = {
  /** The snapshot's data key was destroyed: its secret values are gone for good. */
  Shredded: 'snapshot.key_shredded',
  /** No key-encryption key, and Cairn could not create one. */
  KeyEncryptionKeyMissing: 'snapshot.kek_missing',
  /** An entry of the key-encryption key Secret is not a 256-bit key. */
  KeyEncryptionKeyInvalid: 'snapshot.kek_invalid',
  /** The key-encryption key that wrapped a data key is no longer there. */
  KeyEncryptionKeyGone: 'snapshot.kek_gone',
  /** A wrapped data key does not unwrap: it or its key-encryption key was altered. */
  UnwrapFailed: 'snapshot.key_unwrap_failed',
  NotFound: 'snapshot.key_not_found',
  RotationIncomplete: 'snapshot.rotation_incomplete',
} as const;

interface Kek {
  readonly id: string;
  readonly version: number;
  readonly key: Buffer;
}
interface KekSet {
  readonly keys: readonly Kek[];
  readonly current: Kek;
  readonly secret: k8s.V1Secret;
}

export interface DataKeyInfo {
  readonly secret: string;
  readonly snapshotId: string;
  readonly remediationId: string;
  readonly issueId: string;
  readonly target: string;
  /** The key-encryption key that wraps it. */
  readonly kek: string;
  readonly createdAt?: string;
}

export interface RotationReport {
  /** The key-encryption key that now wraps every data key. */
  readonly kek: string;
  readonly rewrapped: number;
  /** Key-encryption keys removed; nothing they wrapped is left. */
  readonly removed: readonly string[];
  /** Data keys whose key-encryption key had already gone: unreadable before the rotation, and after. */
  readonly unreadable: readonly string[];
}

export interface SnapshotKeyStore {
  /** The data key a new snapshot seals with; made and stored wrapped on first use, the same one on a retry. */
  dataKeyFor(snapshot: {
    snapshotId: string;
    remediationId: string;
    issueId: string;
    target: ResourceRef;
  }): Promise<Buffer>;
  /** The data key of a recorded snapshot; throws `snapshot.key_shredded` when it was destroyed. */
  dataKey(snapshotId: string): Promise<Buffer>;
  list(): Promise<DataKeyInfo[]>;
  rotate(): Promise<RotationReport>;
  /** Destroys the data keys of a snapshot, or of every snapshot of a remediation or an Issue; returns them. */
  shred(id: string): Promise<DataKeyInfo[]>;
}

export const dataKeySecretName = (snapshotId: string): string =>
  `cairn-snapshot-dek-${createHash('sha256').update(snapshotId).digest('hex').slice(0, 24)}`;

const wrapContext = (snapshotId: string) => `cairn snapshot data key\u0000${snapshotId}`;
const kekEntry = /^kek-([1-9][0-9]{0,8})$/;

const fromBase64 = (value: string | undefined): Buffer => Buffer.from(value ?? '', 'base64');

/** A 256-bit key as raw bytes, or as base64 text (what `--from-literal=kek-1=$(openssl rand -base64 32)` stores). */
function keyBytes(raw: Buffer): Buffer | undefined {
  if (raw.length === KeyBytes) return raw;
  const text = raw.toString('utf8').trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    const decoded = Buffer.from(text, 'base64');
    if (decoded.length === KeyBytes) return decoded;
  }
  return undefined;
}

/** An object read back for a conditional replace: its resourceVersion kept, the server's bookkeeping left out. */
const forReplace = (secret: k8s.V1Secret): k8s.V1Secret => {
  const { managedFields: _, ...metadata } = secret.metadata ?? {};
  return { ...secret, metadata };
};

export function kubernetesSnapshotKeys(config: k8s.KubeConfig, namespace: string): SnapshotKeyStore {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const where = `Secret ${namespace}/${KeyEncryptionKeySecret}`;

  const parseKeks = (secret: k8s.V1Secret): KekSet => {
    const keys: Kek[] = [];
    for (const [id, value] of Object.entries(secret.data ?? {})) {
      const version = kekEntry.exec(id)?.[1];
      if (version === undefined) continue;
      const key = keyBytes(fromBase64(value));
      if (!key) {
        throw new CairnError(
          SnapshotKeyError.KeyEncryptionKeyInvalid,
          ErrorCategory.Validation,
          `${where}: entry ${id} is not a 256-bit key (32 bytes, or their base64)`,
        );
      }
      keys.push({ id, version: Number(version), key });
    }
    const current = keys.reduce<Kek | undefined>((a, b) => (a && a.version > b.version ? a : b), undefined);
    if (!current) {
      throw new CairnError(
        SnapshotKeyError.KeyEncryptionKeyInvalid,
        ErrorCategory.Validation,
        `${where} has no entry kek-<n>: add one, e.g. kek-1 with the base64 of 32 random bytes`,
      );
    }
    return { keys, current, secret };
  };

  const readKeks = async (): Promise<KekSet | undefined> => {
    const secret = await readOptional(`reading ${where}`, () =>
      core.readNamespacedSecret({ name: KeyEncryptionKeySecret, namespace }),
    );
    return secret ? parseKeks(secret) : undefined;
  };

  const kekSecret = (keys: Record<string, Buffer>): k8s.V1Secret => ({
    metadata: { name: KeyEncryptionKeySecret, namespace, labels: ManagedBy },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(keys).map(([id, key]) => [id, key.toString('base64')])),
  });

  /** The key-encryption keys, created with a random first one when there are none yet. */
  const ensureKeks = async (): Promise<KekSet> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const found = await readKeks();
      if (found) return found;
      try {
        await core.createNamespacedSecret({ namespace, body: kekSecret({ 'kek-1': newKey() }) });
      } catch (error) {
        // Another replica made it first: read theirs.
        if (isConflict(error)) continue;
        const status = statusCode(error);
        if (status === 403 || status === 404) {
          throw new CairnError(
            SnapshotKeyError.KeyEncryptionKeyMissing,
            ErrorCategory.IllegalState,
            `snapshots need the key-encryption key ${where}, which does not exist, and Cairn cannot create it ` +
              `(${status === 403 ? 'forbidden' : `no namespace ${namespace}`}): create it with ` +
              `kubectl -n ${namespace} create secret generic ${KeyEncryptionKeySecret} ` +
              `--from-literal=kek-1="$(openssl rand -base64 32)"`,
            { cause: error },
          );
        }
        throw kubeFailure(error, `creating ${where}`);
      }
    }
    throw new CairnError(SnapshotKeyError.KeyEncryptionKeyMissing, ErrorCategory.Transient, `${where} keeps vanishing`);
  };

  const info = (secret: k8s.V1Secret): DataKeyInfo => {
    const annotations = secret.metadata?.annotations ?? {};
    const createdAt = secret.metadata?.creationTimestamp;
    return {
      secret: secret.metadata?.name ?? '',
      snapshotId: annotations[Annotations.snapshotId] ?? '',
      remediationId: annotations[Annotations.remediationId] ?? '',
      issueId: annotations[Annotations.issueId] ?? '',
      target: annotations[Annotations.target] ?? '',
      kek: fromBase64(secret.data?.kek).toString('utf8'),
      ...(createdAt ? { createdAt: new Date(createdAt).toISOString() } : {}),
    };
  };

  const wrapped = (snapshotId: string, dataKey: Buffer, kek: Kek) => ({
    wrapped: encrypt(kek.key, dataKey, wrapContext(snapshotId)).toString('base64'),
    kek: Buffer.from(kek.id, 'utf8').toString('base64'),
  });

  const unwrap = (secret: k8s.V1Secret, keks: KekSet): Buffer => {
    const { snapshotId, kek: kekId, secret: name } = info(secret);
    const kek = keks.keys.find((k) => k.id === kekId);
    if (!kek) {
      throw new CairnError(
        SnapshotKeyError.KeyEncryptionKeyGone,
        ErrorCategory.IllegalState,
        `the data key of snapshot ${snapshotId} (Secret ${namespace}/${name}) is wrapped by ${kekId}, which ${where} no longer holds`,
        { details: { snapshotId, kek: kekId } },
      );
    }
    try {
      return decrypt(kek.key, fromBase64(secret.data?.wrapped), wrapContext(snapshotId));
    } catch (error) {
      throw new CairnError(
        SnapshotKeyError.UnwrapFailed,
        ErrorCategory.Internal,
        `the data key of snapshot ${snapshotId} (Secret ${namespace}/${name}) does not unwrap with ${kekId}: the key or the Secret was altered`,
        { cause: error, details: { snapshotId } },
      );
    }
  };

  const readDataKeySecret = (snapshotId: string) =>
    readOptional(`reading the data key of snapshot ${snapshotId}`, () =>
      core.readNamespacedSecret({ name: dataKeySecretName(snapshotId), namespace }),
    );

  /** Wraps `dataKey` again under `kek`; the write is conditional on the version read. */
  const rewrap = async (secret: k8s.V1Secret, dataKey: Buffer, kek: Kek) => {
    const snapshotId = info(secret).snapshotId;
    await core.replaceNamespacedSecret({
      name: secret.metadata?.name ?? '',
      namespace,
      body: { ...forReplace(secret), data: { ...secret.data, ...wrapped(snapshotId, dataKey, kek) } },
    });
  };

  const listDataKeys = async () =>
    (
      await kube(`listing the snapshot data keys in ${namespace}`, () =>
        core.listNamespacedSecret({ namespace, labelSelector: `${DataKeyLabel}=${DataKeyLabelValue}` }),
      )
    ).items;

  return {
    async dataKeyFor({ snapshotId, remediationId, issueId, target }) {
      const keks = await ensureKeks();
      const name = dataKeySecretName(snapshotId);
      const doing = `storing the data key of snapshot ${snapshotId}`;
      const dataKey = newKey();
      const body: k8s.V1Secret = {
        metadata: {
          name,
          namespace,
          labels: { ...ManagedBy, [DataKeyLabel]: DataKeyLabelValue },
          annotations: {
            [Annotations.snapshotId]: snapshotId,
            [Annotations.remediationId]: remediationId,
            [Annotations.issueId]: issueId,
            [Annotations.target]: display(target),
          },
        },
        type: 'Opaque',
        data: wrapped(snapshotId, dataKey, keks.current),
      };
      let stored: k8s.V1Secret;
      try {
        stored = await core.createNamespacedSecret({ namespace, body });
      } catch (error) {
        if (!isConflict(error)) throw kubeFailure(error, doing);
        // The same snapshot taken again after a crash reuses its key. One wrapped by a key-encryption key that a
        // rotation has since removed belongs to a snapshot that was never recorded (a recorded one was
        // re-wrapped), so nothing needs it and it is replaced.
        const existing = await readDataKeySecret(snapshotId);
        if (existing && keks.keys.some((k) => k.id === info(existing).kek)) return unwrap(existing, keks);
        stored = await kube(doing, () =>
          existing
            ? core.replaceNamespacedSecret({
                name,
                namespace,
                body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } },
              })
            : core.createNamespacedSecret({ namespace, body }),
        );
      }
      // A rotation that began while this key was being wrapped may have listed the data keys before it existed:
      // wrap it again under the key that is current now, so removing the old one cannot strand it.
      const now = await readKeks();
      if (now && now.current.id !== keks.current.id) {
        await kube(`re-wrapping the data key of snapshot ${snapshotId}`, () => rewrap(stored, dataKey, now.current));
      }
      return dataKey;
    },

    async dataKey(snapshotId) {
      const secret = await readDataKeySecret(snapshotId);
      if (!secret) {
        throw new CairnError(
          SnapshotKeyError.Shredded,
          ErrorCategory.NotFound,
          `the data key of snapshot ${snapshotId} (Secret ${namespace}/${dataKeySecretName(snapshotId)}) was ` +
            'destroyed (crypto-shredded): the secret values captured before remediation cannot be restored',
          { details: { snapshotId, secret: dataKeySecretName(snapshotId) } },
        );
      }
      const keks = await readKeks();
      if (!keks) {
        throw new CairnError(
          SnapshotKeyError.KeyEncryptionKeyMissing,
          ErrorCategory.IllegalState,
          `${where} does not exist: the data key of snapshot ${snapshotId} cannot be unwrapped`,
        );
      }
      return unwrap(secret, keks);
    },

    async list() {
      return (await listDataKeys()).map(info);
    },

    async rotate() {
      const before = await readKeks();
      let keks: KekSet;
      if (before) {
        const next = `kek-${before.current.version + 1}`;
        const keys = Object.fromEntries(before.keys.map((k) => [k.id, k.key]));
        const body = kekSecret({ ...keys, [next]: newKey() });
        body.metadata = { ...forReplace(before.secret).metadata, ...body.metadata };
        try {
          keks = parseKeks(await core.replaceNamespacedSecret({ name: KeyEncryptionKeySecret, namespace, body }));
        } catch (error) {
          if (isConflict(error)) {
            throw new CairnError(
              SnapshotKeyError.RotationIncomplete,
              ErrorCategory.Conflict,
              `${where} changed while rotating (another rotation?): nothing was changed, run the rotation again`,
            );
          }
          throw kubeFailure(error, `adding ${next} to ${where}`);
        }
      } else {
        keks = await ensureKeks();
      }
      const old = (before?.keys ?? []).map((k) => k.id);
      let rewrapped = 0;
      const unreadable: string[] = [];
      const failed: string[] = [];
      for (const listed of await listDataKeys()) {
        let secret: k8s.V1Secret | undefined = listed;
        for (let attempt = 1; secret; attempt++) {
          const { kek, snapshotId } = info(secret);
          if (kek === keks.current.id) break;
          if (!old.includes(kek)) {
            unreadable.push(snapshotId);
            break;
          }
          try {
            await rewrap(secret, unwrap(secret, before as KekSet), keks.current);
            rewrapped++;
            break;
          } catch (error) {
            // Written meanwhile (a snapshot re-wrapping itself) or shredded: look again.
            if ((isConflict(error) || isNotFound(error)) && attempt < 5) {
              secret = await readDataKeySecret(snapshotId);
              continue;
            }
            failed.push(`${snapshotId}: ${error instanceof Error ? error.message : String(error)}`);
            break;
          }
        }
      }
      if (failed.length > 0) {
        throw new CairnError(
          SnapshotKeyError.RotationIncomplete,
          ErrorCategory.Transient,
          `${keks.current.id} is the key-encryption key now, but ${failed.length} data key(s) were not re-wrapped, ` +
            `so the older keys stay in ${where}; run the rotation again. ${failed.join('; ')}`,
        );
      }
      for (let attempt = 1; old.length > 0; attempt++) {
        const latest = await readKeks();
        if (!latest) break;
        const data = { ...latest.secret.data };
        for (const id of old) delete data[id];
        try {
          await core.replaceNamespacedSecret({
            name: KeyEncryptionKeySecret,
            namespace,
            body: { ...forReplace(latest.secret), data },
          });
          break;
        } catch (error) {
          if (isConflict(error) && attempt < 5) continue;
          throw kubeFailure(error, `removing ${old.join(', ')} from ${where}`);
        }
      }
      return { kek: keks.current.id, rewrapped, removed: old, unreadable };
    },

    async shred(id) {
      const matching = (await listDataKeys()).filter((secret) => {
        const { snapshotId, remediationId, issueId } = info(secret);
        return snapshotId === id || remediationId === id || issueId === id;
      });
      if (matching.length === 0) {
        throw new CairnError(
          SnapshotKeyError.NotFound,
          ErrorCategory.NotFound,
          `no snapshot data key for "${id}" in ${namespace}: it was shredded already, or its snapshot held no secret values`,
        );
      }
      const destroyed: DataKeyInfo[] = [];
      for (const secret of matching) {
        const name = secret.metadata?.name ?? '';
        await readOptional(`deleting Secret ${namespace}/${name}`, () =>
          core.deleteNamespacedSecret({ name, namespace }),
        );
        destroyed.push(info(secret));
      }
      return destroyed;
    },
  };
}
