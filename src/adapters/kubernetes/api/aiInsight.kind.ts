import { type Static, Type } from '@sinclair/typebox';
import {
  ActionTypeName,
  Fraction,
  KeyName,
  LlmProvider,
  LocalRef,
  MapListOf,
  patterns,
  RefusedProposalSchema,
  StringEnum,
  StringMap,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

const PreviousFailureSchema = Type.Object({
  attempt: Type.Integer({ minimum: 1, maximum: 20 }),
  actions: Type.Array(ActionTypeName(), { maxItems: 32, description: 'What was tried.' }),
  evidence: Text(8192, { description: 'Why it failed, as seen by the executor and the verification.' }),
});

export const AIInsightSpecSchema = Type.Object({
  issueRef: LocalRef('The Issue analysed; it owns this object.'),
  attempt: Type.Integer({ minimum: 1, maximum: 20, description: 'The remediation attempt this analysis prepares.' }),
  provider: LlmProvider('The provider asked first; status.provider says who answered.'),
  model: Type.Optional(Text(253)),
  previousFailures: Type.Optional(
    Type.Array(PreviousFailureSchema, {
      maxItems: 20,
      description: 'Evidence from failed attempts, carried so the analysis does not repeat them.',
    }),
  ),
});

const SuggestedActionSchema = Type.Object({
  name: KeyName('A step name, unique in the list.'),
  action: ActionTypeName(),
  description: Type.Optional(Text(2048)),
  params: Type.Optional(StringMap(32, 4096)),
});

const SuspectedCommitSchema = Type.Object({
  repository: Text(320, { description: 'The SourceRepository, namespace/name.' }),
  sha: Type.String({ pattern: patterns.gitSha, maxLength: 64 }),
  author: Type.Optional(Text(253)),
  message: Type.Optional(Text(2048, { description: 'The first line of the commit message.' })),
  at: Type.Optional(Timestamp()),
  confidence: Fraction('0 to 1: how strongly the evidence points at this commit.'),
  filesChanged: Type.Array(Text(1024), { maxItems: 64 }),
  reasons: Type.Array(Text(2048), { maxItems: 8, description: 'Why it is suspected, one line each.' }),
});

export const AIInsightStatusSchema = Type.Object({
  phase: Type.Optional(StringEnum(['Pending', 'Analyzing', 'Completed', 'Failed'] as const)),
  provider: Type.Optional(LlmProvider('The provider that answered, after the fallback chain.')),
  model: Type.Optional(Text(253)),
  analysis: Type.Optional(Text(32768, { description: 'The root-cause analysis.' })),
  confidence: Type.Optional(Fraction('0 to 1; 0.5 when the answer could not be parsed.')),
  structured: Type.Optional(Type.Boolean({ description: 'False when the answer failed schema validation.' })),
  recommendations: Type.Optional(Type.Array(Text(2048), { maxItems: 32 })),
  suggestedActions: Type.Optional(MapListOf(SuggestedActionSchema, 'name', 32)),
  generatedAt: Type.Optional(Timestamp()),
  blastRadius: Type.Optional(
    Type.Object(
      {
        planRef: LocalRef('The RemediationPlan made from this analysis.'),
        summary: Text(1024),
        pods: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
        pdbViolations: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
        servicesEmptied: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
        quotaOverflows: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
        dependants: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
      },
      { description: "The blast radius of the plan made from this analysis; the plan's status has the details." },
    ),
  ),
  gitOps: Type.Optional(
    Text(4096, { description: 'The Helm release and Argo CD / Flux state of the workload when it was analysed.' }),
  ),
  suspectedCommits: Type.Optional(
    Type.Array(SuspectedCommitSchema, {
      maxItems: 5,
      description:
        'Commits of the SourceRepositories that build the workload, most likely cause first (docs/source-repositories.md).',
    }),
  ),
  refusedProposals: Type.Optional(
    Type.Array(RefusedProposalSchema, {
      maxItems: 32,
      description: 'Proposals of this analysis refused before they ran, latest last; each joins do-not-repeat.',
    }),
  ),
  ...statusBase(),
});

export const AIInsightResourceSchema = customResource('AIInsight', AIInsightSpecSchema, AIInsightStatusSchema);

export type AIInsightSpec = Static<typeof AIInsightSpecSchema>;
export type AIInsightStatus = Static<typeof AIInsightStatusSchema>;
export type AIInsightResource = Static<typeof AIInsightResourceSchema>;

export const aiInsightKind: KindDefinition = {
  kind: 'AIInsight',
  plural: 'aiinsights',
  singular: 'aiinsight',
  shortNames: ['aii'],
  categories: [cairnCategory],
  description: 'The analysis of an Issue: root cause, confidence, suggested actions (projection).',
  specAuthor: 'cairn',
  ownedBy: 'Issue',
  printerColumns: [
    { name: 'Issue', type: 'string', jsonPath: '.spec.issueRef.name' },
    { name: 'Attempt', type: 'integer', jsonPath: '.spec.attempt' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Provider', type: 'string', jsonPath: '.status.provider' },
    { name: 'Confidence', type: 'number', jsonPath: '.status.confidence' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: AIInsightSpecSchema,
  status: AIInsightStatusSchema,
  resource: AIInsightResourceSchema,
};
