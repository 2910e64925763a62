import type { FastifyInstance } from 'fastify';
import { CairnError, ErrorCategory } from '../../../../domain/errors.ts';
import type { SlaQueries } from '../../../sla/sla.queries.ts';
import type { ReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { problemResponses } from '../problem.ts';
import { IdParams } from './api.schemas.ts';
import { IncidentSlaSchema } from './sla.schemas.ts';

export interface SlaApiDeps {
  readonly queries: SlaQueries;
  readonly incidents: Pick<ReadModelQueries, 'getIncident'>;
}

const errors = problemResponses();

/** GET /incidents/:id/sla: the response and resolution clocks of the incident, as its IncidentSLA measures them. */
export async function slaRoutes(app: FastifyInstance, deps: SlaApiDeps): Promise<void> {
  app.get<{ Params: { id: string } }>(
    '/incidents/:id/sla',
    {
      config: { role: 'viewer' as const },
      schema: {
        tags: ['incidents'],
        summary: "The incident's SLA clocks: response and resolution, due, remaining or breached",
        params: IdParams,
        response: { 200: IncidentSlaSchema, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (deps.incidents.getIncident(id) === undefined) {
        throw new CairnError('incident.not_found', ErrorCategory.NotFound, `incident ${id} does not exist`);
      }
      const view = deps.queries.incidentSla(id);
      if (view === undefined) {
        throw new CairnError(
          'sla.not_found',
          ErrorCategory.NotFound,
          `incident ${id} is not measured by any IncidentSLA (none matched its namespace and severity when it was detected)`,
        );
      }
      return view;
    },
  );
}
