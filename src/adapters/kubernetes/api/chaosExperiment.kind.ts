import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  cel,
  Duration,
  LocalRef,
  NamespaceName,
  ObjectName,
  patterns,
  rules,
  SetOf,
  StringEnum,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

/** Faults Cairn can inject and take back; each maps to a signal the watchers detect. */
export const chaosFaults = [
  'pod_kill',
  'crashloop',
  'oom_kill',
  'pod_not_ready',
  'image_pull',
  'node_not_ready',
] as const;

export const ChaosExperimentSpecSchema = Type.Object(
  {
    fault: Type.Object({
      type: StringEnum(chaosFaults),
      count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1, description: 'Pods affected.' })),
    }),
    target: Type.Object({
      kind: StringEnum(['Deployment', 'StatefulSet', 'DaemonSet', 'Pod', 'Node'] as const),
      name: ObjectName(),
      namespace: Type.Optional(NamespaceName('Defaults to the namespace of the experiment; not used for Nodes.')),
    }),
    duration: Duration('How long the fault stays injected, e.g. 2m.'),
    schedule: Type.Optional(
      Type.String({ maxLength: 128, pattern: patterns.cron, description: 'Cron schedule for recurring runs.' }),
    ),
    dryRun: Type.Optional(Type.Boolean({ default: false, description: 'Check safety and report, inject nothing.' })),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    safety: Type.Optional(
      Type.Object({
        minHealthyPods: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'Abort below this.' })),
        abortOnIssue: Type.Optional(
          Type.Boolean({ default: true, description: 'Abort if an unrelated Issue opens on the target.' }),
        ),
        requireApproval: Type.Optional(Type.Boolean({ default: false })),
        maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 1 })),
        blockedNamespaces: Type.Optional(SetOf(NamespaceName(), 32, { default: ['kube-system'] })),
      }),
    ),
    recovery: Type.Object(
      {
        expect: StringEnum(['WorkloadReady', 'IssueResolved'] as const, {
          description: 'WorkloadReady: the target is healthy again; IssueResolved: Cairn detected and resolved it.',
        }),
        within: Duration('Deadline after the fault is removed (WorkloadReady) or injected (IssueResolved).'),
      },
      { description: 'The assertion that decides Completed or Failed.' },
    ),
    linkedIssueRef: Type.Optional(LocalRef('An Issue this experiment reproduces.')),
  },
  {
    ...rules(
      cel(
        "(self.fault.type == 'node_not_ready') == (self.target.kind == 'Node')",
        'node_not_ready targets a Node, and a Node only takes node_not_ready',
      ),
      cel(
        '!has(self.safety) || !has(self.safety.blockedNamespaces) || !has(self.target.namespace) || !(self.target.namespace in self.safety.blockedNamespaces)',
        'the target namespace is blocked by safety.blockedNamespaces',
      ),
    ),
  },
);

export const chaosStates = [
  'Pending',
  'AwaitingApproval',
  'Running',
  'Verifying',
  'Completed',
  'Failed',
  'Aborted',
] as const;

export const ChaosExperimentStatusSchema = Type.Object({
  state: StringEnum(chaosStates),
  startedAt: Type.Optional(Timestamp()),
  injectedAt: Type.Optional(Timestamp()),
  removedAt: Type.Optional(Timestamp()),
  recoveredAt: Type.Optional(Timestamp()),
  completedAt: Type.Optional(Timestamp()),
  recovered: Type.Optional(Type.Boolean({ description: 'Whether the recovery assertion held.' })),
  recoveryTime: Type.Optional(Text(32)),
  podsAffected: Type.Optional(Count('Pods the fault reached.')),
  issueRef: Type.Optional(LocalRef('The Issue Cairn opened for the fault, if any.')),
  result: Type.Optional(Text(4096)),
  lastRunAt: Type.Optional(Timestamp()),
  ...statusBase(),
});

export const ChaosExperimentResourceSchema = customResource(
  'ChaosExperiment',
  ChaosExperimentSpecSchema,
  ChaosExperimentStatusSchema,
);

export type ChaosExperimentSpec = Static<typeof ChaosExperimentSpecSchema>;
export type ChaosExperimentStatus = Static<typeof ChaosExperimentStatusSchema>;
export type ChaosExperimentResource = Static<typeof ChaosExperimentResourceSchema>;

export const chaosExperimentKind: KindDefinition = {
  kind: 'ChaosExperiment',
  plural: 'chaosexperiments',
  singular: 'chaosexperiment',
  shortNames: ['chaos'],
  categories: [cairnCategory],
  description: 'A fault to inject into a workload or node, with safety checks and a recovery assertion.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Fault', type: 'string', jsonPath: '.spec.fault.type' },
    { name: 'Target', type: 'string', jsonPath: '.spec.target.name' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Recovered', type: 'boolean', jsonPath: '.status.recovered' },
    { name: 'RecoveryTime', type: 'string', jsonPath: '.status.recoveryTime', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: ChaosExperimentSpecSchema,
  status: ChaosExperimentStatusSchema,
  resource: ChaosExperimentResourceSchema,
};
