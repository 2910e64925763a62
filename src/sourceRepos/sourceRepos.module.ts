import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseEventStoreUrl } from '../adapters/eventstore/eventStore.factory.ts';
import { apiGroup, apiVersion } from '../adapters/kubernetes/api/kindDefinition.ts';
import type { SourceRepositoryStatus } from '../adapters/kubernetes/api/sourceRepository.kind.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { conditionTransitionTime } from '../adapters/kubernetes/specInformer.ts';
import { redactSecrets } from '../analysis/redaction.ts';
import { createKeyedQueue } from '../application/keyedQueue.ts';
import { type GitCredentials, GitSyncError, type HeadCommit, mirrorPath, SyncFailure, syncMirror } from './git.ts';
import { type RepositorySpec, repositorySpec } from './sourceRepository.spec.ts';

const PLURAL = 'sourcerepositories';
const FIELD_MANAGER = 'cairn-source-repositories';

/**
 * Where mirrors are kept unless the operator is told otherwise (`--source-repository-cache`): beside a sqlite event
 * store (the chart's data volume), or in ./cairn-data for other stores, as the read model is.
 */
export function defaultRepositoryCache(storeUrl: string): string {
  const { kind, target } = parseEventStoreUrl(storeUrl);
  return kind === 'sqlite' && target !== ':memory:'
    ? join(dirname(target), 'source-repositories')
    : join('cairn-data', 'source-repositories');
}

export interface SourceRepositoryOptions {
  readonly config: k8s.KubeConfig;
  /** The directory the bare mirrors are kept in. */
  readonly cacheDir: string;
  /** Only repositories in these namespaces (the operator's watched ones); all when absent. */
  readonly namespaces?: readonly string[];
  readonly now?: () => Date;
  /** The shortest interval between fetches whatever a spec asks; 10 s by default. */
  readonly minIntervalMs?: number;
  /** Per clone or fetch; 120 s by default. */
  readonly gitTimeoutMs?: number;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface RunningSourceRepositories {
  stop(): Promise<void>;
}

interface RepositoryObject {
  metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: unknown };
  spec?: unknown;
  status?: SourceRepositoryStatus;
}

type Condition = { status: 'True' | 'False'; reason: string; message: string };

/**
 * Reads the credentials the spec names from its Secret. Only the values git needs are kept; a missing Secret or
 * key is a SyncFailure naming the Secret and key, never a value.
 */
export async function readCredentials(
  core: k8s.CoreV1Api,
  namespace: string,
  auth: RepositorySpec['auth'],
): Promise<GitCredentials> {
  if (auth.type === 'none' || auth.secret === undefined) return { type: 'none' };
  let secret: k8s.V1Secret;
  try {
    secret = await core.readNamespacedSecret({ namespace, name: auth.secret });
  } catch (error) {
    const code = (error as { code?: number }).code;
    throw new GitSyncError(
      SyncFailure.SecretUnreadable,
      code === 404
        ? `Secret ${namespace}/${auth.secret} does not exist`
        : `Secret ${namespace}/${auth.secret} could not be read${code ? ` (HTTP ${code})` : ''}`,
    );
  }
  const value = (key: string) => {
    const data = secret.data?.[key];
    return data === undefined ? secret.stringData?.[key] : Buffer.from(data, 'base64').toString('utf8');
  };
  const need = (key: string) => {
    const v = value(key);
    if (!v)
      throw new GitSyncError(SyncFailure.SecretUnreadable, `Secret ${namespace}/${auth.secret} has no key ${key}`);
    return v;
  };
  switch (auth.type) {
    case 'token':
      return { type: 'token', username: value('username') || 'x-access-token', password: need('token') };
    case 'basic':
      return { type: 'basic', username: need('username'), password: need('password') };
    case 'bearer': {
      const token = need('token');
      // A line break would end the header and start another: refused, and the value never named.
      if (/[\r\n]/.test(token.trim()))
        throw new GitSyncError(
          SyncFailure.SecretUnreadable,
          `Secret ${namespace}/${auth.secret} key token has a line break`,
        );
      return { type: 'bearer', token: token.trim() };
    }
    case 'ssh': {
      const knownHosts = value('known_hosts');
      return { type: 'ssh', privateKey: need('ssh-privatekey'), ...(knownHosts ? { knownHosts } : {}) };
    }
  }
}

/**
 * SourceRepositories, wired as one capability: each is mirrored (a bare clone under the cache directory) and
 * fetched every `spec.syncInterval`, and its status (ready, last sync, head commit, and a Ready condition that says
 * why a clone or fetch failed) is written by this module alone. A repository that cannot be fetched keeps its last
 * mirror, which the `commits` enricher still reads; one that was never fetched is simply absent from analyses.
 * Leader only.
 */
