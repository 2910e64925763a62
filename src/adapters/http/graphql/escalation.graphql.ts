import type { MercuriusLoaders } from 'mercurius';
import type { EscalationQueries } from '../../readmodel/escalations.queries.ts';
import type { IncidentView } from '../../readmodel/readModel.queries.ts';

/** An incident's escalation in GraphQL, under the REST API's field names (GET /incidents/:id/escalation). */
export const escalationTypeDefs = /* GraphQL */ `
  type EscalationPolicyRef {
    namespace: String!
    name: String!
    generation: Int!
  }

  type EscalationNotificationPolicyRef {
    namespace: String!
    name: String!
  }

  type EscalationLevel {
    name: String!
    channels: [String!]!
    escalateAfterSeconds: Int
  }

  type EscalationPage {
    level: Int!
    levelName: String!
    "started, timeout, repeat or requested."
    reason: String!
    at: String!
  }

  "Who is paged about the incident, at which level, and what is due next."
  type IncidentEscalation {
    policy: EscalationPolicyRef!
    notificationPolicy: EscalationNotificationPolicyRef!
    "active, snoozed, exhausted (last level paged), acknowledged or resolved."
    state: String!
    level: Int!
    levelName: String!
    levels: [EscalationLevel!]!
    repeatLastLevelEverySeconds: Int
    nextDeadline: String
    snoozedUntil: String
    acknowledgedBy: String
    startedAt: String!
    endedAt: String
    pages: [EscalationPage!]!
  }

  extend type Incident {
    "Null when no EscalationPolicy took the incident."
    escalation: IncidentEscalation
  }
`;

export function escalationLoaders(queries: EscalationQueries | undefined): MercuriusLoaders {
  return {
    Incident: {
      escalation: async (items: { obj: IncidentView }[]) => {
        const found = queries?.ofIssues(items.map(({ obj }) => obj.id)) ?? new Map();
        return items.map(({ obj }) => found.get(obj.id) ?? null);
      },
    },
  };
}
