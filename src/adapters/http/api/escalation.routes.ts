import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CairnError, ErrorCategory } from '../../../../domain/errors.ts';
import type { EscalationCommands } from '../../../escalation/escalationCommands.ts';
import type { EscalationQueries } from '../../readmodel/escalations.queries.ts';
import type { ReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { problemResponses } from '../problem.ts';
import { identityOf } from '../security/security.plugin.ts';
import { IdParams } from './api.schemas.ts';

export interface EscalationApiDeps {
  readonly queries: EscalationQueries;
  readonly incidents: Pick<ReadModelQueries, 'getIncident'>;
  /** Acknowledge and resolve an escalation directly; no such routes without it. */
  readonly commands?: EscalationCommands;
}

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Str = Type.String();

export const EscalationSchema = Type.Object({
  issueId: Str,
  policy: Type.Object({ namespace: Str, name: Str, generation: Type.Integer() }),
  notificationPolicy: Type.Object({ namespace: Str, name: Str }),
  state: Type.String({ description: 'active, snoozed, exhausted (last level paged), acknowledged or resolved' }),
  level: Type.Integer({ description: 'The level paged last (1 is the first).' }),
  levelName: Str,
  levels: Type.Array(
    Type.Object({ name: Str, channels: Type.Array(Str), escalateAfterSeconds: Nullable(Type.Integer()) }),
  ),
  repeatLastLevelEverySeconds: Nullable(Type.Integer()),
  nextDeadline: Nullable(Str),
  snoozedUntil: Nullable(Str),
  acknowledgedBy: Nullable(Str),
  startedAt: Str,
  endedAt: Nullable(Str),
  pages: Type.Array(Type.Object({ level: Type.Integer(), levelName: Str, reason: Str, at: Str })),
});

const errors = problemResponses();

/** GET /incidents/:id/escalation: the EscalationPolicy that took the incident, its level, and what is due next. */
export async function escalationRoutes(app: FastifyInstance, deps: EscalationApiDeps): Promise<void> {
  app.get<{ Params: { id: string } }>(
    '/incidents/:id/escalation',
    {
      config: { role: 'viewer' as const },
      schema: {
        tags: ['incidents'],
        summary: "The incident's escalation: its policy, the level paged last, the next deadline and every page",
        params: IdParams,
        response: { 200: EscalationSchema, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (deps.incidents.getIncident(id) === undefined) {
        throw new CairnError('incident.not_found', ErrorCategory.NotFound, `incident ${id} does not exist`);
      }
      const view = deps.queries.ofIssue(id);
      if (view === undefined) {
        throw new CairnError(
          'escalation.not_found',
          ErrorCategory.NotFound,
          `incident ${id} has no escalation: no EscalationPolicy took it`,
        );
      }
      return view;
    },
  );

  const commands = deps.commands;
  if (commands === undefined) return;
  const EscalationResultSchema = Type.Object({ issueId: Str, state: Str, level: Type.Integer() });
  const ended = ['Resolved', 'Escalated'];
  const direct = (path: string, summary: string, verb: string, run: typeof commands.acknowledge) =>
    app.post<{ Params: { id: string } }>(
      path,
      {
        config: { role: 'operator' as const },
        schema: {
          tags: ['incidents'],
          summary,
          params: IdParams,
          response: { 200: EscalationResultSchema, ...errors },
        },
      },
      async (request) => {
        const { id } = request.params;
        const incident = deps.incidents.getIncident(id);
        if (incident === undefined) {
          throw new CairnError('incident.not_found', ErrorCategory.NotFound, `incident ${id} does not exist`);
        }
        // An open incident is acknowledged or resolved itself, which reaches its escalation: one truth, not two.
        if (!ended.includes(incident.state)) {
          throw new CairnError(
            `escalation.${verb}_the_incident`,
            ErrorCategory.IllegalState,
            `incident ${id} is open: ${verb} the incident itself (POST /api/v1/incidents/${id}/${verb}), which ${verb}s its escalation too`,
          );
        }
        const state = await run(id, identityOf(request).actor);
        return { issueId: id, state: state.status, level: state.level };
      },
    );
  direct(
    '/incidents/:id/escalation/acknowledge',
    'Acknowledge the escalation of an incident Cairn escalated: no further level is paged, the levels paged are told',
    'acknowledge',
    (id, actor) => commands.acknowledge(id, actor),
  );
  direct(
    '/incidents/:id/escalation/resolve',
    'Resolve the escalation of an incident Cairn escalated: every channel paged is told it is resolved',
    'resolve',
    (id, actor) => commands.resolve(id, actor),
  );
}
