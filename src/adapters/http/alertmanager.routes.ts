import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { issueName } from '../../../projections/kubernetesResources.projection.ts';
import type { AnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { type WorkloadLookup, WorkloadRefusal, type WorkloadResolution } from '../../ports/workloadLookup.ts';
import { type Candidate, planAlert } from './alertMapping.ts';
import { problemResponses, problemWith, sendProblem } from './problem.ts';
import { IssueLinkSchema, ResourceRefSchema } from './schemas.ts';
import { describeReach, keyReaches } from './security/apiKeys.ts';
import { identityOf } from './security/security.plugin.ts';

const StringMap = Type.Record(Type.String(), Type.String());

/** Alertmanager's webhook payload, version 4. Fields we do not read are allowed, so a newer Alertmanager works. */
const AlertSchema = Type.Object({
  status: Type.String({ description: 'firing or resolved' }),
  labels: StringMap,
  annotations: Type.Optional(StringMap),
  startsAt: Type.Optional(Type.String()),
  endsAt: Type.Optional(Type.String()),
  generatorURL: Type.Optional(Type.String()),
  fingerprint: Type.Optional(Type.String()),
});

export const AlertmanagerPayloadSchema = Type.Object({
  version: Type.String(),
  status: Type.String(),
  alerts: Type.Array(AlertSchema, { maxItems: 1_000 }),
  receiver: Type.Optional(Type.String()),
  groupKey: Type.Optional(Type.String()),
  truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
  groupLabels: Type.Optional(StringMap),
  commonLabels: Type.Optional(StringMap),
  commonAnnotations: Type.Optional(StringMap),
  externalURL: Type.Optional(Type.String()),
});
export type AlertmanagerPayload = Static<typeof AlertmanagerPayloadSchema>;

export const AlertResultStatus = {
  Recorded: 'recorded',
  Deduplicated: 'deduplicated',
  Ignored: 'ignored',
  Unmapped: 'unmapped',
  /** It names objects outside the namespaces the key may raise signals in. */
  Forbidden: 'forbidden',
  Failed: 'failed',
} as const;
export type AlertResultStatus = (typeof AlertResultStatus)[keyof typeof AlertResultStatus];

const AlertResultSchema = Type.Object({
  index: Type.Integer({ minimum: 0, description: 'Position of the alert in the payload.' }),
  status: Type.Union(Object.values(AlertResultStatus).map((s) => Type.Literal(s))),
  alertname: Type.Optional(Type.String()),
  fingerprint: Type.Optional(Type.String()),
  signal: Type.Optional(Type.String()),
  anomalyId: Type.Optional(Type.String()),
  resource: Type.Optional(ResourceRefSchema),
  workload: Type.Optional(ResourceRefSchema),
  issue: Type.Optional(IssueLinkSchema),
  duplicateOf: Type.Optional(Type.String()),
  repeated: Type.Optional(Type.Boolean({ description: 'An earlier delivery of this alert had recorded it.' })),
  reason: Type.Optional(Type.String()),
});
export type AlertResult = Static<typeof AlertResultSchema>;

const WebhookResponseSchema = Type.Object({
  received: Type.Integer(),
  recorded: Type.Integer({ description: 'Alerts recorded or deduplicated into an open anomaly.' }),
  results: Type.Array(AlertResultSchema),
});

export interface AlertmanagerRouteDeps {
  readonly intake: AnomalyIntake;
  readonly workloads: WorkloadLookup;
  readonly now: () => Date;
  readonly log: (line: string) => void;
}

/** Tries the candidates most specific first; only "does not exist" lets the next one have a go. */
async function firstResolvable(workloads: WorkloadLookup, candidates: readonly Candidate[]) {
  const refusals: string[] = [];
  for (const candidate of candidates) {
    const resolution: WorkloadResolution = await workloads.resolve(candidate.resource);
    if (resolution.ok) return resolution;
    refusals.push(`${candidate.label}: ${resolution.message}`);
    if (resolution.reason !== WorkloadRefusal.NotFound) break;
  }
  return { ok: false as const, reason: refusals.join('; ') };
}

const ref = (r: ResourceRef) => ({ kind: r.kind, name: r.name, namespace: r.namespace });

/**
 * `POST /alertmanager`: every firing alert that names a workload is recorded with source `prometheus`; resolved
 * alerts are acknowledged and ignored (an Issue ends by remediation or by hand, not because an alert cleared). Each
 * alert gets a result, so one that names nothing Cairn knows is reported, never fatal. If recording failed for a
 * reason that may pass (the store or the API server), the answer is 503 so Alertmanager sends the group again;
 * the alerts already recorded are recognised by their ids then.
 */
export async function alertmanagerRoutes(app: FastifyInstance, deps: AlertmanagerRouteDeps) {
  app.post<{ Body: AlertmanagerPayload }>(
    '/alertmanager',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['detection'],
        summary: 'Receive an Alertmanager webhook (version 4) and record its firing alerts as anomalies',
        body: AlertmanagerPayloadSchema,
        response: {
          200: WebhookResponseSchema,
          ...problemResponses(problemWith({ results: Type.Optional(Type.Array(AlertResultSchema)) })),
        },
      },
    },
    async (request, reply) => {
      const payload = request.body;
      if (payload.version !== '4') {
        return sendProblem(reply, {
          status: 400,
          code: 'alertmanager.unsupported_version',
          detail: `webhook payload version ${payload.version} is not supported; Cairn reads version 4`,
        });
      }
      const identity = identityOf(request);
      const results: AlertResult[] = [];
      // Copies of one firing in one body (same fingerprint and start) are answered from the first: one recording,
      // one lookup, however many times a sender repeats it.
      const answered = new Map<string, AlertResult>();
      for (const [index, alert] of payload.alerts.entries()) {
        const base = {
          index,
          ...(alert.labels.alertname ? { alertname: alert.labels.alertname } : {}),
          ...(alert.fingerprint ? { fingerprint: alert.fingerprint } : {}),
        };
        const plan = planAlert(alert, deps.now());
        if (plan.action === 'ignore') {
          results.push({ ...base, status: AlertResultStatus.Ignored, reason: plan.reason });
          continue;
        }
        if (plan.action === 'reject') {
          results.push({ ...base, status: AlertResultStatus.Unmapped, reason: plan.reason });
          continue;
        }
        if (plan.warning)
          deps.log(`warning: alertmanager alert ${index} (${alert.labels.alertname ?? 'unnamed'}): ${plan.warning}`);
        const first = answered.get(plan.anomalyId);
        if (first) {
          results.push({ ...first, ...base, repeated: true });
          continue;
        }
        const answer = (result: AlertResult) => {
          answered.set(plan.anomalyId, result);
          results.push(result);
        };
        // Only what the key reaches is looked up; a scoped key's alert about a Node or another namespace is refused.
        const reachable = plan.candidates.filter((c) => keyReaches(identity, c.resource.namespace));
        if (reachable.length === 0) {
          answer({
            ...base,
            status: AlertResultStatus.Forbidden,
            signal: plan.signal,
            reason: `key ${identity.name} may raise signals in ${describeReach(identity)} only; the alert names ${plan.candidates.map((c) => `${c.resource.kind} ${c.resource.namespace ? `${c.resource.namespace}/` : ''}${c.resource.name}`).join(', ')}`,
          });
          continue;
        }
        try {
          const target = await firstResolvable(deps.workloads, reachable);
          if (!target.ok) {
            answer({ ...base, status: AlertResultStatus.Unmapped, signal: plan.signal, reason: target.reason });
            continue;
          }
          const outcome = await deps.intake({
            anomalyId: plan.anomalyId,
            signal: plan.signal,
            source: 'prometheus',
            resource: target.resource,
            workload: target.workload,
            message: plan.message,
            observedAt: plan.observedAt,
            labels: plan.labels,
          });
          const issueId = outcome.issueId;
          answer({
            ...base,
            status: outcome.status === 'recorded' ? AlertResultStatus.Recorded : AlertResultStatus.Deduplicated,
            signal: plan.signal,
            anomalyId: outcome.anomalyId,
            resource: ref(target.resource),
            workload: ref(target.workload),
            ...(issueId ? { issue: { id: issueId, name: issueName(issueId, target.workload) } } : {}),
            ...(outcome.status === 'deduplicated' ? { duplicateOf: outcome.duplicateOf } : {}),
            repeated: outcome.repeated,
          });
        } catch (error) {
          deps.log(
            `error: alert ${index} (${alert.labels.alertname ?? '?'}): ${error instanceof Error ? error.message : String(error)}`,
          );
          answer({
            ...base,
            status: AlertResultStatus.Failed,
            signal: plan.signal,
            reason: 'could not be recorded now',
          });
        }
      }
      const recorded = results.filter(
        (r) => r.status === AlertResultStatus.Recorded || r.status === AlertResultStatus.Deduplicated,
      ).length;
      const failed = results.filter((r) => r.status === AlertResultStatus.Failed).length;
      if (failed > 0) {
        return sendProblem(reply, {
          status: 503,
          code: 'alertmanager.record_failed',
          detail: `${failed} of ${payload.alerts.length} alerts could not be recorded; send them again`,
          results,
        });
      }
      const forbidden = results.filter((r) => r.status === AlertResultStatus.Forbidden).length;
      if (forbidden > 0) {
        // The others are recorded; Alertmanager does not resend on 403, and logs the refusal.
        return sendProblem(reply, {
          status: 403,
          code: 'alertmanager.outside_key_scope',
          detail: `${forbidden} of ${payload.alerts.length} alerts name objects outside ${describeReach(identity)}, where key ${identity.name} may not raise signals`,
          results,
        });
      }
      return reply.code(200).send({ received: payload.alerts.length, recorded, results });
    },
  );
}
