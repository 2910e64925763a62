import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
} from '../support/kube.ts';
import { cronJob, job } from '../support/workloads.ts';

/**
 * Volume claims, autoscalers, Job deadlines and CronJob schedules through the whole detection path: the local
 * control plane's kube-controller-manager (volume binder, HPA, Job and CronJob controllers) writes the statuses and
 * Events, the operator runs in-process with short thresholds, and what it records is read back from the cluster
 * and the event store.
 */

interface CairnObject {
  metadata: { name: string };
  spec: Record<string, unknown> & { signal: string; message?: string; resource: { kind: string; name: string } };
  status?: { state?: string; correlated?: boolean; issueRef?: { name: string } };
}
interface Detected {
  signal: string;
  resource: { kind: string; name: string };
  workload: { kind: string; name: string };
  message: string;
  cause?: { code: string; message: string; object?: { kind: string; name: string } };
}

let clients: KubeClients;
let storage: k8s.StorageV1Api;
let autoscaling: k8s.AutoscalingV2Api;
let namespace: string;
let operator: RunningOperator;
let storeUrl: string;
/** Cluster-scoped objects this file creates, named after its namespace so no other run can collide with them. */
let waitClass: string;
let volume: string;

const claim = (name: string, spec: Partial<k8s.V1PersistentVolumeClaimSpec> = {}): k8s.V1PersistentVolumeClaim => ({
  metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
});

beforeAll(async () => {
  clients = kubeClients();
  storage = clients.config.makeApiClient(k8s.StorageV1Api);
  autoscaling = clients.config.makeApiClient(k8s.AutoscalingV2Api);
  namespace = await createNamespace(clients, 'detect-st');
  waitClass = `${namespace}-wait`;
  volume = `${namespace}-pv`;
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-detect-st-')), 'events.db')}`;
  // The claims that must stay silent are settled before the operator watches: under load the volume controller
  // can take longer to bind a claim than the short pending window this file uses.
  await storage.createStorageClass({
    body: {
      metadata: { name: waitClass },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    },
  });
  await clients.core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: claim('later', { storageClassName: waitClass }),
  });
  // A hand-made volume reserved for exactly this claim, so no other test's claim can take it.
  await clients.core.createPersistentVolume({
    body: {
      metadata: { name: volume },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        hostPath: { path: `/tmp/${volume}` },
        claimRef: { namespace, name: 'bound' },
      },
    },
  });
  await clients.core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: claim('bound', { storageClassName: '', volumeName: volume }),
  });
  await eventually(
    'the claim to bind',
    async () =>
      (await clients.core.readNamespacedPersistentVolumeClaim({ namespace, name: 'bound' })).status?.phase === 'Bound',
    120_000,
  );

  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    thresholds: {
      pvcPendingSeconds: 2,
      hpaMisconfiguredSeconds: 2,
      cronJobMissedGraceSeconds: 5,
      // Pods of the wedged Jobs run unready on purpose; those signals belong to other tests.
      podNotReadySeconds: 3600,
      workloadUnavailableSeconds: 3600,
    },
    remediate: false,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
  // The schedule test needs a couple of minutes of real time; its CronJob starts now, while the others run.
  const nightly = cronJob('nightly', { schedule: '* * * * *', wedged: true });
  if (nightly.spec) nightly.spec.concurrencyPolicy = 'Forbid';
  await clients.batch.createNamespacedCronJob({ namespace, body: nightly });
}, 300_000);
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
  await storage.deleteStorageClass({ name: waitClass }).catch(() => undefined);
  await clients.core.deletePersistentVolume({ name: volume }).catch(() => undefined);
});

const list = async (plural: 'anomalies' | 'issues') =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;
const anomaliesOn = async (kind: string, name: string) =>
  (await list('anomalies')).filter((a) => a.spec.resource.kind === kind && a.spec.resource.name === name);

/** What the operator decided, as recorded: the Anomaly object carries no cause, the AnomalyDetected event does. */
async function detected(signal: string, name: string, timeoutMs = 180_000): Promise<Detected> {
  return eventually(
    `AnomalyDetected ${signal} on ${name}`,
    async () => {
      const store = openEventStore(storeUrl);
      try {
        const events = await store.readAll();
        return events
          .filter((e) => e.type === 'AnomalyDetected')
          .map((e) => e.data as unknown as Detected)
          .find((d) => d.signal === signal && d.resource.name === name);
      } finally {
        await store.close();
      }
    },
    timeoutMs,
  );
}

async function eventReason(kind: string, name: string, reason: string) {
  return eventually(
    `a ${reason} Event on ${kind} ${name}`,
    async () =>
      (await clients.core.listNamespacedEvent({ namespace })).items.find(
        (e) => e.involvedObject.kind === kind && e.involvedObject.name === name && e.reason === reason,
      ),
    120_000,
  );
}

