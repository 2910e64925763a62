import type * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager, type ActionParams, AnyKind } from './action.ts';
import { ActionErrorCode, illegalState, invalidParam, kube, missing, readOptional, unsafe } from './actionErrors.ts';
import { defineAction, optionalParam, present, requiredName, requiredParam } from './actionParams.ts';
import { PatchAs } from './patchOptions.ts';

/** ConfigMap and Secret keys: what the API server accepts, and nothing that could be read as a path. */
const dataKey = /^[-._a-zA-Z0-9]{1,253}$/;

const keyParam = (params: ActionParams, name: string): string => {
  const key = requiredParam(params, name);
  if (!dataKey.test(key) || key === '.' || key === '..') throw invalidParam(name, `"${key}" is not a valid data key`);
  return key;
};

const readConfigMap = async (clients: ActionClients, namespace: string, name: string) => {
  const map = await readOptional(`reading ConfigMap ${namespace}/${name}`, () =>
    clients.core.readNamespacedConfigMap({ name, namespace }),
  );
  if (!map) throw missing('configmap', `there is no ConfigMap ${namespace}/${name}`);
  return map;
};

export const patchConfig = defineAction({
  type: 'PatchConfig',
  targetKinds: [AnyKind],
  destructive: false,
  describe:
    'Sets one key of a ConfigMap in the target namespace. Pods that read it as env pick it up only when restarted.',
  params: {
    configmap: { description: 'the ConfigMap', required: true },
    key: { description: 'the data key', required: true },
    value: { description: 'the new value (may be empty)' },
  },
  validate(params) {
    requiredName(params, 'configmap');
    keyParam(params, 'key');
    if (!Object.hasOwn(params, 'value')) throw invalidParam('value', 'is required (an empty string is allowed)');
  },
  async execute({ clients, target, params }) {
    const name = requiredName(params, 'configmap');
    const key = keyParam(params, 'key');
    const value = params.value ?? '';
    const map = await readConfigMap(clients, target.namespace, name);
    if (map.immutable) throw illegalState(`ConfigMap ${target.namespace}/${name} is immutable`);
    const before = map.data?.[key];
    await kube(`patching ConfigMap ${target.namespace}/${name}`, () =>
      clients.core.patchNamespacedConfigMap(
        { name, namespace: target.namespace, body: { data: { [key]: value } }, fieldManager: ActionFieldManager },
        PatchAs.merge,
      ),
    );
    const change = before === undefined ? `added ${key}` : `changed ${key} from "${before}" to "${value}"`;
    return {
      detail: `ConfigMap ${target.namespace}/${name}: ${change}`,
      touched: [{ kind: 'ConfigMap', name, namespace: target.namespace }],
    };
  },
  async isDone({ clients, target, params }) {
    const map = await readConfigMap(clients, target.namespace, requiredName(params, 'configmap'));
    return map.data?.[keyParam(params, 'key')] === (params.value ?? '');
  },
});

// --- RotateSecret ----------------------------------------------------------------------------------------------

/** Writing these would break the cluster's own machinery rather than rotate an application credential. */
const ProtectedSecretTypes = new Set([
  'kubernetes.io/service-account-token',
  'bootstrap.kubernetes.io/token',
  'helm.sh/release.v1',
]);

const rotation = (params: ActionParams) => {
  const secret = requiredName(params, 'secret');
  const source = optionalParam(params, 'sourceSecret');
  if (source !== undefined) {
    const sourceSecret = requiredName(params, 'sourceSecret');
    if (present(params, 'value')) throw invalidParam('value', 'give either sourceSecret or key=value, not both');
    if (sourceSecret === secret) throw invalidParam('sourceSecret', 'is the secret itself');
    const key = present(params, 'key') ? keyParam(params, 'key') : undefined;
    return { secret, from: 'source' as const, sourceSecret, key };
  }
  const key = keyParam(params, 'key');
  if (!present(params, 'value')) throw invalidParam('value', 'is required with key (or give sourceSecret)');
  return { secret, from: 'value' as const, key, value: params.value ?? '' };
};

const readSecret = async (clients: ActionClients, namespace: string, name: string, param: string) => {
  const secret = await readOptional(`reading Secret ${namespace}/${name}`, () =>
    clients.core.readNamespacedSecret({ name, namespace }),
  );
  if (!secret) throw missing(param, `there is no Secret ${namespace}/${name}`);
  return secret;
};

