import { aiInsightKind } from './aiInsight.kind.ts';
import { anomalyKind } from './anomaly.kind.ts';
import { approvalPolicyKind } from './approvalPolicy.kind.ts';
import { approvalRequestKind } from './approvalRequest.kind.ts';
import { auditEventKind } from './auditEvent.kind.ts';
import { chaosExperimentKind } from './chaosExperiment.kind.ts';
import { clusterRegistrationKind } from './clusterRegistration.kind.ts';
import { escalationPolicyKind } from './escalationPolicy.kind.ts';
import { incidentSlaKind } from './incidentSla.kind.ts';
import { instanceKind } from './instance.kind.ts';
import { issueKind } from './issue.kind.ts';
import type { KindDefinition } from './kindDefinition.ts';
import { notificationPolicyKind } from './notificationPolicy.kind.ts';
import { postMortemKind } from './postMortem.kind.ts';
import { remediationPlanKind } from './remediationPlan.kind.ts';
import { runbookKind } from './runbook.kind.ts';
import { serviceLevelObjectiveKind } from './serviceLevelObjective.kind.ts';
import { sourceRepositoryKind } from './sourceRepository.kind.ts';

/** Every kind of aiops.cairn.dev/v1alpha1: the single source crds/ is generated from. */
export const cairnKinds: readonly KindDefinition[] = [
  anomalyKind,
  issueKind,
  aiInsightKind,
  remediationPlanKind,
  postMortemKind,
  runbookKind,
  notificationPolicyKind,
  escalationPolicyKind,
  serviceLevelObjectiveKind,
  incidentSlaKind,
  approvalPolicyKind,
  approvalRequestKind,
  clusterRegistrationKind,
  auditEventKind,
  chaosExperimentKind,
  sourceRepositoryKind,
  instanceKind,
];

export const findKind = (kind: string): KindDefinition | undefined => cairnKinds.find((k) => k.kind === kind);
