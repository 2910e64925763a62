/**
 * Every remediation action Cairn knows, by name. The CRD enums (Runbook steps, RemediationPlan actions), the
 * ApprovalPolicy validation and the executor's registry all read this one list, so an action cannot exist in the
 * API without existing in the executor or the other way round.
 *
 * `category` is the workload the action targets; `Generic` actions act on whatever resource their params name
 * (ConfigMap, Node, PVC, Secret, Ingress, NetworkPolicy, HPA, Helm release, Argo CD application...).
 */
export const actionTypeCatalog = [
  // Deployment
  { type: 'ScaleDeployment', category: 'Deployment' },
  { type: 'RestartDeployment', category: 'Deployment' },
  { type: 'RollbackDeployment', category: 'Deployment' },
  { type: 'AdjustResources', category: 'Deployment' },
  // Generic
  { type: 'PatchConfig', category: 'Generic' },
  { type: 'DeletePod', category: 'Generic' },
  { type: 'HelmRollback', category: 'Generic' },
  { type: 'ArgoSyncApp', category: 'Generic' },
  { type: 'AdjustHPA', category: 'Generic' },
  { type: 'CordonNode', category: 'Generic' },
  { type: 'UncordonNode', category: 'Generic' },
  { type: 'DrainNode', category: 'Generic' },
  { type: 'ResizePVC', category: 'Generic' },
  { type: 'RotateSecret', category: 'Generic' },
  { type: 'UpdateIngress', category: 'Generic' },
  { type: 'PatchNetworkPolicy', category: 'Generic' },
  { type: 'ApplyManifest', category: 'Generic' },
  { type: 'ExecDiagnostic', category: 'Generic' },
  { type: 'Custom', category: 'Generic' },
  // StatefulSet
  { type: 'RestartStatefulSetPod', category: 'StatefulSet' },
  { type: 'ScaleStatefulSet', category: 'StatefulSet' },
  { type: 'RestartStatefulSet', category: 'StatefulSet' },
  { type: 'RollbackStatefulSet', category: 'StatefulSet' },
  { type: 'AdjustStatefulSetResources', category: 'StatefulSet' },
  { type: 'DeleteStatefulSetPod', category: 'StatefulSet' },
  { type: 'ForceDeleteStatefulSetPod', category: 'StatefulSet' },
  { type: 'UpdateStatefulSetStrategy', category: 'StatefulSet' },
  { type: 'RecreateStatefulSetPVC', category: 'StatefulSet' },
  { type: 'PartitionStatefulSetUpdate', category: 'StatefulSet' },
  // DaemonSet
  { type: 'RestartDaemonSet', category: 'DaemonSet' },
  { type: 'RollbackDaemonSet', category: 'DaemonSet' },
  { type: 'AdjustDaemonSetResources', category: 'DaemonSet' },
  { type: 'DeleteDaemonSetPod', category: 'DaemonSet' },
  { type: 'UpdateDaemonSetStrategy', category: 'DaemonSet' },
  { type: 'PauseDaemonSetRollout', category: 'DaemonSet' },
  { type: 'CordonAndDeleteDaemonSetPod', category: 'DaemonSet' },
  // Job
  { type: 'RetryJob', category: 'Job' },
  { type: 'AdjustJobResources', category: 'Job' },
  { type: 'DeleteFailedJob', category: 'Job' },
  { type: 'SuspendJob', category: 'Job' },
  { type: 'ResumeJob', category: 'Job' },
  { type: 'AdjustJobParallelism', category: 'Job' },
  { type: 'AdjustJobDeadline', category: 'Job' },
  { type: 'AdjustJobBackoffLimit', category: 'Job' },
  { type: 'ForceDeleteJobPods', category: 'Job' },
  // CronJob
  { type: 'SuspendCronJob', category: 'CronJob' },
  { type: 'ResumeCronJob', category: 'CronJob' },
  { type: 'TriggerCronJob', category: 'CronJob' },
  { type: 'AdjustCronJobResources', category: 'CronJob' },
  { type: 'AdjustCronJobSchedule', category: 'CronJob' },
  { type: 'AdjustCronJobDeadline', category: 'CronJob' },
  { type: 'AdjustCronJobHistory', category: 'CronJob' },
  { type: 'AdjustCronJobConcurrency', category: 'CronJob' },
  { type: 'DeleteCronJobActiveJobs', category: 'CronJob' },
  { type: 'ReplaceCronJobTemplate', category: 'CronJob' },
] as const;

export type ActionType = (typeof actionTypeCatalog)[number]['type'];
export type ActionCategory = (typeof actionTypeCatalog)[number]['category'];

export const actionTypes: readonly ActionType[] = actionTypeCatalog.map((entry) => entry.type);

export const isActionType = (value: string): value is ActionType => (actionTypes as readonly string[]).includes(value);
