import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager, type ActionParams } from './action.ts';
import { display, illegalState, invalidParam, isConflict, kube, kubeFailure, missing } from './actionErrors.ts';
import { defineAction, optionalParam } from './actionParams.ts';
import {
  assertLimitNotBelowRequest,
  blameFor,
  mergedResources,
  pickContainer,
  type ResourceParam,
  ResourceParams,
  RestartedAtAnnotation,
  requestedResources,
} from './deployment.actions.ts';
import { PatchAs } from './patchOptions.ts';
import { compareQuantities } from './quantity.ts';
import { writtenByCairnSince } from './workloadPods.ts';

/**
 * What the StatefulSet, DaemonSet, Job and CronJob actions share: raw reads and patches (no typed model drops a
 * field on the way back), where each kind keeps its pod template, resource changes on that template, restarts
 * and rollbacks through ControllerRevisions.
 */

export const TemplateKinds = {
  StatefulSet: { group: 'apps', plural: 'statefulsets', template: ['spec', 'template'] },
  DaemonSet: { group: 'apps', plural: 'daemonsets', template: ['spec', 'template'] },
  Job: { group: 'batch', plural: 'jobs', template: ['spec', 'template'] },
  CronJob: { group: 'batch', plural: 'cronjobs', template: ['spec', 'jobTemplate', 'spec', 'template'] },
} as const;
export type TemplateKind = keyof typeof TemplateKinds;

/** The object as JSON, typed as the client's model (their field names match the JSON for these kinds). */
export type Raw<T> = T & { metadata: k8s.V1ObjectMeta };

const where = (kind: TemplateKind, target: ResourceRef) => ({
  group: TemplateKinds[kind].group,
  version: 'v1',
  plural: TemplateKinds[kind].plural,
  namespace: target.namespace,
  name: target.name,
});

export const readWorkload = async <T>(clients: ActionClients, kind: TemplateKind, target: ResourceRef) =>
  (await kube(`reading ${display(target)}`, () =>
    clients.custom.getNamespacedCustomObject(where(kind, target)),
  )) as Raw<T>;

export const patchWorkload = (
  clients: ActionClients,
  kind: TemplateKind,
  target: ResourceRef,
  body: object,
  as: (typeof PatchAs)[keyof typeof PatchAs] = PatchAs.merge,
) =>
  kube(`patching ${display(target)}`, () =>
    clients.custom.patchNamespacedCustomObject({ ...where(kind, target), body, fieldManager: ActionFieldManager }, as),
  );

/** Nests `leaf` under the kind's pod-template path, for a merge patch. */
export const atTemplate = (kind: TemplateKind, leaf: object): object =>
  [...TemplateKinds[kind].template].reverse().reduce<object>((inner, key) => ({ [key]: inner }), leaf);

export const templateOf = (kind: TemplateKind, object: object): k8s.V1PodTemplateSpec | undefined =>
  TemplateKinds[kind].template.reduce<unknown>(
    (node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
    object,
  ) as k8s.V1PodTemplateSpec | undefined;

/** A whole-number param that must be given. */
export const requiredInt = (value: number | undefined, name: string): number => {
  if (value === undefined) throw invalidParam(name, 'is required');
  return value;
};

/** An intstr as Kubernetes takes it: a whole number or a percentage. */
export const intOrPercentParam = (params: ActionParams, name: string): number | string | undefined => {
  const text = optionalParam(params, name);
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d+%$/.test(text) && Number(text.slice(0, -1)) <= 100) return text;
  throw invalidParam(name, `must be a whole number or a percentage up to 100%, got "${text}"`);
};

export const isZero = (value: number | string | undefined): boolean => value === 0 || value === '0%';

// --- AdjustResources on any pod template -----------------------------------------------------------------------

const resourceParamSpecs = {
  container: { description: 'the container to change; optional when the pod has only one' },
  memory_limit: { description: 'new memory limit, e.g. 512Mi' },
  memory_request: { description: 'new memory request, e.g. 256Mi' },
  cpu_limit: { description: 'new CPU limit, e.g. 500m' },
  cpu_request: { description: 'new CPU request, e.g. 250m' },
} as const;

export { resourceParamSpecs };

export const validateResources = (params: ActionParams): void => {
  const wanted = requestedResources(params);
  assertLimitNotBelowRequest(mergedResources({}, wanted), blameFor(wanted));
};

/** The requested values split into the limits and requests maps of a patch. */
const resourcePatch = (wanted: Partial<Record<ResourceParam, string>>) => {
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  for (const [name, value] of Object.entries(wanted) as [ResourceParam, string][]) {
    const { resource, field } = ResourceParams[name];
    (field === 'limits' ? limits : requests)[resource] = value;
  }
  return { limits, requests };
};

