import type {
  KubernetesObject,
  V1Deployment,
  V1EndpointSlice,
  V1Ingress,
  V1LabelSelector,
  V1NetworkPolicy,
  V1Pod,
  V1ReplicaSet,
  V1Service,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { WatchedKind } from '../clusterWatch.ts';
import { staticView } from './detectionView.ts';
import { DefaultThresholds as t } from './detectors.ts';
import {
  detectIngress,
  detectNetworkPolicy,
  detectService,
  editDistance,
  labelSelectorMatches,
  networkDetectors,
} from './networkDetectors.ts';

const ns = 'shop';
type Objects = Partial<Record<WatchedKind, KubernetesObject[]>>;

const deployment = (name: string, labels: Record<string, string>, replicas = 2): V1Deployment => ({
  metadata: { name, namespace: ns, uid: `uid-${name}` },
  spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [] } } },
});
const replicaSet = (name: string, deploymentName: string): V1ReplicaSet => ({
  metadata: {
    name,
    namespace: ns,
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName, uid: 'u', controller: true }],
  },
});
const pod = (
  name: string,
  labels: Record<string, string>,
  options: { owner?: string; phase?: string } = {},
): V1Pod => ({
  metadata: {
    name,
    namespace: ns,
    labels,
    ...(options.owner
      ? {
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: options.owner, uid: 'u', controller: true },
          ],
        }
      : {}),
  },
  status: { phase: options.phase ?? 'Running' },
});
const service = (name: string, selector?: Record<string, string>, extra: V1Service['spec'] = {}): V1Service => ({
  metadata: { name, namespace: ns },
  spec: { ...(selector ? { selector } : {}), ports: [{ name: 'http', port: 80 }], ...extra },
});
const slice = (service: string, ready: (boolean | undefined)[], name = `${service}-abcde`): V1EndpointSlice => ({
  metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: ready.map((r, i) => ({
    addresses: [`10.0.0.${i + 1}`],
    conditions: r === undefined ? {} : { ready: r },
  })),
});
/** The kinds the operator always watches, empty unless given; Secrets are watched only when a test says so. */
const view = (objects: Objects) =>
  staticView({ Pod: [], Service: [], EndpointSlice: [], Deployment: [], StatefulSet: [], DaemonSet: [], ...objects });
const first = <T>(items: readonly T[]) => items[0] as T;

