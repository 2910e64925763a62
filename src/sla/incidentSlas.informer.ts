import * as k8s from '@kubernetes/client-node';
import type { Severity } from '../../domain/events/common.schema.ts';
import type { MeasuringSla } from '../../domain/sla/sla.matching.ts';
import { ApiVersion } from '../../projections/kubernetesResources.projection.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { conditionTransitionTime, startSpecInformer } from '../adapters/kubernetes/specInformer.ts';
import type { SlaQueries } from './sla.queries.ts';
import { type SlaProblem, validateSla } from './sla.validation.ts';

const [GROUP, VERSION] = ApiVersion.split('/') as [string, string];
const PLURAL = 'incidentslas';
const FIELD_MANAGER = 'cairn-sla';

interface SlaObject {
  metadata?: {
    name?: string;
    namespace?: string;
    generation?: number;
    creationTimestamp?: string | Date;
    deletionTimestamp?: unknown;
  };
  spec?: { targets?: { severity?: string }[] };
  status?: Record<string, unknown> & {
    activeGeneration?: number;
    activeSpec?: unknown;
    conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime?: string }[];
  };
}

export interface IncidentSlas {
  /** The valid SLAs, once every one has been listed and judged. */
  current(): Promise<MeasuringSla[]>;
  /** Re-reads every known SLA and writes its status if it changed (compliance moves with time and events). */
  refresh(): void;
  stop(): Promise<void>;
}

export interface IncidentSlasOptions {
  readonly config: k8s.KubeConfig;
  /** SLAs here measure Issues of every namespace; elsewhere only of their own. */
  readonly operatorNamespace: string;
  readonly queries: SlaQueries;
  readonly now: () => Date;
  readonly onError?: (what: string, error: unknown) => void;
  readonly log?: (line: string) => void;
}

export interface ReadyCondition {
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** Ready, as it tells a person what Cairn does with their SLA. Pure. */
export function slaReadyCondition(
  outcome: { ok: true } | { ok: false; problem: SlaProblem },
  active: MeasuringSla | undefined,
): ReadyCondition {
  if (outcome.ok) return { status: 'True', reason: 'Valid', message: 'new Issues are measured by this generation' };
  const still = active
    ? `; new Issues are still measured by generation ${active.generation}`
    : '; no Issue is measured by this SLA until it is fixed';
  return {
    status: 'False',
    reason: 'InvalidSpec',
    message: `${outcome.problem.field}: ${outcome.problem.message}${still}`,
  };
}

/** JSON with object keys sorted at every depth: the API server hands objects back with its own key order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );

/**
 * The IncidentSLAs of the cluster, reconciled by key (re-reading the object, never the watch payload). A spec that
 * fails validation keeps its last valid generation measuring new Issues and says so in Ready, naming the field.
 * This is the only writer of an IncidentSLA's status: Ready, and the compliance read from the sla_clocks table.
 */
export function startIncidentSlas(options: IncidentSlasOptions): IncidentSlas {
  const custom = options.config.makeApiClient(k8s.CustomObjectsApi);
  const active = new Map<string, MeasuringSla>();
  /** The spec each active SLA was validated from, written back into its status as activeSpec. */
  const activeSpecs = new Map<string, unknown>();
  const known = new Set<string>();
  const objects = customResources(options.config, 'IncidentSLA', PLURAL);

  const reconcile = async (key: string) => {
    const [namespace, name] = key.split('/') as [string, string];
    const object = (await objects.get(namespace, name)) as SlaObject | undefined;
    if (!object || object.metadata?.deletionTimestamp) {
      known.delete(key);
      activeSpecs.delete(key);
      if (active.delete(key)) options.log?.(`incident SLA ${key} removed`);
      return;
    }
    known.add(key);
    const generation = object.metadata?.generation ?? 1;
    const created = object.metadata?.creationTimestamp;
    const createdAt = created === undefined ? new Date(0).toISOString() : new Date(created).toISOString();
    const outcome = validateSla({ namespace, name, generation, createdAt }, object.spec, options.operatorNamespace);
    if (outcome.ok) {
      active.set(key, outcome.sla);
      activeSpecs.set(key, object.spec);
    } else if (!active.has(key)) {
      // Started (or restarted) on an invalid spec: the status keeps the last valid one, which measures meanwhile.
      const kept = object.status?.activeSpec;
      const keptGeneration = object.status?.activeGeneration;
      if (kept !== undefined && typeof keptGeneration === 'number') {
        const previous = validateSla(
          { namespace, name, generation: keptGeneration, createdAt },
          kept,
          options.operatorNamespace,
        );
        if (previous.ok) {
          active.set(key, previous.sla);
          activeSpecs.set(key, kept);
        }
      }
    }
    const current = active.get(key);
    const ready = slaReadyCondition(outcome, current);
    const now = options.now().toISOString();
    const severities = current ? ([...current.targets.keys()] as Severity[]) : [];
    const violations = options.queries.violations({ namespace, name });
    const previous = object.status?.conditions?.find((c) => c.type === 'Ready');
    const status = {
      observedGeneration: generation,
      ...(current ? { activeGeneration: current.generation, activeSpec: activeSpecs.get(key) } : {}),
      compliance: options.queries.compliance({ namespace, name }, severities, now),
      activeViolations: violations.active,
      ...(violations.lastAt ? { lastViolationAt: violations.lastAt } : {}),
    };
    const { conditions: _c, ...previousRest } = object.status ?? {};
    const unchanged =
      previous !== undefined &&
      previous.status === ready.status &&
      previous.reason === ready.reason &&
      previous.message === ready.message &&
      canonical(previousRest) === canonical(status);
    // The same status written again would come back as a watch event, and round again.
    if (unchanged) return;
    if (!outcome.ok && previous?.message !== ready.message) options.log?.(`incident SLA ${key}: ${ready.message}`);
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: {
          apiVersion: ApiVersion,
          kind: 'IncidentSLA',
          metadata: { name, namespace },
          status: {
            ...status,
            conditions: [
              {
                type: 'Ready',
                ...ready,
                observedGeneration: generation,
                lastTransitionTime: conditionTransitionTime(previous, ready, now),
              },
            ],
          },
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
  };

  const informer = startSpecInformer({
    config: options.config,
    kind: 'IncidentSLA',
    plural: PLURAL,
    kindPlural: 'IncidentSLAs',
    describe: (key) => `incident SLA ${key}`,
    reconcile,
    ...(options.onError ? { onError: options.onError } : {}),
  });

  return {
    current: async () => {
      await informer.synced;
      return [...active.values()];
    },
    refresh: () => {
      for (const key of known) informer.refresh(key);
    },
    stop: async () => {
      await informer.stop();
    },
  };
}
