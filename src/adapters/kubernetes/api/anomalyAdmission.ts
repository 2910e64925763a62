import { apiGroup } from './kindDefinition.ts';

/**
 * Who may say what in an Anomaly, checked by the API server when the object is created.
 *
 * A CRD's own validation rules cannot see the object's namespace nor who writes it, so this rule is a
 * ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.30 and later) beside the CRDs. A writer
 * without cluster-wide authority over Anomalies (an ordinary user, however many namespaces they may write in) may
 * only create an Anomaly that:
 * - names an object of its own namespace (`spec.resource.namespace` absent or equal to the Anomaly's);
 * - names no cluster-scoped object (a Node: a fault on a Node is for Cairn's own watcher to find);
 * - has source `manual`, the only source a person can be (`watcher`, `prometheus`, `grpc` and `kafka` are
 *   Cairn's own intakes);
 * - does not carry the label Cairn puts on the Anomalies it writes itself (posing as one of Cairn's).
 *
 * Cluster-wide authority means holding `patch` on `anomalies/status` in every namespace (a ClusterRole bound
 * cluster-wide): Cairn's ServiceAccount has it, and so does a cluster administrator. The operator applies the
 * namespace and Node rules again to every hand-made Anomaly, whoever wrote it, and records every one of them
 * with source `manual` (src/adapters/kubernetes/manualAnomaly.controller.ts).
 */

export const anomalyAdmissionPolicyName = `anomalies.${apiGroup}`;

/** The label on the Anomalies Cairn writes (projections/kubernetesResources.projection.ts Labels.anomalyId). */
export const cairnAnomalyLabel = `${apiGroup}/anomaly-id`;

/** The cluster-scoped kinds Cairn correlates on; an Anomaly object, being namespaced, may not name one. */
export const clusterScopedTargetKinds = ['Node'] as const;

const kinds = clusterScopedTargetKinds.map((k) => `'${k}'`).join(', ');
const label = `'${cairnAnomalyLabel}'`;
const labelled = (o: string) => `has(${o}.metadata.labels) && ${label} in ${o}.metadata.labels`;

/** The ValidatingAdmissionPolicy and its binding, as plain objects (rendered to YAML by the CRD generator). */
export function anomalyAdmissionPolicy(): readonly Record<string, unknown>[] {
  const metadata = {
    name: anomalyAdmissionPolicyName,
    labels: { 'app.kubernetes.io/name': 'cairn', 'app.kubernetes.io/part-of': 'cairn' },
  };
  const onCreate = (rule: string) => `request.operation != 'CREATE' || variables.clusterWide || (${rule})`;
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata,
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [apiGroup],
              apiVersions: ['*'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['anomalies'],
            },
          ],
        },
        variables: [
          {
            name: 'clusterWide',
            expression: `authorizer.group('${apiGroup}').resource('anomalies').subresource('status').check('patch').allowed()`,
          },
        ],
        validations: [
          {
            expression: onCreate("!has(object.spec.source) || object.spec.source == 'manual'"),
            messageExpression:
              "'spec.source: an Anomaly written by hand has source manual; ' + object.spec.source + ' is set by Cairn alone'",
            reason: 'Forbidden',
          },
          {
            expression: onCreate(
              '!has(object.spec.resource.namespace) || object.spec.resource.namespace == object.metadata.namespace',
            ),
            messageExpression:
              "'spec.resource.namespace: an Anomaly in namespace ' + object.metadata.namespace + ' may only name objects of its own namespace, not of ' + object.spec.resource.namespace",
            reason: 'Forbidden',
          },
          {
            expression: onCreate(`!(object.spec.resource.kind in [${kinds}])`),
            messageExpression:
              "'spec.resource.kind: a ' + object.spec.resource.kind + ' is cluster-scoped; only Cairn\\'s own watcher raises signals on it'",
            reason: 'Forbidden',
          },
          {
            expression: `variables.clusterWide || !(${labelled('object')}) || (request.operation == 'UPDATE' && ${labelled('oldObject')})`,
            message: `the label ${cairnAnomalyLabel} marks the Anomalies Cairn writes; it cannot be set by hand`,
            reason: 'Forbidden',
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata,
      spec: { policyName: anomalyAdmissionPolicyName, validationActions: ['Deny'] },
    },
  ];
}