describe('label selectors', () => {
  it('matches matchLabels and every matchExpressions operator', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(labelSelectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchLabels: { app: 'db' } }, labels)).toBe(false);
    const e = (operator: string, key: string, values?: string[]) => ({
      matchExpressions: [{ key, operator, ...(values ? { values } : {}) }],
    });
    expect(labelSelectorMatches(e('In', 'tier', ['front', 'back']), labels)).toBe(true);
    expect(labelSelectorMatches(e('In', 'tier', ['back']), labels)).toBe(false);
    expect(labelSelectorMatches(e('NotIn', 'tier', ['back']), labels)).toBe(true);
    expect(labelSelectorMatches(e('NotIn', 'tier', ['front']), labels)).toBe(false);
    expect(labelSelectorMatches(e('NotIn', 'zone', ['a']), labels)).toBe(true);
    expect(labelSelectorMatches(e('Exists', 'app'), labels)).toBe(true);
    expect(labelSelectorMatches(e('Exists', 'zone'), labels)).toBe(false);
    expect(labelSelectorMatches(e('DoesNotExist', 'zone'), labels)).toBe(true);
    expect(labelSelectorMatches(e('DoesNotExist', 'app'), labels)).toBe(false);
    expect(labelSelectorMatches(e('Gt', 'app', ['1']), labels)).toBe(false);
    expect(labelSelectorMatches({ matchLabels: { app: 'web' }, ...e('In', 'tier', ['back']) }, labels)).toBe(false);
  });

  it('measures edits between label values', () => {
    expect(editDistance('web-frontnd', 'web-frontend')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});

describe('service_no_endpoints', () => {
  it('names the nearest Deployment and its differing label when the selector has a typo', () => {
    const objects = {
      Service: [service('web', { app: 'web-frontnd' })],
      Deployment: [deployment('web-frontend', { app: 'web-frontend' }), deployment('db', { app: 'db' })],
      Pod: [pod('web-frontend-1', { app: 'web-frontend' }), pod('db-1', { app: 'db' })],
    };
    const [finding, ...more] = detectService(first(objects.Service), t, view(objects));
    expect(more).toEqual([]);
    expect(finding).toMatchObject({
      signal: 'service_no_endpoints',
      subject: { kind: 'Service', name: 'web', namespace: ns },
      workload: { kind: 'Service', name: 'web', namespace: ns },
      sustainSeconds: t.serviceNoEndpointsSeconds,
      cause: {
        code: 'selector_matches_nothing',
        object: { kind: 'Deployment', name: 'web-frontend', namespace: ns },
      },
    });
    expect(finding?.message).toContain(
      'selector app=web-frontnd matches no pod; nearest: Deployment shop/web-frontend has app=web-frontend',
    );
    expect(finding?.message).toContain('spec.selector of Service shop/web');
    expect(finding?.cause?.message).toBe(finding?.message);
  });

  it('names a key typo and a missing label on a multi-label selector, preferring the workload with fewer differences', () => {
    const objects = {
      Service: [service('api', { ap: 'api', tier: 'backend' })],
      StatefulSet: [
        { metadata: { name: 'api', namespace: ns }, spec: { template: { metadata: { labels: { app: 'api' } } } } },
      ],
      Deployment: [deployment('api-v2', { app: 'api', tier: 'backend' })],
    };
    const [finding] = detectService(first(objects.Service), t, view(objects as Objects));
    expect(finding?.message).toContain('nearest: Deployment shop/api-v2 has app=api');
    expect(finding?.cause?.object).toEqual({ kind: 'Deployment', name: 'api-v2', namespace: ns });

    const alone = { ...objects, Deployment: [] };
    const [other] = detectService(first(objects.Service), t, view(alone as Objects));
    expect(other?.message).toContain('nearest: StatefulSet shop/api has app=api, no label tier');
  });

  it('names no workload when none is near, and says where to fix', () => {
    const objects = { Service: [service('web', { app: 'web' })], Deployment: [deployment('billing', { team: 'x' })] };
    const [finding] = detectService(first(objects.Service), t, view(objects));
    expect(finding?.message).toBe(
      'selector app=web matches no pod, and no Deployment, StatefulSet or DaemonSet in namespace shop has pod labels near it (fix spec.selector of Service shop/web)',
    );
    expect(finding?.cause).not.toHaveProperty('object');
  });

  it('joins the workload of the selected pods when none of them is ready, with how many match', () => {
    const objects = {
      Service: [service('web', { app: 'web' })],
      Deployment: [deployment('web', { app: 'web' })],
      ReplicaSet: [replicaSet('web-5d8f', 'web')],
      Pod: [
        pod('web-5d8f-a', { app: 'web', 'pod-template-hash': '5d8f' }, { owner: 'web-5d8f' }),
        pod('web-5d8f-b', { app: 'web', 'pod-template-hash': '5d8f' }, { owner: 'web-5d8f' }),
        pod('web-old', { app: 'web' }, { owner: 'web-old', phase: 'Succeeded' }),
      ],
      EndpointSlice: [slice('web', [false, false])],
    };
    const [finding] = detectService(first(objects.Service), t, view(objects));
    expect(finding).toMatchObject({
      signal: 'service_no_endpoints',
      subject: { kind: 'Service', name: 'web' },
      workload: { kind: 'Deployment', name: 'web', namespace: ns },
      cause: { code: 'no_ready_pods', object: { kind: 'Deployment', name: 'web', namespace: ns } },
    });
    expect(finding?.message).toBe(
      '2 pods match selector app=web of Service shop/web but none is ready (pods of Deployment shop/web): the Service has no ready address to send traffic to',
    );
    // No EndpointSlice at all (the pods have no address yet) is just as unready.
    const [noSlice] = detectService(first(objects.Service), t, view({ ...objects, EndpointSlice: [] }));
    expect(noSlice?.workload).toEqual({ kind: 'Deployment', name: 'web', namespace: ns });
  });

  it('gives a workload still rolling out the time its own signal gets before its Service counts as empty', () => {
    const rolling = (reason: string, generation = 1, observedGeneration = 1): V1Deployment => ({
      ...deployment('web', { app: 'web' }, 2),
      metadata: { name: 'web', namespace: ns, generation },
      status: { observedGeneration, conditions: [{ type: 'Progressing', status: 'True', reason }] },
    });
    const sustainWith = (d: V1Deployment) =>
      detectService(service('web', { app: 'web' }), t, view({ Deployment: [d] }))[0]?.sustainSeconds;
    const starting = Math.max(t.serviceNoEndpointsSeconds, t.workloadUnavailableSeconds);
    expect(sustainWith(rolling('ReplicaSetUpdated'))).toBe(starting);
    expect(sustainWith(rolling('NewReplicaSetAvailable', 2, 1))).toBe(starting);
    expect(sustainWith(rolling('NewReplicaSetAvailable'))).toBe(t.serviceNoEndpointsSeconds);
    const set = (current: string, update: string) => ({
      metadata: { name: 'db', namespace: ns },
      spec: { replicas: 1, template: { metadata: { labels: { app: 'db' } } } },
      status: { currentRevision: current, updateRevision: update },
    });
    const setSustain = (s: KubernetesObject) =>
      detectService(service('db', { app: 'db' }), t, view({ StatefulSet: [s] }))[0]?.sustainSeconds;
    expect(setSustain(set('db-1', 'db-2'))).toBe(starting);
    expect(setSustain(set('db-2', 'db-2'))).toBe(t.serviceNoEndpointsSeconds);
  });

  it('joins the workload that wants pods but has none running', () => {
    const objects = {
      Service: [service('web', { app: 'web' })],
      Deployment: [deployment('web', { app: 'web', v: '1' }, 3)],
    };
    const [finding] = detectService(first(objects.Service), t, view(objects));
    expect(finding).toMatchObject({ workload: { kind: 'Deployment', name: 'web' }, cause: { code: 'no_pods' } });
    expect(finding?.message).toBe('selector app=web matches no running pod: Deployment shop/web wants 3 but has none');
  });

  it('stays silent for a ready address, no selector, ExternalName, and a workload scaled to zero', () => {
    const ready = {
      Service: [service('web', { app: 'web' })],
      Pod: [pod('web-1', { app: 'web' }), pod('web-2', { app: 'web' })],
      // One ready endpoint is enough, and an endpoint whose readiness is unknown counts as ready.
      EndpointSlice: [slice('web', [false]), slice('web', [true], 'web-fghij')],
    };
    expect(detectService(first(ready.Service), t, view(ready))).toEqual([]);
    expect(
      detectService(first(ready.Service), t, view({ ...ready, EndpointSlice: [slice('web', [undefined])] })),
    ).toEqual([]);

    const headless = service('db', undefined, { clusterIP: 'None' });
    expect(detectService(headless, t, view({ Service: [headless] }))).toEqual([]);
    const emptySelector = service('manual', {});
    expect(detectService(emptySelector, t, view({ Service: [emptySelector] }))).toEqual([]);
    const external = service('mail', { app: 'mail' }, { type: 'ExternalName', externalName: 'mail.example.com' });
    expect(detectService(external, t, view({ Service: [external] }))).toEqual([]);

    const idle = {
      Service: [service('batch', { app: 'batch' })],
      Deployment: [deployment('batch', { app: 'batch' }, 0)],
    };
    expect(detectService(first(idle.Service), t, view(idle))).toEqual([]);
    // Its last pods are on their way out: still scaled to zero on purpose.
    const terminating = pod('batch-1', { app: 'batch' });
    terminating.metadata = { ...terminating.metadata, deletionTimestamp: new Date(0) };
    expect(detectService(first(idle.Service), t, view({ ...idle, Pod: [terminating] }))).toEqual([]);
  });
});

describe('ingress_misconfigured', () => {
  const ingress = (spec: V1Ingress['spec'], name = 'shop'): V1Ingress => ({ metadata: { name, namespace: ns }, spec });
  const rule = (serviceName: string, port: { number?: number; name?: string }) => ({
    host: 'shop.example.com',
    http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: serviceName, port } } }] },
  });
  const tlsSecret = (name: string) => ({ metadata: { name, namespace: ns }, type: 'kubernetes.io/tls' });
  const services = [service('web', { app: 'web' }), service('api', { app: 'api' }, { ports: [{ port: 8080 }] })];

  it('names a missing backend Service with its field', () => {
    const i = ingress({ rules: [rule('web', { number: 80 }), rule('webb', { number: 80 })] });
    const [finding, ...more] = detectIngress(i, t, view({ Service: services }));
    expect(more).toEqual([]);
    expect(finding).toMatchObject({
      signal: 'ingress_misconfigured',
      subject: { kind: 'Ingress', name: 'shop', namespace: ns },
      sustainSeconds: t.ingressMisconfiguredSeconds,
      cause: {
        code: 'backend_service_missing',
        message: 'spec.rules[1].http.paths[0].backend.service.name: no Service shop/webb',
        object: { kind: 'Service', name: 'webb', namespace: ns },
      },
    });
    expect(finding).not.toHaveProperty('workload');
  });

  it('names a port the Service does not expose, by number or by name, with the ports it has', () => {
    const byNumber = detectIngress(ingress({ rules: [rule('web', { number: 8080 })] }), t, view({ Service: services }));
    expect(byNumber[0]?.cause).toMatchObject({
      code: 'backend_port_missing',
      object: { kind: 'Service', name: 'web', namespace: ns },
    });
    expect(byNumber[0]?.message).toContain('Service shop/web does not expose port 8080 (it has http/80)');
    const byName = detectIngress(ingress({ rules: [rule('api', { name: 'http' })] }), t, view({ Service: services }));
    expect(byName[0]?.message).toContain('Service shop/api does not expose port http (it has 8080)');
  });

  it('names a missing TLS Secret and checks the default backend', () => {
    const i = ingress({
      defaultBackend: { service: { name: 'gone', port: { number: 80 } } },
      tls: [{ secretName: 'shop-tls' }],
    });
    const [finding] = detectIngress(i, t, view({ Service: services, Secret: [] }));
    expect(finding?.cause?.code).toBe('backend_service_missing');
    expect(finding?.message).toBe(
      'Ingress shop/shop: spec.defaultBackend.service.name: no Service shop/gone; spec.tls[0].secretName: no TLS Secret shop/shop-tls (of type kubernetes.io/tls)',
    );
    const tlsOnly = ingress({
      rules: [rule('web', { name: 'http' })],
      tls: [{ hosts: ['a'], secretName: 'shop-tls' }],
    });
    expect(detectIngress(tlsOnly, t, view({ Service: services, Secret: [] }))[0]?.cause).toMatchObject({
      code: 'tls_secret_missing',
      object: { kind: 'Secret', name: 'shop-tls', namespace: ns },
    });
    expect(detectIngress(tlsOnly, t, view({ Service: services, Secret: [tlsSecret('shop-tls')] }))).toEqual([]);
  });

  it('calls no TLS Secret missing when the operator does not watch Secrets', () => {
    const tls = ingress({ rules: [rule('web', { number: 80 })], tls: [{ secretName: 'shop-tls' }] });
    expect(detectIngress(tls, t, view({ Service: services }))).toEqual([]);
    // The backends are still checked.
    const both = ingress({ rules: [rule('gone', { number: 80 })], tls: [{ secretName: 'shop-tls' }] });
    expect(detectIngress(both, t, view({ Service: services }))[0]?.message).toBe(
      'Ingress shop/shop: spec.rules[0].http.paths[0].backend.service.name: no Service shop/gone',
    );
  });

  it('stays silent for existing backends, a default backend only, resource backends and ExternalName Services', () => {
    expect(
      detectIngress(
        ingress({ rules: [rule('web', { number: 80 }), rule('api', { number: 8080 })] }),
        t,
        view({ Service: services }),
      ),
    ).toEqual([]);
    expect(
      detectIngress(
        ingress({ defaultBackend: { service: { name: 'web', port: { name: 'http' } } } }),
        t,
        view({ Service: services }),
      ),
    ).toEqual([]);
    const resource = ingress({
      defaultBackend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'assets' } },
    });
    expect(detectIngress(resource, t, view({}))).toEqual([]);
    const alias = service('cdn', undefined, { type: 'ExternalName', externalName: 'cdn.example.com', ports: [] });
    expect(detectIngress(ingress({ rules: [rule('cdn', { number: 443 })] }), t, view({ Service: [alias] }))).toEqual(
      [],
    );
  });
});

