import type * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory, isCairnError } from '../../domain/errors.ts';
import { type CustomObject, customResources } from '../adapters/kubernetes/customResources.ts';
import { auditLogEntries } from '../application/auditChain.ts';
import { type Reactor, type ReactorCheckpoints, type RunningReactor, runReactor } from '../application/reactor.ts';
import type { AuditableEventStore } from '../ports/eventStore.ts';
import {
  type AuditEventMismatch,
  AuditedEventTypes,
  auditEventFor,
  type ChainEntry,
  checkAuditEvent,
  prunable,
  type Retention,
  RetentionDefaults,
} from './auditEvent.projection.ts';

export const auditEventResources = (config: k8s.KubeConfig) => customResources(config, 'AuditEvent', 'auditevents');

/**
 * Writes one AuditEvent per high-value event, in Cairn's namespace, once: the name comes from the chain, so a
 * repeat after a restart finds it (AlreadyExists) and is done. The API server refuses any later change of its spec.
 */
export function auditEventReactor(deps: {
  readonly store: AuditableEventStore;
  readonly resources: ReturnType<typeof auditEventResources>;
  readonly namespace: string;
  readonly retention: Retention;
  readonly now: () => Date;
}): Reactor {
  return {
    name: 'audit-events',
    filter: { eventTypes: AuditedEventTypes },
    async handle(event) {
      const [entry] = await deps.store.readAuditLog({ afterPosition: event.position - 1n, maxCount: 1 });
      if (entry === undefined || entry.position !== event.position) return;
      const object = auditEventFor(entry);
      if (object === undefined) return;
      // Replaying an old log must not recreate what retention already removed.
      const at = Date.parse(object.spec.occurredAt);
      if (Number.isFinite(at) && at < deps.now().getTime() - deps.retention.maxAgeSeconds * 1000) return;
      try {
        await deps.resources.create(deps.namespace, {
          metadata: { name: object.metadata.name, labels: object.metadata.labels },
          spec: object.spec as unknown as Record<string, unknown>,
        });
      } catch (error) {
        if (isCairnError(error) && error.category === ErrorCategory.Conflict) return;
        throw error;
      }
    },
    // An object the API server finds invalid stays invalid; everything else (unreachable, throttled) is retried.
    isPermanent: (error) => isCairnError(error) && error.category === ErrorCategory.Validation,
  };
}

const retained = (objects: readonly CustomObject[]) =>
  objects.map((o) => ({
    name: o.metadata.name,
    sequence: typeof o.spec?.sequence === 'number' ? o.spec.sequence : -1,
    occurredAt: typeof o.spec?.occurredAt === 'string' ? o.spec.occurredAt : (o.metadata.creationTimestamp ?? ''),
  }));

/** One retention pass: deletes what is beyond the count or the age; returns the names deleted. */
export async function pruneAuditEvents(deps: {
  readonly resources: ReturnType<typeof auditEventResources>;
  readonly namespace: string;
  readonly retention: Retention;
  readonly now: () => Date;
}): Promise<string[]> {
  const names = prunable(retained(await deps.resources.list(deps.namespace)), deps.retention, deps.now());
  const deleted: string[] = [];
  for (const name of names) if (await deps.resources.delete(deps.namespace, name)) deleted.push(name);
  return deleted;
}

