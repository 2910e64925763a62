import { apiGroup } from './kindDefinition.ts';

/**
 * An AuditEvent is written once by Cairn and never changed. The CRD's own rule (`self == oldSelf` on the spec) refuses
 * any change of what it records; this ValidatingAdmissionPolicy refuses the rest of an update too (labels,
 * annotations), from anyone, Cairn included. Deletion stays possible, for retention: a DELETE is no update, and the
 * updates the API server and the garbage collector make to an object being deleted (finalizers) are let through.
 */

export const auditEventAdmissionPolicyName = `auditevents.${apiGroup}`;

export const auditEventImmutableMessage =
  'an AuditEvent is immutable: Cairn writes it once from the audit chain, and only retention deletes it';

/** The ValidatingAdmissionPolicy and its binding, as plain objects (rendered to YAML by the CRD generator). */
export function auditEventAdmissionPolicy(): readonly Record<string, unknown>[] {
  const metadata = {
    name: auditEventAdmissionPolicyName,
    labels: { 'app.kubernetes.io/name': 'cairn', 'app.kubernetes.io/part-of': 'cairn' },
  };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata,
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: [apiGroup], apiVersions: ['*'], operations: ['UPDATE'], resources: ['auditevents'] },
          ],
        },
        validations: [
          {
            expression: 'has(oldObject.metadata.deletionTimestamp)',
            message: auditEventImmutableMessage,
            reason: 'Forbidden',
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata,
      spec: { policyName: auditEventAdmissionPolicyName, validationActions: ['Deny'] },
    },
  ];
}
