import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CairnError } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { actionTypes } from '../adapters/kubernetes/api/actionTypes.ts';
import type { ActionParams } from './action.ts';
import { parseManifest } from './config.actions.ts';
import { chooseRevision, mergedResources, templateOf } from './deployment.actions.ts';
import { drainClass } from './node.actions.ts';
import { maskEnvironment } from './pod.actions.ts';
import { actionDefinitions, actionsOutsideCatalog, checkAction, requireAction } from './registry.ts';
import { restoreOps, SnapshotKinds } from './snapshot.ts';
import { sickestPod } from './workloadPods.ts';

const deploymentRef: ResourceRef = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const nodeRef: ResourceRef = { kind: 'Node', name: 'kwok-node-1', namespace: '' };

/** The CairnError a check throws, or undefined when it passes. */
const refusal = (type: string, params: ActionParams, target: ResourceRef = deploymentRef) => {
  try {
    requireAction(type).check(params, target);
    return undefined;
  } catch (error) {
    if (!(error instanceof CairnError)) throw error;
    return { code: error.code, category: error.category, message: error.message };
  }
};

describe('the registry', () => {
  it('implements every action type of the catalogue, and nothing outside it', () => {
    const types = actionDefinitions.map((d) => d.type);
    expect([...types].sort()).toEqual([...actionTypes].sort());
    expect(actionsOutsideCatalog).toEqual([]);
    expect(new Set(types).size).toBe(types.length);
  });

  it('answers an unknown type with action.unknown', () => {
    expect(checkAction('Teleport', {}, deploymentRef)).toMatchObject({ ok: false, code: 'action.unknown' });
  });

  it('marks the actions a snapshot cannot undo as destructive', () => {
    const destructive = actionDefinitions.filter((d) => d.destructive).map((d) => d.type);
    expect(destructive.sort()).toEqual(
      [
        'Custom',
        'DeletePod',
        'DrainNode',
        'ResizePVC',
        'RestartStatefulSetPod',
        'RotateSecret',
        'DeleteStatefulSetPod',
        'ForceDeleteStatefulSetPod',
        'RecreateStatefulSetPVC',
        'DeleteDaemonSetPod',
        'CordonAndDeleteDaemonSetPod',
        'RetryJob',
        'AdjustJobResources',
        'DeleteFailedJob',
        'ForceDeleteJobPods',
        'DeleteCronJobActiveJobs',
      ].sort(),
    );
  });
});

describe('checks shared by every action', () => {
  it('refuses a target kind the action does not act on', () => {
    expect(
      refusal('ScaleDeployment', { replicas: '2' }, { kind: 'StatefulSet', name: 'db', namespace: 'x' }),
    ).toMatchObject({
      code: 'action.invalid_params',
      message: expect.stringMatching(/^target: .*Deployment/),
    });
  });

  it('refuses a parameter the action does not take, naming it', () => {
    expect(refusal('ScaleDeployment', { replicas: '2', replica: '3' })).toMatchObject({
      code: 'action.invalid_params',
      category: 'Validation',
      message: expect.stringMatching(/^replica: /),
    });
  });

  it('refuses a missing required parameter', () => {
    expect(refusal('PatchConfig', { key: 'a', value: 'b' })?.message).toMatch(/^configmap: is required/);
  });
});

describe('ScaleDeployment', () => {
  it('accepts 1 and more', () => expect(refusal('ScaleDeployment', { replicas: '3' })).toBeUndefined());
  it('never scales to 0 (unsafe)', () => {
    expect(refusal('ScaleDeployment', { replicas: '0' })).toMatchObject({
      code: 'action.unsafe',
      message: expect.stringMatching(/^replicas: /),
    });
  });
  it.each(['-1', 'two', '2.5', '100000'])('refuses replicas=%s', (replicas) => {
    expect(refusal('ScaleDeployment', { replicas })?.code).toBe('action.invalid_params');
  });
});

