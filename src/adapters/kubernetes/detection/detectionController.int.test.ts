import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../../test/support/kube.ts';
import type { AnomalyReport } from '../../../application/detection/anomalyRecorder.ts';
import { type DetectionController, startDetectionController } from './detectionController.ts';

/**
 * The detection controller against the real API server: what it queues besides the object that changed. A
 * cluster-scoped object's dependents stay within the watched namespaces. A CronJob's run is missed by time passing
 * while nothing in the cluster changes, so no watch event brings it back to the detector: the periodic recheck
 * must. The clock is injected and moved ahead once the CronJob has been judged on time; from then on only the
 * recheck can find the miss.
 */

let clients: KubeClients;
let namespace: string;
const controllers: DetectionController[] = [];

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'detect-ctl');
});
afterAll(async () => {
  for (const controller of controllers) await controller.stop();
  await deleteNamespace(clients, namespace);
});

describe('dependents across namespaces', () => {
  it('a StorageClass appearing does not bring in claims of namespaces the controller does not watch', async () => {
    const other = await createNamespace(clients, 'detect-ctl-other');
    const className = `${other}-late`;
    try {
      const reports: AnomalyReport[] = [];
      const controller = startDetectionController({
        config: clients.config,
        namespaces: [namespace],
        thresholds: { pvcPendingSeconds: 0 },
        record: async (report) => {
          reports.push(report);
        },
      });
      controllers.push(controller);
      await controller.watch.synced();
      const pending = (name: string, storageClassName: string) => ({
        metadata: { name },
        spec: { storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
      await clients.core.createNamespacedPersistentVolumeClaim({
        namespace: other,
        body: pending('elsewhere', className),
      });
      await eventually('the unwatched claim in the cache', async () =>
        controller.watch.get('PersistentVolumeClaim', other, 'elsewhere'),
      );
      const storage = clients.config.makeApiClient(k8s.StorageV1Api);
      await storage.createStorageClass({ body: { metadata: { name: className }, provisioner: 'example.com/none' } });
      await eventually('the class in the cache', async () => controller.watch.get('StorageClass', '', className));
      // Queued after whatever the class brought in: once it is reported, the class's dependents have been handled.
      await clients.core.createNamespacedPersistentVolumeClaim({
        namespace,
        body: pending('marker-2', `${namespace}-x`),
      });
      await eventually('the marker claim to be reported', async () =>
        reports.some((r) => r.resource.name === 'marker-2'),
      );
      expect(reports.filter((r) => r.resource.namespace === other)).toEqual([]);
    } finally {
      await clients.config
        .makeApiClient(k8s.StorageV1Api)
        .deleteStorageClass({ name: className })
        .catch(() => undefined);
      await deleteNamespace(clients, other);
    }
  });
});

describe('periodic recheck of CronJobs', () => {
  it('reports a run that became overdue with no change in the cluster', async () => {
    const reports: AnomalyReport[] = [];
    let aheadMs = 0;
    const controller = startDetectionController({
      config: clients.config,
      namespaces: [namespace],
      thresholds: { pvcPendingSeconds: 0, cronJobMissedGraceSeconds: 60 },
      now: () => Date.now() + aheadMs,
      recheckSeconds: { CronJob: 1 },
      record: async (report) => {
        reports.push(report);
      },
    });
    controllers.push(controller);
    await controller.watch.synced();

    // Mondays at 03:00: not due again for days in real time.
    await clients.batch.createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name: 'weekly' },
        spec: {
          schedule: '0 3 * * 1',
          jobTemplate: {
            spec: {
              template: {
                spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'registry.local/shop/db:1.0.0' }] },
              },
            },
          },
        },
      },
    });
    await eventually('the CronJob in the cache', async () => controller.watch.get('CronJob', namespace, 'weekly'));
    // A claim that is reported at once, queued after the CronJob: once it is reported, the CronJob has been judged
    // with the real clock (and found on time).
    await clients.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: 'marker' },
        spec: {
          storageClassName: `${namespace}-none`,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    await eventually('the marker claim to be reported', async () => reports.some((r) => r.signal === 'pvc_pending'));
    expect(reports.filter((r) => r.signal === 'cronjob_missed')).toEqual([]);

    // Eight days later by the injected clock; the cluster sees no change to the CronJob.
    aheadMs = 8 * 24 * 3600 * 1000;
    const missed = await eventually('cronjob_missed from the recheck', async () =>
      reports.find((r) => r.signal === 'cronjob_missed'),
    );
    expect(missed.resource).toEqual({ kind: 'CronJob', name: 'weekly', namespace });
    expect(missed.message).toContain('schedule "0 3 * * 1" (UTC) should have started a Job at');
    expect(missed.message).toContain('it has never run');
    const cron = await clients.batch.readNamespacedCronJob({ namespace, name: 'weekly' });
    expect(cron.status?.lastScheduleTime).toBeUndefined();
  });
});