/**
 * The container the params name, its resources once changed (limit never below request), the strategic-merge
 * patch of the pod spec, and a one-line account of the change.
 */
export const resourceChange = (
  template: k8s.V1PodTemplateSpec | undefined,
  params: ActionParams,
  target: ResourceRef,
) => {
  const wanted = requestedResources(params);
  const container = pickContainer(template, params, target);
  assertLimitNotBelowRequest(mergedResources(container.resources, wanted), blameFor(wanted));
  const before = (name: ResourceParam) => {
    const { resource, field } = ResourceParams[name];
    return container.resources?.[field]?.[resource] ?? 'unset';
  };
  const changes = (Object.entries(wanted) as [ResourceParam, string][])
    .map(([name, value]) => `${name} ${before(name)} → ${value}`)
    .join(', ');
  return {
    container,
    podSpecPatch: { containers: [{ name: container.name, resources: resourcePatch(wanted) }] },
    summary: `set ${changes} on container ${container.name} of ${display(target)}`,
  };
};

export const hasResources = (
  template: k8s.V1PodTemplateSpec | undefined,
  params: ActionParams,
  target: ResourceRef,
): boolean => {
  const wanted = requestedResources(params);
  const container = pickContainer(template, params, target);
  return (Object.entries(wanted) as [ResourceParam, string][]).every(([name, value]) => {
    const { resource, field } = ResourceParams[name];
    const current = container.resources?.[field]?.[resource];
    return current !== undefined && compareQuantities(current, value) === 0;
  });
};

/** AdjustResources for a kind whose pod template may change in place (not a Job: its template is immutable). */
export const adjustTemplateResources = (
  type: string,
  kind: Exclude<TemplateKind, 'Job'>,
  describe: string,
  afterChange?: AfterChange,
) =>
  defineAction({
    type,
    targetKinds: [kind],
    destructive: false,
    describe,
    params: resourceParamSpecs,
    validate: validateResources,
    async execute({ clients, target, params }) {
      const object = await readWorkload<object>(clients, kind, target);
      const change = resourceChange(templateOf(kind, object), params, target);
      // Strategic merge: containers merge by name and resource maps by key, so nothing else is touched.
      await patchWorkload(clients, kind, target, atTemplate(kind, { spec: change.podSpecPatch }), PatchAs.strategic);
      const after = (await afterChange?.(clients, target)) ?? { note: '', touched: [] };
      return { detail: `${change.summary}${after.note}`, touched: [target, ...after.touched] };
    },
    async isDone({ clients, target, params }) {
      return hasResources(templateOf(kind, await readWorkload<object>(clients, kind, target)), params, target);
    },
  });

// --- Rolling restarts --------------------------------------------------------------------------------------------

interface RolloutSpec {
  readonly spec?: {
    readonly updateStrategy?: {
      readonly type?: string;
      readonly rollingUpdate?: { readonly partition?: number };
    };
  };
}

/** A template change replaces no pod under OnDelete: say so instead of reporting a restart that never happens. */
export const assertRollsOnChange = (object: RolloutSpec, target: ResourceRef, doing: string): void => {
  if (object.spec?.updateStrategy?.type === 'OnDelete') {
    throw illegalState(
      `${display(target)} uses the OnDelete update strategy, so ${doing} would replace no pod; ` +
        'switch it to RollingUpdate first or delete the pods one by one',
    );
  }
};

/**
 * Run after a template change, for what the kind's controller will not do by itself (a StatefulSet waiting on a
 * pod that never becomes ready); returns a note for the detail and the objects it touched.
 */
export type AfterChange = (
  clients: ActionClients,
  target: ResourceRef,
) => Promise<{ note: string; touched: readonly ResourceRef[] }>;

/** A rolling restart by changing the template, as kubectl rollout restart does for these kinds. */
export const restartTemplate = (
  type: string,
  kind: 'StatefulSet' | 'DaemonSet',
  describe: string,
  afterChange?: AfterChange,
) =>
  defineAction({
    type,
    targetKinds: [kind],
    destructive: false,
    describe,
    params: {},
    async execute({ clients, target }) {
      const object = await readWorkload<RolloutSpec>(clients, kind, target);
      assertRollsOnChange(object, target, 'a restart');
      const at = new Date().toISOString();
      await patchWorkload(
        clients,
        kind,
        target,
        atTemplate(kind, { metadata: { annotations: { [RestartedAtAnnotation]: at } } }),
      );
      const partition = object.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
      const note = partition > 0 ? `; partition ${partition} keeps the pods with a lower ordinal as they are` : '';
      const after = (await afterChange?.(clients, target)) ?? { note: '', touched: [] };
      return {
        detail: `rolling restart of ${display(target)} (${RestartedAtAnnotation}=${at})${note}${after.note}`,
        touched: [target, ...after.touched],
      };
    },
    async isDone({ clients, target, startedAt }) {
      const at = templateOf(kind, await readWorkload<object>(clients, kind, target))?.metadata?.annotations?.[
        RestartedAtAnnotation
      ];
      return at !== undefined && (startedAt === undefined || new Date(at) >= new Date(startedAt));
    },
  });

