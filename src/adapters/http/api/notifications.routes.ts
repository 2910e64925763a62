import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CairnError, ErrorCategory } from '../../../../domain/errors.ts';
import type { SendTestNotification } from '../../../notifications/testNotification.command.ts';
import type { CustomObject, CustomResources } from '../../kubernetes/customResources.ts';
import type { ChannelHealthView, NotificationQueries } from '../../readmodel/notifications.queries.ts';
import { problemResponses } from '../problem.ts';
import { identityOf } from '../security/security.plugin.ts';
import { IdParams, NamespacedParams, PageQuery, pageOf } from './api.schemas.ts';

export interface NotificationApiDeps {
  readonly queries: NotificationQueries;
  /** NotificationPolicy objects in the cluster; the policy routes answer 503 without them. */
  readonly policies?: CustomResources;
  /** Records a test message through the outbox; the test route answers 503 without it. */
  readonly sendTest?: SendTestNotification;
  /** Whether the read model knows the incident; an unknown one is a 404 like on every incident route. */
  readonly incidentExists?: (id: string) => boolean;
}

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Str = Type.String();
const NStr = Nullable(Str);
const NInt = Nullable(Type.Integer());

export const DeliverySchema = Type.Object({
  deliveryId: Str,
  notificationId: Str,
  policy: Type.Object({ namespace: Str, name: Str, rule: Str }),
  channel: Type.Object({ name: Str, type: Str }),
  transition: Type.Optional(Str),
  status: Type.Optional(Str),
  pagingAction: NStr,
  repeat: Type.Boolean(),
  test: Type.Boolean(),
  decidedAt: Str,
  attempts: Type.Integer(),
  outcome: Type.String({ description: 'pending, retrying, delivered, or failed (given up)' }),
  statusCode: NInt,
  latencyMs: NInt,
  error: NStr,
  retryAt: NStr,
  finishedAt: NStr,
});

const ChannelHealthSchema = Type.Object({
  state: Type.String({ description: 'healthy or degraded' }),
  consecutiveFailures: Type.Integer(),
  lastSuccessAt: NStr,
  lastFailureAt: NStr,
  lastError: NStr,
  lastStatusCode: NInt,
});

const SecretRefSchema = Type.Object({ name: Str, key: Str });

