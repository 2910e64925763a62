import * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../../../domain/errors.ts';
import { createKeyRing, formatKeyFile, type KeyRing, parseKeyFile, readKeyFile, type StoredKey } from './apiKeys.ts';

/** The data entry of a Secret that holds the key file. */
export const SECRET_KEY_FILE_ENTRY = 'api-keys.json';

export interface KeySource {
  readonly describe: string;
  load(): Promise<StoredKey[]>;
}

export const fileKeySource = (path: string): KeySource => ({
  describe: `file ${path}`,
  load: async () => readKeyFile(path),
});

export const parseSecretRef = (ref: string): { namespace: string; name: string } => {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(ref);
  if (match === null) {
    throw new CairnError('apikey.bad_secret_ref', ErrorCategory.Validation, `"${ref}" is not <namespace>/<name>`);
  }
  return { namespace: match[1]!, name: match[3]! };
};

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

/** Keys in a Secret's `api-keys.json` entry, the same format as the file. An absent Secret holds no keys. */
export function secretKeySource(
  config: k8s.KubeConfig,
  ref: string,
): KeySource & {
  save(keys: readonly StoredKey[]): Promise<void>;
} {
  const { namespace, name } = parseSecretRef(ref);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const read = async () => {
    try {
      return await core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new CairnError('apikey.secret_unreadable', ErrorCategory.Transient, `cannot read Secret ${ref}`, {
        cause: error,
      });
    }
  };
  return {
    describe: `Secret ${ref}`,
    async load() {
      const secret = await read();
      const encoded = secret?.data?.[SECRET_KEY_FILE_ENTRY];
      if (encoded === undefined) return [];
      return parseKeyFile(Buffer.from(encoded, 'base64').toString('utf8'), `Secret ${ref} (${SECRET_KEY_FILE_ENTRY})`);
    },
    async save(keys) {
      const data = { [SECRET_KEY_FILE_ENTRY]: Buffer.from(formatKeyFile(keys)).toString('base64') };
      const existing = await read();
      if (existing === undefined) {
        await core.createNamespacedSecret({
          namespace,
          body: { metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'cairn' } }, data },
        });
        return;
      }
      // resourceVersion makes a concurrent change a conflict rather than a lost key.
      await core.replaceNamespacedSecret({
        namespace,
        name,
        body: { ...existing, data: { ...existing.data, ...data } },
      });
    },
  };
}

export interface ReloadingKeyRing {
  current(): KeyRing;
  /** Re-reads every source; on failure keeps the keys it had and reports why. */
  reload(): Promise<void>;
  stop(): void;
}

/**
 * The keys of all sources, re-read every `intervalMs` so a key created or revoked while Cairn runs takes effect
 * without a restart. The first load must succeed: starting with no idea of the keys would be failing open or shut
 * by accident.
 */
export async function loadKeyRing(
  sources: readonly KeySource[],
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): Promise<ReloadingKeyRing> {
  const loadAll = async () => createKeyRing((await Promise.all(sources.map((s) => s.load()))).flat());
  let ring = await loadAll();
  const reload = async () => {
    try {
      ring = await loadAll();
    } catch (error) {
      options.onError?.(error);
    }
  };
  const timer =
    options.intervalMs === undefined || sources.length === 0
      ? undefined
      : setInterval(() => void reload(), options.intervalMs);
  timer?.unref();
  return { current: () => ring, reload, stop: () => clearInterval(timer) };
}
