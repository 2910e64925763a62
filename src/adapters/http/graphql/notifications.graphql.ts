import type { IResolvers, MercuriusLoaders } from 'mercurius';
import type { CustomResources } from '../../kubernetes/customResources.ts';
import type { NotificationQueries } from '../../readmodel/notifications.queries.ts';
import type { IncidentView } from '../../readmodel/readModel.queries.ts';
import { policyView } from '../api/notifications.routes.ts';

export interface GraphqlNotifications {
  readonly queries: NotificationQueries;
  /** NotificationPolicy objects in the cluster; `notificationPolicies` is empty without them. */
  readonly policies?: CustomResources;
}

/**
 * Notifications in GraphQL, under the REST API's field names: an Incident's deliveries, a notification's, the
 * channels' health, and the policies. Lists without a `limit` are costed at the default list size, like every list.
 */
export const notificationTypeDefs = /* GraphQL */ `
  type NotificationPolicyRef {
    namespace: String!
    name: String!
    rule: String!
  }

  type NotificationChannelRef {
    name: String!
    type: String!
  }

  "One message to one channel, and what became of it."
  type NotificationDelivery {
    deliveryId: ID!
    notificationId: ID!
    policy: NotificationPolicyRef!
    channel: NotificationChannelRef!
    "What the message told of the incident (detected, escalated, approval_needed, acknowledged, resolved)."
    transition: String
    status: String
    pagingAction: String
    repeat: Boolean!
    test: Boolean!
    decidedAt: String!
    attempts: Int!
    "pending, retrying, delivered, or failed (given up)."
    outcome: String!
    statusCode: Int
    latencyMs: Int
    error: String
    retryAt: String
    finishedAt: String
  }

  type NotificationChannelHealth {
    state: String!
    consecutiveFailures: Int!
    lastSuccessAt: String
    lastFailureAt: String
    lastError: String
    lastStatusCode: Int
  }

  type NotificationSecretRef {
    name: String!
    key: String!
  }

  type NotificationPolicyChannel {
    name: String!
    type: String!
    secretRef: NotificationSecretRef
    signed: Boolean!
    timeout: String
    health: NotificationChannelHealth
  }

  type NotificationRule {
    name: String!
    channels: [String!]!
  }

  type NotificationReady {
    status: String!
    reason: String
    message: String
  }

  type NotificationPolicy {
    namespace: String!
    name: String!
    generation: Int!
    enabled: Boolean!
    activeGeneration: Int
    ready: NotificationReady!
    degraded: Boolean!
    channels: [NotificationPolicyChannel!]!
    rules: [NotificationRule!]!
  }

  extend type Incident {
    "Who was told what of the incident, when, and with what result; oldest first."
    notifications: [NotificationDelivery!]!
  }

  extend type Query {
    notificationPolicies(namespace: String): [NotificationPolicy!]!
    "The deliveries of one notification (a decision, or a test message)."
    notification(id: ID!): [NotificationDelivery!]!
  }
`;

export function notificationResolvers(deps: GraphqlNotifications | undefined): IResolvers {
  return {
    Query: {
      notificationPolicies: async (_root: unknown, args: { namespace?: string | null }) => {
        if (deps?.policies === undefined) return [];
        const objects = await deps.policies.list(args.namespace ?? undefined);
        const health = deps.queries.channels();
        const key = (o: { metadata: { namespace?: string; name: string } }) =>
          `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        return [...objects].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((o) => policyView(o, health));
      },
      notification: (_root: unknown, args: { id: string }) => deps?.queries.deliveriesOfNotification(args.id) ?? [],
    },
  };
}

export function notificationLoaders(deps: GraphqlNotifications | undefined): MercuriusLoaders {
  return {
    Incident: {
      notifications: async (items: { obj: IncidentView }[]) => {
        const found = deps?.queries.deliveriesOfIssues(items.map(({ obj }) => obj.id)) ?? new Map();
        return items.map(({ obj }) => found.get(obj.id) ?? []);
      },
    },
  };
}
