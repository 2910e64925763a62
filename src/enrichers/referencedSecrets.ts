import * as k8s from '@kubernetes/client-node';
import { MIN_KNOWN_VALUE_LENGTH } from '../analysis/redaction.ts';
import type { WorkloadRef } from '../analysis/workloadFacts.ts';
import { normaliseMessage } from './logs/logAnalysis.ts';

/**
 * The data of the Secrets a workload references (env, envFrom, volumes), so an analysis can hunt those exact
 * values in everything it sends: a password printed in a log line is caught even when nothing about it looks
 * secret. Cairn reads them only where its RBAC allows; without access the other redaction rules still apply.
 */

/** Keys whose values are public by design: hiding a CA certificate or the namespace's name would only blind. */
const PUBLIC_KEYS = new Set(['ca.crt', 'tls.crt', 'namespace']);

/** Lines of a multi-line value (a key file, a config) this long are hunted on their own: logs print line by line. */
const MIN_LINE_LENGTH = 8;

/** The names of the Secrets a pod spec references, in its namespace. */
export const secretNamesOf = (spec: k8s.V1PodSpec | undefined): string[] => {
  const names = new Set<string>();
  const containers = [
    ...(spec?.initContainers ?? []),
    ...(spec?.containers ?? []),
    ...(spec?.ephemeralContainers ?? []),
  ];
  for (const container of containers) {
    for (const env of container.env ?? []) {
      const name = env.valueFrom?.secretKeyRef?.name;
      if (name) names.add(name);
    }
    for (const from of container.envFrom ?? []) if (from.secretRef?.name) names.add(from.secretRef.name);
  }
  for (const volume of spec?.volumes ?? []) {
    if (volume.secret?.secretName) names.add(volume.secret.secretName);
    for (const source of volume.projected?.sources ?? []) if (source.secret?.name) names.add(source.secret.name);
  }
  return [...names].sort();
};

/** Every string leaf of a JSON document (a service-account key file holds its private key in one). */
const jsonLeaves = (text: string): string[] => {
  if (!/^\s*[[{]/.test(text)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const leaves: string[] = [];
  const walk = (value: unknown) => {
    if (typeof value === 'string') leaves.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(parsed);
  return leaves;
};

/**
 * The values to hunt for one Secret: each decoded value, its base64 form as stored, the long lines of a
 * multi-line value and the string leaves of a JSON one; none shorter than the redactor hunts.
 */
export const valuesOfSecret = (secret: k8s.V1Secret): string[] => {
  const values = new Set<string>();
  const add = (value: string) => {
    const trimmed = value.trim();
    if (trimmed.length < MIN_KNOWN_VALUE_LENGTH) return;
    values.add(trimmed);
    // The log section quotes repeated messages with their numbers and ids replaced (`pw-<n>`): hunt that form too,
    // unless nothing of the value is left but placeholders.
    const normalised = trimmed.length <= 200 ? normaliseMessage(trimmed) : trimmed;
    const rest = normalised.replace(/<(?:n|id|hex|ip|uuid|time)>/g, '').replace(/[^A-Za-z0-9]/g, '');
    if (normalised !== trimmed && rest.length >= MIN_KNOWN_VALUE_LENGTH) values.add(normalised);
  };
  for (const [key, encoded] of Object.entries(secret.data ?? {})) {
    if (PUBLIC_KEYS.has(key)) continue;
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    add(decoded);
    add(encoded);
    for (const line of decoded.split(/\r?\n/)) if (line.trim().length >= MIN_LINE_LENGTH) add(line);
    for (const leaf of jsonLeaves(decoded)) {
      add(leaf);
      for (const line of leaf.split(/\r?\n/)) if (line.trim().length >= MIN_LINE_LENGTH) add(line);
    }
  }
  return [...values];
};

export interface ReferencedSecretsOptions {
  /** Told of a read that failed for another reason than 403 or 404 (those are expected and quiet). */
  readonly onError?: (what: string, error: unknown) => void;
}

export type SecretValuesOf = (workload: WorkloadRef, options?: { readonly signal?: AbortSignal }) => Promise<string[]>;

const statusOf = (error: unknown) => (error as { code?: number }).code;
const quiet = (error: unknown) => statusOf(error) === 403 || statusOf(error) === 404;

type PodTemplated = { spec?: { template?: k8s.V1PodTemplateSpec; jobTemplate?: k8s.V1JobTemplateSpec } };

/** Reads the workload's pod template, then the Secrets it names; never throws, since redaction must not stop an analysis. */
export function createReferencedSecretValues(
  config: k8s.KubeConfig,
  options: ReferencedSecretsOptions = {},
): SecretValuesOf {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const autoscaling = config.makeApiClient(k8s.AutoscalingV2Api);
  const readers: Record<string, (name: string, namespace: string) => Promise<PodTemplated>> = {
    Deployment: (name, namespace) => apps.readNamespacedDeployment({ name, namespace }),
    StatefulSet: (name, namespace) => apps.readNamespacedStatefulSet({ name, namespace }),
    DaemonSet: (name, namespace) => apps.readNamespacedDaemonSet({ name, namespace }),
    ReplicaSet: (name, namespace) => apps.readNamespacedReplicaSet({ name, namespace }),
    Job: (name, namespace) => batch.readNamespacedJob({ name, namespace }),
    CronJob: (name, namespace) => batch.readNamespacedCronJob({ name, namespace }),
    Pod: async (name, namespace) => ({
      spec: { template: { spec: (await core.readNamespacedPod({ name, namespace })).spec } },
    }),
  };
  const failed = (what: string, error: unknown) => {
    if (!quiet(error)) options.onError?.(what, error);
  };

  const podSpecOf = async (kind: string, name: string, namespace: string): Promise<k8s.V1PodSpec | undefined> => {
    if (kind === 'HorizontalPodAutoscaler') {
      const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace });
      const target = hpa.spec?.scaleTargetRef;
      return target && target.kind !== kind ? podSpecOf(target.kind, target.name, namespace) : undefined;
    }
    const object = await readers[kind]?.(name, namespace);
    return object?.spec?.jobTemplate?.spec?.template?.spec ?? object?.spec?.template?.spec;
  };

  return async (workload, { signal } = {}) => {
    const { kind, name, namespace } = workload;
    let spec: k8s.V1PodSpec | undefined;
    try {
      spec = await podSpecOf(kind, name, namespace);
    } catch (error) {
      failed(`reading ${kind} ${namespace}/${name} for its Secrets`, error);
      return [];
    }
    const values = new Set<string>();
    for (const secretName of secretNamesOf(spec)) {
      if (signal?.aborted) break;
      try {
        const secret = await core.readNamespacedSecret({ name: secretName, namespace });
        for (const value of valuesOfSecret(secret)) values.add(value);
      } catch (error) {
        failed(`reading Secret ${namespace}/${secretName}`, error);
      }
    }
    return [...values];
  };
}
