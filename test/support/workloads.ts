import type * as k8s from '@kubernetes/client-node';
import { FaultMarks } from '../../src/cluster/stages.ts';

/** Pod-template workloads for tests, in the shape of kube.ts's deployment(): one container `app`, label app=<name>. */

export interface PodOptions {
  image?: string;
  memory?: string;
  /** Pods never become ready (the KWOK `not-ready` fault's label); a Job's pods then never complete. */
  wedged?: boolean;
  /** The KWOK `oom` fault: the pod needs this much memory, and is OOMKilled while its limit is lower. */
  needsMemory?: string;
  restartPolicy?: 'Always' | 'Never' | 'OnFailure';
}

export const podTemplate = (name: string, options: PodOptions = {}): k8s.V1PodTemplateSpec => ({
  metadata: {
    labels: { app: name, ...(options.wedged ? { [FaultMarks.wedged]: 'true' } : {}) },
    ...(options.needsMemory ? { annotations: { [FaultMarks.workingSet]: options.needsMemory } } : {}),
  },
  spec: {
    ...(options.restartPolicy ? { restartPolicy: options.restartPolicy } : {}),
    containers: [
      {
        name: 'app',
        image: options.image ?? 'registry.local/shop/db:1.0.0',
        resources: {
          requests: { cpu: '100m', memory: options.memory ?? '128Mi' },
          limits: { memory: options.memory ?? '128Mi' },
        },
      },
    ],
  },
});

export const statefulSet = (
  name: string,
  options: PodOptions & {
    replicas?: number;
    parallel?: boolean;
    claims?: { storageClassName: string; size: string };
  } = {},
): k8s.V1StatefulSet => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: options.replicas ?? 2,
    serviceName: name,
    selector: { matchLabels: { app: name } },
    ...(options.parallel ? { podManagementPolicy: 'Parallel' } : {}),
    template: podTemplate(name, options),
    ...(options.claims
      ? {
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: options.claims.storageClassName,
                resources: { requests: { storage: options.claims.size } },
              },
            },
          ],
        }
      : {}),
  },
});

export const daemonSet = (name: string, options: PodOptions = {}): k8s.V1DaemonSet => ({
  metadata: { name, labels: { app: name } },
  spec: {
    selector: { matchLabels: { app: name } },
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
    template: podTemplate(name, options),
  },
});

export const job = (
  name: string,
  options: PodOptions & { parallelism?: number; completions?: number; backoffLimit?: number; suspend?: boolean } = {},
): k8s.V1Job => ({
  metadata: { name, labels: { app: name } },
  spec: {
    parallelism: options.parallelism ?? 1,
    completions: options.completions ?? 1,
    backoffLimit: options.backoffLimit ?? 0,
    ...(options.suspend ? { suspend: true } : {}),
    template: podTemplate(name, { restartPolicy: 'Never', ...options }),
  },
});

export const cronJob = (
  name: string,
  options: PodOptions & { schedule?: string; suspend?: boolean } = {},
): k8s.V1CronJob => ({
  metadata: { name, labels: { app: name } },
  spec: {
    // Far from now, so only the tests' own triggers make Jobs.
    schedule: options.schedule ?? '0 3 1 1 *',
    ...(options.suspend ? { suspend: true } : {}),
    jobTemplate: {
      metadata: { labels: { app: name } },
      spec: { backoffLimit: 0, template: podTemplate(name, { restartPolicy: 'Never', ...options }) },
    },
  },
});
