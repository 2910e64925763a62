import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  Duration,
  SecretKeyRef,
  SetOf,
  StringEnum,
  StringMap,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const ClusterRegistrationSpecSchema = Type.Object({
  displayName: Type.Optional(Text(253)),
  kubeconfigSecretRef: SecretKeyRef('The Secret holding the kubeconfig of the remote cluster.', 'kubeconfig'),
  context: Type.Optional(Text(253, { description: 'The kubeconfig context to use; its current one when omitted.' })),
  region: Type.Optional(Text(63)),
  environment: Type.Optional(StringEnum(['prod', 'staging', 'dev'] as const, { default: 'dev' })),
  tier: Type.Optional(
    StringEnum(['critical', 'standard', 'non-critical'] as const, {
      default: 'standard',
      description: 'Selects remediation and approval policies for the cluster.',
    }),
  ),
  labels: Type.Optional(StringMap(32, 63)),
  capabilities: Type.Optional(
    SetOf(Text(63), 32, { description: 'Optional components present, e.g. prometheus, argocd.' }),
  ),
  healthCheckInterval: Type.Optional(Duration('How often connectivity is checked.', { default: '30s' })),
  maxConcurrentRemediations: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 3 })),
});

export const ClusterRegistrationStatusSchema = Type.Object({
  connected: Type.Optional(Type.Boolean()),
  kubernetesVersion: Type.Optional(Text(64)),
  nodes: Type.Optional(Count('Nodes in the cluster.')),
  namespaces: Type.Optional(Count('Namespaces in the cluster.')),
  activeIssues: Type.Optional(Count('Open Issues in the cluster.')),
  activeRemediations: Type.Optional(Count('Remediations running in the cluster.')),
  lastHealthCheckAt: Type.Optional(Timestamp()),
  ...statusBase(),
});

export const ClusterRegistrationResourceSchema = customResource(
  'ClusterRegistration',
  ClusterRegistrationSpecSchema,
  ClusterRegistrationStatusSchema,
);

export type ClusterRegistrationSpec = Static<typeof ClusterRegistrationSpecSchema>;
export type ClusterRegistrationStatus = Static<typeof ClusterRegistrationStatusSchema>;
export type ClusterRegistrationResource = Static<typeof ClusterRegistrationResourceSchema>;

export const clusterRegistrationKind: KindDefinition = {
  kind: 'ClusterRegistration',
  plural: 'clusterregistrations',
  singular: 'clusterregistration',
  shortNames: ['creg'],
  categories: [cairnCategory],
  description: 'A remote cluster Cairn federates, reached through a kubeconfig Secret.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Display', type: 'string', jsonPath: '.spec.displayName' },
    { name: 'Environment', type: 'string', jsonPath: '.spec.environment' },
    { name: 'Connected', type: 'boolean', jsonPath: '.status.connected' },
    { name: 'Version', type: 'string', jsonPath: '.status.kubernetesVersion' },
    { name: 'Region', type: 'string', jsonPath: '.spec.region', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: ClusterRegistrationSpecSchema,
  status: ClusterRegistrationStatusSchema,
  resource: ClusterRegistrationResourceSchema,
};
