import * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory, isCairnError } from '../../../domain/errors.ts';
import {
  type EscalationEvent,
  EscalationStatus,
  escalationDecider,
} from '../../../domain/escalation/escalation.decider.ts';
import type { AnomalyDetected } from '../../../domain/events/anomaly.events.ts';
import type { RemediationPlanCreatedData } from '../../../domain/events/remediation.events.ts';
import { type IssueEvent, type IssueState, issueDecider, isTerminal } from '../../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { type RemediationEvent, remediationDecider } from '../../../domain/remediation/remediation.decider.ts';
import { parseStreamName, StreamCategory, streamName } from '../../../domain/streams.ts';
import {
  ApiVersion,
  analysisRounds,
  anomalyName,
  anomalyResource,
  anomalyStatus,
  insightResource,
  issueName,
  issueResource,
  issueStatus,
  namespaceFor,
  type Owner,
  planResource,
  postMortemName,
} from '../../../projections/kubernetesResources.projection.ts';
import { postMortemResource, recurrencesOf, withReview } from '../../../projections/postMortem.projection.ts';
import { correlationStream } from '../../application/detection/anomalyRecorder.ts';
import { createIncidentIndex } from '../../application/incidentIndex.ts';
import type { Reactor } from '../../application/reactor.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { findKind } from './api/kinds.ts';
import { withUniqueListKeys } from './api/listKeys.ts';
import { HandMadeAnomalyLabel } from './manualAnomaly.controller.ts';

const FIELD_MANAGER = 'cairn';
const [GROUP, VERSION] = ApiVersion.split('/') as [string, string];

/** How many 500s in a row for one object (about a minute of retries) before it is reported and passed over. */
export const SERVER_ERROR_ATTEMPTS = 8;

interface ObjectRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

const httpStatusOf = (error: unknown): number | undefined => {
  const status = isCairnError(error) ? error.details.status : (error as { code?: unknown } | null)?.code;
  return typeof status === 'number' ? status : undefined;
};

/**
 * A write the API server refused, named by the object it was about, with the server's own explanation (which the
 * client keeps in the body of its exception) so the report says what to fix.
 */
export function writeFailure(object: ObjectRef, error: unknown): CairnError {
  const status = httpStatusOf(error);
  const body = (error as { body?: unknown } | null)?.body;
  let explanation = error instanceof Error ? error.message : String(error);
  try {
    const parsed = typeof body === 'string' ? (JSON.parse(body) as { message?: unknown }) : body;
    const message = (parsed as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string' && message) explanation = message;
  } catch {
    // Not JSON: the client's own message stands.
  }
  const category =
    status === undefined || status === 429 || status >= 500
      ? ErrorCategory.Transient
      : status === 409
        ? ErrorCategory.Conflict
        : status === 404
          ? ErrorCategory.NotFound
          : ErrorCategory.Validation;
  const where = object.namespace ? `${object.namespace}/${object.name}` : object.name;
  return new CairnError(
    'kubernetes.write_failed',
    category,
    `cannot write ${object.kind} ${where}${status ? ` (HTTP ${status})` : ''}: ${explanation.slice(0, 600)}`,
    { cause: error, details: { ...object, ...(status ? { status } : {}) } },
  );
}

/**
 * 4xx other than conflicts and throttling: the document itself is wrong, and writing it again will not help. A 500
 * is usually the server's trouble and passes, but one that answers every try for the same object is a document
 * the server cannot take (a repeated list key did exactly that): after `serverErrorAttempts` tries it is passed
 * over too. A later event about the same object renders it again from the log, so a 500 that did pass heals then.
 */
export function isPermanentWriteFailure(error: unknown, attempt: number, serverErrorAttempts = SERVER_ERROR_ATTEMPTS) {
  const status = httpStatusOf(error);
  if (status === undefined) return false;
  if (status >= 400 && status < 500) return status !== 409 && status !== 429;
  // 503 and the gateway errors say the server is away or busy; only an internal error can be about the document.
  return status === 500 && attempt >= serverErrorAttempts;
}

/** Writes each; a failure does not stop its siblings. Throws a retryable failure before a permanent one. */
async function writeEach(writes: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const write of writes) {
    try {
      await write();
    } catch (error) {
      failures.push(error);
    }
  }
  const [first] = [...failures].sort(
    (a, b) => Number(isPermanentWriteFailure(a, 1)) - Number(isPermanentWriteFailure(b, 1)),
  );
  if (first !== undefined) throw first;
}

