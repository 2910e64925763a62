import { describe, expect, it } from 'vitest';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import { checkEnvelope, EnvelopeCode, type EnvelopeFacts, shortestInterval } from './envelope.ts';

const at = (kind: string, name = 'app'): ResourceRef => ({ kind, name, namespace: 'shop' });
const web = at('Deployment', 'web');
const act = (type: string, params: Record<string, string> = {}): ActionSpec => ({ actionId: 'a', type, params });
const Gi = 2 ** 30;

/** A node of 4 cores and 16Gi; container `app` asks 256Mi/250m and may use 512Mi/500m. */
const facts: EnvelopeFacts = {
  containers: {
    app: { requests: { memory: '256Mi', cpu: '250m' }, limits: { memory: '512Mi', cpu: '500m' } },
    sidecar: { requests: {}, limits: {} },
  },
  largestNode: { cpu: 4, memory: 16 * Gi },
  replicas: 4,
  hpas: {},
  pvcSizes: { data: 10 * Gi },
  job: { parallelism: 2 },
  cronSchedule: '0 * * * *',
  revisions: {
    current: 3,
    entries: [
      { revision: 3, ready: false },
      { revision: 2, ready: true },
      { revision: 1, ready: false },
    ],
  },
};
const verdict = (action: ActionSpec, target = web, f = facts) => checkEnvelope(action, target, f);
const code = (action: ActionSpec, target = web, f = facts) => {
  const v = verdict(action, target, f);
  return v.ok ? 'ok' : v.code;
};