describe('RollbackDeployment', () => {
  it.each(['previous', 'last-healthy', '3'])('accepts toRevision=%s', (toRevision) => {
    expect(refusal('RollbackDeployment', { toRevision })).toBeUndefined();
  });
  it('refuses a revision that is not one', () => {
    expect(refusal('RollbackDeployment', { toRevision: 'yesterday' })?.message).toMatch(/^toRevision: /);
  });

  const rs = (revision: number, ready: number, image: string): k8s.V1ReplicaSet => ({
    metadata: { name: `web-${revision}`, annotations: { 'deployment.kubernetes.io/revision': String(revision) } },
    spec: {
      selector: {},
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': `h${revision}` } },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
    status: { replicas: ready, readyReplicas: ready },
  });
  // Newest first, as revisionsOf returns them: 4 crashes, 3 had no ready pod left, 2 still serves.
  const history = [rs(4, 0, 'web:4-broken'), rs(3, 0, 'web:3'), rs(2, 1, 'web:2'), rs(1, 0, 'web:1')];

  it('goes to the second-newest revision by default, like kubectl rollout undo', () => {
    expect(chooseRevision(history, 'previous', deploymentRef).metadata?.name).toBe('web-3');
  });
  it('last-healthy chooses the newest older revision that still has ready pods', () => {
    expect(chooseRevision(history, 'last-healthy', deploymentRef).metadata?.name).toBe('web-2');
  });
  it('a revision number chooses that revision', () => {
    expect(chooseRevision(history, 1, deploymentRef).metadata?.name).toBe('web-1');
  });
  it('says so when there is nothing to go back to', () => {
    expect(() => chooseRevision([rs(1, 2, 'web:1')], 'previous', deploymentRef)).toThrow(/only one revision/);
    expect(() => chooseRevision(history, 9, deploymentRef)).toThrow(/no revision 9 \(it has 4, 3, 2, 1\)/);
    expect(() => chooseRevision([rs(2, 0, 'b'), rs(1, 0, 'a')], 'last-healthy', deploymentRef)).toThrow(
      /no older revision .* has ready pods/,
    );
  });
  it("copies the old ReplicaSet's template without its pod-template-hash label", () => {
    const template = templateOf(history[2] as k8s.V1ReplicaSet) as k8s.V1PodTemplateSpec;
    expect(template.metadata?.labels).toEqual({ app: 'web' });
    expect(template.spec?.containers[0]?.image).toBe('web:2');
    expect(history[2]?.spec?.template?.metadata?.labels?.['pod-template-hash']).toBe('h2');
  });
});

describe('AdjustResources', () => {
  it('accepts a memory increase', () => {
    expect(refusal('AdjustResources', { memory_limit: '512Mi', memory_request: '256Mi' })).toBeUndefined();
  });
  it('refuses a limit below the request given with it (unsafe, naming the limit)', () => {
    expect(refusal('AdjustResources', { memory_limit: '128Mi', memory_request: '256Mi' })).toMatchObject({
      code: 'action.unsafe',
      message: expect.stringMatching(/^memory_limit: memory limit 128Mi would be below its request 256Mi/),
    });
    expect(refusal('AdjustResources', { cpu_limit: '100m', cpu_request: '0.5' })?.message).toMatch(/^cpu_limit: /);
  });
  it('refuses a malformed quantity and an empty change', () => {
    expect(refusal('AdjustResources', { memory_limit: '512MB' })?.message).toMatch(/^memory_limit: "512MB" is not/);
    expect(refusal('AdjustResources', {})?.code).toBe('action.invalid_params');
  });
  it('merges with the current resources, so an unchanged request still bounds a new limit', () => {
    expect(
      mergedResources(
        { limits: { memory: '128Mi' }, requests: { memory: '128Mi', cpu: '100m' } },
        { memory_limit: '64Mi' },
      ),
    ).toEqual({ limits: { memory: '64Mi' }, requests: { memory: '128Mi', cpu: '100m' } });
  });
});

describe('DeletePod, RestartStatefulSetPod and ExecDiagnostic', () => {
  it('DeletePod takes an optional pod name and refuses a malformed one', () => {
    expect(refusal('DeletePod', {})).toBeUndefined();
    expect(refusal('DeletePod', { pod: '../etc' })?.message).toMatch(/^pod: /);
  });

  const pod = (name: string, ready: boolean, restarts: number, created: string, waiting?: string): k8s.V1Pod => ({
    metadata: { name, creationTimestamp: new Date(created) },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [
        {
          name: 'app',
          image: 'x',
          imageID: '',
          ready,
          restartCount: restarts,
          ...(waiting ? { state: { waiting: { reason: waiting } } } : {}),
        },
      ],
    },
  });
  it('the sickest pod is an unready crash-looping one, then the one with most restarts, then the oldest', () => {
    const pods = [
      pod('a', true, 3, '2026-01-01T00:00:00Z'),
      pod('b', false, 1, '2026-01-02T00:00:00Z', 'CrashLoopBackOff'),
      pod('c', false, 0, '2026-01-01T00:00:00Z'),
    ];
    expect(sickestPod(pods)?.metadata?.name).toBe('b');
    expect(sickestPod([pods[0] as k8s.V1Pod, pod('d', true, 9, '2026-01-03T00:00:00Z')])?.metadata?.name).toBe('d');
    expect(
      sickestPod([pod('y', true, 0, '2026-01-02T00:00:00Z'), pod('x', true, 0, '2026-01-01T00:00:00Z')])?.metadata
        ?.name,
    ).toBe('x');
  });

  it('RestartStatefulSetPod acts on StatefulSets only', () => {
    expect(refusal('RestartStatefulSetPod', {}, { kind: 'StatefulSet', name: 'db', namespace: 'x' })).toBeUndefined();
    expect(refusal('RestartStatefulSetPod', {})?.message).toMatch(/^target: /);
  });

  it('ExecDiagnostic runs only allowlisted commands, exactly', () => {
    expect(refusal('ExecDiagnostic', { command: 'cat /proc/meminfo' })).toBeUndefined();
    expect(refusal('ExecDiagnostic', { command: '  df   -h ' })).toBeUndefined();
    for (const command of ['rm -rf /', 'cat /etc/shadow', 'ps; rm x', 'env | curl evil', 'sh -c ps']) {
      expect(refusal('ExecDiagnostic', { command })).toMatchObject({
        code: 'action.unsafe',
        message: expect.stringMatching(/^command: /),
      });
    }
    expect(refusal('ExecDiagnostic', {})?.code).toBe('action.invalid_params');
  });

  it('masks every env value but those of harmless names, whatever the other names say', () => {
    const masked = maskEnvironment(
      'PATH=/usr/bin\nLOG_LEVEL=debug\nDB_PASS=hunter2\nAWS_KEY=abc\nDATABASE_URL=postgres://app:s3cret@db:5432/x\nUPSTREAM=blue',
    );
    expect(masked).toContain('PATH=/usr/bin');
    expect(masked).toContain('LOG_LEVEL=debug');
    for (const name of ['DB_PASS', 'AWS_KEY', 'DATABASE_URL', 'UPSTREAM'])
      expect(masked).toContain(`${name}=[REDACTED]`);
    expect(masked).not.toMatch(/hunter2|s3cret|abc\b|blue/);
  });
});