describe('netpol_selects_nothing', () => {
  const policy = (podSelector: V1LabelSelector): V1NetworkPolicy => ({
    metadata: { name: 'deny-web', namespace: ns },
    spec: { podSelector, policyTypes: ['Ingress'] },
  });

  it('reports a selector that matches no pod and no pod template', () => {
    const p = policy({ matchLabels: { app: 'wbe' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] });
    const [finding] = detectNetworkPolicy(p, t, view({ Pod: [pod('web-1', { app: 'web', tier: 'f' })] }));
    expect(finding).toMatchObject({
      signal: 'netpol_selects_nothing',
      subject: { kind: 'NetworkPolicy', name: 'deny-web', namespace: ns },
      sustainSeconds: t.netpolSelectsNothingSeconds,
      cause: { code: 'selector_matches_nothing' },
    });
    expect(finding?.message).toContain('spec.podSelector app=wbe,tier of NetworkPolicy shop/deny-web matches no pod');
  });

  it('stays silent for an empty selector, a selected pod, a finished pod and a workload that has no pods yet', () => {
    expect(detectNetworkPolicy(policy({}), t, view({}))).toEqual([]);
    const web = policy({ matchLabels: { app: 'web' } });
    expect(detectNetworkPolicy(web, t, view({ Pod: [pod('web-1', { app: 'web' })] }))).toEqual([]);
    expect(detectNetworkPolicy(web, t, view({ Pod: [pod('web-1', { app: 'web' }, { phase: 'Succeeded' })] }))).toEqual(
      [],
    );
    expect(detectNetworkPolicy(web, t, view({ Deployment: [deployment('web', { app: 'web' }, 0)] }))).toEqual([]);
    const cronJob = {
      metadata: { name: 'report', namespace: ns },
      spec: { schedule: '@daily', jobTemplate: { spec: { template: { metadata: { labels: { app: 'web' } } } } } },
    };
    expect(detectNetworkPolicy(web, t, view({ CronJob: [cronJob] }))).toEqual([]);
  });
});

