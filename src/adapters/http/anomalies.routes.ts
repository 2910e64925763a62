import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { judgeObservedAt } from '../../../domain/correlation/observedAt.policy.ts';
import { issueName } from '../../../projections/kubernetesResources.projection.ts';
import type { AnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { type WorkloadLookup, WorkloadRefusal } from '../../ports/workloadLookup.ts';
import { signalTypes } from '../kubernetes/api/signalTypes.ts';
import { problemResponses, sendProblem } from './problem.ts';
import { IssueLinkSchema, ResourceRefSchema } from './schemas.ts';
import { describeReach, keyReaches } from './security/apiKeys.ts';
import { identityOf } from './security/security.plugin.ts';

const kindPattern = '^[A-Z][A-Za-z0-9]{0,62}$';
const dnsSubdomain = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const dnsLabel = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export const ManualAnomalySchema = Type.Object(
  {
    signal: Type.Union(
      signalTypes.map((s) => Type.Literal(s)),
      { description: 'One of the signals of the Anomaly CRD.' },
    ),
    resource: Type.Object(
      {
        kind: Type.String({ pattern: kindPattern, description: 'A workload kind, a Pod or a Node.' }),
        name: Type.String({ minLength: 1, maxLength: 253, pattern: dnsSubdomain }),
        namespace: Type.Optional(
          Type.String({ minLength: 1, maxLength: 63, pattern: dnsLabel, description: 'Required but for Nodes.' }),
        ),
        apiVersion: Type.Optional(Type.String({ maxLength: 253 })),
      },
      { additionalProperties: false },
    ),
    message: Type.String({ minLength: 1, maxLength: 2_048 }),
    observedAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Defaults to when it is received; at most 7 days before that and 5 minutes after.',
      }),
    ),
    alertName: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Required for custom.' })),
    labels: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 1_024 }), {
        maxProperties: 32,
        // A Kubernetes qualified name at most: a 253-character prefix, a slash and 63 characters.
        propertyNames: { maxLength: 317 },
      }),
    ),
  },
  { additionalProperties: false },
);
export type ManualAnomaly = Static<typeof ManualAnomalySchema>;

const RecordedSchema = Type.Object({
  anomalyId: Type.String(),
  status: Type.Union([Type.Literal('recorded'), Type.Literal('deduplicated')]),
  signal: Type.String(),
  source: Type.Literal('manual'),
  resource: ResourceRefSchema,
  workload: ResourceRefSchema,
  issue: Type.Optional(IssueLinkSchema),
  duplicateOf: Type.Optional(Type.String({ description: 'The open anomaly this one repeats.' })),
});

export interface AnomalyRouteDeps {
  readonly intake: AnomalyIntake;
  readonly workloads: WorkloadLookup;
  readonly newId: () => string;
  readonly now: () => Date;
}

const refusalCodes = {
  [WorkloadRefusal.NotAWorkload]: 'anomaly.not_a_workload',
  [WorkloadRefusal.NotFound]: 'anomaly.resource_not_found',
} as const;

/**
 * `POST /anomalies`: an anomaly raised by a person or a script (source `manual`). It is answered once the
 * correlation stream has decided; the Issue object itself is written a moment later by the resource writer.
 */
export async function anomalyRoutes(app: FastifyInstance, deps: AnomalyRouteDeps) {
  app.post<{ Body: ManualAnomaly }>(
    '/anomalies',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['detection'],
        summary: 'Record an anomaly raised by a person or a script (source manual)',
        body: ManualAnomalySchema,
        response: { 202: RecordedSchema, ...problemResponses() },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.signal === 'custom' && !body.alertName) {
        return sendProblem(reply, {
          status: 400,
          code: 'anomaly.alert_name_required',
          detail: 'a custom signal needs alertName, to say what was observed',
        });
      }
      if (body.resource.kind !== 'Node' && !body.resource.namespace) {
        return sendProblem(reply, {
          status: 400,
          code: 'anomaly.namespace_required',
          detail: `resource.namespace is required for a ${body.resource.kind}`,
        });
      }
      // Before the lookup: a key scoped elsewhere learns nothing, not even whether the object exists.
      const identity = identityOf(request);
      const namespace = body.resource.kind === 'Node' ? '' : (body.resource.namespace ?? '');
      if (!keyReaches(identity, namespace)) {
        return sendProblem(reply, {
          status: 403,
          code: 'anomaly.outside_key_scope',
          detail: `key ${identity.name} may raise signals in ${describeReach(identity)} only, not on ${body.resource.kind} ${namespace ? `${namespace}/` : ''}${body.resource.name}`,
        });
      }
      const observed = judgeObservedAt(body.observedAt, deps.now());
      if (!observed.ok) {
        return sendProblem(reply, {
          status: 400,
          code: 'anomaly.observed_at_out_of_range',
          detail: `observedAt ${observed.problem}: send when the signal was seen, or leave it out for now`,
          errors: [{ path: 'body/observedAt', message: observed.problem }],
        });
      }
      const resolution = await deps.workloads.resolve({
        kind: body.resource.kind,
        name: body.resource.name,
        namespace: body.resource.namespace ?? '',
        ...(body.resource.apiVersion ? { apiVersion: body.resource.apiVersion } : {}),
      });
      if (!resolution.ok) {
        return sendProblem(reply, { status: 422, code: refusalCodes[resolution.reason], detail: resolution.message });
      }
      const labels = { ...body.labels, ...(body.alertName ? { alertname: body.alertName } : {}) };
      const outcome = await deps.intake({
        anomalyId: deps.newId(),
        signal: body.signal,
        source: 'manual',
        resource: resolution.resource,
        workload: resolution.workload,
        message: body.message,
        observedAt: observed.observedAt,
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
      });
      return reply.code(202).send({
        anomalyId: outcome.anomalyId,
        status: outcome.status,
        signal: body.signal,
        source: 'manual',
        resource: resolution.resource,
        workload: resolution.workload,
        ...(outcome.issueId
          ? { issue: { id: outcome.issueId, name: issueName(outcome.issueId, resolution.workload) } }
          : {}),
        ...(outcome.status === 'deduplicated' ? { duplicateOf: outcome.duplicateOf } : {}),
      });
    },
  );
}
