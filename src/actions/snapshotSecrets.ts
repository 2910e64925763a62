import { REDACTED, redactSecrets } from '../analysis/redaction.ts';

/**
 * Which values of a snapshot are secret-bearing, and how a sealed one is written down. Pure: the sealing code
 * (snapshotSealing.ts) encrypts what this finds, and the RemediationPlan projection renders the same places as a
 * marker, so the two can never disagree about what counts as a secret.
 *
 * Secret-bearing: every env `value` (names are not a reliable hint: `DB_PASS`, `AWS_KEY`), every value of a
 * ConfigMap's or Secret's data, and the args, commands and annotations that redaction would change.
 */

/** The one key of an object that stands for an encrypted value. `$` cannot start a Kubernetes field or map key. */
export const SealedMarker = '$sealed';

export interface SealedValue {
  /** The id of the data key that encrypted it (the snapshot id). */
  readonly key: string;
  /** `hmac-sha256:<hex>`, keyed by the data key: equal values of one snapshot show equal hashes. */
  readonly hmac: string;
  /** base64 of IV, ciphertext and GCM tag. */
  readonly data: string;
}

export type Sealed = { readonly [SealedMarker]: SealedValue };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export const isSealed = (value: unknown): value is Sealed => {
  if (!isObject(value) || Object.keys(value).length !== 1) return false;
  const inner = value[SealedMarker];
  return (
    isObject(inner) && typeof inner.key === 'string' && typeof inner.hmac === 'string' && typeof inner.data === 'string'
  );
};

/** Kinds whose data maps hold configuration or credentials in every value, by captured path. */
const DataPaths: Readonly<Record<string, readonly string[]>> = {
  ConfigMap: ['data', 'binaryData'],
  Secret: ['data', 'stringData'],
};

const looksSecret = (text: string): boolean => redactSecrets(text) !== text;

/**
 * An args or command entry is secret-bearing by itself (`--password=x`) or as the value of the flag before it
 * (`--password`, `x`): redaction sees the pair as the command line would.
 */
const argIsSecret = (items: readonly unknown[], index: number): boolean => {
  const entry = items[index];
  if (typeof entry !== 'string' || entry.length === 0) return false;
  if (looksSecret(entry)) return true;
  const previous = items[index - 1];
  return (
    typeof previous === 'string' && redactSecrets(`${previous} ${entry}`) !== `${redactSecrets(previous)} ${entry}`
  );
};

type Replace = (value: string) => unknown;

const mapValues = (map: unknown, replace: Replace, when: (value: string) => boolean): unknown => {
  if (!isObject(map)) return map;
  const out: Json = {};
  for (const [key, value] of Object.entries(map)) {
    out[key] = typeof value === 'string' && value.length > 0 && when(value) ? replace(value) : value;
  }
  return out;
};

function walk(value: unknown, replace: Replace): unknown {
  if (Array.isArray(value)) return value.map((item) => walk(item, replace));
  if (!isObject(value) || isSealed(value)) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'env' && Array.isArray(item)) {
      out[key] = item.map((entry) =>
        isObject(entry) && typeof entry.value === 'string' && entry.value.length > 0
          ? { ...entry, value: replace(entry.value) }
          : entry,
      );
    } else if ((key === 'args' || key === 'command') && Array.isArray(item)) {
      out[key] = item.map((entry, index) => (argIsSecret(item, index) ? replace(entry as string) : entry));
    } else if (key === 'annotations' && isObject(item)) {
      out[key] = mapValues(item, replace, looksSecret);
    } else {
      out[key] = walk(item, replace);
    }
  }
  return out;
}

/** The captured fields of one object with every secret-bearing string replaced; sealed values are left alone. */
export function mapSecretValues(
  kind: string,
  fields: Readonly<Record<string, unknown>>,
  replace: Replace,
): Record<string, unknown> {
  const out: Json = {};
  for (const [path, value] of Object.entries(fields)) {
    out[path] = DataPaths[kind]?.includes(path) ? mapValues(value, replace, () => true) : walk(value, replace);
  }
  return out;
}

/** Every sealed value anywhere in `value` replaced, whatever the rules above say today. */
export function mapSealed(value: unknown, replace: (sealed: SealedValue) => unknown): unknown {
  if (isSealed(value)) return replace(value[SealedMarker]);
  if (Array.isArray(value)) return value.map((item) => mapSealed(item, replace));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) out[key] = mapSealed(item, replace);
  return out;
}

/** A captured object as snapshot.ts writes it; anything else in an old event is treated as plain fields. */
const asCaptured = (entry: unknown): { kind: string; fields: Json } | undefined =>
  isObject(entry) && typeof entry.kind === 'string' && isObject(entry.fields)
    ? { kind: entry.kind, fields: entry.fields }
    : undefined;

/** Applies `map` to the fields of each captured object, keeping everything else of it. */
export function mapCaptured(
  captured: Readonly<Record<string, unknown>>,
  map: (kind: string, fields: Json) => Json,
): Record<string, unknown> {
  const out: Json = {};
  for (const [key, entry] of Object.entries(captured)) {
    const object = asCaptured(entry);
    out[key] = object ? { ...(entry as Json), fields: map(object.kind, object.fields) } : entry;
  }
  return out;
}

export const sealedView = (sealed: SealedValue): string => `[sealed ${sealed.hmac}]`;

/**
 * What a CR status may show of a snapshot: a sealed value as its marker and keyed hash, never its ciphertext; a
 * plain secret-bearing value (a snapshot recorded before values were sealed) as `[REDACTED]`, with no hash, since
 * an unkeyed hash of a short password is as good as the password.
 */
export function redactedSnapshotView(captured: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const redacted = mapCaptured(captured, (kind, fields) => mapSecretValues(kind, fields, () => REDACTED));
  for (const [key, entry] of Object.entries(redacted)) {
    // An entry of an unknown shape is still searched for env, args and annotations.
    if (!asCaptured(entry)) redacted[key] = walk(entry, () => REDACTED);
  }
  return mapSealed(redacted, sealedView) as Record<string, unknown>;
}