describe('resources', () => {
  const types = [
    ['AdjustResources', 'Deployment'],
    ['AdjustStatefulSetResources', 'StatefulSet'],
    ['AdjustDaemonSetResources', 'DaemonSet'],
    ['AdjustJobResources', 'Job'],
    ['AdjustCronJobResources', 'CronJob'],
  ] as const;
  it.each(types)('%s stays within 4× of the current value, either way', (type, kind) => {
    const target = at(kind);
    expect(code(act(type, { container: 'app', memory_limit: '2Gi' }), target)).toBe('ok');
    expect(code(act(type, { container: 'app', memory_limit: '2049Mi' }), target)).toBe(EnvelopeCode.Resource);
    expect(code(act(type, { container: 'app', cpu_request: '100m' }), target)).toBe('ok');
    expect(code(act(type, { container: 'app', cpu_request: '50m' }), target)).toBe(EnvelopeCode.Resource);
  });

  it('refuses the hostile 4Ti memory limit by the node bound, naming it', () => {
    const v = verdict(act('AdjustResources', { container: 'app', memory_request: '4Ti', memory_limit: '4Ti' }));
    expect(v).toMatchObject({ ok: false, code: EnvelopeCode.NodeCapacity });
    expect(v.ok ? '' : v.reason).toMatch(/memory_limit 4Ti is above the largest node's allocatable memory \(16384Mi\)/);
  });

  it('judges a container without a value only by the largest node', () => {
    expect(code(act('AdjustResources', { container: 'sidecar', memory_limit: '8Gi' }))).toBe('ok');
    expect(code(act('AdjustResources', { container: 'sidecar', cpu_limit: '5' }))).toBe(EnvelopeCode.NodeCapacity);
  });

  it('refuses a container the target does not have, or an unnamed one among several', () => {
    const v = verdict(act('AdjustResources', { container: 'ghost', memory_limit: '1Gi' }));
    expect(v.ok ? '' : v.reason).toMatch(/the target has no container ghost \(it has app, sidecar\)/);
    expect(code(act('AdjustResources', { memory_limit: '1Gi' }))).toBe(EnvelopeCode.Unknown);
    expect(code(act('AdjustResources', { container: 'ghost', cpu_limit: '1Mi' }))).toBe(EnvelopeCode.NodeCapacity);
  });

  it('judges a limit the container lacks against its request', () => {
    const onlyRequest = { ...facts, containers: { app: { requests: { memory: '1Gi' }, limits: {} } } };
    expect(code(act('AdjustResources', { memory_limit: '4Gi' }), web, onlyRequest)).toBe('ok');
    expect(code(act('AdjustResources', { memory_limit: '5Gi' }), web, onlyRequest)).toBe(EnvelopeCode.Resource);
  });

  it('refuses when the containers or nodes could not be read', () => {
    const { containers: _c, ...noContainers } = facts;
    const { largestNode: _n, ...noNodes } = facts;
    expect(code(act('AdjustResources', { memory_limit: '1Gi' }), web, noContainers)).toBe(EnvelopeCode.Unknown);
    expect(code(act('AdjustResources', { memory_limit: '1Gi' }), web, noNodes)).toBe(EnvelopeCode.Unknown);
  });

  it('honours another factor', () => {
    const tight = { factor: 1.5, replicaCeiling: 20 };
    expect(
      checkEnvelope(act('AdjustResources', { container: 'app', memory_limit: '1Gi' }), web, facts, tight),
    ).toMatchObject({
      ok: false,
      code: EnvelopeCode.Resource,
    });
  });
});

describe('replicas', () => {
  it.each(['ScaleDeployment', 'ScaleStatefulSet'])('%s stays under the ceiling when no HPA bounds it', (type) => {
    expect(code(act(type, { replicas: '20' }))).toBe('ok');
    expect(code(act(type, { replicas: '21' }))).toBe(EnvelopeCode.Replicas);
    // A workload already above the ceiling keeps its count.
    expect(code(act(type, { replicas: '30' }), web, { ...facts, replicas: 30 })).toBe('ok');
  });

  it('stays within the bounds of the HPA that scales the workload', () => {
    const hpas = {
      hpas: { web: { min: 3, max: 8, targetsTarget: true }, other: { min: 1, max: 100, targetsTarget: false } },
    };
    expect(code(act('ScaleDeployment', { replicas: '8' }), web, { ...facts, ...hpas })).toBe('ok');
    expect(code(act('ScaleDeployment', { replicas: '9' }), web, { ...facts, ...hpas })).toBe(EnvelopeCode.Replicas);
    expect(code(act('ScaleDeployment', { replicas: '2' }), web, { ...facts, ...hpas })).toBe(EnvelopeCode.Replicas);
  });

  it('AdjustHPA raises a maximum at most 4× (or to the ceiling)', () => {
    const hpas = { hpas: { web: { min: 2, max: 10, targetsTarget: true } } };
    expect(code(act('AdjustHPA', { maxReplicas: '40' }), web, { ...facts, ...hpas })).toBe('ok');
    expect(code(act('AdjustHPA', { maxReplicas: '41' }), web, { ...facts, ...hpas })).toBe(EnvelopeCode.Replicas);
    expect(code(act('AdjustHPA', { hpa: 'web', minReplicas: '50' }), web, { ...facts, ...hpas })).toBe(
      EnvelopeCode.Replicas,
    );
  });
});

describe('claims', () => {
  it('ResizePVC never shrinks and grows at most 4×', () => {
    const resize = (size: string) => code(act('ResizePVC', { pvc: 'data', size }));
    expect(resize('20Gi')).toBe('ok');
    expect(resize('10Gi')).toBe(EnvelopeCode.PvcShrink);
    expect(resize('5Gi')).toBe(EnvelopeCode.PvcShrink);
    expect(resize('41Gi')).toBe(EnvelopeCode.PvcGrowth);
    expect(code(act('ResizePVC', { pvc: 'unknown', size: '20Gi' }))).toBe(EnvelopeCode.Unknown);
  });
});

describe('Jobs and CronJobs', () => {
  const job = at('Job');
  const cron = at('CronJob');
  it('keeps deadlines, backoff limits and parallelism in their documented ranges', () => {
    expect(code(act('AdjustJobDeadline', { activeDeadlineSeconds: '3600' }), job)).toBe('ok');
    expect(code(act('AdjustJobDeadline', { activeDeadlineSeconds: '59' }), job)).toBe(EnvelopeCode.Range);
    expect(code(act('AdjustJobDeadline', { activeDeadlineSeconds: '604801' }), job)).toBe(EnvelopeCode.Range);
    expect(code(act('AdjustJobBackoffLimit', { backoffLimit: '20' }), job)).toBe('ok');
    expect(code(act('AdjustJobBackoffLimit', { backoffLimit: '21' }), job)).toBe(EnvelopeCode.Range);
    expect(code(act('AdjustJobParallelism', { parallelism: '8' }), job)).toBe('ok');
    expect(code(act('AdjustJobParallelism', { parallelism: '9' }), job)).toBe(EnvelopeCode.Range);
    expect(code(act('AdjustCronJobDeadline', { startingDeadlineSeconds: '86401' }), cron)).toBe(EnvelopeCode.Range);
  });

  it('never runs a schedule more than 4× as often as now', () => {
    expect(code(act('AdjustCronJobSchedule', { schedule: '*/15 * * * *' }), cron)).toBe('ok');
    expect(code(act('AdjustCronJobSchedule', { schedule: '*/14 * * * *' }), cron)).toBe(EnvelopeCode.Schedule);
    expect(code(act('AdjustCronJobSchedule', { schedule: '@daily' }), cron)).toBe('ok');
    expect(
      code(act('AdjustCronJobSchedule', { schedule: '* * * * *' }), cron, { ...facts, cronSchedule: '* * * * *' }),
    ).toBe('ok');
  });

  it('measures a schedule by its shortest gap', () => {
    const from = new Date('2026-01-05T00:00:00Z');
    expect(shortestInterval('*/15 * * * *', from)).toBe(900);
    expect(shortestInterval('0 9,10 * * *', from)).toBe(3600);
    expect(shortestInterval('not a cron', from)).toBeUndefined();
  });
});

describe('rollbacks', () => {
  it.each(['RollbackDeployment', 'RollbackStatefulSet', 'RollbackDaemonSet'])(
    '%s goes only to a revision that exists and is known healthy',
    (type) => {
      expect(code(act(type))).toBe('ok');
      expect(code(act(type, { toRevision: '2' }))).toBe('ok');
      expect(code(act(type, { toRevision: '1' }))).toBe(EnvelopeCode.Revision);
      expect(code(act(type, { toRevision: '7' }))).toBe(EnvelopeCode.Revision);
      expect(code(act(type), web, { revisions: { current: 1, entries: [{ revision: 1, ready: true }] } })).toBe(
        EnvelopeCode.Revision,
      );
      expect(code(act(type), web, {})).toBe(EnvelopeCode.Unknown);
    },
  );

  it('trusts a recorded healthy rollout of a revision scaled away, and never one Cairn rolled back from', () => {
    const history = (older: object) => ({
      revisions: {
        current: 2,
        entries: [
          { revision: 2, ready: true },
          { revision: 1, ready: false, ...older },
        ],
      },
    });
    expect(code(act('RollbackDeployment'), web, history({ verdict: 'healthy' }))).toBe('ok');
    expect(code(act('RollbackDeployment', { toRevision: '1' }), web, history({ verdict: 'healthy' }))).toBe('ok');
    const fled = {
      revisions: {
        current: 3,
        entries: [
          { revision: 3, ready: true },
          { revision: 2, ready: true, verdict: 'bad' as const },
        ],
      },
    };
    const v = verdict(act('RollbackDeployment'), web, fled);
    expect(v.ok ? '' : v.reason).toMatch(/revision 2 of Deployment shop\/web is one Cairn rolled back away from/);
    expect(code(act('RollbackDeployment', { toRevision: 'last-healthy' }), web, fled)).toBe(EnvelopeCode.Revision);
  });

  it('refuses "previous" when the previous revision never proved healthy, and names why', () => {
    const unproven = {
      revisions: {
        current: 2,
        entries: [
          { revision: 2, ready: true },
          { revision: 1, ready: false },
        ],
      },
    };
    const v = verdict(act('RollbackDeployment'), web, unproven);
    expect(v.ok ? '' : v.reason).toMatch(/revision 1 of Deployment shop\/web is not known to have run healthy/);
    expect(code(act('RollbackDeployment', { toRevision: 'last-healthy' }), web, unproven)).toBe(EnvelopeCode.Revision);
  });
});

describe('rolling-update strategies', () => {
  it.each(['UpdateStatefulSetStrategy', 'UpdateDaemonSetStrategy'])(
    '%s never takes down over half the pods',
    (type) => {
      expect(code(act(type, { type: 'RollingUpdate', maxUnavailable: '2' }))).toBe('ok');
      expect(code(act(type, { type: 'RollingUpdate', maxUnavailable: '3' }))).toBe(EnvelopeCode.Range);
      expect(code(act(type, { type: 'RollingUpdate', maxUnavailable: '50%' }))).toBe('ok');
      expect(code(act(type, { type: 'RollingUpdate', maxUnavailable: '100%' }))).toBe(EnvelopeCode.Range);
    },
  );
});

it('leaves actions without values alone', () => {
  for (const type of ['RestartDeployment', 'DeletePod', 'PatchConfig', 'SuspendJob'])
    expect(code(act(type), web, {})).toBe('ok');
});

describe('manifests', () => {
  it('ApplyManifest runs only a manifest judged applicable in the target namespace', () => {
    const apply = act('ApplyManifest', { configmap: 'fixes', key: 'svc' });
    expect(code(apply, web, { manifests: { 'fixes/svc': { ok: true } } })).toBe('ok');
    const elsewhere = {
      manifests: { 'fixes/svc': { ok: false as const, reason: 'manifest: it targets namespace "payments"' } },
    };
    const v = verdict(apply, web, elsewhere);
    expect(v).toMatchObject({ ok: false, code: EnvelopeCode.Manifest });
    expect(v.ok ? '' : v.reason).toMatch(/targets namespace "payments"/);
    expect(code(apply, web, { manifests: {} })).toBe(EnvelopeCode.Unknown);
  });
});
