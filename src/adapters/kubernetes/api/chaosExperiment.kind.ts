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

/**
 * Faults a ChaosExperiment names. The last two need a network fault agent in the pod's network namespace, which
 * Cairn does not run: they are accepted by the schema so that a run can be refused with that reason, not faked.
 */
export const chaosFaults = [
  'pod_kill',
  'pod_not_ready',
  'crashloop',
  'oom_kill',
  'image_pull',
  'missing_config',
  'scale_to_zero',
  'node_not_ready',
  'disk_pressure',
  'memory_pressure',
  'network_latency',
  'packet_loss',
] as const;

const nodeFaults = "['node_not_ready', 'disk_pressure', 'memory_pressure']";

export const ChaosExperimentSpecSchema = Type.Object(
  {
    fault: Type.Object({
      type: StringEnum(chaosFaults),
      count: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 1,
          description: 'Pods affected by pod_kill and pod_not_ready; the other faults reach the whole workload.',
        }),
      ),
    }),
    target: Type.Object({
      kind: StringEnum(['Deployment', 'StatefulSet', 'DaemonSet', 'Node'] as const),
      name: ObjectName(),
      namespace: Type.Optional(NamespaceName('Defaults to the namespace of the experiment; not used for Nodes.')),
    }),
    duration: Duration('The longest the fault stays injected, e.g. 2m; it is taken back earlier once recovery holds.'),
    schedule: Type.Optional(
      Type.String({ maxLength: 128, pattern: patterns.cron, description: 'Cron schedule for recurring runs (UTC).' }),
    ),
    concurrencyPolicy: Type.Optional(
      StringEnum(['Forbid', 'Replace'] as const, {
        default: 'Forbid',
        description:
          'A scheduled run that falls due while one is running: Forbid skips it, Replace aborts the running one.',
      }),
    ),
    dryRun: Type.Optional(
      Type.Boolean({ default: false, description: 'Run the safety checks and plan the fault, inject nothing.' }),
    ),
    enabled: Type.Optional(
      Type.Boolean({ default: true, description: 'false aborts a run under way (the fault is taken back).' }),
    ),
    safety: Type.Optional(
      Type.Object({
        minHealthyPods: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 1000,
            description: 'Refuse below this many ready pods after the fault, and abort if ready pods fall below it.',
          }),
        ),
        maxPodsPercent: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: 100,
            default: 50,
            description: 'The largest share of replicas the fault may reach; workload-wide faults reach 100.',
          }),
        ),
        requireHealthyTarget: Type.Optional(
          Type.Boolean({ default: true, description: 'Refuse to start unless the target is healthy.' }),
        ),
        respectSloBudget: Type.Optional(
          Type.Boolean({
            default: true,
            description:
              'Refuse (and abort) while an SLO of the target has no error budget left or burns at page level.',
          }),
        ),
        blockedNamespaces: Type.Optional(SetOf(NamespaceName(), 32, { default: ['kube-system'] })),
      }),
    ),
    recovery: Type.Object(
      {
        expect: StringEnum(['WorkloadReady', 'IssueResolved'] as const, {
          description: 'WorkloadReady: the target is healthy again; IssueResolved: Cairn detected and resolved it.',
        }),
        within: Duration('Deadline, counted from the injection.'),
        slo: Type.Optional(
          ObjectName('Also require this ServiceLevelObjective (same namespace) to have no burn alert firing.'),
        ),
      },
      { description: 'The assertion that decides Passed or Failed.' },
    ),
  },
  {
    ...rules(
      cel(
        `(self.fault.type in ${nodeFaults}) == (self.target.kind == 'Node')`,
        'node_not_ready, disk_pressure and memory_pressure target a Node, and a Node only takes those',
      ),
      cel(
        "self.fault.type != 'scale_to_zero' || self.target.kind in ['Deployment', 'StatefulSet']",
        'scale_to_zero targets a Deployment or a StatefulSet',
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
  'Running',
  'Verifying',
  'Passed',
  'Failed',
  'Aborted',
  'Refused',
  'DryRun',
] as const;

const Seconds = (description: string) => Type.Optional(Type.Number({ minimum: 0, description }));

export const ChaosExperimentStatusSchema = Type.Object({
  state: StringEnum(chaosStates),
  run: Type.Optional(Type.Integer({ minimum: 1, format: 'int64', description: 'The latest run, counted from 1.' })),
  startedAt: Type.Optional(Timestamp()),
  injectedAt: Type.Optional(Timestamp()),
  removedAt: Type.Optional(Timestamp()),
  recoveredAt: Type.Optional(Timestamp()),
  completedAt: Type.Optional(Timestamp()),
  nextRunAt: Type.Optional(Timestamp()),
  recovered: Type.Optional(Type.Boolean({ description: 'Whether the recovery assertion held.' })),
  remediatedByCairn: Type.Optional(
    Type.Boolean({
      description: "Whether Cairn's own remediation brought the target back before the fault was taken back.",
    }),
  ),
  timeToDetectSeconds: Seconds('From the injection to the Issue Cairn opened or joined.'),
  timeToPlanSeconds: Seconds('From the injection to the first remediation plan.'),
  timeToRecoverSeconds: Seconds('From the injection to the target healthy again.'),
  podsAffected: Type.Optional(Count('Pods the fault reached.')),
  issueRef: Type.Optional(LocalRef('The Issue Cairn opened for the fault, if any.')),
  checks: Type.Optional(
    Type.Array(Type.Object({ name: Text(64), passed: Type.Boolean(), detail: Text(512) }), {
      maxItems: 16,
      description: 'The safety checks of the latest run.',
    }),
  ),
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
    { name: 'Run', type: 'integer', jsonPath: '.status.run' },
    { name: 'Recovered', type: 'boolean', jsonPath: '.status.recovered' },
    { name: 'Detect', type: 'number', jsonPath: '.status.timeToDetectSeconds', priority: 1 },
    { name: 'Recover', type: 'number', jsonPath: '.status.timeToRecoverSeconds', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: ChaosExperimentSpecSchema,
  status: ChaosExperimentStatusSchema,
  resource: ChaosExperimentResourceSchema,
};