export const rotateSecret = defineAction({
  type: 'RotateSecret',
  targetKinds: [AnyKind],
  destructive: true,
  describe:
    'Replaces values of a Secret in the target namespace: one key from key/value, or the data of sourceSecret ' +
    '(all keys, or just key). Old values are not kept. Values never appear in the audit trail.',
  params: {
    secret: { description: 'the Secret to rotate', required: true },
    key: { description: 'the key to set (with value), or the one key to copy (with sourceSecret)' },
    value: { description: 'the new value' },
    sourceSecret: { description: 'a Secret in the same namespace to copy the data from' },
  },
  validate: (params) => void rotation(params),
  async execute({ clients, target, params }) {
    const plan = rotation(params);
    const { namespace } = target;
    const secret = await readSecret(clients, namespace, plan.secret, 'secret');
    if (ProtectedSecretTypes.has(secret.type ?? '')) {
      throw unsafe('secret', `Secret ${namespace}/${plan.secret} is a ${secret.type}: Cairn does not rewrite those`);
    }
    if (secret.immutable) throw illegalState(`Secret ${namespace}/${plan.secret} is immutable`);
    let data: Record<string, string>;
    if (plan.from === 'value') {
      data = { [plan.key]: Buffer.from(plan.value, 'utf8').toString('base64') };
    } else {
      const source = await readSecret(clients, namespace, plan.sourceSecret, 'sourceSecret');
      const all = source.data ?? {};
      if (plan.key !== undefined && !Object.hasOwn(all, plan.key)) {
        throw invalidParam('key', `Secret ${namespace}/${plan.sourceSecret} has no key "${plan.key}"`);
      }
      data = plan.key === undefined ? { ...all } : { [plan.key]: all[plan.key] as string };
      if (Object.keys(data).length === 0)
        throw invalidParam('sourceSecret', `Secret ${namespace}/${plan.sourceSecret} is empty`);
    }
    await kube(`patching Secret ${namespace}/${plan.secret}`, () =>
      clients.core.patchNamespacedSecret(
        { name: plan.secret, namespace, body: { data }, fieldManager: ActionFieldManager },
        PatchAs.merge,
      ),
    );
    const keys = Object.keys(data).sort().join(', ');
    const from = plan.from === 'source' ? ` from Secret ${namespace}/${plan.sourceSecret}` : '';
    return {
      detail: `rotated ${keys} of Secret ${namespace}/${plan.secret}${from}; pods read new values only when restarted`,
      touched: [{ kind: 'Secret', name: plan.secret, namespace }],
    };
  },
});

// --- ApplyManifest ---------------------------------------------------------------------------------------------

/** The kinds a manifest may hold, with the apiVersions accepted for each. Nothing cluster-scoped, no RBAC. */
export const ManifestKinds = {
  ConfigMap: { apiVersions: ['v1'], plural: 'configmaps' },
  Service: { apiVersions: ['v1'], plural: 'services' },
  Deployment: { apiVersions: ['apps/v1'], plural: 'deployments' },
  HorizontalPodAutoscaler: { apiVersions: ['autoscaling/v2', 'autoscaling/v1'], plural: 'horizontalpodautoscalers' },
  NetworkPolicy: { apiVersions: ['networking.k8s.io/v1'], plural: 'networkpolicies' },
  PodDisruptionBudget: { apiVersions: ['policy/v1'], plural: 'poddisruptionbudgets' },
} as const satisfies Record<string, { apiVersions: readonly string[]; plural: string }>;
type ManifestKind = keyof typeof ManifestKinds;

const invalidManifest = (message: string) =>
  new CairnError(ActionErrorCode.InvalidParams, ErrorCategory.Validation, `manifest: ${message}`, {
    details: { param: 'key' },
  });

/** Parses and vets a manifest; pure, so snapshot and tests use it too. */
export const parseManifest = (text: string, namespace: string): k8s.KubernetesObject => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw invalidManifest(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidManifest('must be one JSON object');
  const object = doc as k8s.KubernetesObject & Record<string, unknown>;
  const kind = object.kind ?? '';
  if (!Object.hasOwn(ManifestKinds, kind)) {
    throw new CairnError(
      ActionErrorCode.Unsafe,
      ErrorCategory.Validation,
      `manifest: kind "${kind}" is not one Cairn applies (allowed: ${Object.keys(ManifestKinds).join(', ')})`,
      { details: { param: 'key' } },
    );
  }
  const versions: readonly string[] = ManifestKinds[kind as ManifestKind].apiVersions;
  if (!versions.includes(object.apiVersion ?? '')) {
    throw invalidManifest(`a ${kind} has apiVersion ${versions.join(' or ')}, not "${object.apiVersion}"`);
  }
  const name = object.metadata?.name;
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
    throw invalidManifest('metadata.name is missing or invalid');
  }
  const ns = object.metadata?.namespace;
  if (ns !== undefined && ns !== namespace) {
    throw new CairnError(
      ActionErrorCode.Unsafe,
      ErrorCategory.Validation,
      `manifest: it targets namespace "${ns}"; Cairn applies manifests only in the target's namespace "${namespace}"`,
      { details: { param: 'key' } },
    );
  }
  // Server-owned fields would make the apply fail or fight the controllers.
  const { status: _status, ...rest } = object;
  const {
    resourceVersion: _rv,
    uid: _uid,
    managedFields: _mf,
    creationTimestamp: _ct,
    ...metadata
  } = object.metadata ?? {};
  return { ...rest, metadata: { ...metadata, name, namespace } } as k8s.KubernetesObject;
};

