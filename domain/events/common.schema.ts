import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';

/** Building blocks shared by every event schema, so a resource or an action looks the same in every stream. */

/** Objects refuse unknown fields: a misspelt field is caught when the event is written, not months later. */
export const strictObject = <P extends TProperties>(properties: P): TObject<P> =>
  Type.Object(properties, { additionalProperties: false });

export const IsoInstant = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$',
  description: 'an ISO-8601 instant',
});

export const Id = Type.String({ minLength: 1, maxLength: 253 });
export const Text = Type.String({ maxLength: 20_000 });
export const ShortText = Type.String({ maxLength: 2_048 });
export const Actor = Type.String({ minLength: 1, maxLength: 253 });
export const Count = Type.Integer({ minimum: 0 });

export const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'a lower-case SHA-256 hex digest' });

/** Signals are open-ended (any Alertmanager alert can become one), so the shape is checked, not the name. */
export const SignalName = Type.String({
  pattern: '^[a-z][a-z0-9_]{0,62}$',
  description: 'a snake_case signal name',
});

export const Severity = { Critical: 'critical', High: 'high', Medium: 'medium', Low: 'low' } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];
export const SeveritySchema = Type.Enum(Severity);

export const RiskScore = Type.Integer({ minimum: 0, maximum: 100 });

/** A Kubernetes object by identity. Cluster-scoped kinds (Node) have an empty namespace. */
export const ResourceRef = strictObject({
  kind: Type.String({ pattern: '^[A-Z][A-Za-z0-9]{0,62}$', description: 'a Kubernetes kind' }),
  name: Type.String({ minLength: 1, maxLength: 253 }),
  namespace: Type.String({ maxLength: 63 }),
  cluster: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
});
export type ResourceRef = Static<typeof ResourceRef>;

export const AnomalySource = {
  Watcher: 'watcher',
  Prometheus: 'prometheus',
  Kafka: 'kafka',
  Grpc: 'grpc',
  Manual: 'manual',
} as const;
export type AnomalySource = (typeof AnomalySource)[keyof typeof AnomalySource];

export const RemediationSource = {
  ManualRunbook: 'manual-runbook',
  AiRunbook: 'ai-runbook',
  Agentic: 'agentic',
} as const;
export type RemediationSource = (typeof RemediationSource)[keyof typeof RemediationSource];

export const ActionType = Type.String({ pattern: '^[A-Z][A-Za-z0-9]{0,62}$', description: 'a PascalCase action type' });
export const ActionParams = Type.Record(Type.String(), Type.String({ maxLength: 4_096 }));

/** What an action does, without its identity: the unit of "do not repeat". */
export const ActionCall = strictObject({ type: ActionType, params: ActionParams });
export type ActionCall = Static<typeof ActionCall>;

/** An action as planned: identity (for checkpoints) plus what it does. */
export const ActionSpec = strictObject({
  actionId: Id,
  type: ActionType,
  params: ActionParams,
  description: Type.Optional(ShortText),
});
export type ActionSpec = Static<typeof ActionSpec>;

/** Why a remediation did not fix the Issue; carried to the next analysis so the AI does not try the same again. */
export const FailureEvidence = strictObject({
  remediationId: Id,
  attempt: Type.Integer({ minimum: 1 }),
  outcome: Type.Enum({ RolledBack: 'rolled_back', Failed: 'failed' } as const),
  reason: ShortText,
  attemptedActions: Type.Array(ActionCall, { maxItems: 100 }),
  failedAction: Type.Optional(strictObject({ type: ActionType, params: ActionParams, error: ShortText })),
  observations: Type.Array(ShortText, { maxItems: 50 }),
});
export type FailureEvidence = Static<typeof FailureEvidence>;

/** Turns an older schema version's data into the next version's. Keyed by the version it reads. */
export type Upcaster = (data: unknown) => unknown;

export interface EventDefinition<Type extends string = string, Schema extends TObject = TObject> {
  readonly type: Type;
  /** The version written today; older versions are read through `upcasters`. */
  readonly schemaVersion: number;
  readonly schema: Schema;
  /** Audited events feed the tamper-evident audit chain and the AuditEvent projection. */
  readonly audited: boolean;
  readonly upcasters: Readonly<Record<number, Upcaster>>;
}

export const defineEvent = <const T extends string, S extends TObject>(
  type: T,
  schema: S,
  options: {
    readonly audited: boolean;
    readonly schemaVersion?: number;
    readonly upcasters?: Record<number, Upcaster>;
  },
): EventDefinition<T, S> => ({
  type,
  schema,
  audited: options.audited,
  schemaVersion: options.schemaVersion ?? 1,
  upcasters: options.upcasters ?? {},
});
