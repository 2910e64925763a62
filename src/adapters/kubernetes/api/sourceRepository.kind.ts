import { type Static, Type } from '@sinclair/typebox';
import {
  cel,
  Duration,
  LocalRef,
  patterns,
  ResourceRef,
  rules,
  StringEnum,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const SourceRepositorySpecSchema = Type.Object({
  url: Type.String({
    minLength: 1,
    maxLength: 2048,
    pattern: '^(https://|http://|ssh://|git@|file://)',
    description: 'Clone URL: https, ssh, git@host:path or file:// (local repositories).',
  }),
  branch: Type.Optional(Type.String({ maxLength: 255, pattern: '^[A-Za-z0-9][-A-Za-z0-9._/]*$', default: 'main' })),
  auth: Type.Optional(
    Type.Object(
      {
        type: StringEnum(['none', 'token', 'basic', 'ssh'] as const, {
          description: 'token: key token; basic: username and password; ssh: ssh-privatekey and known_hosts.',
        }),
        secretRef: Type.Optional(LocalRef('The Secret holding the credentials.')),
      },
      { ...rules(cel("self.type == 'none' || has(self.secretRef)", 'credentials need secretRef')) },
    ),
  ),
  resources: Type.Array(ResourceRef(), {
    minItems: 1,
    maxItems: 16,
    description: 'The workloads built from this repository; their Issues are correlated with its commits.',
  }),
  paths: Type.Optional(
    Type.Array(Text(1024), { maxItems: 32, description: 'Paths that matter; the whole repository when omitted.' }),
  ),
  syncInterval: Type.Optional(Duration('How often to fetch.', { default: '10m' })),
});

export const SourceRepositoryStatusSchema = Type.Object({
  ready: Type.Optional(Type.Boolean({ description: 'Cloned and indexed.' })),
  lastSyncedAt: Type.Optional(Timestamp()),
  headCommit: Type.Optional(
    Type.Object({
      sha: Type.String({ pattern: patterns.gitSha, maxLength: 64 }),
      author: Type.Optional(Text(253)),
      message: Type.Optional(Text(4096)),
      at: Type.Optional(Timestamp()),
    }),
  ),
  ...statusBase(),
});

export const SourceRepositoryResourceSchema = customResource(
  'SourceRepository',
  SourceRepositorySpecSchema,
  SourceRepositoryStatusSchema,
);

export type SourceRepositorySpec = Static<typeof SourceRepositorySpecSchema>;
export type SourceRepositoryStatus = Static<typeof SourceRepositoryStatusSchema>;
export type SourceRepositoryResource = Static<typeof SourceRepositoryResourceSchema>;

export const sourceRepositoryKind: KindDefinition = {
  kind: 'SourceRepository',
  plural: 'sourcerepositories',
  singular: 'sourcerepository',
  shortNames: ['srcrepo'],
  categories: [cairnCategory],
  description: 'A git repository whose commits and source are correlated with the Issues of its workloads.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'URL', type: 'string', jsonPath: '.spec.url' },
    { name: 'Branch', type: 'string', jsonPath: '.spec.branch' },
    { name: 'Ready', type: 'boolean', jsonPath: '.status.ready' },
    { name: 'Head', type: 'string', jsonPath: '.status.headCommit.sha', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: SourceRepositorySpecSchema,
  status: SourceRepositoryStatusSchema,
  resource: SourceRepositoryResourceSchema,
};