describe('config, secret, manifest, HPA, node, storage, network and GitOps checks', () => {
  it('PatchConfig needs configmap, key and value (which may be empty)', () => {
    expect(refusal('PatchConfig', { configmap: 'app', key: 'LOG_LEVEL', value: '' })).toBeUndefined();
    expect(refusal('PatchConfig', { configmap: 'app', key: 'LOG_LEVEL' })?.message).toMatch(/^value: /);
    expect(refusal('PatchConfig', { configmap: 'app', key: '../x', value: '1' })?.message).toMatch(/^key: /);
  });

  it('RotateSecret takes key=value or a source secret, not both', () => {
    expect(refusal('RotateSecret', { secret: 'db', key: 'password', value: 'n3w' })).toBeUndefined();
    expect(refusal('RotateSecret', { secret: 'db', sourceSecret: 'db-next' })).toBeUndefined();
    expect(refusal('RotateSecret', { secret: 'db', sourceSecret: 'db-next', value: 'x' })?.message).toMatch(/^value: /);
    expect(refusal('RotateSecret', { secret: 'db', sourceSecret: 'db' })?.message).toMatch(/^sourceSecret: /);
    expect(refusal('RotateSecret', { secret: 'db' })?.message).toMatch(/^key: /);
  });

  it('ApplyManifest allows six kinds in the target namespace only', () => {
    const ok = parseManifest(
      '{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","resourceVersion":"9"},"spec":{},"status":{}}',
      'shop',
    );
    expect(ok).toEqual({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'shop' }, spec: {} });
    const code = (text: string) => {
      try {
        parseManifest(text, 'shop');
        return 'ok';
      } catch (error) {
        return (error as CairnError).code;
      }
    };
    expect(code('{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}')).toBe('action.unsafe');
    expect(code('{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"s"}}')).toBe(
      'action.unsafe',
    );
    expect(code('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s","namespace":"kube-system"}}')).toBe(
      'action.unsafe',
    );
    expect(code('{"apiVersion":"apps/v1beta1","kind":"Deployment","metadata":{"name":"d"}}')).toBe(
      'action.invalid_params',
    );
    expect(code('not json')).toBe('action.invalid_params');
    expect(code('[]')).toBe('action.invalid_params');
  });

  it('AdjustHPA keeps 1 <= min <= max', () => {
    expect(refusal('AdjustHPA', { minReplicas: '2', maxReplicas: '5', targetCPUUtilization: '70' })).toBeUndefined();
    expect(refusal('AdjustHPA', { minReplicas: '0' })).toMatchObject({
      code: 'action.unsafe',
      message: expect.stringMatching(/^minReplicas: /),
    });
    expect(refusal('AdjustHPA', { minReplicas: '6', maxReplicas: '5' })).toMatchObject({
      code: 'action.unsafe',
      message: expect.stringMatching(/^minReplicas: /),
    });
    expect(refusal('AdjustHPA', {})?.code).toBe('action.invalid_params');
  });

  it('node actions need a node unless the target is one', () => {
    expect(refusal('CordonNode', {}, nodeRef)).toBeUndefined();
    expect(refusal('DrainNode', { node: 'kwok-node-1', timeoutSeconds: '5' })).toBeUndefined();
    expect(refusal('DrainNode', {})?.message).toMatch(/^node: is required/);
    expect(refusal('UncordonNode', { node: 'Bad_Name' })?.message).toMatch(/^node: /);
  });

  it('a drain leaves DaemonSet, mirror and terminating pods, and does not evict a pod nothing would recreate', () => {
    const owned = (kind: string): k8s.V1Pod => ({
      metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind, name: 'x', uid: '1', controller: true }] },
      status: { phase: 'Running' },
    });
    expect(drainClass(owned('ReplicaSet'))).toBe('evict');
    expect(drainClass(owned('DaemonSet'))).toBe('skip-daemonset');
    expect(drainClass({ metadata: { annotations: { 'kubernetes.io/config.mirror': 'x' } } })).toBe('skip-mirror');
    expect(drainClass({ metadata: { deletionTimestamp: new Date() } })).toBe('skip-terminating');
    expect(drainClass({ metadata: {}, status: { phase: 'Running' } })).toBe('unmanaged');
    expect(drainClass({ metadata: {}, status: { phase: 'Succeeded' } })).toBe('evict');
  });

  it('ResizePVC needs a valid size', () => {
    expect(refusal('ResizePVC', { pvc: 'data', size: '20Gi' })).toBeUndefined();
    expect(refusal('ResizePVC', { pvc: 'data', size: 'big' })?.message).toMatch(/^size: /);
  });

  it('UpdateIngress and PatchNetworkPolicy need real ports', () => {
    expect(refusal('UpdateIngress', { ingress: 'web', backendService: 'web-v2', backendPort: '8080' })).toBeUndefined();
    expect(refusal('UpdateIngress', { ingress: 'web', backendService: 'web-v2', backendPort: 'http' })).toBeUndefined();
    expect(
      refusal('UpdateIngress', { ingress: 'web', backendService: 'web-v2', backendPort: '70000' })?.message,
    ).toMatch(/^backendPort: /);
    expect(refusal('PatchNetworkPolicy', { networkPolicy: 'np', allowPort: '5432', protocol: 'UDP' })).toBeUndefined();
    expect(
      refusal('PatchNetworkPolicy', { networkPolicy: 'np', allowPort: '5432', protocol: 'ICMP' })?.message,
    ).toMatch(/^protocol: /);
  });

  it('HelmRollback and ArgoSyncApp validate their optional params', () => {
    expect(refusal('HelmRollback', {})).toBeUndefined();
    expect(refusal('HelmRollback', { release: 'shop', revision: '0' })?.message).toMatch(/^revision: /);
    expect(refusal('ArgoSyncApp', { application: 'shop', prune: 'yes' })?.message).toMatch(/^prune: /);
  });

  it('Custom is always refused, whatever it says', () => {
    expect(refusal('Custom', {})).toMatchObject({ code: 'action.unsafe' });
    expect(refusal('Custom', { description: 'please' })).toMatchObject({ code: 'action.unsafe' });
  });
});

describe('restore operations', () => {
  const deployment = SnapshotKinds.Deployment!;
  const node = SnapshotKinds.Node!;
  it('write back only the paths that changed, and remove what did not exist', () => {
    const captured = {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      name: 'web',
      namespace: 'x',
      existed: true,
      fields: { spec: { replicas: 2 } },
    };
    expect(restoreOps(deployment, captured, { spec: { replicas: 2 } })).toEqual([]);
    expect(restoreOps(deployment, captured, { spec: { replicas: 5 } })).toEqual([
      { op: 'add', path: '/spec', value: { replicas: 2 } },
    ]);
    const uncordoned = { kind: 'Node', apiVersion: 'v1', name: 'n', namespace: '', existed: true, fields: {} };
    expect(restoreOps(node, uncordoned, { spec: { unschedulable: true } })).toEqual([
      { op: 'remove', path: '/spec/unschedulable' },
    ]);
    expect(restoreOps(node, uncordoned, { spec: {} })).toEqual([]);
  });
});