// --- Rollback through ControllerRevisions -----------------------------------------------------------------------

/** A ControllerRevision as stored: `data` is the patch that restores the owner's template. */
export interface RawRevision {
  readonly metadata?: {
    readonly name?: string;
    readonly ownerReferences?: readonly { readonly uid?: string; readonly controller?: boolean }[];
  };
  readonly revision?: number;
  readonly data?: { readonly spec?: { readonly template?: Record<string, unknown> } };
}

export const revisionTarget = (params: ActionParams): 'previous' | number => {
  const text = optionalParam(params, 'toRevision') ?? 'previous';
  if (text === 'previous') return text;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw invalidParam('toRevision', `must be previous or a revision number, got "${text}"`);
  }
  return Number(text);
};

/** The owner's ControllerRevisions, newest first: the newest is the revision the controller rolls out now. */
export async function controllerRevisions(clients: ActionClients, owner: Raw<object>): Promise<RawRevision[]> {
  const list = (await kube('listing ControllerRevisions', () =>
    clients.custom.listNamespacedCustomObject({
      group: 'apps',
      version: 'v1',
      plural: 'controllerrevisions',
      namespace: owner.metadata.namespace ?? '',
    }),
  )) as { items?: RawRevision[] };
  return (list.items ?? [])
    .filter((r) => r.metadata?.ownerReferences?.some((o) => o.controller && o.uid === owner.metadata.uid))
    .sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0));
}

export const chooseControllerRevision = (
  revisions: readonly RawRevision[],
  to: 'previous' | number,
  target: ResourceRef,
): RawRevision => {
  const available = revisions.map((r) => r.revision).join(', ');
  if (revisions.length === 0) throw missing('revision', `${display(target)} has no rollout history`);
  if (to === 'previous') {
    const previous = revisions[1];
    if (!previous)
      throw missing('revision', `${display(target)} has only one revision: there is nothing to go back to`);
    return previous;
  }
  const chosen = revisions.find((r) => r.revision === to);
  if (!chosen) throw missing('revision', `${display(target)} has no revision ${to} (it has ${available})`);
  return chosen;
};

/** The template a revision holds, as the owner's spec.template (without the patch directive). */
export const revisionTemplate = (revision: RawRevision): Record<string, unknown> => {
  const { $patch: _directive, ...template } = structuredClone(revision.data?.spec?.template ?? {}) as Record<
    string,
    unknown
  >;
  return template;
};

/**
 * Writes an older revision's template back, conditional on the object not having changed since it was read
 * (a concurrent write means choosing again). Returns the revision chosen, or undefined when it is the current one.
 */
export async function rollBackTemplate(
  clients: ActionClients,
  kind: 'StatefulSet' | 'DaemonSet',
  target: ResourceRef,
  to: 'previous' | number,
): Promise<{ chosen: RawRevision; current: boolean; left?: string }> {
  for (let attempt = 1; ; attempt++) {
    const object = await readWorkload<object>(clients, kind, target);
    const revisions = await controllerRevisions(clients, object);
    const chosen = chooseControllerRevision(revisions, to, target);
    if (chosen === revisions[0]) return { chosen, current: true };
    try {
      await clients.custom.patchNamespacedCustomObject(
        {
          ...where(kind, target),
          body: [
            { op: 'replace', path: '/metadata/resourceVersion', value: object.metadata.resourceVersion },
            { op: 'replace', path: '/spec/template', value: revisionTemplate(chosen) },
          ],
          fieldManager: ActionFieldManager,
        },
        PatchAs.json,
      );
      return {
        chosen,
        current: false,
        ...(revisions[0]?.metadata?.name ? { left: revisions[0].metadata.name } : {}),
      };
    } catch (error) {
      if (isConflict(error) && attempt < 3) continue;
      throw kubeFailure(error, `rolling back ${display(target)}`);
    }
  }
}

export const imagesOf = (template: { spec?: { containers?: readonly { image?: string }[] } } | undefined): string =>
  (template?.spec?.containers ?? []).map((c) => c.image).join(', ');

/** Going back twice would skip a revision, so any write of Cairn's since the start counts as done. */
export const rolledBackSince = async (
  clients: ActionClients,
  kind: TemplateKind,
  target: ResourceRef,
  startedAt: string | undefined,
): Promise<boolean> => writtenByCairnSince(await readWorkload<object>(clients, kind, target), startedAt);