export function startSourceRepositories(options: SourceRepositoryOptions): RunningSourceRepositories {
  const now = options.now ?? (() => new Date());
  const minIntervalMs = options.minIntervalMs ?? 10_000;
  const onError = options.onError ?? (() => {});
  const custom = options.config.makeApiClient(k8s.CustomObjectsApi);
  const core = options.config.makeApiClient(k8s.CoreV1Api);
  const objects = customResources(options.config, 'SourceRepository', PLURAL);
  /** The generation last handled, so the watch event of our own status write does not fetch again. */
  const handled = new Map<string, number>();
  const written = new Map<string, string>();
  let stopped = false;

  const writeStatus = async (
    key: string,
    object: RepositoryObject,
    status: SourceRepositoryStatus,
    ready: Condition,
  ) => {
    const [namespace, name] = key.split('/') as [string, string];
    const generation = object.metadata?.generation ?? 1;
    const previous = object.status?.conditions?.find((c) => c.type === 'Ready');
    const body = {
      ...status,
      observedGeneration: generation,
      conditions: [
        {
          type: 'Ready',
          ...ready,
          // Git's own words were redacted when read; the rest is Cairn's (a Secret's name is no secret).
          message: ready.message.slice(0, 2_000),
          observedGeneration: generation,
          lastTransitionTime: conditionTransitionTime(previous, ready, now().toISOString()),
        },
      ],
    };
    const fingerprint = JSON.stringify(body);
    if (written.get(key) === fingerprint) return;
    await objects.applyStatus(namespace, name, body, FIELD_MANAGER);
    written.set(key, fingerprint);
  };

  /** A deleted repository's mirrors go too (one per URL it had). */
  const forget = async (namespace: string, name: string) => {
    const dir = join(options.cacheDir, namespace);
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const entry of entries) {
      if (/^.+-[0-9a-f]{12}\.git$/.test(entry) && entry.slice(0, -17) === name) {
        await rm(join(dir, entry), { recursive: true, force: true });
      }
    }
  };

  const step = async (key: string) => {
    if (stopped) return;
    const [namespace, name] = key.split('/') as [string, string];
    if (options.namespaces !== undefined && !options.namespaces.includes(namespace)) return;
    const object = (await objects.get(namespace, name)) as RepositoryObject | undefined;
    if (object === undefined || object.metadata?.deletionTimestamp !== undefined) {
      handled.delete(key);
      written.delete(key);
      await forget(namespace, name);
      return;
    }
    handled.set(key, object.metadata?.generation ?? 1);
    const parsed = repositorySpec(object.spec);
    const previous = object.status ?? {};
    const kept = {
      ...(previous.lastSyncedAt ? { lastSyncedAt: previous.lastSyncedAt } : {}),
      ...(previous.headCommit ? { headCommit: previous.headCommit } : {}),
    };
    if (!parsed.ok) {
      // The last valid version's mirror stays; nothing is fetched until the spec is fixed.
      await writeStatus(
        key,
        object,
        { ...kept, ready: false },
        {
          status: 'False',
          reason: SyncFailure.InvalidSpec,
          message: `${parsed.field}: ${parsed.message}`,
        },
      );
      return;
    }
    const spec = parsed.spec;
    const attemptedAt = now().toISOString();
    let head: HeadCommit | undefined;
    let failure: GitSyncError | undefined;
    try {
      const credentials = await readCredentials(core, namespace, spec.auth);
      head = await syncMirror({
        dir: mirrorPath(options.cacheDir, namespace, name, spec.url),
        url: spec.url,
        branch: spec.branch,
        credentials,
        ...(options.gitTimeoutMs ? { timeoutMs: options.gitTimeoutMs } : {}),
      });
    } catch (error) {
      if (!(error instanceof GitSyncError)) throw error;
      failure = error;
    }
    if (stopped) return;
    if (head !== undefined) {
      const message = head.message?.split('\n')[0];
      await writeStatus(
        key,
        object,
        {
          ready: true,
          lastSyncedAt: now().toISOString(),
          lastAttemptedAt: attemptedAt,
          headCommit: {
            sha: head.sha,
            ...(head.author ? { author: head.author.slice(0, 253) } : {}),
            ...(message ? { message: redactSecrets(message).slice(0, 4_096) } : {}),
            ...(head.at ? { at: new Date(head.at).toISOString() } : {}),
          },
        },
        { status: 'True', reason: 'Synced', message: `fetched ${spec.branch} at ${head.sha.slice(0, 12)}` },
      );
    } else if (failure !== undefined) {
      options.log?.(`source repository ${key}: ${failure.reason}: ${failure.message}`);
      await writeStatus(
        key,
        object,
        { ...kept, ready: false, lastAttemptedAt: attemptedAt },
        { status: 'False', reason: failure.reason, message: failure.message },
      );
    }
    queue.addAfter(key, Math.max(minIntervalMs, spec.syncIntervalMs));
  };

  const queue = createKeyedQueue(step, {
    concurrency: 2,
    onError: (key, error, attempt) => onError(`source repository ${key} (attempt ${attempt})`, error),
  });

  const informer = k8s.makeInformer<k8s.KubernetesObject>(
    options.config,
    `/apis/${apiGroup}/${apiVersion}/${PLURAL}`,
    () =>
      custom.listClusterCustomObject({ group: apiGroup, version: apiVersion, plural: PLURAL }) as Promise<
        k8s.KubernetesListObject<k8s.KubernetesObject>
      >,
  );
  const keyOf = (o: k8s.KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  informer.on(k8s.ADD, (o) => queue.add(keyOf(o)));
  // A status write comes back as an update of the same generation: only a spec change fetches at once.
  informer.on(k8s.UPDATE, (o) => {
    if (handled.get(keyOf(o)) !== o.metadata?.generation) queue.add(keyOf(o));
  });
  informer.on(k8s.DELETE, (o) => queue.add(keyOf(o)));
  let restart: NodeJS.Timeout | undefined;
  informer.on(k8s.ERROR, (error) => {
    if (stopped) return;
    onError('watch SourceRepository', error);
    clearTimeout(restart);
    restart = setTimeout(() => void informer.start().catch((e) => onError('watch SourceRepository', e)), 2_000);
  });
  const informerStarted = informer.start().catch((error) => onError('watch SourceRepository', error));

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(restart);
      await informerStarted;
      await informer.stop();
      await queue.stop();
    },
  };
}
