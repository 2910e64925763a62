import type { MercuriusLoaders } from 'mercurius';
import type { SlaQueries } from '../../../sla/sla.queries.ts';
import type { IncidentView } from '../../readmodel/readModel.queries.ts';

/** An incident's SLA clocks and the SLA figures of analytics, under the REST API's field names. */
export const slaTypeDefs = /* GraphQL */ `
  type SlaRef {
    namespace: String!
    name: String!
    generation: Int!
  }

  type SlaRange {
    days: [String!]!
    start: String!
    end: String!
  }

  type SlaBusinessHours {
    timeZone: String!
    ranges: [SlaRange!]!
    holidays: [String!]!
  }

  type SlaClock {
    "running, met or violated."
    state: String!
    targetSeconds: Float!
    dueAt: String!
    warnAt: String
    warned: Boolean!
    "Clock (business) time run, up to the end of the clock."
    elapsedSeconds: Float!
    "Clock time left; 0 once violated, null once met."
    remainingSeconds: Float
    endedAt: String
  }

  "The incident measured against the IncidentSLA that matched it when it was detected."
  type IncidentSla {
    sla: SlaRef!
    severity: String!
    startedAt: String!
    "Null: the clocks run around the clock."
    businessHours: SlaBusinessHours
    warningAt: Float
    response: SlaClock!
    resolution: SlaClock!
  }

  type SlaCounts {
    met: Int!
    violated: Int!
    running: Int!
  }

  type SlaSeverityCompliance {
    severity: String!
    met: Int!
    violated: Int!
    compliance: Float
  }

  type SlaAnalytics {
    tracked: Int!
    response: SlaCounts!
    resolution: SlaCounts!
    "Met as a percentage of the targets that ended; null when none did."
    compliance: Float
    bySeverity: [SlaSeverityCompliance!]!
  }

  extend type Incident {
    "Null when no IncidentSLA measures the incident."
    sla: IncidentSla
  }

  extend type Analytics {
    "SLA targets of the incidents whose clocks started in the range."
    sla: SlaAnalytics
  }
`;

export function slaLoaders(queries: SlaQueries | undefined): MercuriusLoaders {
  return {
    Incident: {
      sla: async (items: { obj: IncidentView }[]) => {
        const found = queries?.incidentSlas(items.map(({ obj }) => obj.id));
        return items.map(({ obj }) => found?.get(obj.id) ?? null);
      },
    },
  };
}
