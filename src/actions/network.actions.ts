import type * as k8s from '@kubernetes/client-node';
import { ActionFieldManager, type ActionParams, AnyKind } from './action.ts';
import { invalidParam, kube, missing, readOptional, unsafe } from './actionErrors.ts';
import { defineAction, oneOfParam, optionalParam, portParam, requiredName } from './actionParams.ts';

// --- UpdateIngress ---------------------------------------------------------------------------------------------

const ingressChange = (params: ActionParams) => {
  const port = portParam(params, 'backendPort');
  if (port === undefined) throw invalidParam('backendPort', 'is required');
  return {
    ingress: requiredName(params, 'ingress'),
    service: requiredName(params, 'backendService'),
    port,
    path: optionalParam(params, 'path'),
    host: optionalParam(params, 'host'),
  };
};

const backendText = (backend: k8s.V1IngressBackend | undefined): string => {
  const service = backend?.service;
  if (!service) return backend?.resource ? `resource ${backend.resource.kind}/${backend.resource.name}` : 'none';
  return `${service.name}:${service.port?.number ?? service.port?.name ?? '?'}`;
};

interface BackendSlot {
  readonly where: string;
  readonly backend: k8s.V1IngressBackend | undefined;
  readonly set: (backend: k8s.V1IngressBackend) => void;
}

/** Every place of the spec that names a backend, with a setter on the (cloned) spec. */
const backendSlots = (spec: k8s.V1IngressSpec, filter: { path?: string; host?: string }): BackendSlot[] => {
  const slots: BackendSlot[] = [];
  if (spec.defaultBackend && filter.path === undefined && filter.host === undefined) {
    slots.push({ where: 'default backend', backend: spec.defaultBackend, set: (b) => (spec.defaultBackend = b) });
  }
  for (const rule of spec.rules ?? []) {
    if (filter.host !== undefined && (rule.host ?? '') !== filter.host) continue;
    for (const path of rule.http?.paths ?? []) {
      if (filter.path !== undefined && (path.path ?? '/') !== filter.path) continue;
      slots.push({
        where: `${rule.host ?? '*'}${path.path ?? '/'}`,
        backend: path.backend,
        set: (b) => (path.backend = b),
      });
    }
  }
  return slots;
};

export const updateIngress = defineAction({
  type: 'UpdateIngress',
  targetKinds: [AnyKind],
  destructive: false,
  describe:
    'Points Ingress paths at another Service and port (all of them when the Ingress routes to one Service, ' +
    'otherwise the path or host given). The Service and port must exist.',
  params: {
    ingress: { description: 'the Ingress', required: true },
    backendService: { description: 'the Service to route to', required: true },
    backendPort: { description: 'its port, by number or name', required: true },
    path: { description: 'only this path (e.g. /api)' },
    host: { description: 'only the rules of this host' },
  },
  validate: (params) => void ingressChange(params),
  async execute({ clients, target, params }) {
    const change = ingressChange(params);
    const { namespace } = target;
    const ingress = await readOptional(`reading Ingress ${namespace}/${change.ingress}`, () =>
      clients.networking.readNamespacedIngress({ name: change.ingress, namespace }),
    );
    if (!ingress) throw missing('ingress', `there is no Ingress ${namespace}/${change.ingress}`);
    const service = await readOptional(`reading Service ${namespace}/${change.service}`, () =>
      clients.core.readNamespacedService({ name: change.service, namespace }),
    );
    if (!service) throw missing('backendService', `there is no Service ${namespace}/${change.service}`);
    const ports = service.spec?.ports ?? [];
    const portExists = ports.some((p) =>
      typeof change.port === 'number' ? p.port === change.port : p.name === change.port,
    );
    if (!portExists) {
      const offered = ports.map((p) => (p.name ? `${p.name}/${p.port}` : String(p.port))).join(', ');
      throw invalidParam(
        'backendPort',
        `Service ${namespace}/${change.service} has no port ${change.port} (it has ${offered || 'none'})`,
      );
    }

    const spec = structuredClone(ingress.spec ?? {});
    const filter = {
      ...(change.path === undefined ? {} : { path: change.path }),
      ...(change.host === undefined ? {} : { host: change.host }),
    };
    const slots = backendSlots(spec, filter);
    if (slots.length === 0) {
      throw invalidParam(
        change.path !== undefined ? 'path' : 'host',
        `Ingress ${namespace}/${change.ingress} has no matching path`,
      );
    }
    const services = new Set(slots.map((s) => s.backend?.service?.name ?? backendText(s.backend)));
    if (filter.path === undefined && filter.host === undefined && services.size > 1) {
      throw invalidParam(
        'path',
        `Ingress ${namespace}/${change.ingress} routes to ${[...services].join(', ')}: name the path or host to change`,
      );
    }
    const backend: k8s.V1IngressBackend = {
      service: {
        name: change.service,
        port: typeof change.port === 'number' ? { number: change.port } : { name: change.port },
      },
    };
    const changes = slots.map((slot) => `${slot.where}: ${backendText(slot.backend)} → ${backendText(backend)}`);
    for (const slot of slots) slot.set(backend);
    await kube(`updating Ingress ${namespace}/${change.ingress}`, () =>
      clients.networking.replaceNamespacedIngress({
        name: change.ingress,
        namespace,
        body: { ...ingress, spec },
        fieldManager: ActionFieldManager,
      }),
    );
    return {
      detail: `Ingress ${namespace}/${change.ingress}: ${changes.join('; ')}`,
      touched: [{ kind: 'Ingress', name: change.ingress, namespace }],
    };
  },
});

