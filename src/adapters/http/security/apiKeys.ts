import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CairnError, ErrorCategory } from '../../../../domain/errors.ts';

/** Roles are ordered: each one may do what the roles below it may. */
export const Role = { Viewer: 'viewer', Operator: 'operator', Admin: 'admin' } as const;
export type Role = (typeof Role)[keyof typeof Role];
export const roles: readonly Role[] = [Role.Viewer, Role.Operator, Role.Admin];
const rank: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };
export const isRole = (value: unknown): value is Role => typeof value === 'string' && value in rank;
export const roleAllows = (held: Role, needed: Role): boolean => rank[held] >= rank[needed];

/** Who is calling, once a key has been checked. `actor` is what the audit trail records. */
export interface Identity {
  readonly keyId: string;
  readonly name: string;
  readonly role: Role;
  readonly actor: string;
  /** The namespaces the key may raise signals in; absent, every namespace and the cluster-scoped objects. */
  readonly namespaces?: readonly string[];
  /** Approver groups (ApprovalPolicy `groups`): a rule naming groups counts only keys in one of them. */
  readonly groups?: readonly string[];
}

const KEY_NAME = '^[a-z0-9]([-a-z0-9._@]*[a-z0-9])?$';
const NAMESPACE = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const MAX_NAMESPACES = 256;
const GROUP = '^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$';
const MAX_GROUPS = 32;

/**
 * Whether a key may raise a signal on an object of `namespace` ('' for a cluster-scoped one, a Node). A scoped key
 * reaches its namespaces only, never a cluster-scoped object; an unscoped key reaches everything.
 */
export const keyReaches = (identity: Pick<Identity, 'namespaces'>, namespace: string): boolean =>
  identity.namespaces === undefined || (namespace !== '' && identity.namespaces.includes(namespace));

/** How a key's reach reads in messages and listings. */
export const describeReach = (identity: Pick<Identity, 'namespaces'>): string =>
  identity.namespaces === undefined ? 'every namespace' : `namespaces ${identity.namespaces.join(', ')}`;

/**
 * A stored key: never the key itself, only its SHA-256. A key is 32 random bytes, so a fast hash is enough: there
 * is no dictionary to try against it, unlike a password.
 */
export const StoredKeySchema = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{12}$' }),
    name: Type.String({ minLength: 1, maxLength: 63, pattern: KEY_NAME }),
    role: Type.Union(roles.map((r) => Type.Literal(r))),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    createdAt: Type.String(),
    // Beside the hash, not in it: whoever can edit this file can add keys anyway.
    namespaces: Type.Optional(
      Type.Array(Type.String({ maxLength: 63, pattern: NAMESPACE }), {
        minItems: 1,
        maxItems: MAX_NAMESPACES,
        uniqueItems: true,
      }),
    ),
    groups: Type.Optional(
      Type.Array(Type.String({ maxLength: 63, pattern: GROUP }), {
        minItems: 1,
        maxItems: MAX_GROUPS,
        uniqueItems: true,
      }),
    ),
  },
  { additionalProperties: false },
);
export interface StoredKey {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly sha256: string;
  readonly createdAt: string;
  readonly namespaces?: readonly string[];
  readonly groups?: readonly string[];
}

export const KeyFileSchema = Type.Object({ keys: Type.Array(StoredKeySchema) }, { additionalProperties: false });
const keyFileCheck = TypeCompiler.Compile(KeyFileSchema);

const KEY_PATTERN = /^cairn_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export const isKeyName = (name: string) => new RegExp(KEY_NAME).test(name) && name.length <= 63;

/**
 * A new key and what to store of it. The key is shown once; only `stored` is kept. With `namespaces`, the key may
 * raise signals (anomalies, alerts) only on objects of those namespaces.
 */