/** The value of the ConfigMap key that `configmap` and `key` name, in the target's namespace. */
export const readConfigMapKey = async (clients: ActionClients, namespace: string, params: ActionParams) => {
  const name = requiredName(params, 'configmap');
  const key = keyParam(params, 'key');
  const map = await readConfigMap(clients, namespace, name);
  const text = map.data?.[key];
  if (text === undefined) throw invalidParam('key', `ConfigMap ${namespace}/${name} has no key "${key}"`);
  return text;
};

export const readManifest = async (
  clients: ActionClients,
  namespace: string,
  params: ActionParams,
): Promise<k8s.KubernetesObject> => parseManifest(await readConfigMapKey(clients, namespace, params), namespace);

export const manifestRef = (object: k8s.KubernetesObject): ResourceRef => ({
  kind: object.kind ?? '',
  name: object.metadata?.name ?? '',
  namespace: object.metadata?.namespace ?? '',
});

export const applyManifest = defineAction({
  type: 'ApplyManifest',
  targetKinds: [AnyKind],
  destructive: false,
  describe:
    `Applies (server-side) one JSON manifest stored in a ConfigMap key, in the target namespace only; ` +
    `kinds ${Object.keys(ManifestKinds).join(', ')}.`,
  params: {
    configmap: { description: 'the ConfigMap holding the manifest', required: true },
    key: { description: 'the key whose value is the JSON manifest', required: true },
  },
  validate(params) {
    requiredName(params, 'configmap');
    keyParam(params, 'key');
  },
  async execute({ clients, target, params }) {
    const manifest = await readManifest(clients, target.namespace, params);
    const ref = manifestRef(manifest);
    const doing = `applying ${ref.kind} ${ref.namespace}/${ref.name}`;
    const existed = await readOptional(doing, () => manifestAccess(clients, manifest).read());
    await kube(doing, () => manifestAccess(clients, manifest).apply());
    return {
      detail: `${existed ? 'updated' : 'created'} ${ref.kind} ${ref.namespace}/${ref.name} from ConfigMap ${target.namespace}/${params.configmap} key ${params.key}`,
      touched: [ref],
    };
  },
});

/**
 * Reads and server-side applies a manifest as raw JSON. The client's typed models would rename or drop fields on
 * the way (a NetworkPolicy's `from` among them), and a policy that lost its sources admits everyone.
 */
const manifestAccess = (clients: ActionClients, manifest: k8s.KubernetesObject) => {
  const kind = manifest.kind as ManifestKind;
  const name = manifest.metadata?.name ?? '';
  const namespace = manifest.metadata?.namespace ?? '';
  const apply = { fieldManager: ActionFieldManager, force: true } as const;
  const [group, version] = (manifest.apiVersion ?? '').split('/');
  if (version !== undefined && group !== undefined) {
    const where = { group, version, plural: ManifestKinds[kind].plural, namespace, name };
    return {
      read: () => clients.custom.getNamespacedCustomObject(where),
      apply: () => clients.custom.patchNamespacedCustomObject({ ...where, body: manifest, ...apply }, PatchAs.apply),
    };
  }
  if (kind === 'ConfigMap') {
    return {
      read: () => clients.core.readNamespacedConfigMap({ name, namespace }),
      apply: () => clients.core.patchNamespacedConfigMap({ name, namespace, body: manifest, ...apply }, PatchAs.apply),
    };
  }
  return {
    read: () => clients.core.readNamespacedService({ name, namespace }),
    apply: () => clients.core.patchNamespacedService({ name, namespace, body: manifest, ...apply }, PatchAs.apply),
  };
};

export const configActions = [patchConfig, rotateSecret, applyManifest] as const;
