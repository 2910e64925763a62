import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The AIOps service as loaded from proto/cairn/v1/aiops.proto, the contract's single source. Messages arrive as
 * plain objects with camelCase fields, every scalar present (proto3 defaults filled in), `optional` fields absent
 * when unset, and int64 as numbers; the types below describe exactly that shape.
 */
export const AIOPS_PROTO_PATH = fileURLToPath(new URL('../../../proto/cairn/v1/aiops.proto', import.meta.url));
export const AIOPS_SERVICE_NAME = 'cairn.v1.AIOps';

const definition = protoLoader.loadSync(AIOPS_PROTO_PATH, {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: false,
});

const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  cairn: { v1: { AIOps: grpc.ServiceClientConstructor } };
};

export const AIOpsService: grpc.ServiceDefinition = loaded.cairn.v1.AIOps.service;
export const AIOpsClient: grpc.ServiceClientConstructor = loaded.cairn.v1.AIOps;

type StringMap = Record<string, string>;

export interface WireSuggestedAction {
  name: string;
  action: string;
  description: string;
  params: StringMap;
}

export interface WireAlertInfo {
  alertType: string;
  deployment: string;
  namespace: string;
  message: string;
  severity: string;
  timestamp: number;
  resourceKind: string;
  resourceName: string;
  signal: string;
}

export interface WireGetAlertsRequest {
  namespace: string;
}

export interface WireGetAlertsResponse {
  alerts: WireAlertInfo[];
}

export interface WireContainerFacts {
  name: string;
  image: string;
  memoryLimit?: string;
  memoryRequest?: string;
  cpuLimit?: string;
  cpuRequest?: string;
}

export interface WireRevisionFacts {
  revision: number;
  name: string;
  images: StringMap;
  memoryLimits: StringMap;
  replicas: number;
  readyReplicas: number;
  ready: boolean;
  current: boolean;
  imageChanges: { container: string; from?: string; to?: string }[];
}

export interface WirePodFacts {
  name: string;
  revision?: number;
  phase: string;
  ready: boolean;
  restarts: number;
  reasons: string[];
  oomKilledContainers: string[];
}

export interface WireWorkloadFacts {
  kind: string;
  name: string;
  namespace: string;
  found: boolean;
  replicas: { desired: number; ready: number; available: number; updated: number } | null;
  containers: WireContainerFacts[];
  revisions: WireRevisionFacts[];
  currentRevision?: number;
  pods: WirePodFacts[];
  podCount: number;
  notReadyPods: number;
  maxRestarts: number;
  oomKilled: boolean;
  oomKilledContainers: string[];
  crashLooping: boolean;
  imagePullFailing: boolean;
  warningReasons: string[];
  hpa: {
    minReplicas: number;
    maxReplicas: number;
    currentReplicas: number;
    desiredReplicas: number;
    maxedOut: boolean;
    target: string;
  } | null;
  job: { active: number; succeeded: number; failed: number; backoffLimit?: number; state: string } | null;
}

export interface WireContextSection {
  enricher: string;
  title: string;
  text: string;
  factsJson: string;
  unavailable?: string;
}

export interface WireFailureEvidence {
  remediationId: string;
  attempt: number;
  outcome: string;
  reason: string;
  attemptedActions: { type: string; params: StringMap }[];
  failedAction: { type: string; params: StringMap; error: string } | null;
  observations: string[];
}

export interface WireAnalyzeIssueRequest {
  issueName: string;
  namespace: string;
  resourceKind: string;
  resourceName: string;
  signalType: string;
  severity: string;
  description: string;
  riskScore: number;
  provider: string;
  model: string;
  kubernetesContext: string;
  previousFailureContext: string;
  doNotRepeat: string[];
  issueId: string;
  signals: string[];
  workloadFacts: WireWorkloadFacts | null;
  sections: WireContextSection[];
  previousFailures: WireFailureEvidence[];
}

export interface WireAnalyzeIssueResponse {
  analysis: string;
  confidence: number;
  recommendations: string[];
  provider: string;
  model: string;
  suggestedActions: WireSuggestedAction[];
  refusedProposals: WireRefusedProposal[];
}

export interface WireRefusedProposal {
  action: string;
  params: StringMap;
  code: string;
  reason: string;
}

export interface WireAgenticHistoryEntry {
  step: number;
  reasoning: string;
  action: WireSuggestedAction | null;
  observation: string;
  outcome: string;
  result: string;
}

export interface WireAgenticStepRequest {
  issueName: string;
  namespace: string;
  resourceKind: string;
  resourceName: string;
  signalType: string;
  severity: string;
  description: string;
  riskScore: number;
  provider: string;
  model: string;
  kubernetesContext: string;
  history: WireAgenticHistoryEntry[];
  maxSteps: number;
  currentStep: number;
  analysis: string;
  doNotRepeat: string[];
  issueId: string;
  remediationId: string;
  signals: string[];
  workloadFacts: WireWorkloadFacts | null;
  insight: { analysis: string; confidence: number; recommendations: string[]; provider: string; model: string } | null;
  remainingSteps: number;
  remainingSeconds: number;
  availableActions: {
    type: string;
    description: string;
    destructive: boolean;
    params: Record<string, { description: string; required: boolean }>;
  }[];
  previousFailures: WireFailureEvidence[];
}

export interface WireAgenticStepResponse {
  reasoning: string;
  resolved: boolean;
  nextAction: WireSuggestedAction | null;
  postmortemSummary: string;
  rootCause: string;
  impact: string;
  lessonsLearned: string[];
  preventionActions: string[];
  decision: string;
  confidence: number;
  provider: string;
  model: string;
  refusedProposal: WireRefusedProposal | null;
}