export function generateKey(
  name: string,
  role: Role,
  now: Date = new Date(),
  namespaces?: readonly string[],
  groups?: readonly string[],
): { readonly key: string; readonly stored: StoredKey } {
  if (!isKeyName(name)) {
    throw new CairnError(
      'apikey.invalid_name',
      ErrorCategory.Validation,
      `key name "${name}" must be lower-case letters, digits, '-', '.', '_' or '@' (at most 63)`,
    );
  }
  const scope = namespaces === undefined ? undefined : [...new Set(namespaces)];
  if (scope !== undefined) {
    const bad = scope.find((n) => n.length > 63 || !new RegExp(NAMESPACE).test(n));
    if (scope.length === 0 || scope.length > MAX_NAMESPACES || bad !== undefined) {
      throw new CairnError(
        'apikey.invalid_namespaces',
        ErrorCategory.Validation,
        bad === undefined
          ? `a scoped key names 1 to ${MAX_NAMESPACES} namespaces, got ${scope.length}`
          : `"${bad}" is not a namespace name`,
      );
    }
  }
  const teams = groups === undefined ? undefined : [...new Set(groups)];
  if (teams !== undefined) {
    const bad = teams.find((g) => g.length > 63 || !new RegExp(GROUP).test(g));
    if (teams.length === 0 || teams.length > MAX_GROUPS || bad !== undefined) {
      throw new CairnError(
        'apikey.invalid_groups',
        ErrorCategory.Validation,
        bad === undefined
          ? `a key belongs to 1 to ${MAX_GROUPS} groups, got ${teams.length}`
          : `"${bad}" is not a group name (lower-case letters, digits, '-', '.', '_'; at most 63)`,
      );
    }
  }
  const id = randomBytes(6).toString('hex');
  const key = `cairn_${id}_${randomBytes(32).toString('base64url')}`;
  return {
    key,
    stored: {
      id,
      name,
      role,
      sha256: hashKey(key),
      createdAt: now.toISOString(),
      ...(scope === undefined ? {} : { namespaces: scope }),
      ...(teams === undefined ? {} : { groups: teams }),
    },
  };
}

/** Checks presented keys against the stored hashes, in constant time per candidate. */
export interface KeyRing {
  readonly size: number;
  verify(presented: string): Identity | undefined;
  list(): readonly StoredKey[];
}

export function createKeyRing(keys: readonly StoredKey[]): KeyRing {
  const byId = new Map(keys.map((k) => [k.id, k]));
  return {
    size: keys.length,
    verify(presented) {
      const match = KEY_PATTERN.exec(presented);
      if (match === null) return undefined;
      const stored = byId.get(match[1]!);
      if (stored === undefined) return undefined;
      const expected = Buffer.from(stored.sha256, 'hex');
      const actual = Buffer.from(hashKey(presented), 'hex');
      if (!timingSafeEqual(expected, actual)) return undefined;
      return {
        keyId: stored.id,
        name: stored.name,
        role: stored.role,
        actor: `key:${stored.name}`,
        ...(stored.namespaces === undefined ? {} : { namespaces: stored.namespaces }),
        ...(stored.groups === undefined ? {} : { groups: stored.groups }),
      };
    },
    list: () => [...byId.values()],
  };
}

/** Parses a key file's text (JSON `{ "keys": [...] }`); a malformed file is an error, never an empty ring. */
export function parseKeyFile(text: string, origin: string): StoredKey[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CairnError('apikey.file_invalid', ErrorCategory.Validation, `${origin} is not JSON`, { cause });
  }
  if (!keyFileCheck.Check(value)) {
    const first = [...keyFileCheck.Errors(value)][0];
    throw new CairnError(
      'apikey.file_invalid',
      ErrorCategory.Validation,
      `${origin} is not a Cairn key file: ${first ? `${first.path || '/'} ${first.message}` : 'invalid'}`,
    );
  }
  const keys = value.keys as StoredKey[];
  const names = new Set<string>();
  for (const key of keys) {
    if (names.has(key.name)) {
      throw new CairnError('apikey.file_invalid', ErrorCategory.Validation, `${origin} names key ${key.name} twice`);
    }
    names.add(key.name);
  }
  return keys;
}

export function readKeyFile(path: string): StoredKey[] {
  if (!existsSync(path)) return [];
  return parseKeyFile(readFileSync(path, 'utf8'), path);
}

export const formatKeyFile = (keys: readonly StoredKey[]): string => `${JSON.stringify({ keys }, null, 2)}\n`;

/** Writes the file readable by its owner only, through a rename so a reader never sees half a file. */
export function writeKeyFile(path: string, keys: readonly StoredKey[]): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, formatKeyFile(keys), { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** Adds a key to a file's keys; a name already in use is refused, so a key is never replaced by accident. */
export function addKey(keys: readonly StoredKey[], stored: StoredKey): StoredKey[] {
  if (keys.some((k) => k.name === stored.name)) {
    throw new CairnError(
      'apikey.name_taken',
      ErrorCategory.Conflict,
      `a key named ${stored.name} exists; revoke it first or choose another name`,
    );
  }
  return [...keys, stored];
}
