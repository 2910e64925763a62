import {
  FormatRegistry,
  type SchemaOptions,
  type StringOptions,
  type TLiteral,
  type TSchema,
  Type,
} from '@sinclair/typebox';
import { RefusalStage } from '../../../../domain/events/issue.events.ts';
import { actionTypes } from './actionTypes.ts';
import { type AnomalySource as AnomalySourceName, anomalySources, signalTypes } from './signalTypes.ts';

/*
 * Building blocks shared by every kind. They are written so that the same TypeBox schema serves two checkers:
 * TypeBox's Value.Check in-process, and the API server once structuralSchema.ts has turned it into a CRD schema.
 * Anything only the API server can check (CEL rules, list uniqueness) is marked as such where it is declared.
 */

// Value.Check refuses a format it does not know; Kubernetes validates `date-time` itself, so teach TypeBox the same.
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => rfc3339.test(value) && !Number.isNaN(Date.parse(value)));
}

export interface CelRule {
  readonly rule: string;
  readonly message: string;
}

/** A CEL `x-kubernetes-validations` entry; only the API server evaluates these. */
export const cel = (rule: string, message: string): CelRule => ({ rule, message });

/** Options carrying CEL rules, to spread into a Type.Object's options. */
export const rules = (...entries: CelRule[]) => ({ 'x-kubernetes-validations': entries });

/** A closed set of strings: a union of literals here, `type: string` + `enum` in the CRD. */
export const StringEnum = <const T extends readonly string[]>(values: T, options?: SchemaOptions) =>
  Type.Union(values.map((value) => Type.Literal(value)) as unknown as TLiteral<T[number]>[], options);

/** A value that may be explicitly null (a cleared timestamp): `nullable: true` in the CRD. */
export const Nullable = <T extends TSchema>(schema: T, options?: SchemaOptions) =>
  Type.Union([schema, Type.Null()], options);

/** A free-form object kept as-is by the API server (a snapshot of another resource). Use sparingly. */
export const FreeForm = (description: string) =>
  Type.Record(Type.String(), Type.Unknown(), { description, 'x-kubernetes-preserve-unknown-fields': true });

/** A bounded string; every string in Cairn's CRDs has a maxLength so CEL cost estimation stays within budget. */
export const Text = (maxLength: number, options?: StringOptions) => Type.String({ maxLength, ...options });

/** A list of unique scalars (Kubernetes forbids `uniqueItems`; `x-kubernetes-list-type: set` says the same). */
export const SetOf = <T extends TSchema>(items: T, maxItems: number, options?: SchemaOptions) =>
  Type.Array(items, { maxItems, 'x-kubernetes-list-type': 'set', ...options });

/** A list of objects keyed by one of their fields, which the API server keeps unique. */
export const MapListOf = <T extends TSchema>(items: T, key: string, maxItems: number, options?: SchemaOptions) =>
  Type.Array(items, {
    maxItems,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': [key],
    ...options,
  });

/** A string → string map with bounded keys and values. */
export const StringMap = (maxProperties: number, maxValueLength: number, description?: string) =>
  Type.Record(Type.String(), Type.String({ maxLength: maxValueLength }), {
    maxProperties,
    ...(description === undefined ? {} : { description }),
  });

// ---------------------------------------------------------------------------------------------------------------
// Patterns. Each must mean the same to ECMAScript (TypeBox) and to RE2 (the API server): no look-around, no
// back-references.
// ---------------------------------------------------------------------------------------------------------------
export const patterns = {
  /** RFC 1123 subdomain: object names. */
  dnsSubdomain: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  /** RFC 1123 label: namespaces, list keys. */
  dnsLabel: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  /** A Kubernetes kind: `Deployment`, `StatefulSet`. */
  kind: '^[A-Z][A-Za-z0-9]*$',
  /** A Go duration, which CEL's duration() also parses: `90s`, `10m`, `1h30m`, `250ms`. */
  duration: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$',
  /** An SLO window, where days and weeks are the usual unit: `30d`, `4w`, `12h`. */
  window: '^[1-9][0-9]*(m|h|d|w)$',
  /** A cron schedule, loosely: five fields or a macro. The controller parses it for real. */
  cron: '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\\S+\\s+){4}\\S+)$',
  /** A resource quantity as a string: `500m`, `1Gi`, `2`. */
  quantity: '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$',
  sha256: '^[a-f0-9]{64}$',
  gitSha: '^[a-f0-9]{7,64}$',
  /** PascalCase names such as event types. */
  pascalCase: '^[A-Z][A-Za-z0-9]*$',
  conditionType: '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
  conditionReason: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------------------------
export const ObjectName = (description?: string) =>
  Type.String({
    minLength: 1,
    maxLength: 253,
    pattern: patterns.dnsSubdomain,
    ...(description === undefined ? {} : { description }),
  });
export const NamespaceName = (description?: string) =>
  Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: patterns.dnsLabel,
    ...(description === undefined ? {} : { description }),
  });
/** A short name used as a list key (a step, a channel, a rule). */
export const KeyName = (description: string) =>
  Type.String({ minLength: 1, maxLength: 63, pattern: patterns.dnsLabel, description });