export const PolicyViewSchema = Type.Object({
  namespace: Str,
  name: Str,
  generation: Type.Integer(),
  enabled: Type.Boolean(),
  activeGeneration: NInt,
  ready: Type.Object({ status: Str, reason: NStr, message: NStr }),
  degraded: Type.Boolean(),
  channels: Type.Array(
    Type.Object({
      name: Str,
      type: Str,
      secretRef: Nullable(SecretRefSchema),
      signed: Type.Boolean(),
      timeout: NStr,
      health: Nullable(ChannelHealthSchema),
    }),
  ),
  rules: Type.Array(
    Type.Object({
      name: Str,
      channels: Type.Array(Str),
      match: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  grouping: Type.Record(Type.String(), Type.Unknown()),
});

type PolicyView = typeof PolicyViewSchema.static;

interface PolicySpecLike {
  enabled?: boolean;
  channels?: {
    name?: string;
    type?: string;
    url?: string;
    secretRef?: { name: string; key: string };
    signingSecretRef?: unknown;
    timeout?: string;
  }[];
  rules?: { name?: string; channels?: string[]; match?: Record<string, unknown> }[];
  grouping?: Record<string, unknown>;
}

/**
 * A NotificationPolicy as the API shows it: rules, grouping and channels without anything that could be a
 * credential (no URL, only which Secret key holds it), Ready, and each channel's health from the read model.
 */
export function policyView(object: CustomObject, health: readonly ChannelHealthView[]): PolicyView {
  const namespace = object.metadata.namespace ?? '';
  const name = object.metadata.name;
  const spec = ((object as { spec?: unknown }).spec ?? {}) as PolicySpecLike;
  const status = ((object as { status?: unknown }).status ?? {}) as {
    activeGeneration?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const ofPolicy = health.filter((h) => h.namespace === namespace && h.policy === name);
  const channels = (Array.isArray(spec.channels) ? spec.channels : []).map((c) => {
    const h = ofPolicy.find((x) => x.channel === c.name);
    return {
      name: String(c.name ?? ''),
      type: String(c.type ?? ''),
      secretRef: c.secretRef ? { name: String(c.secretRef.name), key: String(c.secretRef.key) } : null,
      signed: c.signingSecretRef !== undefined,
      timeout: c.timeout ?? null,
      health: h
        ? {
            state: h.state,
            consecutiveFailures: h.consecutiveFailures,
            lastSuccessAt: h.lastSuccessAt,
            lastFailureAt: h.lastFailureAt,
            lastError: h.lastError,
            lastStatusCode: h.lastStatusCode,
          }
        : null,
    };
  });
  return {
    namespace,
    name,
    generation: (object.metadata as { generation?: number }).generation ?? 1,
    enabled: spec.enabled !== false,
    activeGeneration: status.activeGeneration ?? null,
    ready: ready
      ? { status: ready.status, reason: ready.reason ?? null, message: ready.message ?? null }
      : { status: 'Unknown', reason: null, message: 'Cairn has not looked at this policy yet' },
    degraded: channels.some((c) => c.health?.state === 'degraded'),
    channels,
    rules: (Array.isArray(spec.rules) ? spec.rules : []).map((r) => ({
      name: String(r.name ?? ''),
      channels: Array.isArray(r.channels) ? r.channels.map(String) : [],
      match: r.match ?? {},
    })),
    grouping: spec.grouping ?? {},
  };
}

const errors = problemResponses();

/** The `namespace/name` a cursor of this route names; anything else is refused, as on every list route. */
function cursorKey(cursor: string): string {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof value === 'string') return value;
  } catch {
    // answered below
  }
  throw new CairnError(
    'query.invalid_cursor',
    ErrorCategory.Validation,
    'cursor is not one this API returned; start again without it',
  );
}
const unavailable = (what: string) =>
  new CairnError(
    'kubernetes.not_configured',
    ErrorCategory.Transient,
    `${what} needs the cluster, which is not configured`,
  );

/** Notification routes of /api/v1: policies, who was told what for an incident, and test messages. */
export async function notificationRoutes(app: FastifyInstance, deps: NotificationApiDeps) {
  const NamespaceQuery = Type.Object(
    {
      namespace: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 })),
      ...PageQuery,
    },
    { additionalProperties: false },
  );
  app.get<{ Querystring: typeof NamespaceQuery.static }>(
    '/notification-policies',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['notifications'],
        summary: 'NotificationPolicies: rules, channels (no credentials), Ready, and which channels are degraded',
        querystring: NamespaceQuery,
        response: { 200: pageOf(PolicyViewSchema), ...errors },
      },
    },
    async (request) => {
      if (!deps.policies) throw unavailable('NotificationPolicies');
      const { namespace, limit = 50, cursor } = request.query;
      const after = cursor === undefined ? undefined : cursorKey(cursor);
      const key = (o: CustomObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      const sorted = [...(await deps.policies.list(namespace))].sort((a, b) => (key(a) < key(b) ? -1 : 1));
      const rest = after === undefined ? sorted : sorted.filter((o) => key(o) > after);
      const page = rest.slice(0, limit);
      const health = deps.queries.channels();
      const last = page.at(-1);
      return {
        items: page.map((o) => policyView(o, health)),
        nextCursor:
          rest.length > limit && last !== undefined
            ? Buffer.from(JSON.stringify(key(last)), 'utf8').toString('base64url')
            : null,
      };
    },
  );
  app.get<{ Params: { id: string } }>(
    '/incidents/:id/notifications',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['incidents', 'notifications'],
        summary: 'Who was told what of the incident, when, and with what result; oldest first',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(DeliverySchema) }), ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (deps.incidentExists && !deps.incidentExists(id)) {
        throw new CairnError('incident.not_found', ErrorCategory.NotFound, `incident ${id} does not exist`);
      }
      return { items: deps.queries.deliveriesOfIssue(id) };
    },
  );
  app.get<{ Params: { id: string } }>(
    '/notifications/:id',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['notifications'],
        summary: 'The deliveries of one notification (a decision, or a test message) and how each went',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(DeliverySchema) }), ...errors },
      },
    },
    async (request) => {
      const items = deps.queries.deliveriesOfNotification(request.params.id);
      if (items.length === 0) {
        throw new CairnError(
          'notification.not_found',
          ErrorCategory.NotFound,
          `notification ${request.params.id} does not exist (or the read model has not seen it yet)`,
        );
      }
      return { items };
    },
  );
  const TestBody = Type.Object(
    { channel: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }) },
    { additionalProperties: false },
  );
  app.post<{ Params: typeof NamespacedParams.static; Body: typeof TestBody.static }>(
    '/notification-policies/:namespace/:name/test',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['notifications'],
        summary:
          'Send a test message on one channel of the policy, through the outbox (audited, retried); watch it at /notifications/{notificationId}',
        params: NamespacedParams,
        body: TestBody,
        response: {
          202: Type.Object({ notificationId: Str, deliveryIds: Type.Array(Str) }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      if (!deps.sendTest) throw unavailable('Test notifications');
      const { namespace, name } = request.params;
      const sent = await deps.sendTest({
        namespace,
        name,
        channel: request.body.channel,
        actor: identityOf(request).actor,
      });
      return reply.code(202).send({ notificationId: sent.notificationId, deliveryIds: [...sent.deliveryIds] });
    },
  );
}
