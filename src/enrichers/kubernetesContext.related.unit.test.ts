import type {
  CoreV1Event,
  V1Deployment,
  V1EndpointSlice,
  V1Ingress,
  V1Job,
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1ResourceQuota,
  V1Service,
  V1StatefulSet,
  V1StorageClass,
  V1ValidatingWebhookConfiguration,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { analysisRequest } from '../../test/fixtures/analysis.fixtures.ts';
import { analyzeWithRules } from '../analysis/rules.provider.ts';
import { emptySurroundings, type Surroundings, templateChangePaths } from './kubernetesContext.related.ts';
import { renderKubernetesContext, type WorkloadSnapshot } from './kubernetesContext.render.ts';

const ns = 'shop';
const IMAGE = 'registry.local/shop/web:1.0.0';

const template = (extra: Partial<NonNullable<V1PodTemplateSpec['spec']>> = {}, labels = { app: 'web' }) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'app', image: IMAGE, resources: { limits: { memory: '128Mi' } } }], ...extra },
});

const deployment = (revision: number, spec: V1PodTemplateSpec = template()): V1Deployment => ({
  metadata: {
    name: 'web',
    namespace: ns,
    uid: 'd-1',
    annotations: { 'deployment.kubernetes.io/revision': String(revision) },
  },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: spec },
  status: { replicas: 3, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 2, unavailableReplicas: 1 },
});

const replicaSet = (
  revision: number,
  hash: string,
  spec: V1PodTemplateSpec,
  ready: number,
  conditions: NonNullable<V1ReplicaSet['status']>['conditions'] = [],
): V1ReplicaSet => ({
  metadata: {
    name: `web-${hash}`,
    namespace: ns,
    uid: `rs-${hash}`,
    labels: { app: 'web', 'pod-template-hash': hash },
    annotations: { 'deployment.kubernetes.io/revision': String(revision) },
  },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { ...spec, metadata: { labels: { ...spec.metadata?.labels, 'pod-template-hash': hash } } },
  },
  status: { replicas: ready, readyReplicas: ready, conditions },
});

const readyPod = (name: string, hash: string, labels: Record<string, string> = { app: 'web' }): V1Pod => ({
  metadata: { name, namespace: ns, labels: { ...labels, 'pod-template-hash': hash } },
  spec: { containers: [{ name: 'app', image: IMAGE }], nodeName: 'kwok-node-0' },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [
      { name: 'app', image: IMAGE, imageID: IMAGE, ready: true, restartCount: 0, state: { running: {} } },
    ],
  },
});

const unschedulablePod = (name: string, hash: string): V1Pod => ({
  metadata: { name, namespace: ns, labels: { app: 'web', 'pod-template-hash': hash } },
  spec: { containers: [{ name: 'app', image: IMAGE }] },
  status: {
    phase: 'Pending',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
      },
    ],
  },
});

const configErrorPod = (name: string, hash: string, message: string): V1Pod => ({
  metadata: { name, namespace: ns, labels: { app: 'web', 'pod-template-hash': hash } },
  spec: { containers: [{ name: 'app', image: IMAGE }], nodeName: 'kwok-node-0' },
  status: {
    phase: 'Pending',
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'False' },
    ],
    containerStatuses: [
      {
        name: 'app',
        image: IMAGE,
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'CreateContainerConfigError', message } },
      },
    ],
  },
});

const service = (name: string, selector: Record<string, string> | undefined, extra: V1Service['spec'] = {}) =>
  ({
    metadata: { name, namespace: ns },
    spec: { ...(selector ? { selector } : {}), ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...extra },
  }) as V1Service;