export const KindName = (description?: string) =>
  Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: patterns.kind,
    ...(description === undefined ? {} : { description }),
  });
export const Timestamp = (description?: string) =>
  Type.String({ format: 'date-time', ...(description === undefined ? {} : { description }) });
export const Duration = (description: string, options?: StringOptions) =>
  Type.String({ maxLength: 32, pattern: patterns.duration, description, ...options });
export const Percentage = (description: string) => Type.Number({ minimum: 0, maximum: 100, description });
export const Fraction = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });
export const Count = (description: string) => Type.Integer({ minimum: 0, format: 'int64', description });
export const ObservedGeneration = () =>
  Type.Integer({ minimum: 0, format: 'int64', description: 'The .metadata.generation this status describes.' });

/** Resource quantities as Kubernetes writes them: an integer or a string such as `500m` or `1Gi`. */
export const Quantity = (description?: string) =>
  Type.Union([Type.Integer({ minimum: 0 }), Type.String({ maxLength: 32, pattern: patterns.quantity })], {
    'x-kubernetes-int-or-string': true,
    ...(description === undefined ? {} : { description }),
  });

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------------------------
export const severities = ['critical', 'high', 'medium', 'low'] as const;
export const Severity = (description = 'critical | high | medium | low') => StringEnum(severities, { description });

export const issueStates = ['Detected', 'Analyzing', 'Remediating', 'Resolved', 'Escalated'] as const;
export const IssueState = (description = 'Where the Issue is in its lifecycle.') =>
  StringEnum(issueStates, { description });

export const Signal = (description = 'What was observed.') => StringEnum(signalTypes, { description });
export const AnomalySource = (description = 'Which detector produced the signal.', defaultValue?: AnomalySourceName) =>
  StringEnum(anomalySources, { description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });
export const ActionTypeName = (description = 'A remediation action type.') => StringEnum(actionTypes, { description });

/** A proposal turned down before it ran: by the parser, the offered types, the policy, the envelope, people. */
export const RefusedProposalSchema = Type.Object({
  stage: StringEnum(Object.values(RefusalStage), { description: 'Where it was refused; the code says by which rule.' }),
  action: Type.Optional(Text(128, { description: 'What was proposed; may name no known action.' })),
  params: Type.Optional(StringMap(32, 4096)),
  code: Text(128, {
    description: 'e.g. policy.blast_radius, envelope.memory_above_factor, parser.unknown_action_type.',
  }),
  reason: Text(2048),
  remediation: Type.Optional(Text(253, { description: 'The remediation it was refused in, if any.' })),
  step: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'The agentic step that proposed it.' })),
  at: Timestamp(),
});

export const llmProviders = ['rules', 'openai', 'anthropic'] as const;
export const LlmProvider = (description = 'rules (offline), openai (any OpenAI-compatible API) or anthropic.') =>
  StringEnum(llmProviders, { description });

/** Kinds a Runbook, a policy match or a chaos target may name. */
export const targetKinds = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'Pod',
  'Node',
  'HorizontalPodAutoscaler',
  'PersistentVolumeClaim',
  'Service',
  'Ingress',
] as const;
export const TargetKind = (description = 'A Kubernetes kind.') => StringEnum(targetKinds, { description });

export const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

// ---------------------------------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------------------------------
export const ResourceRef = (description = 'A Kubernetes object.') =>
  Type.Object(
    {
      apiVersion: Type.Optional(Text(253, { description: 'e.g. apps/v1; inferred from kind when omitted.' })),
      kind: KindName('e.g. Deployment'),
      name: ObjectName(),
      namespace: Type.Optional(NamespaceName('Defaults to the namespace of this object.')),
    },
    { description },
  );

export const LocalRef = (description: string) => Type.Object({ name: ObjectName() }, { description });

export const SecretKeyRef = (description: string, defaultKey?: string) =>
  Type.Object(
    {
      name: ObjectName('The Secret, in the namespace of this object.'),
      key: Type.String({
        minLength: 1,
        maxLength: 253,
        pattern: '^[-._a-zA-Z0-9]+$',
        description: 'The key in the Secret.',
        ...(defaultKey === undefined ? {} : { default: defaultKey }),
      }),
    },
    { description },
  );

// ---------------------------------------------------------------------------------------------------------------
// Status building blocks
// ---------------------------------------------------------------------------------------------------------------
export const ConditionSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 316, pattern: patterns.conditionType, description: 'e.g. Ready' }),
  status: StringEnum(['True', 'False', 'Unknown'] as const),
  observedGeneration: Type.Optional(ObservedGeneration()),
  lastTransitionTime: Timestamp('When status last changed.'),
  reason: Type.String({ minLength: 1, maxLength: 1024, pattern: patterns.conditionReason }),
  message: Text(32768),
});

/** Conditions keyed by type, as in metav1.Condition. */
export const Conditions = () =>
  MapListOf(ConditionSchema, 'type', 32, { description: 'The latest observations, one per condition type.' });

/** The fields every status carries; spread into a status Type.Object. */
export const statusBase = () => ({
  observedGeneration: Type.Optional(ObservedGeneration()),
  conditions: Type.Optional(Conditions()),
});
