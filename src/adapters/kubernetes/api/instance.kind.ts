import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  cel,
  Duration,
  LlmProvider,
  ObjectName,
  Quantity,
  rules,
  SecretKeyRef,
  StringEnum,
  statusBase,
  Text,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

const ProviderSchema = Type.Object(
  {
    type: LlmProvider(),
    model: Type.Optional(Text(253, { description: 'e.g. gpt-4o-mini, claude-sonnet-4-5, llama3.1.' })),
    baseUrl: Type.Optional(
      Text(2048, { pattern: '^https?://', description: 'OpenAI-compatible endpoint (Ollama, vLLM, OpenRouter...).' }),
    ),
    apiKeySecretRef: Type.Optional(SecretKeyRef('The Secret key holding the API key.', 'apiKey')),
  },
  {
    ...rules(
      cel("self.type != 'anthropic' || has(self.apiKeySecretRef)", 'the anthropic provider needs apiKeySecretRef'),
      cel("self.type != 'rules' || !has(self.apiKeySecretRef)", 'the rules provider takes no API key'),
    ),
  },
);

const ResourceListSchema = (description: string) =>
  Type.Record(Type.String(), Quantity(), { maxProperties: 8, description });

export const InstanceSpecSchema = Type.Object({
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 1 })),
  image: Type.Optional(
    Type.Object({
      repository: Type.Optional(Text(512, { minLength: 1 })),
      tag: Type.Optional(Text(128, { minLength: 1 })),
      pullPolicy: Type.Optional(StringEnum(['Always', 'IfNotPresent', 'Never'] as const, { default: 'IfNotPresent' })),
    }),
  ),
  provider: ProviderSchema,
  fallback: Type.Optional(
    Type.Array(ProviderSchema, { maxItems: 5, description: 'Tried in order when the provider fails.' }),
  ),
  server: Type.Optional(
    Type.Object({
      port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 50051, description: 'gRPC port.' })),
      tlsSecretName: Type.Optional(ObjectName('A kubernetes.io/tls Secret; plaintext when omitted.')),
    }),
  ),
  resources: Type.Optional(
    Type.Object({
      requests: Type.Optional(ResourceListSchema('e.g. cpu: 100m, memory: 128Mi')),
      limits: Type.Optional(ResourceListSchema('e.g. memory: 512Mi')),
    }),
  ),
  persistence: Type.Optional(
    Type.Object({
      enabled: Type.Boolean(),
      size: Type.Optional(Quantity('Requested PVC size.')),
      storageClassName: Type.Optional(Text(253)),
    }),
  ),
  aiops: Type.Optional(
    Type.Object({
      maxRemediationAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, default: 5 })),
      verificationTimeout: Type.Optional(Duration('How long a remediation has to prove itself.', { default: '60s' })),
      agenticMaxSteps: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 })),
      agenticTimeout: Type.Optional(Duration('Wall-clock budget of an agentic loop.', { default: '10m' })),
    }),
  ),
});

export const InstanceStatusSchema = Type.Object({
  ready: Type.Optional(Type.Boolean({ description: 'The analysis server answers on its endpoint.' })),
  endpoint: Type.Optional(Text(512, { description: 'host:port of the gRPC service.' })),
  replicas: Type.Optional(Count('Pods of the Deployment.')),
  readyReplicas: Type.Optional(Count('Of which ready.')),
  ...statusBase(),
});

export const InstanceResourceSchema = customResource('Instance', InstanceSpecSchema, InstanceStatusSchema);

export type InstanceSpec = Static<typeof InstanceSpecSchema>;
export type InstanceStatus = Static<typeof InstanceStatusSchema>;
export type InstanceResource = Static<typeof InstanceResourceSchema>;

export const instanceKind: KindDefinition = {
  kind: 'Instance',
  plural: 'instances',
  singular: 'instance',
  shortNames: ['cinst'],
  categories: [cairnCategory],
  description: 'Deploys and configures the AI analysis server: Deployment, Service, ConfigMap, ServiceAccount and PVC.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Provider', type: 'string', jsonPath: '.spec.provider.type' },
    { name: 'Model', type: 'string', jsonPath: '.spec.provider.model' },
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Ready', type: 'boolean', jsonPath: '.status.ready' },
    { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: InstanceSpecSchema,
  status: InstanceStatusSchema,
  resource: InstanceResourceSchema,
};
