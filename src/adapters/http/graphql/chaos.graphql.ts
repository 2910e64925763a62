import type { IResolvers } from 'mercurius';
import { CairnError, ErrorCategory } from '../../../../domain/errors.ts';
import type { ChaosQueries } from '../../readmodel/chaos.queries.ts';
import { DEFAULT_RUNS } from '../api/chaos.routes.ts';

/**
 * ChaosExperiment runs in GraphQL, under the REST API's field names (GET /api/v1/chaos and
 * GET /api/v1/chaos/{namespace}/{name}/report): the same documents, built by the same code.
 */
export const chaosTypeDefs = /* GraphQL */ `
  "Each figure is counted from the injection; null when the run never got there."
  type ChaosFigures {
    timeToDetectSeconds: Float
    timeToPlanSeconds: Float
    timeToRecoverSeconds: Float
    "Whether Cairn's own remediation brought the target back; null until the verdict."
    remediatedByCairn: Boolean
    issueId: String
  }

  type ChaosFault {
    type: String!
    count: Int!
  }

  type ChaosTarget {
    kind: String!
    "Empty for a Node."
    namespace: String!
    name: String!
  }

  type ChaosRecovery {
    "WorkloadReady or IssueResolved."
    expect: String!
    withinSeconds: Float!
    slo: String
  }

  type ChaosCheck {
    name: String!
    passed: Boolean!
    detail: String!
  }

  type ChaosTimelineEntry {
    at: String!
    "Seconds from the injection (or from the start of a run that injected nothing); negative before it."
    offsetSeconds: Float!
    "The offset as the CLI prints it, e.g. +00:03.2."
    offset: String!
    event: String!
    text: String!
  }

  "A run as the experiment list shows it."
  type ChaosRunSummary {
    run: Int!
    "Running, Verifying, Passed, Failed, Aborted, Refused or DryRun."
    state: String!
    trigger: String!
    fault: ChaosFault!
    target: ChaosTarget!
    dryRun: Boolean!
    startedAt: String!
    injectedAt: String
    completedAt: String
    "passed, failed, aborted, dry_run or refused; null while the run is under way."
    outcome: String
    reason: String!
    figures: ChaosFigures!
  }

  type ChaosRun {
    run: Int!
    state: String!
    trigger: String!
    fault: ChaosFault!
    target: ChaosTarget!
    dryRun: Boolean!
    startedAt: String!
    injectedAt: String
    completedAt: String
    outcome: String
    reason: String!
    figures: ChaosFigures!
    recovery: ChaosRecovery!
    durationSeconds: Float!
    checks: [ChaosCheck!]!
    "injection, or start when nothing was injected."
    origin: String!
    timeline: [ChaosTimelineEntry!]!
  }

  type ChaosExperiment {
    namespace: String!
    name: String!
    runs: Int!
    latest: ChaosRunSummary!
  }

  type ChaosExperimentPage {
    items: [ChaosExperiment!]!
    nextCursor: String
  }

  type ChaosFigureStats {
    "Runs that have the figure."
    runs: Int!
    median: Float
    max: Float
  }

  type ChaosOutcomes {
    passed: Int!
    failed: Int!
    aborted: Int!
    dryRun: Int!
    refused: Int!
    inProgress: Int!
  }

  type ChaosSummary {
    runs: Int!
    outcomes: ChaosOutcomes!
    timeToDetectSeconds: ChaosFigureStats!
    timeToPlanSeconds: ChaosFigureStats!
    timeToRecoverSeconds: ChaosFigureStats!
    "Runs in which Cairn's remediation brought the target back."
    remediatedByCairn: Int!
  }

  type ChaosReport {
    namespace: String!
    name: String!
    "Latest first; only the run asked for when one was."
    runs: [ChaosRun!]!
    summary: ChaosSummary!
  }

  extend type Query {
    "ChaosExperiments that have run, in namespace/name order."
    chaosExperiments(namespace: String, limit: Int, cursor: String): ChaosExperimentPage!
    "An experiment's game-day report; null when it has no runs."
    chaosReport(namespace: String!, name: String!, run: Int, last: Int): ChaosReport
  }
`;

export function chaosResolvers(queries: ChaosQueries | undefined): IResolvers {
  return {
    Query: {
      chaosExperiments: (
        _root: unknown,
        args: { namespace?: string | null; limit?: number | null; cursor?: string | null },
      ) => {
        if (queries === undefined) return { items: [], nextCursor: null };
        return queries.listExperiments({
          ...(args.namespace ? { namespace: args.namespace } : {}),
          ...(typeof args.limit === 'number' ? { limit: args.limit } : {}),
          ...(args.cursor ? { cursor: args.cursor } : {}),
        });
      },
      chaosReport: (
        _root: unknown,
        args: { namespace: string; name: string; run?: number | null; last?: number | null },
      ) => {
        if (queries === undefined) return null;
        try {
          if (typeof args.last === 'number' && args.last < 1) {
            throw new CairnError('query.invalid_last', ErrorCategory.Validation, 'last must be 1 or more');
          }
          return queries.report(args.namespace, args.name, {
            ...(typeof args.run === 'number' ? { run: args.run } : {}),
            ...(typeof args.last === 'number'
              ? { last: args.last }
              : typeof args.run === 'number'
                ? {}
                : { last: DEFAULT_RUNS }),
          });
        } catch (error) {
          // An experiment without runs is null, like any object not found; a run it never had is an error.
          if (error instanceof CairnError && error.code === 'chaos.not_found') return null;
          throw error;
        }
      },
    },
  };
}
