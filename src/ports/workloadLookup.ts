import type { ResourceRef } from '../../domain/events/common.schema.ts';

/**
 * Resolves the object a source names (a Pod, a Job, a Deployment) to the workload whose correlation stream it
 * belongs to, by reading the live objects. Every source other than the watchers goes through this, so an alert
 * about a pod and the watcher's finding about the same pod land on the same Issue.
 */
export const WorkloadRefusal = {
  /** The kind is not one Cairn correlates on (a Service, a ConfigMap, a custom kind). */
  NotAWorkload: 'NotAWorkload',
  /** The object does not exist (any more). */
  NotFound: 'ResourceNotFound',
} as const;
export type WorkloadRefusal = (typeof WorkloadRefusal)[keyof typeof WorkloadRefusal];

export type WorkloadResolution =
  | { readonly ok: true; readonly resource: ResourceRef; readonly workload: ResourceRef }
  | { readonly ok: false; readonly reason: WorkloadRefusal; readonly message: string };

export interface WorkloadLookup {
  /**
   * A refusal is an answer about the object; a failure to reach the API server is thrown, so callers retry it.
   * `apiVersion`, when the source gave one, must be the built-in kind's: a custom `Deployment` is not ours.
   */
  resolve(resource: ResourceRef & { readonly apiVersion?: string }): Promise<WorkloadResolution>;
}
