import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import { mapCaptured, mapSealed, mapSecretValues, type Sealed, SealedMarker } from './snapshotSecrets.ts';

/**
 * Envelope encryption of a snapshot's secret-bearing values. Each snapshot has its own 256-bit data key; every
 * value is encrypted with AES-256-GCM under it and carries an HMAC-SHA256 keyed by a key derived from it. The data
 * key itself is stored wrapped by a key-encryption key, outside the event log, so destroying it makes the
 * ciphertext in the log unreadable for good (crypto-shredding) while every event stays where it is.
 */

export const KeyBytes = 32;
const IvBytes = 12;
const TagBytes = 16;
/** 128 bits of the HMAC: enough to tell values apart, and keyed, so guessing a short value needs the key. */
const HashHexChars = 32;

export const newKey = (): Buffer => randomBytes(KeyBytes);

export const SnapshotSealingError = {
  Corrupt: 'snapshot.sealed_value_corrupt',
  WrongKey: 'snapshot.key_mismatch',
} as const;

/** AES-256-GCM; the result is IV, ciphertext and tag in one buffer. `context` is bound as associated data. */
export function encrypt(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IvBytes);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TagBytes });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Throws when the key, the context or a single bit of the box is wrong. */
export function decrypt(key: Buffer, box: Buffer, context: string): Buffer {
  if (box.length < IvBytes + TagBytes) throw new Error('ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, IvBytes), { authTagLength: TagBytes });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(box.subarray(box.length - TagBytes));
  return Buffer.concat([decipher.update(box.subarray(IvBytes, box.length - TagBytes)), decipher.final()]);
}

const valueContext = (keyId: string) => `cairn snapshot value\u0000${keyId}`;

const hashKey = (dataKey: Buffer): Buffer =>
  Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'cairn snapshot value hash', KeyBytes));

const keyedHash = (hmacKey: Buffer, value: string): string =>
  `hmac-sha256:${createHmac('sha256', hmacKey).update(value, 'utf8').digest('hex').slice(0, HashHexChars)}`;

/** How many secret-bearing values the snapshot holds in the clear: none means no data key is needed. */
export function countSecretValues(captured: Readonly<Record<string, unknown>>): number {
  let count = 0;
  mapCaptured(captured, (kind, fields) =>
    mapSecretValues(kind, fields, (value) => {
      count++;
      return value;
    }),
  );
  return count;
}

/** The snapshot with every secret-bearing value replaced by its sealed form under `dataKey`. */
export function sealCaptured(
  captured: Readonly<Record<string, unknown>>,
  keyId: string,
  dataKey: Buffer,
): Record<string, unknown> {
  const hmacKey = hashKey(dataKey);
  const context = valueContext(keyId);
  return mapCaptured(captured, (kind, fields) =>
    mapSecretValues(
      kind,
      fields,
      (value): Sealed => ({
        [SealedMarker]: {
          key: keyId,
          hmac: keyedHash(hmacKey, value),
          data: encrypt(dataKey, Buffer.from(value, 'utf8'), context).toString('base64'),
        },
      }),
    ),
  );
}

/** The ids of the data keys a snapshot's sealed values need, in order of first use. */
export function sealedKeyIds(captured: Readonly<Record<string, unknown>>): string[] {
  const ids = new Set<string>();
  mapSealed(captured, (sealed) => ids.add(sealed.key));
  return [...ids];
}

/**
 * The snapshot as it was captured: every sealed value decrypted, and checked against its hash. `keys` must hold
 * every id `sealedKeyIds` returns. A snapshot without sealed values (one recorded before sealing existed) comes
 * back unchanged.
 */
export function unsealCaptured(
  captured: Readonly<Record<string, unknown>>,
  keys: ReadonlyMap<string, Buffer>,
): Record<string, unknown> {
  const hmacKeys = new Map([...keys].map(([id, key]) => [id, hashKey(key)]));
  return mapSealed(captured, (sealed) => {
    const key = keys.get(sealed.key);
    const hmacKey = hmacKeys.get(sealed.key);
    if (!key || !hmacKey) {
      throw new CairnError(SnapshotSealingError.WrongKey, ErrorCategory.Internal, `no data key ${sealed.key} given`);
    }
    let value: string;
    try {
      value = decrypt(key, Buffer.from(sealed.data, 'base64'), valueContext(sealed.key)).toString('utf8');
    } catch (error) {
      throw new CairnError(
        SnapshotSealingError.Corrupt,
        ErrorCategory.Internal,
        `a value sealed under data key ${sealed.key} does not decrypt: the event or the key was altered`,
        { cause: error },
      );
    }
    const expected = Buffer.from(sealed.hmac);
    const actual = Buffer.from(keyedHash(hmacKey, value));
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw new CairnError(
        SnapshotSealingError.Corrupt,
        ErrorCategory.Internal,
        `a value sealed under data key ${sealed.key} does not match its hash ${sealed.hmac}`,
      );
    }
    return value;
  }) as Record<string, unknown>;
}
