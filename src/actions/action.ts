import * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/events/common.schema.ts';

/**
 * The port between the remediation executor and the things it can do to a cluster. An action is a pure safety
 * check plus a real change through the API server; the executor owns ordering, checkpoints and events.
 */

/** Every client an action may need, made once from one KubeConfig. */
export interface ActionClients {
  readonly config: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly batch: k8s.BatchV1Api;
  readonly autoscaling: k8s.AutoscalingV2Api;
  readonly networking: k8s.NetworkingV1Api;
  readonly policy: k8s.PolicyV1Api;
  readonly storage: k8s.StorageV1Api;
  readonly extensions: k8s.ApiextensionsV1Api;
  readonly custom: k8s.CustomObjectsApi;
  /** Kind-generic reads and writes (snapshots, ApplyManifest). */
  readonly objects: k8s.KubernetesObjectApi;
  readonly exec: k8s.Exec;
}

export const createActionClients = (config: k8s.KubeConfig): ActionClients => ({
  config,
  core: config.makeApiClient(k8s.CoreV1Api),
  apps: config.makeApiClient(k8s.AppsV1Api),
  batch: config.makeApiClient(k8s.BatchV1Api),
  autoscaling: config.makeApiClient(k8s.AutoscalingV2Api),
  networking: config.makeApiClient(k8s.NetworkingV1Api),
  policy: config.makeApiClient(k8s.PolicyV1Api),
  storage: config.makeApiClient(k8s.StorageV1Api),
  extensions: config.makeApiClient(k8s.ApiextensionsV1Api),
  custom: config.makeApiClient(k8s.CustomObjectsApi),
  objects: k8s.KubernetesObjectApi.makeApiClient(config),
  exec: new k8s.Exec(config),
});

export type ActionParams = Readonly<Record<string, string>>;

export interface ActionContext {
  readonly clients: ActionClients;
  /** The plan's target (usually the Issue's workload); generic actions name their own object in `params`. */
  readonly target: ResourceRef;
  readonly params: ActionParams;
  /**
   * When the executor recorded ActionStarted (ISO instant). `isDone` compares the cluster's timestamps with it;
   * `execute` ignores it.
   */
  readonly startedAt?: string;
}

export interface ActionResult {
  /** One line for the audit trail and the ActionSucceeded event; never holds secret values. Bounded. */
  readonly detail: string;
  /** Every object the action changed (for the timeline and the blast radius report). */
  readonly touched: readonly ResourceRef[];
  /** Longer read-only output (ExecDiagnostic), for the agentic loop's observation. Bounded. */
  readonly output?: string;
  /** A rollback's: the revision (template hash) the workload ran before, which Cairn now knows to be bad. */
  readonly revisionLeft?: string;
}

export interface ParamSpec {
  readonly description: string;
  readonly required?: boolean;
}

/** Any kind: the action names the object it changes in its params. */
export const AnyKind = '*';

export interface ActionDefinition {
  readonly type: string;
  /** The target kinds the action accepts, or [AnyKind]. */
  readonly targetKinds: readonly string[];
  /** True when `restoreSnapshot` cannot undo it (pods deleted or evicted, secret values overwritten, a disk grown). */
  readonly destructive: boolean;
  /** One sentence for prompts, the dashboard and the CLI. */
  readonly describe: string;
  /** Every accepted parameter; any other name is refused, so a misspelt one never falls back to a default. */
  readonly params: Readonly<Record<string, ParamSpec>>;
  /**
   * Pure: parameter shape and the safety rules that need no cluster state. Throws a CairnError (Validation,
   * `action.invalid_params` or `action.unsafe`) whose message names the parameter. Rules that need the cluster
   * (the last pod, a limit below the current request) are enforced again by `execute` with the same codes.
   */
  check(params: ActionParams, target: ResourceRef): void;
  /** Makes the change through the API server. Refusals and API failures are thrown as CairnError. */
  execute(ctx: ActionContext): Promise<ActionResult>;
  /**
   * Crash recovery, for an action recorded as started but not finished: did it reach the cluster? `true` means
   * record it as done; `false` means it had no effect, so executing it now is its first real run. When unsure, it
   * answers `true` (verification will catch a miss; a double rollback or a second deleted pod cannot be undone).
   * Absent means the action is idempotent or read-only: executing it again is safe.
   */
  isDone?(ctx: ActionContext): Promise<boolean>;
}

/** Written as the field manager of every change, so `isDone` can tell Cairn's writes from anyone else's. */
export const ActionFieldManager = 'cairn-remediation';

/** ActionSucceeded.result holds at most 2048 characters. */
export const MaxDetailLength = 2_000;
export const MaxOutputLength = 16_000;
