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
    pattern: '^(https://|http://|ssh://|git@|file://|/)',
    description:
      'Clone URL: https, ssh, git@host:path, file:// or an absolute local path. Never credentials in it: they come from spec.auth.',
  }),
  branch: Type.Optional(Type.String({ maxLength: 255, pattern: '^[A-Za-z0-9][-A-Za-z0-9._/]*$', default: 'main' })),
  auth: Type.Optional(
    Type.Object(
      {
        type: StringEnum(['none', 'token', 'bearer', 'basic', 'ssh'] as const, {
          description:
            'token: key token (and optionally username, x-access-token by default); bearer: key token, sent as an Authorization: Bearer header; basic: username and password; ssh: ssh-privatekey and known_hosts.',
        }),
        secretRef: Type.Optional(LocalRef('The Secret holding the credentials.')),
      },
      { ...rules(cel("self.type == 'none' || has(self.secretRef)", 'credentials need secretRef')) },
    ),
  ),
  resources: Type.Optional(
    Type.Array(ResourceRef(), {
      maxItems: 16,
      description:
        'The workloads built from this repository; their Issues are correlated with its commits. A workload may also name the repository (annotation cairn.dev/source-repository) or match a workloadPaths rule.',
    }),
  ),
  paths: Type.Optional(
    Type.Array(Text(1024), {
      maxItems: 32,
      description:
        'Paths (globs: ** spans directories) of the mapped workloads: a commit touching one is suspected. The whole repository when neither paths nor a matching workloadPaths rule says more.',
    }),
  ),
  workloadPaths: Type.Optional(
    Type.Array(
      Type.Object({
        kind: Type.Optional(Text(63, { description: 'Deployment, StatefulSet, …; any kind when omitted.' })),
        name: Type.String({
          minLength: 1,
          maxLength: 253,
          pattern: '^[-a-z0-9.*]+$',
          description: 'Workload name in this namespace; * matches any run of characters (web-*, *).',
        }),
        paths: Type.Array(Text(1024), {
          minItems: 1,
          maxItems: 16,
          description: 'Path globs of that workload; {name} stands for the workload name, {namespace} its namespace.',
        }),
      }),
      {
        maxItems: 32,
        description:
          'Path rules: a workload of this namespace whose name matches is built from this repository, from these paths.',
      },
    ),
  ),
  syncInterval: Type.Optional(Duration('How often to fetch.', { default: '10m' })),
});

export const SourceRepositoryStatusSchema = Type.Object({
  ready: Type.Optional(
    Type.Boolean({ description: 'The last fetch succeeded; the Ready condition says why not when false.' }),
  ),
  lastSyncedAt: Type.Optional(Timestamp('The last successful fetch.')),
  lastAttemptedAt: Type.Optional(Timestamp('The last clone or fetch, successful or not.')),
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
