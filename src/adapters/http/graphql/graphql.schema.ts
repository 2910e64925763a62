/**
 * The GraphQL schema over the read model: the same views, under the same field names, as the REST API. Lists are
 * pages (newest first) with an opaque cursor; an Incident's related objects are fields, fetched through loaders so
 * a page of incidents with their insights and remediations costs one query per kind of object, not per incident.
 */
export const graphqlSchema = /* GraphQL */ `
  "Kubernetes object reference."
  type Resource {
    kind: String!
    name: String!
    namespace: String!
    cluster: String
  }

  "The cross-service cascade an Issue belongs to."
  type IncidentCascade {
    "root (the most upstream failing workload) or dependant."
    role: String!
    rootIssueId: ID!
    "The root Issue."
    root: Incident
    "Every member, root first."
    chain: [CascadeMember!]!
  }

  type CascadeMember {
    issueId: ID!
    name: String!
    workload: Resource!
    detectedAt: String!
  }

  "No plan starts while the root of the Issue's cascade is open."
  type RemediationDeferral {
    rootIssueId: ID!
    reason: String!
    since: String!
  }

  "The Issue resolved without a plan once the root of its cascade was fixed."
  type RecoveredWithRoot {
    rootIssueId: ID!
    detail: String!
  }

  type EscalationHold {
    reason: String!
    heldBecause: String!
  }

  type Incident {
    id: ID!
    "The Issue object's name in the workload's namespace."
    name: String!
    state: String!
    severity: String!
    riskScore: Int!
    signal: String!
    signals: [String!]!
    workload: Resource!
    source: String
    detectedAt: String
    endedAt: String
    attempts: Int!
    maxAttempts: Int!
    anomalyCount: Int!
    acknowledgedBy: String
    snoozedUntil: String
    resolution: String
    escalationReason: String
    escalationHeld: EscalationHold
    cascade: IncidentCascade
    remediationDeferral: RemediationDeferral
    recoveredWithRoot: RecoveredWithRoot
    updatedAt: String!
    "Every event of the Issue, oldest first, in one line each."
    timeline: [TimelineEntry!]!
    anomalies: [Anomaly!]!
    "The latest analysis."
    insight: Insight
    insights: [Insight!]!
    "The remediation running now, or the last one."
    remediation: Remediation
    remediations: [Remediation!]!
    postmortem: PostMortem
  }

  type TimelineEntry {
    position: String!
    stream: String!
    type: String!
    occurredAt: String!
    actor: String
    summary: String!
  }

  type Label {
    name: String!
    value: String!
  }

  type Anomaly {
    id: ID!
    signal: String!
    source: String!
    resource: Resource!
    workload: Resource!
    message: String!
    observedAt: String!
    recordedAt: String!
    issueId: ID
    duplicates: Int!
    labels: [Label!]!
  }

  type Param {
    name: String!
    value: String!
  }

  type SuggestedAction {
    name: String!
    type: String!
    description: String!
    params: [Param!]!
  }

  type Insight {
    id: ID!
    issueId: ID!
    attempt: Int!
    status: String!
    requestedAt: String!
    finishedAt: String
    analysis: String
    confidence: Float
    provider: String
    model: String
    recommendations: [String!]!
    suggestedActions: [SuggestedAction!]!
    failureReason: String
    "Proposals of this analysis refused before they ran, oldest first; each joined the Issue's do-not-repeat list."
    refusedProposals: [RefusedProposal!]!
    "Commits the analysis suspected (from the SourceRepositories that build the workload), most likely first."
    suspectedCommits: [SuspectedCommit!]!
    "The workload's Helm / Argo CD / Flux state when it was analysed."
    gitOps: String
  }

  type RefusedProposal {
    "parser, offered_types, policy, envelope, action_check, do_not_repeat or approval"
    stage: String!
    "Absent when the refusal names no action (an answer that was not JSON)."
    action: RefusedAction
    code: String!
    reason: String!
    remediationId: ID
    step: Int
    at: String!
  }

  type RefusedAction {
    type: String!
    params: [Param!]!
  }

  type RemediationAction {
    actionId: ID!
    index: Int!
    type: String!
    params: [Param!]!
    description: String
    status: String!
    detail: String
    startedAt: String
    finishedAt: String
  }

  type Rollback {
    trigger: String!
    reason: String!
  }

  type Remediation {
    id: ID!
    issueId: ID!
    attempt: Int!
    source: String!
    status: String!
    target: Resource!
    runbook: String
    approvalRequired: Boolean!
    createdAt: String!
    endedAt: String
    outcome: String
    outcomeDetail: String
    snapshotId: String
    rollback: Rollback
    "What the plan would take down, assessed when it was made; null when nothing was assessed."
    blastRadius: RemediationBlastRadius
    actions: [RemediationAction!]!
  }

  type RemediationBlastRadius {
    "The totals in one sentence."
    summary: String!
    totals: BlastRadiusTotals!
    actions: [ActionBlastRadius!]!
    "Workloads that depend on the target (the dependency graph)."
    dependants: [Resource!]!
  }

  type BlastRadiusTotals {
    pods: Int!
    pdbViolations: Int!
    servicesEmptied: Int!
    quotaOverflows: Int!
    dependants: Int!
  }

  type PostMortemFeedback {
    by: String!
    at: String!
    rating: Int
    rootCauseOverride: String
    comments: String
  }

  type PostMortem {
    id: ID!
    issueId: ID!
    name: String!
    namespace: String!
    state: String!
    outcome: String!
    signal: String!
    severity: String!
    workload: Resource!
    summary: String!
    rootCause: String!
    detectedAt: String!
    endedAt: String!
    durationSeconds: Float!
    recurrences: Int!
    reviewedBy: String
    reviewedAt: String
    reviewNotes: String
    closedBy: String
    closedAt: String
    feedback: [PostMortemFeedback!]!
    "Workloads of the Issue's cascade, root cause first; empty when it was not part of one."
    cascadeChain: [String!]!
    "The Issue's place in its cascade: 1 is the root cause."
    cascadePosition: Int
    "The most likely commit of the last analysis that named any."
    suspectedCommit: SuspectedCommit
    "Helm / Argo CD / Flux state when the Issue was analysed."
    gitOps: String
    "What each remediation plan was assessed to take before it ran."
    blastRadius: [PlanBlastRadius!]!
  }

  type SuspectedCommit {
    repository: String!
    sha: String!
    author: String
    message: String
    at: String
    confidence: Float!
    filesChanged: [String!]!
    reasons: [String!]!
  }

  type PlanBlastRadius {
    attempt: Int!
    actions: [ActionBlastRadius!]!
    dependants: [String!]!
  }

  type ActionBlastRadius {
    type: String!
    pods: Int!
    replicas: ReplicaChange
    pdbViolations: [PdbViolation!]!
    servicesEmptied: [EmptiedService!]!
    quotaOverflows: [QuotaOverflow!]!
  }

  type ReplicaChange {
    before: Int!
    after: Int!
  }

  type PdbViolation {
    namespace: String!
    name: String!
    disruptionsAllowed: Int!
    podsTaken: Int!
  }

  type EmptiedService {
    namespace: String!
    name: String!
    readyEndpoints: Int!
  }

  type QuotaOverflow {
    namespace: String!
    name: String!
    resource: String!
    used: Float!
    added: Float!
    hard: Float!
  }

  type Count {
    key: String!
    count: Int!
  }

  type IncidentTotals {
    total: Int!
    open: Int!
    resolved: Int!
    escalated: Int!
  }

  type RemediationStats {
    total: Int!
    completed: Int!
    rolledBack: Int!
    failed: Int!
    inProgress: Int!
    successRate: Float
  }

  type TopResource {
    kind: String!
    name: String!
    namespace: String!
    incidents: Int!
  }

  type TrendDay {
    day: String!
    detected: Int!
    resolved: Int!
  }

  type Analytics {
    since: String
    until: String
    incidents: IncidentTotals!
    bySeverity: [Count!]!
    byState: [Count!]!
    bySignal: [Count!]!
    mttdSeconds: Float
    mttrSeconds: Float
    topResources: [TopResource!]!
    remediations: RemediationStats!
    trend: [TrendDay!]!
  }

  type IncidentPage {
    items: [Incident!]!
    "Pass as cursor for the next page; null on the last page."
    nextCursor: String
  }

  type AnomalyPage {
    items: [Anomaly!]!
    nextCursor: String
  }

  type RemediationPage {
    items: [Remediation!]!
    nextCursor: String
  }

  type PostMortemPage {
    items: [PostMortem!]!
    nextCursor: String
  }

  input IncidentFilter {
    state: [String!]
    severity: [String!]
    signal: String
    namespace: String
    workload: String
    kind: String
    acknowledged: Boolean
    "ISO-8601, inclusive, on detection time."
    since: String
    "ISO-8601, exclusive."
    until: String
  }

  input AnomalyFilter {
    issueId: ID
    signal: String
    source: String
    namespace: String
    since: String
    until: String
  }

  type Query {
    incidents(filter: IncidentFilter, limit: Int, cursor: String): IncidentPage!
    incident(id: ID!): Incident
    anomalies(filter: AnomalyFilter, limit: Int, cursor: String): AnomalyPage!
    insight(id: ID!): Insight
    remediations(issueId: ID, status: String, outcome: String, limit: Int, cursor: String): RemediationPage!
    remediation(id: ID!): Remediation
    postmortems(state: String, outcome: String, signal: String, namespace: String, limit: Int, cursor: String): PostMortemPage!
    "A PostMortem by its Issue's id."
    postmortem(id: ID!): PostMortem
    analytics(since: String, until: String): Analytics!
  }

  type Subscription {
    "An Incident each time the read model changes it; only the one named when id is given."
    incidentChanged(id: ID): Incident!
  }
`;
