import type {
  CoreV1Event,
  V1ContainerStatus,
  V1ControllerRevision,
  V1CronJob,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { analysisRequest } from '../../test/fixtures/analysis.fixtures.ts';
import { envCases } from '../../test/fixtures/redaction.corpus.ts';
import { analyzeWithRules } from '../analysis/rules.provider.ts';
import { ContextLimits, renderKubernetesContext, type WorkloadSnapshot } from './kubernetesContext.render.ts';

const ns = 'shop';
const GOOD = 'registry.local/shop/web:1.0.0';
const BROKEN = 'registry.local/shop/web:1.0.0-broken';
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, second));

const template = (image: string, extra: Partial<V1PodTemplateSpec['spec']> = {}): V1PodTemplateSpec => ({
  metadata: { labels: { app: 'web' } },
  spec: {
    containers: [
      { name: 'app', image, resources: { requests: { memory: '64Mi', cpu: '100m' }, limits: { memory: '128Mi' } } },
    ],
    ...extra,
  },
});

const deployment = (image: string, revision: number): V1Deployment => ({
  metadata: {
    name: 'web',
    namespace: ns,
    uid: 'd-1',
    generation: revision,
    annotations: { 'deployment.kubernetes.io/revision': String(revision) },
  },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template(image) },
  status: {
    replicas: 3,
    readyReplicas: 1,
    availableReplicas: 1,
    updatedReplicas: 1,
    conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok' }],
  },
});

const replicaSet = (revision: number, hash: string, image: string, replicas: number, ready: number): V1ReplicaSet => ({
  metadata: {
    name: `web-${hash}`,
    namespace: ns,
    uid: `rs-${hash}`,
    labels: { app: 'web', 'pod-template-hash': hash },
    annotations: { 'deployment.kubernetes.io/revision': String(revision) },
  },
  spec: { selector: { matchLabels: { app: 'web' } }, template: template(image) },
  status: { replicas, readyReplicas: ready },
});

const running = (name: string, image: string): V1ContainerStatus => ({
  name,
  image,
  imageID: image,
  ready: true,
  restartCount: 0,
  state: { running: { startedAt: at(1) } },
});