const cpuAutoscaler = (name: string, target: string): k8s.V2HorizontalPodAutoscaler => ({
  metadata: { name },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
    minReplicas: 1,
    maxReplicas: 3,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
  },
});

describe('storage, autoscaler and schedule detection on a real cluster', () => {
  it('a claim naming a StorageClass that does not exist: pvc_pending, in the Issue of the Deployment it blocks', async () => {
    const missing = `${namespace}-fast-ssd`;
    const reports = deployment('reports', { replicas: 1 });
    const pod = reports.spec?.template.spec;
    if (pod) {
      pod.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'reports-data' } }];
      pod.containers[0] = {
        ...(pod.containers[0] as k8s.V1Container),
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      };
    }
    await clients.apps.createNamespacedDeployment({ namespace, body: reports });
    // The pod exists (Pending, its claim missing) before the claim does, however slow the controllers are today:
    // the claim's finding then always has a pod to attribute.
    await eventually(
      'the pod of reports',
      async () => (await clients.core.listNamespacedPod({ namespace, labelSelector: 'app=reports' })).items[0],
      120_000,
    );
    await clients.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: claim('reports-data', { storageClassName: missing }),
    });

    // What the volume controller really says about it.
    const event = await eventReason('PersistentVolumeClaim', 'reports-data', 'ProvisioningFailed');
    expect(event.message).toContain(`"${missing}" not found`);

    const found = await detected('pvc_pending', 'reports-data');
    expect(found.cause).toMatchObject({
      code: 'storage_class_missing',
      object: { kind: 'StorageClass', name: missing },
    });
    expect(found.message).toContain(`spec.storageClassName "${missing}" names a StorageClass that does not exist`);
    expect(found.workload).toMatchObject({ kind: 'Deployment', name: 'reports' });
    const issue = await eventually(
      'an Issue on the Deployment with pvc_pending',
      async () =>
        (await list('issues')).find(
          (i) => i.spec.resource.name === 'reports' && (i.spec.signals as string[]).includes('pvc_pending'),
        ),
      120_000,
    );
    expect(issue.spec.resource).toMatchObject({ kind: 'Deployment', name: 'reports' });
  });

  it('a claim with no class on a cluster without a default class: pvc_pending with the FailedBinding reason', async () => {
    const classes = await storage.listStorageClass();
    const defaults = classes.items.filter(
      (c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
    );
    expect(defaults).toEqual([]); // the local control plane has none; the claim keeps no class
    await clients.core.createNamespacedPersistentVolumeClaim({ namespace, body: claim('scratch') });

    const event = await eventReason('PersistentVolumeClaim', 'scratch', 'FailedBinding');
    expect(event.message).toBe('no persistent volumes available for this claim and no storage class is set');

    const found = await detected('pvc_pending', 'scratch');
    expect(found.cause?.code).toBe('no_matching_volume');
    expect(found.message).toContain('spec.storageClassName is not set');
    expect(found.message).toContain(event.message);
    expect(found.workload).toMatchObject({ kind: 'PersistentVolumeClaim', name: 'scratch' });
  });

  it('a WaitForFirstConsumer claim no pod uses and a bound claim stay silent', async () => {
    const waiting = await eventReason('PersistentVolumeClaim', 'later', 'WaitForFirstConsumer');
    expect(waiting.message).toContain('waiting for first consumer');

    // Proof that claims of this namespace are being judged right now: one created after the silent ones is found.
    await clients.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: claim('probe', { storageClassName: `${namespace}-nope` }),
    });
    await detected('pvc_pending', 'probe');
    await eventually('the probe Anomaly to be written', async () =>
      (await anomaliesOn('PersistentVolumeClaim', 'probe')).length > 0 ? true : undefined,
    );
    expect((await clients.core.readNamespacedPersistentVolumeClaim({ namespace, name: 'later' })).status?.phase).toBe(
      'Pending',
    );
    expect(await anomaliesOn('PersistentVolumeClaim', 'later')).toEqual([]);
    expect(await anomaliesOn('PersistentVolumeClaim', 'bound')).toEqual([]);
  });

  it('an autoscaler whose target does not exist: hpa_misconfigured naming the target', async () => {
    await autoscaling.createNamespacedHorizontalPodAutoscaler({ namespace, body: cpuAutoscaler('ghost', 'ghost-web') });
    const found = await detected('hpa_misconfigured', 'ghost');
    expect(found.cause).toMatchObject({
      code: 'scale_target_missing',
      object: { kind: 'Deployment', name: 'ghost-web' },
    });
    expect(found.message).toContain('targets Deployment ghost-web, which does not exist');
    // The HPA controller agrees.
    const status = await eventually(
      'the HPA controller to report the target',
      async () => {
        const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name: 'ghost' });
        return hpa.status?.conditions?.find((c) => c.type === 'AbleToScale');
      },
      120_000,
    );
    expect(status).toMatchObject({ status: 'False', reason: 'FailedGetScale' });
  });

  it('an autoscaler on a real Deployment whose CPU metric cannot be read: hpa_misconfigured with the real reason', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('api', { replicas: 1 }) });
    await autoscaling.createNamespacedHorizontalPodAutoscaler({ namespace, body: cpuAutoscaler('api', 'api') });
    // No metrics API runs on the local control plane: the HPA controller cannot compute a replica count.
    const active = await eventually(
      'ScalingActive to turn False',
      async () => {
        const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name: 'api' });
        const condition = hpa.status?.conditions?.find((c) => c.type === 'ScalingActive');
        return condition?.status === 'False' ? condition : undefined;
      },
      120_000,
    );
    expect(active.reason).toBe('FailedGetResourceMetric');

    const found = await detected('hpa_misconfigured', 'api');
    expect(found.cause?.code).toBe('metrics_unavailable');
    expect(found.message).toContain('ScalingActive False, FailedGetResourceMetric');
    expect(found.message).toContain('resource cpu');
    expect(found.message).toContain('failed to get cpu utilization');
    expect(found.workload).toMatchObject({ kind: 'HorizontalPodAutoscaler', name: 'api' });
  });

  it('an autoscaler whose Deployment was scaled to zero stays silent (ScalingDisabled is a decision)', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('idle', { replicas: 0 }) });
    await autoscaling.createNamespacedHorizontalPodAutoscaler({ namespace, body: cpuAutoscaler('idle', 'idle') });
    const active = await eventually(
      'the HPA controller to see the target at zero',
      async () => {
        const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name: 'idle' });
        return hpa.status?.conditions?.find((c) => c.type === 'ScalingActive');
      },
      120_000,
    );
    expect(active).toMatchObject({ status: 'False', reason: 'ScalingDisabled' });

    // Proof that autoscalers of this namespace are being judged right now.
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: cpuAutoscaler('idle-probe', 'no-such-web'),
    });
    await detected('hpa_misconfigured', 'idle-probe');
    await eventually('the probe Anomaly to be written', async () =>
      (await anomaliesOn('HorizontalPodAutoscaler', 'idle-probe')).length > 0 ? true : undefined,
    );
    expect(await anomaliesOn('HorizontalPodAutoscaler', 'idle')).toEqual([]);
  });

  it('a Job whose pod outlives activeDeadlineSeconds: job_failed saying the deadline was exceeded', async () => {
    const deadline = job('export', { wedged: true });
    if (deadline.spec) deadline.spec.activeDeadlineSeconds = 5;
    await clients.batch.createNamespacedJob({ namespace, body: deadline });
    const [anomaly] = await eventually(
      'a job_failed Anomaly on the Job',
      async () => {
        const found = (await anomaliesOn('Job', 'export')).filter((a) => a.spec.signal === 'job_failed');
        return found.length > 0 ? found : undefined;
      },
      120_000,
    );
    // The Job controller's reason (DeadlineExceeded), in whatever words the Job detector puts it.
    expect(anomaly?.spec.message).toMatch(/deadline/i);
    expect(anomaly?.spec.message).toMatch(/DeadlineExceeded|activeDeadlineSeconds/);
    const status = await clients.batch.readNamespacedJob({ namespace, name: 'export' });
    expect(status.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
      status: 'True',
      reason: 'DeadlineExceeded',
    });
  });

  it('a CronJob whose Forbid policy waits on a run that never ends: cronjob_missed naming the running Job', async () => {
    // First run at the next minute, the second due a minute later, then the grace and the operator's recheck.
    const found = await detected('cronjob_missed', 'nightly', 330_000);
    const cron = await clients.batch.readNamespacedCronJob({ namespace, name: 'nightly' });
    const running = cron.status?.active?.[0]?.name ?? '';
    expect(running).toMatch(/^nightly-\d+$/);
    expect(found.cause).toMatchObject({ code: 'previous_run_active', object: { kind: 'Job', name: running } });
    expect(found.message).toContain('schedule "* * * * *" (UTC) should have started a Job at');
    expect(found.message).toContain(`concurrencyPolicy Forbid and Job ${running} is still running`);
    // The missed run is after the last one the controller started.
    const missedAt = /should have started a Job at (\S+?)[;( ]/.exec(found.message)?.[1] ?? '';
    expect(Date.parse(missedAt)).toBeGreaterThan(new Date(cron.status?.lastScheduleTime ?? 0).getTime());
    // The controller says the same in its own words.
    await eventReason('CronJob', 'nightly', 'JobAlreadyActive');
    // One Anomaly for the episode, however many runs go by while the Job still runs.
    await eventually('the cronjob_missed Anomaly to be written', async () =>
      (await anomaliesOn('CronJob', 'nightly')).length > 0 ? true : undefined,
    );
    const anomalies = (await anomaliesOn('CronJob', 'nightly')).filter((a) => a.spec.signal === 'cronjob_missed');
    expect(anomalies).toHaveLength(1);
  }, 420_000);
});