describe('webhook_unavailable', () => {
  const detect = networkDetectors.detectors.ValidatingWebhookConfiguration;
  const config = (
    failurePolicy?: string,
    target: { namespace: string; name: string } | { url: string } = { namespace: 'policy', name: 'gate' },
  ) =>
    ({
      metadata: { name: 'gatekeeper' },
      webhooks: [
        {
          name: 'validate.gate.example.com',
          ...(failurePolicy ? { failurePolicy } : {}),
          clientConfig: 'url' in target ? { url: target.url } : { service: target },
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
        },
      ],
    }) as V1ValidatingWebhookConfiguration;
  const gate = { metadata: { name: 'gate', namespace: 'policy' }, spec: { selector: { app: 'gate' } } };
  const gateSlice = (ready: boolean) => ({
    ...slice('gate', [ready]),
    metadata: { ...slice('gate', [ready]).metadata, namespace: 'policy' },
  });

  it('names the webhook, its Service and what Fail means when the Service is missing', () => {
    const [finding] = detect?.(config(), t, view({})) ?? [];
    expect(finding).toMatchObject({
      signal: 'webhook_unavailable',
      subject: { kind: 'ValidatingWebhookConfiguration', name: 'gatekeeper', namespace: '' },
      sustainSeconds: t.webhookUnavailableSeconds,
      cause: { code: 'webhook_service_missing', object: { kind: 'Service', name: 'gate', namespace: 'policy' } },
    });
    expect(finding?.message).toBe(
      'ValidatingWebhookConfiguration gatekeeper: webhook validate.gate.example.com calls Service policy/gate, which does not exist; failurePolicy Fail: writes it intercepts are rejected',
    );
  });

  it('says what Ignore means when the Service has no ready endpoint', () => {
    const [finding] = detect?.(config('Ignore'), t, view({ Service: [gate], EndpointSlice: [gateSlice(false)] })) ?? [];
    expect(finding?.cause?.code).toBe('webhook_service_unready');
    expect(finding?.message).toContain('which has no ready endpoint; failurePolicy Ignore: its checks are skipped');
  });

  it('checks mutating webhooks the same way, under their own kind', () => {
    const mutating = { ...config('Fail'), metadata: { name: 'injector' } };
    const [finding] = networkDetectors.detectors.MutatingWebhookConfiguration?.(mutating, t, view({})) ?? [];
    expect(finding?.subject).toEqual({ kind: 'MutatingWebhookConfiguration', name: 'injector', namespace: '' });
    expect(finding?.message).toMatch(/^MutatingWebhookConfiguration injector: webhook validate\.gate\.example\.com/);
  });

  it('stays silent for a ready Service and for URL webhooks', () => {
    expect(detect?.(config('Fail'), t, view({ Service: [gate], EndpointSlice: [gateSlice(true)] }))).toEqual([]);
    expect(detect?.(config('Fail', { url: 'https://gate.example.com/validate' }), t, view({}))).toEqual([]);
  });
});

