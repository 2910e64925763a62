import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ChaosQueries } from '../../readmodel/chaos.queries.ts';
import { problemResponses } from '../problem.ts';
import { NamespacedParams, PageQuery, pageOf } from './api.schemas.ts';

export interface ChaosApiDeps {
  readonly queries: ChaosQueries;
}

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Str = Type.String();
const Seconds = (description: string) => Nullable(Type.Number({ description }));

export const ChaosFiguresSchema = Type.Object({
  timeToDetectSeconds: Seconds('From the injection to the Issue Cairn opened or joined.'),
  timeToPlanSeconds: Seconds('From the injection to the first remediation plan.'),
  timeToRecoverSeconds: Seconds('From the injection to the target healthy again.'),
  remediatedByCairn: Nullable(
    Type.Boolean({ description: "Cairn's remediation brought the target back; null until the verdict." }),
  ),
  issueId: Nullable(Str),
});

export const ChaosRunSummarySchema = Type.Object({
  run: Type.Integer({ minimum: 1 }),
  state: Type.String({ description: 'Running, Verifying, Passed, Failed, Aborted, Refused or DryRun.' }),
  trigger: Type.String({ description: 'created, edited or schedule.' }),
  fault: Type.Object({ type: Str, count: Type.Integer() }),
  target: Type.Object({ kind: Str, namespace: Str, name: Str }),
  dryRun: Type.Boolean(),
  startedAt: Str,
  injectedAt: Nullable(Str),
  completedAt: Nullable(Str),
  outcome: Nullable(
    Type.String({ description: 'passed, failed, aborted, dry_run or refused; null while the run is under way.' }),
  ),
  reason: Str,
  figures: ChaosFiguresSchema,
});

export const ChaosExperimentSchema = Type.Object({
  namespace: Str,
  name: Str,
  runs: Type.Integer({ description: 'Runs recorded.' }),
  latest: ChaosRunSummarySchema,
});

const FigureStats = Type.Object({
  runs: Type.Integer({ description: 'Runs that have the figure.' }),
  median: Nullable(Type.Number()),
  max: Nullable(Type.Number()),
});

export const ChaosReportSchema = Type.Object({
  namespace: Str,
  name: Str,
  runs: Type.Array(
    Type.Object({
      ...ChaosRunSummarySchema.properties,
      recovery: Type.Object({ expect: Str, withinSeconds: Type.Number(), slo: Nullable(Str) }),
      durationSeconds: Type.Number(),
      checks: Type.Array(Type.Object({ name: Str, passed: Type.Boolean(), detail: Str })),
      origin: Type.Union([Type.Literal('injection'), Type.Literal('start')]),
      timeline: Type.Array(Type.Object({ at: Str, offsetSeconds: Type.Number(), offset: Str, event: Str, text: Str })),
    }),
    { description: 'Latest first; only the run asked for with ?run=.' },
  ),
  summary: Type.Object({
    runs: Type.Integer(),
    outcomes: Type.Object({
      passed: Type.Integer(),
      failed: Type.Integer(),
      aborted: Type.Integer(),
      dryRun: Type.Integer(),
      refused: Type.Integer(),
      inProgress: Type.Integer(),
    }),
    timeToDetectSeconds: FigureStats,
    timeToPlanSeconds: FigureStats,
    timeToRecoverSeconds: FigureStats,
    remediatedByCairn: Type.Integer(),
  }),
});

const errors = problemResponses();
/** A report of every run of a long-scheduled experiment is megabytes: the latest runs unless asked otherwise. */
export const DEFAULT_RUNS = 20;

const ListQuery = Type.Object(
  { namespace: Type.Optional(Type.String({ maxLength: 63 })), ...PageQuery },
  { additionalProperties: false },
);
const ReportQuery = Type.Object(
  {
    run: Type.Optional(Type.Integer({ minimum: 1, description: 'Only this run; the summary covers all.' })),
    last: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        description: 'Only the latest this many runs (20 unless run is given); the summary covers all.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** GET /chaos (experiments that have run) and GET /chaos/:namespace/:name/report (the game-day report). */
export async function chaosRoutes(app: FastifyInstance, deps: ChaosApiDeps): Promise<void> {
  app.get<{ Querystring: typeof ListQuery.static }>(
    '/chaos',
    {
      config: { role: 'viewer' as const },
      schema: {
        tags: ['chaos'],
        summary: 'ChaosExperiments that have run, in namespace/name order: runs, and the latest run with its figures',
        querystring: ListQuery,
        response: { 200: pageOf(ChaosExperimentSchema), ...errors },
      },
    },
    async (request) => deps.queries.listExperiments(request.query),
  );
  app.get<{ Params: typeof NamespacedParams.static; Querystring: typeof ReportQuery.static }>(
    '/chaos/:namespace/:name/report',
    {
      config: { role: 'viewer' as const },
      schema: {
        tags: ['chaos'],
        summary:
          "An experiment's game-day report: each run's checks, timeline from the injection and figures, and a summary",
        params: NamespacedParams,
        querystring: ReportQuery,
        response: { 200: ChaosReportSchema, ...errors },
      },
    },
    async (request) => {
      const { namespace, name } = request.params;
      const { run, last } = request.query;
      return deps.queries.report(namespace, name, {
        ...(run === undefined ? {} : { run }),
        ...(last !== undefined ? { last } : run === undefined ? { last: DEFAULT_RUNS } : {}),
      });
    },
  );
}