/** The schema the API server holds each document to, so nothing it would refuse as a repeated key is sent. */
const uniqueKeys = (kind: string, part: 'spec' | 'status', value: object): object => {
  const definition = findKind(kind);
  const schema = part === 'spec' ? definition?.spec : definition?.status;
  return schema ? withUniqueListKeys(schema, value) : value;
};

/**
 * The single writer of Cairn's custom resources: Anomaly, Issue and the Issue's children (AIInsight,
 * RemediationPlan, PostMortem), spec and status. It re-renders from the event log, not from the event at hand, and
 * writes with server-side apply, so replaying an event, or every event, converges on the same objects. Every
 * Issue's birth is also recorded as a Kubernetes Event on the affected workload.
 */
export function resourceWriterReactor(deps: {
  store: EventStore;
  config: k8s.KubeConfig;
  /** Where resources of cluster-scoped workloads (Nodes) go. */
  namespace: string;
  /** 500s in a row for one object before it is passed over; SERVER_ERROR_ATTEMPTS by default. */
  serverErrorAttempts?: number;
}): Reactor {
  const objects = k8s.KubernetesObjectApi.makeApiClient(deps.config);
  const custom = deps.config.makeApiClient(k8s.CustomObjectsApi);
  const core = deps.config.makeApiClient(k8s.CoreV1Api);
  const incidents = createIncidentIndex(deps.store);
  const onObject = async <T>(object: ObjectRef, write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      throw writeFailure(object, error);
    }
  };
  const apply = (doc: { kind: string; metadata: { name: string; namespace: string }; spec?: object }) =>
    onObject({ kind: doc.kind, namespace: doc.metadata.namespace, name: doc.metadata.name }, () =>
      objects.patch<k8s.KubernetesObject>(
        doc.spec ? { ...doc, spec: uniqueKeys(doc.kind, 'spec', doc.spec) } : doc,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        k8s.PatchStrategy.ServerSideApply,
      ),
    );
  const applyStatus = (kind: string, plural: string, name: string, namespace: string, status: object) =>
    onObject({ kind, namespace, name }, () =>
      custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          plural,
          namespace,
          name,
          body: {
            apiVersion: ApiVersion,
            kind,
            metadata: { name, namespace },
            status: uniqueKeys(kind, 'status', status),
          },
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
      ),
    );

  /**
   * Spec, then status, with the generation the status describes: `observedGeneration` on the status and on each
   * condition, as Kubernetes conventions ask, so a reader can tell a status that is behind its spec.
   */
  const write = async (
    kind: string,
    plural: string,
    doc: { kind: string; metadata: { name: string; namespace: string }; spec?: object } & k8s.KubernetesObject,
    status: { conditions?: object[] } & object,
  ) => {
    const written = await apply(doc);
    const observedGeneration = written.metadata?.generation;
    const stamped =
      observedGeneration === undefined
        ? status
        : {
            ...status,
            observedGeneration,
            ...(status.conditions ? { conditions: status.conditions.map((c) => ({ ...c, observedGeneration })) } : {}),
          };
    await applyStatus(kind, plural, doc.metadata.name, doc.metadata.namespace, stamped);
    return written;
  };

  const anomaliesOf = async (stream: string) =>
    (await deps.store.readStream(stream)).filter(
      (e): e is RecordedEvent<AnomalyDetected> => e.type === 'AnomalyDetected',
    );

  const writeAnomaly = async (detected: RecordedEvent<AnomalyDetected>, issue?: { issueId: string; at: string }) => {
    // A hand-made Anomaly already exists under its author's name, and its status is the manual controller's.
    if (detected.data.labels?.[HandMadeAnomalyLabel]) return;
    const doc = anomalyResource(detected.data, deps.namespace);
    await write(
      'Anomaly',
      'anomalies',
      doc,
      anomalyStatus(detected.data, issue?.at ?? detected.metadata.occurredAt, issue),
    );
  };

  /** The Issue's escalation, folded from its own stream; undefined when no EscalationPolicy took it. */
  const escalationOf = async (issueId: string) => {
    const history = (await deps.store.readStream(
      streamName(StreamCategory.Escalation, issueId),
    )) as unknown as RecordedEvent<EscalationEvent>[];
    const e = history.reduce(escalationDecider.evolve, escalationDecider.initialState());
    if (e.policy === null || e.level < 1 || e.status === EscalationStatus.None) return undefined;
    return {
      policy: `${e.policy.namespace}/${e.policy.name}`,
      level: e.level,
      levelName: e.levels[e.level - 1]?.name ?? String(e.level),
      state: e.status,
      ...(e.deadline === null ? {} : { nextDeadline: e.deadline }),
    };
  };

  const writeIssue = async (issueStream: string) => {
    const history = (await deps.store.readStream(issueStream)) as unknown as RecordedEvent<IssueEvent>[];
    let state: IssueState = issueDecider.initialState();
    let changedAt = '';
    for (const event of history) {
      const next = issueDecider.evolve(state, event);
      if (next.status !== state.status) changedAt = event.metadata.occurredAt;
      state = next;
    }
    if (state.workload === null) return;
    const detected = await anomaliesOf(correlationStream(state.workload));
    const names = detected
      .filter((e) => state.anomalyIds.includes(e.data.anomalyId))
      .map((e) => e.data.labels?.[HandMadeAnomalyLabel] ?? anomalyName(e.data));
    const doc = issueResource(state, names, deps.namespace);
    const written = await write(
      'Issue',
      'issues',
      doc,
      issueStatus(state, changedAt, await escalationOf(state.issueId)),
    );
    const owner = { name: doc.metadata.name, uid: written.metadata?.uid ?? '' };
    // After the Issue's own status: a PostMortem that cannot be written must not hide that the Issue ended. Each
    // child is written even if a sibling is refused, so one bad analysis cannot hold the rest of the incident.
    const end = isTerminal(state)
      ? history.find((e) => e.type === 'IssueResolved' || e.type === 'IssueEscalated')
      : undefined;
    await writeEach([
      ...analysisRounds(history).map((round) => async () => {
        const insight = insightResource(state, round, owner, deps.namespace, await planOf(round.insightId));
        return write('AIInsight', 'aiinsights', insight.doc, insight.status);
      }),
      ...(end ? [() => writePostMortem(issueStream, state, end.position, owner)] : []),
    ]);
    return { state, doc };
  };

  /** Everything is read "as of" the event that ended the Issue, so rendering it again gives the same object. */
  const writePostMortem = async (issueStream: string, state: IssueState, endedAt: bigint, owner: Owner) => {
    await incidents.catchUp();
    const detections = incidents.detectionsBefore(endedAt);
    const current = detections.find((d) => d.data.issueId === state.issueId);
    const earlier = current ? recurrencesOf(current, detections) : [];
    const ended = incidents.endedBefore(endedAt);
    const related = earlier
      .filter((d) => ended.has(d.data.issueId))
      .map((d) => postMortemName(d.data.issueId, d.data.workload));
    const events = await incidents.incident(state.issueId, endedAt);
    const postMortem = postMortemResource(
      issueStream,
      events,
      { last30Days: earlier.length, related },
      owner,
      deps.namespace,
    );
    if (!postMortem) return;
    // Its review life (state, review, feedback) is folded in on every write, so no other write can undo it.
    const review = await deps.store.readStream(streamName(StreamCategory.PostMortem, state.issueId));
    await write('PostMortem', 'postmortems', postMortem.doc, withReview(postMortem.status, review));
  };

  /** The plan the pipeline made from an analysis round (its id is the round's, see issuePipeline.reactor.ts). */
  const planOf = async (insightId: string) => {
    const history = await deps.store.readStream(streamName(StreamCategory.Remediation, `${insightId}-plan`));
    const created = history.find((e) => e.type === 'RemediationPlanCreated')?.data as
      | RemediationPlanCreatedData
      | undefined;
    return created
      ? { attempt: created.attempt, ...(created.blastRadius ? { blastRadius: created.blastRadius } : {}) }
      : undefined;
  };

  /**
   * Reviewed, closed or given feedback: the PostMortem is written again under its Issue. An Issue object someone
   * deleted (its PostMortem went with it) stays deleted: a review is no reason to bring it back.
   */
  const writeReviewedPostMortem = async (issueId: string) => {
    const issueStream = issueStreamFor(issueId);
    const history = (await deps.store.readStream(issueStream)) as unknown as RecordedEvent<IssueEvent>[];
    const state = history.reduce(issueDecider.evolve, issueDecider.initialState());
    const end = history.find((e) => e.type === 'IssueResolved' || e.type === 'IssueEscalated');
    if (state.workload === null || !end || !isTerminal(state)) return;
    const name = issueName(state.issueId, state.workload);
    const namespace = namespaceFor(state.workload, deps.namespace);
    let issue: k8s.KubernetesObject;
    try {
      issue = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'issues',
        namespace,
        name,
      })) as k8s.KubernetesObject;
    } catch (error) {
      if (httpStatusOf(error) === 404) return;
      throw writeFailure({ kind: 'Issue', namespace, name }, error);
    }
    await writePostMortem(issueStream, state, end.position, { name, uid: issue.metadata?.uid ?? '' });
  };

  const writePlan = async (stream: string) => {
    const history = (await deps.store.readStream(stream)) as unknown as RecordedEvent<RemediationEvent>[];
    const state = history.reduce(remediationDecider.evolve, remediationDecider.initialState());
    if (state.target === null) return;
    const issue = issueName(state.issueId, state.target);
    const namespace = namespaceFor(state.target, deps.namespace);
    const owner = (await onObject({ kind: 'Issue', namespace, name: issue }, () =>
      custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'issues', namespace, name: issue }),
    )) as k8s.KubernetesObject;
    const plan = planResource(history, state.status, { name: issue, uid: owner.metadata?.uid ?? '' }, deps.namespace);
    if (!plan) return;
    await write('RemediationPlan', 'remediationplans', plan.doc, plan.status);
  };

  const recordKubernetesEvent = async (state: IssueState, at: string) => {
    const workload = state.workload!;
    // Events about cluster-scoped objects (Nodes) must live in `default`: the API server refuses them elsewhere.
    const namespace = workload.namespace || 'default';
    const name = `${issueName(state.issueId, workload)}.cairn-detected`;
    const when = new Date(at);
    try {
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject: {
            kind: workload.kind,
            name: workload.name,
            ...(workload.namespace ? { namespace: workload.namespace } : {}),
          },
          type: 'Warning',
          reason: 'CairnIssueDetected',
          message: `Cairn opened Issue ${issueName(state.issueId, workload)}: ${state.signal}, ${state.severity} (risk ${state.riskScore})`,
          source: { component: 'cairn-operator' },
          firstTimestamp: when,
          lastTimestamp: when,
          count: 1,
          reportingComponent: 'cairn-operator',
        },
      });
    } catch (error) {
      // Already recorded by an earlier run of this event: the reactor is at-least-once.
      if ((error as { code?: number }).code !== 409) throw writeFailure({ kind: 'Event', namespace, name }, error);
    }
  };

  return {
    name: 'kubernetes-resources',
    isPermanent: (error, attempt) => isPermanentWriteFailure(error, attempt, deps.serverErrorAttempts),
    filter: {
      streamPrefixes: [
        `${StreamCategory.Correlation}-`,
        `${StreamCategory.Issue}-`,
        `${StreamCategory.Remediation}-`,
        `${StreamCategory.Escalation}-`,
        `${StreamCategory.PostMortem}-`,
      ],
    },
    async handle(event) {
      switch (event.type) {
        case 'AnomalyDetected':
          return writeAnomaly(event as RecordedEvent<AnomalyDetected>);
        case 'CorrelationIssueOpened':
        case 'AnomalyJoinedIssue': {
          const { anomalyId, issueId } = event.data as { anomalyId: string; issueId: string };
          const detected = (await anomaliesOf(event.streamId)).find((e) => e.data.anomalyId === anomalyId);
          if (detected) await writeAnomaly(detected, { issueId, at: event.metadata.occurredAt });
          return;
        }
        default: {
          if (event.streamId.startsWith(`${StreamCategory.Remediation}-`)) {
            await writePlan(event.streamId);
            // The AIInsight the plan was made from shows its blast radius.
            if (event.type === 'RemediationPlanCreated')
              await writeIssue(issueStreamFor((event.data as RemediationPlanCreatedData).issueId));
            return;
          }
          if (event.streamId.startsWith(`${StreamCategory.PostMortem}-`)) {
            return writeReviewedPostMortem(parseStreamName(event.streamId).id);
          }
          if (event.streamId.startsWith(`${StreamCategory.Escalation}-`)) {
            // A delivery's outcome changes nothing the Issue shows.
            if (event.type === 'EscalationPageDelivered' || event.type === 'EscalationPageFailed') return;
            await writeIssue(issueStreamFor(parseStreamName(event.streamId).id));
            return;
          }
          if (!event.streamId.startsWith(`${StreamCategory.Issue}-`)) return;
          const written = await writeIssue(event.streamId);
          if (written && event.type === 'IssueDetected')
            await recordKubernetesEvent(written.state, event.metadata.occurredAt);
        }
      }
    },
  };
}

export const issueStreamFor = (issueId: string) => streamName(StreamCategory.Issue, issueId);
