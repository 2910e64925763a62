import { type TObject, Type } from '@sinclair/typebox';
import { NamespaceName, ObjectName, StringMap, Text, Timestamp } from './common.schema.ts';

export const apiGroup = 'aiops.cairn.dev';
export const apiVersion = 'v1alpha1';
export const groupVersion = `${apiGroup}/${apiVersion}` as const;

/** `kubectl get cairn` lists every kind. */
export const cairnCategory = 'cairn';

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  /** 0 shows in `kubectl get`, 1 only with `-o wide`. */
  readonly priority?: 0 | 1;
}

export const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/**
 * Who writes `.spec`. `.status` is always written by Cairn's projections, through the status subresource.
 * - `user`: an input; Cairn turns it into commands.
 * - `cairn`: a projection of Cairn's event streams.
 * - `user-or-cairn`: either (a hand-made Anomaly; a Runbook generated from a successful remediation).
 */
export type SpecAuthor = 'user' | 'cairn' | 'user-or-cairn';

export interface KindDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** One sentence: shown by `kubectl explain` and in docs/crds.md. */
  readonly description: string;
  readonly specAuthor: SpecAuthor;
  /** Kubernetes garbage-collects these with their owner. */
  readonly ownedBy?: string;
  readonly printerColumns: readonly PrinterColumn[];
  readonly statusSubresource: boolean;
  readonly spec: TObject;
  readonly status?: TObject;
  /** The whole object (apiVersion, kind, metadata, spec, status), for Value.Check of manifests. */
  readonly resource: TObject;
}

/**
 * The metadata fields Cairn reads or writes. Only used in-process: the CRD leaves metadata to the API server.
 */
export const ObjectMetaSchema = Type.Object({
  name: ObjectName(),
  generateName: Type.Optional(Text(253)),
  namespace: Type.Optional(NamespaceName()),
  uid: Type.Optional(Text(64)),
  resourceVersion: Type.Optional(Text(64)),
  generation: Type.Optional(Type.Integer({ minimum: 0 })),
  creationTimestamp: Type.Optional(Timestamp()),
  deletionTimestamp: Type.Optional(Timestamp()),
  labels: Type.Optional(StringMap(64, 63)),
  annotations: Type.Optional(StringMap(64, 262144)),
  finalizers: Type.Optional(Type.Array(Text(253), { maxItems: 16 })),
  ownerReferences: Type.Optional(
    Type.Array(
      Type.Object({
        apiVersion: Text(253),
        kind: Text(63),
        name: Text(253),
        uid: Text(64),
        controller: Type.Optional(Type.Boolean()),
        blockOwnerDeletion: Type.Optional(Type.Boolean()),
      }),
      { maxItems: 16 },
    ),
  ),
});

const envelope = <K extends string>(kind: K) => ({
  apiVersion: Type.Literal(groupVersion),
  kind: Type.Literal(kind),
  metadata: ObjectMetaSchema,
});

/** The object schema of a kind with a status. */
export const customResource = <K extends string, Spec extends TObject, Status extends TObject>(
  kind: K,
  spec: Spec,
  status: Status,
) => Type.Object({ ...envelope(kind), spec, status: Type.Optional(status) });

/** The object schema of a kind without a status (AuditEvent). */
export const specOnlyResource = <K extends string, Spec extends TObject>(kind: K, spec: Spec) =>
  Type.Object({ ...envelope(kind), spec });