const crashing = (
  name: string,
  image: string,
  restarts: number,
  reason = 'Error',
  exitCode = 1,
): V1ContainerStatus => ({
  name,
  image,
  imageID: image,
  ready: false,
  restartCount: restarts,
  state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${name}` } },
  lastState: { terminated: { reason, exitCode, finishedAt: at(30) } },
});

const pod = (name: string, hash: string, status: V1ContainerStatus, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, namespace: ns, labels: { app: 'web', 'pod-template-hash': hash, ...labels } },
  spec: { containers: [{ name: status.name, image: status.image }], nodeName: 'kwok-node-0' },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: status.ready ? 'True' : 'False' }],
    containerStatuses: [status],
  },
});

const event = (
  name: string,
  reason: string,
  message: string,
  second: number,
  options: { type?: string; kind?: string; count?: number; component?: string } = {},
): CoreV1Event => ({
  metadata: { name: `${name}.${second}.${reason}`, namespace: ns },
  involvedObject: { kind: options.kind ?? 'Pod', name, namespace: ns },
  reason,
  message,
  type: options.type ?? 'Normal',
  count: options.count ?? 1,
  lastTimestamp: at(second),
  ...(options.component ? { source: { component: options.component }, reportingComponent: options.component } : {}),
});

/** A rolling update from a good image to a crashing one, stuck with one old pod serving. */
const crashSnapshot = (overrides: Partial<WorkloadSnapshot> = {}): WorkloadSnapshot => ({
  ref: { kind: 'Deployment', name: 'web', namespace: ns },
  object: deployment(BROKEN, 2),
  replicaSets: [replicaSet(1, 'aaa11', GOOD, 1, 1), replicaSet(2, 'bbb22', BROKEN, 2, 0)],
  pods: [
    pod('web-aaa11-ok001', 'aaa11', running('app', GOOD)),
    pod('web-bbb22-cr001', 'bbb22', crashing('app', BROKEN, 3)),
    pod('web-bbb22-cr002', 'bbb22', crashing('app', BROKEN, 8)),
  ],
  events: [
    event('web-bbb22-cr001', 'BackOff', 'Back-off restarting failed container', 40, { type: 'Warning', count: 12 }),
    event('web', 'ScalingReplicaSet', 'Scaled up replica set web-bbb22 to 2', 10, { kind: 'Deployment' }),
    event('web', 'CairnIssueDetected', 'Cairn opened Issue web-1', 45, {
      kind: 'Deployment',
      type: 'Warning',
      component: 'cairn-operator',
    }),
  ],
  notes: [],
  ...overrides,
});

describe('renderKubernetesContext for a Deployment', () => {
  it('lists revisions newest first with the image diff and each one’s readiness', () => {
    const { text, facts } = renderKubernetesContext(crashSnapshot());
    expect(text).toContain(`revision 2 (web-bbb22) CURRENT: 2 pod(s), 0 ready; image changed: app ${GOOD} → ${BROKEN}`);
    expect(text).toContain('revision 1 (web-aaa11): 1 pod(s), 1 ready');
    expect(text.indexOf('revision 2 (')).toBeLessThan(text.indexOf('revision 1 ('));
    expect(facts.currentRevision).toBe(2);
    expect(facts.revisions.map((r) => [r.revision, r.current, r.ready, r.images.app])).toEqual([
      [2, true, false, BROKEN],
      [1, false, true, GOOD],
    ]);
    expect(facts.revisions[0]?.imageChanges).toEqual([{ container: 'app', from: GOOD, to: BROKEN }]);
  });

  it('shows the sickest pods first, with restarts and last termination', () => {
    const { text, facts } = renderKubernetesContext(crashSnapshot());
    expect(facts.pods.map((p) => p.name)).toEqual(['web-bbb22-cr002', 'web-bbb22-cr001', 'web-aaa11-ok001']);
    expect(facts.pods[0]).toMatchObject({
      revision: 2,
      ready: false,
      restarts: 8,
      reasons: ['CrashLoopBackOff', 'Error'],
    });
    const pods = text.slice(text.indexOf('== Pods'));
    expect(pods.indexOf('web-bbb22-cr002')).toBeLessThan(pods.indexOf('web-aaa11-ok001'));
    expect(text).toContain('waiting CrashLoopBackOff');
    expect(text).toContain('last terminated Error (exit 1)');
    expect(facts).toMatchObject({
      crashLooping: true,
      imagePullFailing: false,
      oomKilled: false,
      notReadyPods: 2,
      maxRestarts: 8,
      podCount: 3,
    });
  });

  it('shows the workload status, containers and their resources', () => {
    const { text, facts } = renderKubernetesContext(crashSnapshot());
    expect(text).toContain('== Deployment shop/web ==');
    expect(text).toContain('Replicas: desired 2, current 3, updated 1, ready 1, available 1');
    expect(text).toContain('Available=True (MinimumReplicasAvailable)');
    expect(text).toContain(`- app: image ${BROKEN}; requests cpu=100m memory=64Mi; limits memory=128Mi`);
    expect(facts.containers).toEqual([
      { name: 'app', image: BROKEN, memoryLimit: '128Mi', memoryRequest: '64Mi', cpuRequest: '100m' },
    ]);
    expect(facts.replicas).toEqual({ desired: 2, ready: 1, available: 1, updated: 1 });
  });

  it('shows events newest first, leaves out Cairn’s own and keeps Warning reasons as facts', () => {
    const { text, facts } = renderKubernetesContext(crashSnapshot());
    expect(text).toContain('Warning BackOff Pod/web-bbb22-cr001: Back-off restarting failed container (x12)');
    expect(text.indexOf('BackOff')).toBeLessThan(text.indexOf('ScalingReplicaSet'));
    expect(text).not.toContain('CairnIssueDetected');
    expect(facts.warningReasons).toEqual(['BackOff']);
  });

  it('keeps the 15 newest events', () => {
    const events = Array.from({ length: 40 }, (_, i) => event(`web-bbb22-cr001`, `Reason${i}`, `message ${i}`, i));
    const { text } = renderKubernetesContext(crashSnapshot({ events }));
    expect(text).toContain('Recent events (15 of 40, newest first)');
    expect(text).toContain('Reason39');
    expect(text).toContain('Reason25');
    expect(text).not.toContain('Reason24:');
  });

  it('keeps at most five pods and five revisions', () => {
    const replicaSets = Array.from({ length: 8 }, (_, i) => replicaSet(i + 1, `h${i}`, `${GOOD}-${i}`, 0, 0));
    const pods = Array.from({ length: 12 }, (_, i) =>
      pod(`web-h7-p${String(i).padStart(2, '0')}`, 'h7', running('app', GOOD)),
    );
    const { text, facts } = renderKubernetesContext(crashSnapshot({ object: deployment(GOOD, 8), replicaSets, pods }));
    expect(facts.pods).toHaveLength(ContextLimits.pods);
    expect(facts.podCount).toBe(12);
    expect(facts.revisions.map((r) => r.revision)).toEqual([8, 7, 6, 5, 4]);
    expect(facts.revisions.at(-1)?.imageChanges).toEqual([{ container: 'app', from: `${GOOD}-2`, to: `${GOOD}-3` }]);
    expect(text).toContain('Revisions (newest first, 5 of 8)');
    expect(text).toContain('Pods (5 of 12, unhealthy first)');
  });

  it('says what else changed when a revision kept its images', () => {
    const older = replicaSet(1, 'aaa11', GOOD, 0, 0);
    const newer = replicaSet(2, 'bbb22', GOOD, 2, 0);
    newer.spec = {
      ...newer.spec,
      selector: { matchLabels: { app: 'web' } },
      template: { ...template(GOOD), metadata: { annotations: { 'fault.cairn.dev/memory-working-set': '256Mi' } } },
    };
    const { text } = renderKubernetesContext(
      crashSnapshot({ object: deployment(GOOD, 2), replicaSets: [older, newer] }),
    );
    expect(text).toContain(
      'same images as the revision before; also changed: pod annotations fault.cairn.dev/memory-working-set',
    );
  });

  it('records OOM kills per container', () => {
    const pods = [pod('web-bbb22-oom01', 'bbb22', crashing('app', GOOD, 4, 'OOMKilled', 137))];
    const { text, facts } = renderKubernetesContext(crashSnapshot({ pods }));
    expect(facts.oomKilled).toBe(true);
    expect(facts.oomKilledContainers).toEqual(['app']);
    expect(facts.pods[0]?.oomKilledContainers).toEqual(['app']);
    expect(text).toContain('last terminated OOMKilled (exit 137)');
  });

  it('records image pull failures', () => {
    const status: V1ContainerStatus = {
      name: 'app',
      image: 'registry.local/shop/web:9-nonexistent',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } },
    };
    const pending = pod('web-bbb22-pull1', 'bbb22', status);
    pending.status = { ...pending.status, phase: 'Pending' };
    const { facts } = renderKubernetesContext(crashSnapshot({ pods: [pending] }));
    expect(facts.imagePullFailing).toBe(true);
    expect(facts.crashLooping).toBe(false);
    expect(facts.pods[0]).toMatchObject({ phase: 'Pending', reasons: ['ImagePullBackOff'] });
  });

  it('says when a workload does not exist', () => {
    const { text, facts } = renderKubernetesContext({
      ref: { kind: 'Deployment', name: 'gone', namespace: ns },
      pods: [],
      events: [],
      notes: [],
    });
    expect(text).toBe('Deployment shop/gone was not found.');
    expect(facts.found).toBe(false);
  });

  it('says which parts could not be read', () => {
    const { text } = renderKubernetesContext(crashSnapshot({ notes: ['events could not be read: forbidden'] }));
    expect(text).toContain('(events could not be read: forbidden)');
  });

  it('feeds the rules provider, which rolls back to the revision that serves', () => {
    const context = renderKubernetesContext(crashSnapshot());
    const result = analyzeWithRules({ ...analysisRequest(context.facts, { signal: 'pod_restart' }), context });
    expect(result.suggestedActions[0]).toMatchObject({ type: 'RollbackDeployment', params: { toRevision: '1' } });
  });
});

describe('the size bound', () => {
  const huge = (): WorkloadSnapshot => {
    const env = Array.from({ length: 40 }, (_, i) => ({ name: `VAR_${i}`, value: 'v'.repeat(150) }));
    const object = deployment(BROKEN, 9);
    object.spec = {
      ...object.spec,
      selector: { matchLabels: { app: 'web' } },
      template: {
        spec: {
          containers: Array.from({ length: 12 }, (_, i) => ({
            name: `c${i}`,
            image: `${BROKEN}-${i}`,
            command: ['/bin/app', '--flag', 'x'.repeat(500)],
            env,
          })),
        },
      },
    };
    const longMessage = 'm'.repeat(2_000);
    return crashSnapshot({
      object,
      replicaSets: Array.from({ length: 9 }, (_, i) => replicaSet(i + 1, `h${i}`, `${GOOD}-${i}`, i === 8 ? 60 : 0, 0)),
      pods: Array.from({ length: 60 }, (_, i) => {
        const p = pod(`web-h8-p${String(i).padStart(3, '0')}`, 'h8', crashing('app', BROKEN, i));
        p.status = {
          ...p.status,
          containerStatuses: Array.from({ length: 12 }, (_, c) => ({
            ...crashing(`c${c}`, BROKEN, i),
            state: { waiting: { reason: 'CrashLoopBackOff', message: longMessage } },
          })),
        };
        return p;
      }),
      events: Array.from({ length: 300 }, (_, i) =>
        event(`web-h8-p${String(i % 60).padStart(3, '0')}`, 'BackOff', `${longMessage} ${i}`, i % 60, {
          type: 'Warning',
        }),
      ),
    });
  };

  it('stays within 12,000 characters, drops the least important parts first and says so', () => {
    const { text, facts } = renderKubernetesContext(huge());
    expect(text.length).toBeLessThanOrEqual(12_000);
    expect(text).toMatch(/omitted to fit the size limit/);
    // The workload status and the sickest pod survive; events go first.
    expect(text).toContain('== Deployment shop/web ==');
    expect(text).toContain('web-h8-p059');
    expect(facts.pods[0]?.name).toBe('web-h8-p059');
    expect(facts.podCount).toBe(60);
  });

  it('cuts hard, and says so, when even the essentials do not fit', () => {
    const { text } = renderKubernetesContext(huge(), { maxChars: 600 });
    expect(text.length).toBeLessThanOrEqual(600);
    expect(text).toMatch(/context cut at 600 characters/);
  });

  it('leaves a small context alone', () => {
    expect(renderKubernetesContext(crashSnapshot()).text).not.toMatch(/omitted|cut at/);
  });
});

describe('redaction of the context', () => {
  it('leaves no planted secret in env, args or event messages', () => {
    const object = deployment(GOOD, 1);
    object.spec = {
      ...object.spec,
      selector: { matchLabels: { app: 'web' } },
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              image: GOOD,
              args: ['--db-password=Hunter2Secret', '--api-key', 'ak_9988776655'],
              env: [
                { name: 'DATABASE_URL', value: 'postgres://app:PgS3cret@db:5432/shop' },
                { name: 'REDIS_URL', value: 'redis://:RedisPw99@cache:6379' },
                { name: 'API_TOKEN', value: 'tok-123456789' },
                { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } } },
              ],
            },
          ],
        },
      },
    };
    const events = [
      event(
        'web-aaa11-ok001',
        'Failed',
        'auth failed for mongodb+srv://u:MongoPw7@cluster0.net with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2ln',
        5,
        { type: 'Warning' },
      ),
    ];
    const { text } = renderKubernetesContext(crashSnapshot({ object, events }));
    for (const secret of [
      'Hunter2Secret',
      'ak_9988776655',
      'PgS3cret',
      'RedisPw99',
      'tok-123456789',
      'MongoPw7',
      'c2lnbmF0dXJlc2ln',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('FROM_SECRET (from secret db-credentials/password)');
    // A URL's host would help, but the value is an env value like any other: only its name is shown.
    expect(text).toContain('DATABASE_URL=[REDACTED]');
  });

  const withEnv = (env: { name: string; value: string }[]) => {
    const object = deployment(GOOD, 1);
    object.spec = {
      ...object.spec,
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { containers: [{ name: 'app', image: GOOD, env }] } },
    };
    return crashSnapshot({ object });
  };

  it('shows env values only for allowlisted names, and never one that holds a credential', () => {
    const { text } = renderKubernetesContext(withEnv(envCases.map(({ name, value }) => ({ name, value }))));
    for (const c of envCases) {
      expect(text).toContain(`${c.name}=`);
      if (c.shown) expect(text).toContain(`${c.name}=${c.value}`);
      else expect(text).not.toContain(c.value.split('=').pop());
    }
    expect(text).toContain('JAVA_OPTS=-Xmx512m -Ddb.password=[REDACTED]');
  });

  it('takes the allowlist it is given instead of the default', () => {
    const env = [
      { name: 'FEATURE_FLAGS', value: 'checkout-v2' },
      { name: 'LOG_LEVEL', value: 'debug' },
    ];
    const { text } = renderKubernetesContext(withEnv(env), { envAllowlist: ['FEATURE_*'] });
    expect(text).toContain('FEATURE_FLAGS=checkout-v2');
    expect(text).toContain('LOG_LEVEL=[REDACTED]');
  });
});

describe('renderKubernetesContext for other kinds', () => {
  it('StatefulSet: revisions from ControllerRevisions, readiness from the pods that run them', () => {
    const sts: V1StatefulSet = {
      metadata: { name: 'db', namespace: ns, uid: 's-1' },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: template('postgres:17'),
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '10Gi' } } } }],
      },
      status: { replicas: 2, readyReplicas: 1, currentRevision: 'db-111', updateRevision: 'db-222' },
    };
    const revision = (name: string, number: number, image: string): V1ControllerRevision => ({
      metadata: { name, namespace: ns },
      revision: number,
      data: { spec: { template: template(image) } },
    });
    const dbPod = (name: string, hash: string, status: V1ContainerStatus) => {
      const p = pod(name, '', status, { 'controller-revision-hash': hash });
      return p;
    };
    const { text, facts } = renderKubernetesContext({
      ref: { kind: 'StatefulSet', name: 'db', namespace: ns },
      object: sts,
      controllerRevisions: [revision('db-111', 1, 'postgres:16'), revision('db-222', 2, 'postgres:17')],
      pods: [
        dbPod('db-0', 'db-111', running('app', 'postgres:16')),
        dbPod('db-1', 'db-222', crashing('app', 'postgres:17', 5)),
      ],
      events: [],
      notes: [],
    });
    expect(facts.currentRevision).toBe(2);
    expect(facts.revisions.map((r) => [r.revision, r.current, r.ready])).toEqual([
      [2, true, false],
      [1, false, true],
    ]);
    expect(facts.pods[0]).toMatchObject({ name: 'db-1', revision: 2 });
    expect(text).toContain('Volume claim templates: data 10Gi');
    expect(text).toContain('image changed: app postgres:16 → postgres:17');
  });

  it('DaemonSet: desired, ready and unavailable counts', () => {
    const ds: V1DaemonSet = {
      metadata: { name: 'agent', namespace: ns, uid: 'ds-1' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent:2') },
      status: {
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 2,
        numberAvailable: 2,
        numberUnavailable: 1,
        numberMisscheduled: 0,
      },
    };
    const { text, facts } = renderKubernetesContext({
      ref: { kind: 'DaemonSet', name: 'agent', namespace: ns },
      object: ds,
      controllerRevisions: [],
      pods: [],
      events: [],
      notes: [],
    });
    expect(text).toContain('Pods: desired 3, current 3, updated 0, ready 2, available 2, unavailable 1');
    expect(facts.replicas).toEqual({ desired: 3, ready: 2, available: 2, updated: 0 });
  });

  it('Job: counts and the failure reason', () => {
    const job: V1Job = {
      metadata: { name: 'report-1', namespace: ns, uid: 'j-1' },
      spec: { backoffLimit: 3, template: template('report:1') },
      status: {
        failed: 4,
        conditions: [
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
        ],
      },
    };
    const { text, facts } = renderKubernetesContext({
      ref: { kind: 'Job', name: 'report-1', namespace: ns },
      object: job,
      pods: [],
      events: [],
      notes: [],
    });
    expect(facts.job).toEqual({
      active: 0,
      succeeded: 0,
      failed: 4,
      backoffLimit: 3,
      state: 'Failed (BackoffLimitExceeded)',
    });
    expect(text).toContain('Failed=True (BackoffLimitExceeded)');
    expect(facts.containers[0]?.image).toBe('report:1');
  });

  it('CronJob: schedule, last success and its newest jobs', () => {
    const cron: V1CronJob = {
      metadata: { name: 'report', namespace: ns, uid: 'c-1' },
      spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: template('report:2') } } },
      status: { lastScheduleTime: at(50), lastSuccessfulTime: at(10) },
    };
    const job = (name: string, second: number, failed: boolean): V1Job => ({
      metadata: { name, namespace: ns },
      spec: { template: template('report:2') },
      status: {
        startTime: at(second),
        ...(failed
          ? { failed: 2, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }
          : { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }),
      },
    });
    const { text, facts } = renderKubernetesContext({
      ref: { kind: 'CronJob', name: 'report', namespace: ns },
      object: cron,
      jobs: [job('report-1', 10, false), job('report-2', 50, true)],
      pods: [],
      events: [],
      notes: [],
    });
    expect(text).toContain('Schedule: */5 * * * *');
    expect(text.indexOf('report-2')).toBeLessThan(text.indexOf('report-1'));
    expect(facts.job?.state).toBe('Failed (BackoffLimitExceeded)');
    expect(facts.containers[0]?.image).toBe('report:2');
  });

  it('HPA: bounds, metrics and whether it is maxed out', () => {
    const hpa: V2HorizontalPodAutoscaler = {
      metadata: { name: 'web', namespace: ns },
      spec: {
        minReplicas: 2,
        maxReplicas: 5,
        scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
      status: {
        currentReplicas: 5,
        desiredReplicas: 5,
        currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 140 } } }],
      },
    };
    const { text, facts } = renderKubernetesContext({
      ref: { kind: 'HorizontalPodAutoscaler', name: 'web', namespace: ns },
      object: hpa,
      scaleTarget: deployment(GOOD, 1),
      pods: [],
      events: [],
      notes: [],
    });
    expect(facts.hpa).toEqual({
      minReplicas: 2,
      maxReplicas: 5,
      currentReplicas: 5,
      desiredReplicas: 5,
      maxedOut: true,
      target: 'Deployment/web',
    });
    expect(text).toContain('MAXED OUT');
    expect(text).toContain('Targets: cpu 70%; current: cpu 140%');
  });
});