describe('network dependents', () => {
  const deps = networkDetectors.dependents ?? {};
  const webhook = {
    metadata: { name: 'gatekeeper' },
    webhooks: [{ name: 'w', clientConfig: { service: { namespace: ns, name: 'web' } } }],
  };
  const objects: Objects = {
    Service: [service('web', { app: 'web' }), service('db', { app: 'db' }), service('manual')],
    NetworkPolicy: [
      {
        metadata: { name: 'web-only', namespace: ns },
        spec: { podSelector: { matchLabels: { app: 'web' } } },
      } as V1NetworkPolicy,
      { metadata: { name: 'all', namespace: ns }, spec: { podSelector: {} } } as V1NetworkPolicy,
    ],
    Pod: [pod('web-1', { app: 'web' })],
    EndpointSlice: [slice('web', [true], 'web-x1y2z')],
    Ingress: [
      {
        metadata: { name: 'front', namespace: ns },
        spec: {
          rules: [
            { http: { paths: [{ pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } },
          ],
          tls: [{ secretName: 'front-tls' }],
        },
      },
      {
        metadata: { name: 'other', namespace: ns },
        spec: { defaultBackend: { service: { name: 'db', port: { number: 80 } } } },
      },
    ] as V1Ingress[],
    ValidatingWebhookConfiguration: [webhook as V1ValidatingWebhookConfiguration],
    MutatingWebhookConfiguration: [{ metadata: { name: 'other' }, webhooks: [] } as V1ValidatingWebhookConfiguration],
    Deployment: [deployment('web', { app: 'web' })],
  };
  const v = view(objects);

  it('re-checks only the Services and policies that select a changed pod', () => {
    expect(deps.Pod?.(v, ns, 'web-1')).toEqual(['Service/shop/web', 'NetworkPolicy/shop/web-only']);
    // A deleted pod's labels are gone: the namespace's policies are re-checked.
    expect(deps.Pod?.(v, ns, 'gone')).toEqual(['NetworkPolicy/shop/web-only', 'NetworkPolicy/shop/all']);
  });

  it('re-checks an EndpointSlice’s Service and the webhooks calling it, even once the slice is deleted', () => {
    const expected = ['Service/shop/web', 'ValidatingWebhookConfiguration//gatekeeper'];
    expect(deps.EndpointSlice?.(v, ns, 'web-x1y2z')).toEqual(expected);
    expect(deps.EndpointSlice?.(v, ns, 'web-q7w8e')).toEqual(expected);
    expect(deps.EndpointSlice?.(v, ns, 'nothing-q7w8e')).toEqual([]);
  });

  it('re-checks the Ingresses and webhooks naming a Service, the Ingresses naming a Secret, Services of a workload', () => {
    expect(deps.Service?.(v, ns, 'web')).toEqual(['Ingress/shop/front', 'ValidatingWebhookConfiguration//gatekeeper']);
    expect(deps.Service?.(v, ns, 'db')).toEqual(['Ingress/shop/other']);
    expect(deps.Secret?.(v, ns, 'front-tls')).toEqual(['Ingress/shop/front']);
    expect(deps.Secret?.(v, ns, 'unrelated')).toEqual([]);
    expect(deps.Deployment?.(v, ns, 'web')).toEqual(['Service/shop/web']);
  });
});

describe('odd shapes', () => {
  it('reads objects with null or missing fields without throwing, and stays silent about them', () => {
    const nulls = JSON.parse(
      '{"metadata":{"name":"odd","namespace":"shop","labels":null},"spec":{"selector":null,"ports":null,"podSelector":{"matchLabels":null,"matchExpressions":null},"rules":null,"tls":null},"webhooks":null}',
    );
    const v = view({ Pod: [JSON.parse('{"metadata":{"name":"p","namespace":"shop","labels":null},"status":null}')] });
    expect(detectService(nulls, t, v)).toEqual([]);
    expect(detectIngress(nulls, t, v)).toEqual([]);
    expect(detectNetworkPolicy(nulls, t, v)).toEqual([]);
    expect(networkDetectors.detectors.MutatingWebhookConfiguration?.(nulls, t, v)).toEqual([]);
    expect(networkDetectors.dependents?.Pod?.(v, ns, 'p')).toEqual([]);
  });

  it('keeps a long list of problems within the anomaly message bound', () => {
    const rules = Array.from({ length: 100 }, (_, i) => ({
      http: {
        paths: [
          {
            path: '/',
            pathType: 'Prefix',
            backend: { service: { name: `missing-service-${i}`, port: { number: 80 } } },
          },
        ],
      },
    }));
    const [finding] = detectIngress({ metadata: { name: 'big', namespace: ns }, spec: { rules } }, t, view({}));
    expect(finding?.message.length).toBeLessThanOrEqual(2_048);
    expect(finding?.message.endsWith('…')).toBe(true);
    expect(finding?.cause?.message).toBe(
      'spec.rules[0].http.paths[0].backend.service.name: no Service shop/missing-service-0',
    );
  });
});

describe('kinds the operator does not watch', () => {
  it('judges a Service by its pods’ readiness when EndpointSlices are not in view, and says nothing without pods', () => {
    const web = service('web', { app: 'web' });
    const readyPod: V1Pod = {
      ...pod('web-1', { app: 'web' }),
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    };
    const unready = pod('web-2', { app: 'web' });
    expect(detectService(web, t, staticView({ Service: [web], Pod: [readyPod, unready] }))).toEqual([]);
    expect(detectService(web, t, staticView({ Service: [web], Pod: [unready] }))[0]?.cause?.code).toBe('no_ready_pods');
    expect(detectService(web, t, staticView({ Service: [web] }))).toEqual([]);
    const policy = { metadata: { name: 'p', namespace: ns }, spec: { podSelector: { matchLabels: { app: 'x' } } } };
    expect(detectNetworkPolicy(policy, t, staticView({}))).toEqual([]);
  });

  it('checks no Ingress backend without Services in view, and only a webhook Service’s existence without slices', () => {
    const i: V1Ingress = {
      metadata: { name: 'shop', namespace: ns },
      spec: { defaultBackend: { service: { name: 'gone', port: { number: 80 } } } },
    };
    expect(detectIngress(i, t, staticView({}))).toEqual([]);
    const detect = networkDetectors.detectors.ValidatingWebhookConfiguration;
    const configuration = {
      metadata: { name: 'gatekeeper' },
      webhooks: [{ name: 'w', clientConfig: { service: { namespace: ns, name: 'web' } } }],
    };
    expect(detect?.(configuration, t, staticView({ Service: [service('web', { app: 'web' })] }))).toEqual([]);
    expect(detect?.(configuration, t, staticView({ Service: [] }))[0]?.cause?.code).toBe('webhook_service_missing');
    expect(detect?.(configuration, t, staticView({}))).toEqual([]);
  });
});