export interface AuditEventsOptions {
  readonly config: k8s.KubeConfig;
  readonly store: AuditableEventStore;
  readonly checkpoints: ReactorCheckpoints;
  /** Cairn's namespace, where the AuditEvent objects live. */
  readonly namespace: string;
  readonly retention?: Partial<Retention>;
  /** How often retention runs; 60 s by default. */
  readonly pruneEveryMs?: number;
  /** Run retention once as it starts, when the projection has caught up (the default). */
  readonly pruneOnStart?: boolean;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface RunningAuditEvents {
  readonly reactor: RunningReactor;
  /** Runs retention now (also run on its own every `pruneEveryMs`). */
  prune(): Promise<string[]>;
  stop(): Promise<void>;
}

/** The AuditEvent capability, started by the leader: the projection and its retention. */
export function startAuditEvents(options: AuditEventsOptions): RunningAuditEvents {
  const now = options.now ?? (() => new Date());
  const onError = options.onError ?? (() => {});
  const retention: Retention = { ...RetentionDefaults, ...options.retention };
  const resources = auditEventResources(options.config);
  const reactor = runReactor(
    options.store,
    options.checkpoints,
    auditEventReactor({ store: options.store, resources, namespace: options.namespace, retention, now }),
    {
      onError: (error, event, willRetry) =>
        onError(
          `audit-events on ${event.type} at ${event.position}${willRetry ? ' (will retry)' : ' (skipped)'}`,
          error,
        ),
    },
  );
  reactor.done.catch((error) => onError('reactor audit-events stopped', error));
  const prune = async () => {
    const deleted = await pruneAuditEvents({ resources, namespace: options.namespace, retention, now });
    if (deleted.length > 0) options.log?.(`audit: retention deleted ${deleted.length} AuditEvent object(s)`);
    return deleted;
  };
  let running: Promise<unknown> = Promise.resolve();
  const pass = () => {
    running = prune().catch((error) => onError('AuditEvent retention', error));
  };
  // Once at start too, so an operator restarted more often than the period still keeps the bound; but only once the
  // projection has caught up, or its replay would write again what this pass deletes.
  let stopped = false;
  let waiting: NodeJS.Timeout | undefined;
  const passWhenCaughtUp = () => {
    waiting = undefined;
    reactor
      .progress()
      .then((p) => {
        if (stopped) return;
        if (p.live && p.behind === 0 && !p.behindAtLeast) pass();
        else waiting = setTimeout(passWhenCaughtUp, 1_000);
      })
      .catch((error) => onError('AuditEvent retention', error));
  };
  if (options.pruneOnStart !== false) passWhenCaughtUp();
  const timer = setInterval(pass, options.pruneEveryMs ?? 60_000);
  timer.unref();
  return {
    reactor,
    prune,
    stop: async () => {
      stopped = true;
      clearTimeout(waiting);
      clearInterval(timer);
      await running;
      await reactor.close();
    },
  };
}

export type AuditEventCheck =
  | { readonly ok: true; readonly objects: number }
  | { readonly ok: false; readonly objects: number; readonly mismatches: readonly AuditEventMismatch[] };

/**
 * `cairn audit verify` with a cluster: every AuditEvent object must be the projection of its chain entry. Objects
 * retention deleted are not missed (the chain is the full trail); an object nobody's chain holds is a mismatch.
 */
export async function checkAuditEventObjects(
  store: AuditableEventStore,
  objects: readonly CustomObject[],
): Promise<AuditEventCheck> {
  const wanted = new Map<number, CustomObject[]>();
  for (const o of objects) {
    const seq = typeof o.spec?.sequence === 'number' ? o.spec.sequence : Number.NaN;
    wanted.set(seq, [...(wanted.get(seq) ?? []), o]);
  }
  const chain = new Map<number, ChainEntry>();
  for await (const entry of auditLogEntries(store)) {
    if (entry.link === null) continue;
    const seq = Number(entry.link.seq);
    if (wanted.has(seq)) chain.set(seq, { link: entry.link, event: entry.event });
  }
  const mismatches: AuditEventMismatch[] = [];
  for (const [seq, list] of wanted) {
    for (const o of list) {
      const mismatch = checkAuditEvent(o.metadata.name, o.spec, chain.get(seq));
      if (mismatch) mismatches.push(mismatch);
    }
  }
  mismatches.sort((a, b) => (a.sequence ?? -1) - (b.sequence ?? -1) || a.name.localeCompare(b.name));
  return mismatches.length === 0
    ? { ok: true, objects: objects.length }
    : { ok: false, objects: objects.length, mismatches };
}

export const auditEventsMismatch = (check: Extract<AuditEventCheck, { ok: false }>, namespace: string) =>
  new CairnError(
    'audit.objects_mismatch',
    ErrorCategory.IllegalState,
    `${check.mismatches.length} of ${check.objects} AuditEvent object(s) in ${namespace} do not match the audit chain: ${check.mismatches
      .slice(0, 10)
      .map((m) => `${m.name}: ${m.reason}`)
      .join('; ')}${check.mismatches.length > 10 ? '; …' : ''}`,
    { details: { mismatches: check.mismatches.slice(0, 100) } },
  );