const slice = (serviceName: string, ready: boolean[]): V1EndpointSlice => ({
  addressType: 'IPv4',
  metadata: { name: `${serviceName}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': serviceName } },
  endpoints: ready.map((r, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: r } })),
});

const snapshot = (
  overrides: Partial<Omit<WorkloadSnapshot, 'surroundings'>> & { surroundings?: Partial<Surroundings> } = {},
): WorkloadSnapshot => {
  const { surroundings, ...rest } = overrides;
  return {
    ref: { kind: 'Deployment', name: 'web', namespace: ns },
    object: deployment(1),
    replicaSets: [replicaSet(1, 'aaaa1', template(), 2)],
    pods: [readyPod('web-aaaa1-00001', 'aaaa1'), readyPod('web-aaaa1-00002', 'aaaa1')],
    events: [],
    notes: [],
    ...rest,
    surroundings: { ...emptySurroundings, ...surroundings },
  };
};

describe('template changes between revisions', () => {
  it('names each changed field, containers and env by name, and ignores the pod-template-hash label', () => {
    const older = {
      metadata: { labels: { app: 'web', 'pod-template-hash': 'a' } },
      spec: { containers: [{ name: 'app', image: 'x:1', env: [{ name: 'MODE', value: 'a' }] }] },
    };
    const newer = {
      metadata: { labels: { app: 'web', 'pod-template-hash': 'b', tier: 'front' } },
      spec: {
        containers: [
          { name: 'app', image: 'x:2', env: [{ name: 'MODE', value: 'b' }] },
          { name: 'proxy', image: 'p:1' },
        ],
        nodeSelector: { 'disk.example.com/type': 'ssd' },
      },
    };
    expect(templateChangePaths(older, newer)).toEqual([
      'metadata.labels.tier',
      'spec.containers[app].env[MODE].value',
      'spec.containers[app].image',
      'spec.containers[proxy]',
      'spec.nodeSelector[disk.example.com/type]',
    ]);
    expect(templateChangePaths(older, older)).toEqual([]);
    expect(
      templateChangePaths(older, { ...older, metadata: { labels: { app: 'web', 'pod-template-hash': 'z' } } }),
    ).toEqual([]);
  });
});

describe('why pods cannot run', () => {
  it('a new nodeSelector leaves the new pods unschedulable: facts and text name the field, and the rules roll back', () => {
    const impossible = template({ nodeSelector: { disktype: 'nvme' } });
    const context = renderKubernetesContext(
      snapshot({
        object: deployment(2, impossible),
        replicaSets: [replicaSet(2, 'bbbb2', impossible, 0), replicaSet(1, 'aaaa1', template(), 1)],
        pods: [
          unschedulablePod('web-bbbb2-00001', 'bbbb2'),
          unschedulablePod('web-bbbb2-00002', 'bbbb2'),
          readyPod('web-aaaa1-00001', 'aaaa1'),
        ],
      }),
    );
    const { facts } = context;
    expect(facts.revisions[0]).toMatchObject({ revision: 2, templateChanges: ['spec.nodeSelector.disktype'] });
    expect(facts.pods[0]).toMatchObject({ pending: true, reasons: ['Unschedulable'], revision: 2 });
    // Two pods, one cause: said once.
    expect(facts.blockers).toEqual([
      expect.objectContaining({
        code: 'unschedulable',
        revision: 2,
        field: 'spec.template.spec.nodeSelector / affinity.nodeAffinity',
      }),
    ]);
    expect(context.text).toContain('template fields changed: spec.nodeSelector.disktype');
    expect(context.text).toContain('unschedulable on Pod/web-bbbb2-00001 [revision 2]');

    const result = analyzeWithRules(analysisRequest(facts, { signal: 'deploy_failing', signals: ['deploy_failing'] }));
    expect(result.suggestedActions.map((a) => [a.type, a.params.toRevision])).toEqual([['RollbackDeployment', '1']]);
  });

  it('a missing Secret and a missing key name the object to create', () => {
    const { facts, text } = renderKubernetesContext(
      snapshot({
        pods: [
          configErrorPod('web-aaaa1-00001', 'aaaa1', 'secret "db-credentials" not found'),
          configErrorPod('web-aaaa1-00002', 'aaaa1', "couldn't find key LEVEL in ConfigMap shop/settings"),
        ],
      }),
    );
    expect(facts.blockers?.map((b) => [b.code, b.object])).toEqual([
      ['config_missing', { kind: 'Secret', name: 'db-credentials' }],
      ['config_missing', { kind: 'ConfigMap', name: 'settings' }],
    ]);
    expect(facts.pods.every((p) => p.pending)).toBe(true);
    expect(text).toContain('(fix Secret db-credentials)');
  });

  it.each([
    [
      'pods "web-x" is forbidden: exceeded quota: compute, requested: limits.memory=128Mi, used: limits.memory=256Mi, limited: limits.memory=256Mi',
      'quota_exceeded',
      { kind: 'ResourceQuota', name: 'compute' },
    ],
    [
      'admission webhook "policy.example.com" denied the request: privileged containers are not allowed',
      'admission_denied',
      undefined,
    ],
    [
      'pods "web-x" is forbidden: maximum memory usage per Container is 256Mi, but limit is 1Gi',
      'limit_range',
      undefined,
    ],
    [
      'pods "web-x" is forbidden: error looking up service account shop/builder: serviceaccount "builder" not found',
      'config_missing',
      { kind: 'ServiceAccount', name: 'builder' },
    ],
    ['pods "web-x" is forbidden: something else entirely', 'create_failed', undefined],
  ])('a ReplicaSet that cannot create pods: %s → %s', (message, code, object) => {
    const { facts } = renderKubernetesContext(
      snapshot({
        replicaSets: [
          replicaSet(1, 'aaaa1', template(), 0, [
            { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message },
          ]),
        ],
        pods: [],
      }),
    );
    expect(facts.blockers).toEqual([
      {
        code,
        message,
        seenOn: 'ReplicaSet/web-aaaa1',
        revision: 1,
        ...(object ? { object } : {}),
        ...(code === 'create_failed' || code === 'admission_denied' ? {} : { field: expect.any(String) }),
      },
    ]);
  });

  it('a FailedCreate event of the workload counts once, beside the condition saying the same', () => {
    const message =
      'pods "web-x" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2';
    const event: CoreV1Event = {
      metadata: { name: 'web-aaaa1.1', namespace: ns },
      involvedObject: { kind: 'ReplicaSet', name: 'web-aaaa1', namespace: ns },
      reason: 'FailedCreate',
      type: 'Warning',
      message,
    };
    const { facts } = renderKubernetesContext(
      snapshot({
        replicaSets: [
          replicaSet(1, 'aaaa1', template(), 0, [
            { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message },
          ]),
        ],
        events: [event],
        surroundings: {
          quotas: [
            {
              metadata: { name: 'compute', namespace: ns },
              spec: { hard: { pods: '2' } },
              status: { hard: { pods: '2', 'limits.memory': '1Gi' }, used: { pods: '2', 'limits.memory': '256Mi' } },
            } as V1ResourceQuota,
          ],
        },
      }),
    );
    expect(facts.blockers).toHaveLength(1);
    expect(facts.quotas).toEqual([
      { name: 'compute', usage: { 'limits.memory': '256Mi/1Gi', pods: '2/2' }, exhausted: ['pods'] },
    ]);
  });

  it('a FailedCreate event outliving the fault is no cause once the ReplicaSet has its pods', () => {
    const stale: CoreV1Event = {
      metadata: { name: 'web-aaaa1.2', namespace: ns },
      involvedObject: { kind: 'ReplicaSet', name: 'web-aaaa1', namespace: ns },
      reason: 'FailedCreate',
      type: 'Warning',
      message: 'pods "web-x" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2',
    };
    const healed = replicaSet(1, 'aaaa1', template(), 2);
    const { facts } = renderKubernetesContext(
      snapshot({
        replicaSets: [{ ...healed, spec: { ...healed.spec, replicas: 2 } } as V1ReplicaSet],
        events: [stale],
      }),
    );
    expect(facts.blockers).toEqual([]);
    const short = renderKubernetesContext(
      snapshot({
        replicaSets: [{ ...healed, spec: { ...healed.spec, replicas: 3 } } as V1ReplicaSet],
        events: [stale],
      }),
    );
    expect(short.facts.blockers?.map((b) => b.code)).toEqual(['quota_exceeded']);
  });

  it('a Job past its activeDeadlineSeconds names the field', () => {
    const job: V1Job = {
      metadata: { name: 'nightly', namespace: ns, uid: 'j-1' },
      spec: { activeDeadlineSeconds: 60, template: template() },
      status: {
        failed: 1,
        conditions: [
          {
            type: 'Failed',
            status: 'True',
            reason: 'DeadlineExceeded',
            message: 'Job was active longer than specified deadline',
          },
        ],
      },
    };
    const { facts } = renderKubernetesContext({
      ref: { kind: 'Job', name: 'nightly', namespace: ns },
      object: job,
      pods: [],
      events: [],
      notes: [],
    });
    expect(facts.blockers).toEqual([
      expect.objectContaining({
        code: 'deadline_exceeded',
        field: 'spec.activeDeadlineSeconds',
        seenOn: 'Job/nightly',
      }),
    ]);
  });

  it("a CronJob's deadline cause comes from its newest run only", () => {
    const run = (name: string, start: number, deadline: boolean): V1Job => ({
      metadata: { name, namespace: ns, uid: name },
      spec: { activeDeadlineSeconds: 60, template: template() },
      status: {
        startTime: new Date(Date.UTC(2026, 0, 1, start)),
        conditions: deadline
          ? [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'too long' }]
          : [{ type: 'Complete', status: 'True' }],
      },
    });
    const cron = (jobs: V1Job[]) =>
      renderKubernetesContext({
        ref: { kind: 'CronJob', name: 'nightly', namespace: ns },
        object: { metadata: { name: 'nightly', namespace: ns, uid: 'c-1' }, spec: { schedule: '0 1 * * *' } } as never,
        jobs,
        pods: [],
        events: [],
        notes: [],
      }).facts.blockers;
    expect(cron([run('nightly-1', 1, true), run('nightly-2', 2, false)])).toEqual([]);
    expect(cron([run('nightly-1', 1, false), run('nightly-2', 2, true)])?.map((b) => b.seenOn)).toEqual([
      'Job/nightly-2',
    ]);
  });

  it('healthy pods have no blockers and no pending flag', () => {
    const { facts } = renderKubernetesContext(snapshot());
    expect(facts.blockers).toEqual([]);
    expect(facts.pods.some((p) => p.pending)).toBe(false);
  });
});

describe('a StatefulSet whose template changed', () => {
  it('compares ControllerRevision templates (their $patch marker is no change) and rolls the StatefulSet back', () => {
    const before = template();
    const after = template({
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
    });
    const revision = (name: string, number: number, spec: V1PodTemplateSpec) => ({
      metadata: { name, namespace: ns },
      revision: number,
      data: { spec: { template: { ...spec, $patch: 'replace' } } },
    });
    const stsPod = (name: string, hash: string, ready: boolean): V1Pod => {
      const base = ready ? readyPod(name, '') : unschedulablePod(name, '');
      return { ...base, metadata: { ...base.metadata, labels: { app: 'web', 'controller-revision-hash': hash } } };
    };
    const { facts } = renderKubernetesContext({
      ref: { kind: 'StatefulSet', name: 'web', namespace: ns },
      object: {
        metadata: { name: 'web', namespace: ns, uid: 's-1' },
        spec: { replicas: 2, serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template: after },
      } as V1StatefulSet,
      controllerRevisions: [revision('web-111', 1, before), revision('web-222', 2, after)],
      pods: [stsPod('web-0', 'web-111', true), stsPod('web-1', 'web-222', false)],
      events: [],
      notes: [],
    });
    expect(facts.revisions[0]).toMatchObject({ revision: 2, templateChanges: ['spec.tolerations'] });
    const result = analyzeWithRules(analysisRequest(facts, { signal: 'statefulset_unavailable' }));
    expect(result.suggestedActions.map((a) => [a.type, a.params.toRevision])).toEqual([['RollbackStatefulSet', '1']]);
    expect(result.analysis).toContain('spec.tolerations');
  });
});

describe('what lies around the workload', () => {
  const around: Partial<Surroundings> = {
    services: [
      service('web', { app: 'web' }),
      service('web-typo', { app: 'wbe' }),
      service('other', { app: 'other' }),
      service('headless', undefined, { clusterIP: 'None' }),
      service('alias', undefined, { type: 'ExternalName', externalName: 'db.example.com' }),
    ],
    endpointSlices: [slice('web', [true, false]), slice('other', [true])],
    ingresses: [
      {
        metadata: { name: 'shop', namespace: ns },
        spec: {
          tls: [{ secretName: 'shop-tls' }],
          rules: [
            {
              host: 'shop.example.com',
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 8080 } } } },
                  { path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } },
                ],
              },
            },
          ],
        },
      } as V1Ingress,
      {
        metadata: { name: 'unrelated', namespace: ns },
        spec: { defaultBackend: { service: { name: 'other', port: { number: 80 } } } },
      } as V1Ingress,
    ],
    pvcs: [
      { metadata: { name: 'data', namespace: ns }, spec: { storageClassName: 'fast' }, status: { phase: 'Pending' } },
      { metadata: { name: 'cache', namespace: ns }, spec: { storageClassName: 'local' }, status: { phase: 'Pending' } },
      { metadata: { name: 'elsewhere', namespace: ns }, spec: {}, status: { phase: 'Bound' } },
    ] as V1PersistentVolumeClaim[],
    storageClasses: [
      { metadata: { name: 'local' }, provisioner: 'x', volumeBindingMode: 'WaitForFirstConsumer' } as V1StorageClass,
    ],
    namespacePods: [
      readyPod('web-aaaa1-00001', 'aaaa1'),
      readyPod('web-aaaa1-00002', 'aaaa1'),
      readyPod('other-1', 'cccc3', { app: 'other' }),
    ],
  };
  const withClaims = () =>
    snapshot({
      object: {
        ...deployment(1),
        spec: {
          ...deployment(1).spec,
          selector: { matchLabels: { app: 'web' } },
          template: template({
            volumes: [
              { name: 'd', persistentVolumeClaim: { claimName: 'data' } },
              { name: 'c', persistentVolumeClaim: { claimName: 'cache' } },
            ],
          }),
        },
      } as V1Deployment,
      surroundings: around,
    });

  it('Services: those selecting the pods with endpoint counts, and a typo with the label the pods really have', () => {
    const { facts, text } = renderKubernetesContext(withClaims());
    expect(facts.services).toEqual([
      {
        name: 'web',
        type: 'ClusterIP',
        selector: { app: 'web' },
        matchingPods: 2,
        readyEndpoints: 1,
        notReadyEndpoints: 1,
        selectsWorkload: true,
      },
      expect.objectContaining({
        name: 'web-typo',
        matchingPods: 0,
        selectsWorkload: false,
        mismatchedLabels: [{ key: 'app', wants: 'wbe', podsHave: 'web' }],
      }),
    ]);
    // Services without a selector, and Services of other workloads, are not this workload's business.
    expect(text).not.toContain('Service headless');
    expect(text).not.toContain('Service alias');
    expect(text).not.toContain('Service other');
    expect(text).toContain('Service web-typo (ClusterIP) selector app=wbe: 0 pod(s) match');
    expect(text).toContain('the nearest pods have app=web');
  });

  it("a typo in a Service nearest another workload's pods is not this workload's cause", () => {
    const { facts } = renderKubernetesContext(
      snapshot({ surroundings: { ...around, services: [service('other-typo', { app: 'othr' })] } }),
    );
    expect(facts.services).toEqual([]);
  });

  it('Ingresses routing to its Services, with the missing port, Service and TLS Secret', () => {
    const { facts, text } = renderKubernetesContext(withClaims());
    expect(facts.ingresses).toEqual([
      {
        name: 'shop',
        backends: [
          { service: 'web', port: '8080', serviceExists: true, portExists: false },
          { service: 'api', port: '80', serviceExists: false, portExists: false },
        ],
        missingTlsSecrets: ['shop-tls'],
      },
    ]);
    expect(text).toContain(
      'Ingress shop: backends web:8080 (port MISSING), api:80 (Service MISSING); TLS Secret MISSING: shop-tls',
    );
  });

  it('claims its pods mount: a missing StorageClass, and WaitForFirstConsumer said as such', () => {
    const { facts } = renderKubernetesContext(withClaims());
    expect(facts.pvcs).toEqual([
      { name: 'data', phase: 'Pending', storageClass: 'fast', storageClassExists: false },
      {
        name: 'cache',
        phase: 'Pending',
        storageClass: 'local',
        storageClassExists: true,
        bindingMode: 'WaitForFirstConsumer',
      },
    ]);
  });

  it('stays within its size bound with many related objects', () => {
    const many: Partial<Surroundings> = {
      ...around,
      services: Array.from({ length: 50 }, (_, i) =>
        service(`typo-${i}-${'x'.repeat(200)}`, { app: `w${i}`, tier: 'y'.repeat(60) }),
      ),
    };
    const context = renderKubernetesContext(snapshot({ surroundings: many }), { maxChars: 2_000 });
    expect(context.text.length).toBeLessThanOrEqual(2_000);
    expect(context.facts.services?.length).toBeLessThanOrEqual(5);
  });

  it('redacts a credential that a blocker message carries', () => {
    const { facts, text } = renderKubernetesContext(
      snapshot({
        pods: [configErrorPod('web-aaaa1-00001', 'aaaa1', 'secret "db" not found; password=hunter2hunter2')],
      }),
    );
    expect(text).not.toContain('hunter2hunter2');
    expect(JSON.stringify(facts.blockers)).not.toContain('hunter2hunter2');
  });
});

describe('Issues about configuration rather than a workload', () => {
  const subject = (
    kind: string,
    name: string,
    object: WorkloadSnapshot['object'],
    surroundings: Partial<Surroundings>,
    pods: V1Pod[] = [],
  ) =>
    renderKubernetesContext({
      ref: { kind, name, namespace: ns },
      object,
      pods,
      events: [],
      notes: [],
      surroundings: { ...emptySurroundings, ...surroundings },
    });

  it('a Service whose selector matches nothing: found, with the label to fix', () => {
    const typo = service('web-svc', { app: 'wbe' });
    const context = subject('Service', 'web-svc', typo, {
      services: [typo],
      namespacePods: [readyPod('web-1', 'a'), readyPod('db-1', 'b', { app: 'db' })],
    });
    expect(context.facts.found).toBe(true);
    expect(context.facts.subject?.problems).toEqual([
      'spec.selector of Service web-svc matches no pod: app is wbe but the nearest pods have app=web',
    ]);
    expect(context.text).toContain('PROBLEM: spec.selector of Service web-svc');
  });

  it('a healthy Service, a headless one and an ExternalName one show no problem', () => {
    const healthy = service('web', { app: 'web' });
    expect(
      subject(
        'Service',
        'web',
        healthy,
        { services: [healthy], endpointSlices: [slice('web', [true])], namespacePods: [readyPod('web-1', 'a')] },
        [readyPod('web-1', 'a')],
      ).facts.subject?.problems,
    ).toEqual([]);
    const headless = service('h', undefined, { clusterIP: 'None' });
    expect(subject('Service', 'h', headless, { services: [headless] }).facts.subject?.problems).toEqual([]);
    const alias = service('a', undefined, { type: 'ExternalName', externalName: 'db.example.com' });
    expect(subject('Service', 'a', alias, { services: [alias] }).facts.subject?.problems).toEqual([]);
  });

  it('a Service selecting pods none of which is ready', () => {
    const svc = service('web', { app: 'web' });
    const pods = [readyPod('web-1', 'a')];
    const context = subject(
      'Service',
      'web',
      svc,
      { services: [svc], endpointSlices: [slice('web', [false])], namespacePods: pods },
      pods,
    );
    expect(context.facts.subject?.problems).toEqual(['Service web selects 1 pod(s) but none is ready']);
  });

  it('an Ingress with a missing backend Service and TLS Secret; one with a default backend only is fine', () => {
    const broken = {
      metadata: { name: 'shop', namespace: ns },
      spec: {
        tls: [{ secretName: 'shop-tls' }],
        rules: [
          {
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'gone', port: { number: 80 } } } }],
            },
          },
        ],
      },
    } as V1Ingress;
    expect(subject('Ingress', 'shop', broken, { ingresses: [broken] }).facts.subject?.problems).toEqual([
      'spec.rules[0].http.paths[0].backend.service.name: Service gone does not exist',
      'spec.tls[].secretName: TLS Secret shop-tls does not exist',
    ]);
    const fine = {
      metadata: { name: 'default', namespace: ns },
      spec: { defaultBackend: { service: { name: 'web', port: { name: 'http' } } } },
    } as V1Ingress;
    expect(
      subject('Ingress', 'default', fine, { ingresses: [fine], services: [service('web', { app: 'web' })] }).facts
        .subject?.problems,
    ).toEqual([]);
  });

  it('a PVC naming a missing StorageClass; a WaitForFirstConsumer one Pending by design is fine', () => {
    const claim = {
      metadata: { name: 'data', namespace: ns },
      spec: { storageClassName: 'fast' },
      status: { phase: 'Pending' },
    } as V1PersistentVolumeClaim;
    expect(subject('PersistentVolumeClaim', 'data', claim, { pvcs: [claim] }).facts.subject?.problems).toEqual([
      'spec.storageClassName: StorageClass fast does not exist',
    ]);
    const waiting = {
      metadata: { name: 'w', namespace: ns },
      spec: { storageClassName: 'local' },
      status: { phase: 'Pending' },
    } as V1PersistentVolumeClaim;
    const local = {
      metadata: { name: 'local' },
      provisioner: 'x',
      volumeBindingMode: 'WaitForFirstConsumer',
    } as V1StorageClass;
    expect(
      subject('PersistentVolumeClaim', 'w', waiting, { pvcs: [waiting], storageClasses: [local] }).facts.subject
        ?.problems,
    ).toEqual([]);
  });

  it('a NetworkPolicy selecting no pod, and one that does', () => {
    const policy = (name: string, app: string) =>
      ({ metadata: { name, namespace: ns }, spec: { podSelector: { matchLabels: { app } } } }) as V1NetworkPolicy;
    const pods = [readyPod('web-1', 'a')];
    expect(subject('NetworkPolicy', 'deny', policy('deny', 'wbe'), { namespacePods: pods }).facts.subject).toEqual({
      problems: ['spec.podSelector app=wbe of NetworkPolicy deny selects no pod'],
      selectedPods: 0,
    });
    expect(subject('NetworkPolicy', 'ok', policy('ok', 'web'), { namespacePods: pods }).facts.subject).toEqual({
      problems: [],
      selectedPods: 1,
    });
  });

  it('a webhook whose Service has no ready endpoint', () => {
    const config = {
      metadata: { name: 'policy' },
      webhooks: [
        {
          name: 'check.example.com',
          clientConfig: { service: { namespace: 'policy', name: 'checker' } },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
        },
      ],
    } as V1ValidatingWebhookConfiguration;
    const down = renderKubernetesContext({
      ref: { kind: 'ValidatingWebhookConfiguration', name: 'policy', namespace: '' },
      object: config,
      pods: [],
      events: [],
      notes: [],
      surroundings: emptySurroundings,
    });
    expect(down.facts.subject?.problems).toEqual([
      "webhook check.example.com: Service policy/checker has no ready endpoint (failurePolicy Fail: matching requests are rejected); fix that Service's pods or webhooks[check.example.com].clientConfig.service",
    ]);
    const up = renderKubernetesContext({
      ref: { kind: 'ValidatingWebhookConfiguration', name: 'policy', namespace: '' },
      object: config,
      pods: [],
      events: [],
      notes: [],
      surroundings: {
        ...emptySurroundings,
        endpointSlices: [
          { ...slice('checker', [true]), metadata: { ...slice('checker', [true]).metadata, namespace: 'policy' } },
        ],
      },
    });
    expect(up.facts.subject?.problems).toEqual([]);
  });

  it('an HPA whose scale target does not exist', () => {
    const hpa: V2HorizontalPodAutoscaler = {
      metadata: { name: 'web', namespace: ns },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'webb' }, maxReplicas: 5 },
    };
    const context = subject('HorizontalPodAutoscaler', 'web', hpa, { scaleTargetExists: false });
    expect(context.facts.subject).toEqual({
      problems: ['spec.scaleTargetRef: Deployment webb does not exist'],
      targetExists: false,
    });
    expect(context.facts.hpa?.target).toBe('Deployment/webb');
  });
});