// --- PatchNetworkPolicy ----------------------------------------------------------------------------------------

const Protocols = ['TCP', 'UDP', 'SCTP'] as const;

const policyChange = (params: ActionParams) => {
  const port = portParam(params, 'allowPort');
  if (port === undefined) throw invalidParam('allowPort', 'is required');
  return {
    policy: requiredName(params, 'networkPolicy'),
    port,
    protocol: oneOfParam(params, 'protocol', Protocols) ?? 'TCP',
  };
};

const samePort = (p: k8s.V1NetworkPolicyPort, port: number | string, protocol: string) =>
  String(p.port) === String(port) && (p.protocol ?? 'TCP') === protocol && p.endPort === undefined;

export const patchNetworkPolicy = defineAction({
  type: 'PatchNetworkPolicy',
  targetKinds: [AnyKind],
  destructive: false,
  describe:
    'Adds an allowed port to every port-restricted ingress rule of a NetworkPolicy (same sources as before). ' +
    'A policy that denies all ingress is left alone: opening a port there would admit every source.',
  params: {
    networkPolicy: { description: 'the NetworkPolicy', required: true },
    allowPort: { description: 'the port to allow, by number or name', required: true },
    protocol: { description: 'TCP (default), UDP or SCTP' },
  },
  validate: (params) => void policyChange(params),
  async execute({ clients, target, params }) {
    const change = policyChange(params);
    const { namespace } = target;
    const policy = await readOptional(`reading NetworkPolicy ${namespace}/${change.policy}`, () =>
      clients.networking.readNamespacedNetworkPolicy({ name: change.policy, namespace }),
    );
    if (!policy) throw missing('networkPolicy', `there is no NetworkPolicy ${namespace}/${change.policy}`);
    const spec = structuredClone(policy.spec ?? ({} as k8s.V1NetworkPolicySpec));
    const rules = spec.ingress ?? [];
    if (rules.length === 0) {
      throw unsafe(
        'allowPort',
        `NetworkPolicy ${namespace}/${change.policy} denies all ingress: a rule for port ${change.port} would admit every source; change it by hand`,
      );
    }
    const restricted = rules.filter((rule) => (rule.ports ?? []).length > 0);
    const missingPort = restricted.filter(
      (rule) => !(rule.ports ?? []).some((p) => samePort(p, change.port, change.protocol)),
    );
    const what = `${change.port}/${change.protocol}`;
    if (missingPort.length === 0) {
      return { detail: `NetworkPolicy ${namespace}/${change.policy} already allows ${what}`, touched: [] };
    }
    for (const rule of missingPort)
      rule.ports = [...(rule.ports ?? []), { port: change.port, protocol: change.protocol }];
    await kube(`updating NetworkPolicy ${namespace}/${change.policy}`, () =>
      clients.networking.replaceNamespacedNetworkPolicy({
        name: change.policy,
        namespace,
        body: { ...policy, spec },
        fieldManager: ActionFieldManager,
      }),
    );
    return {
      detail: `NetworkPolicy ${namespace}/${change.policy}: allowed ${what} in ${missingPort.length} ingress rule(s)`,
      touched: [{ kind: 'NetworkPolicy', name: change.policy, namespace }],
    };
  },
});

export const networkActions = [updateIngress, patchNetworkPolicy] as const;
