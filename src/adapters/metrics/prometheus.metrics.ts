import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RecordedEvent } from '../../../domain/messages.ts';
import {
  createIssueMetricsFold,
  type IssueMetricsFold,
  type MetricObservation,
} from '../../../projections/issueMetrics.projection.ts';
import type { ReactorProgress } from '../../application/reactor.ts';
import { type EventStore, isWrongExpectedRevisionError, type Subscription } from '../../ports/eventStore.ts';

/**
 * Cairn's Prometheus metrics. Each instance owns its registry, so two operators (or two tests) in one process never
 * share counters. Issue and remediation figures are derived from the event log from its first event, so after a
 * restart the counters come back at the same totals rather than at zero, and every replica reports the same values:
 * aggregate replicas with max(), not sum().
 */
export interface CairnMetrics {
  readonly registry: Registry;
  /** Feeds observations derived from events (see projections/issueMetrics.projection.ts). */
  record(observations: readonly MetricObservation[]): void;
  /** Folds one event of the log; events at or below the last position folded are ignored. */
  applyEvent(event: RecordedEvent): void;
  /** How long an append took, and whether it was written, refused by a concurrency check, or failed. */
  observeAppend(seconds: number, outcome: AppendOutcome): void;
  /** From the store recording an event to a projection committing it. */
  observeProjectionLag(projection: string, seconds: number): void;
  /** Follows the log from its start and keeps the issue and remediation metrics current. */
  follow(store: EventStore): Subscription;
  /** Where the running reactors stand, asked at each scrape; none on a replica that is not leading. */
  followReactors(progress: () => Promise<readonly ReactorProgress[]>): void;
  /** A reactor's failed try: retried, or judged permanent and passed over. */
  observeReactorError(reactor: string, outcome: ReactorErrorOutcome): void;
  /** The last evaluation of one ServiceLevelObjective, for the SLO gauges; undefined when it is gone. */
  observeSlo(slo: { readonly namespace: string; readonly name: string }, evaluation: SloGauges | undefined): void;
  /** The exposition text and its content type, for GET /metrics. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** What the SLO gauges show of one evaluation (the SLO's status holds the same numbers). */
export interface SloGauges {
  /** Percent; absent when the window counted nothing. */
  readonly current?: number;
  readonly errorBudgetRemaining?: number;
  readonly burnRates: readonly { readonly window: string; readonly rate?: number }[];
  readonly firing: readonly { readonly name: string; readonly severity: string }[];
}

export const AppendOutcome = { Ok: 'ok', Conflict: 'conflict', Error: 'error' } as const;
export type ReactorErrorOutcome = 'retried' | 'skipped';
export type AppendOutcome = (typeof AppendOutcome)[keyof typeof AppendOutcome];

export interface CairnMetricsOptions {
  /** Also export the Node.js process metrics (CPU, memory, event-loop lag) with a `cairn_` prefix. */
  readonly processMetrics?: boolean;
}

export function createCairnMetrics(options: CairnMetricsOptions = {}): CairnMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'cairn_' });
  const fold: IssueMetricsFold = createIssueMetricsFold();

  const issues = new Counter({
    name: 'cairn_issues_total',
    help: 'Issues that entered a state, by severity (at the time) and state',
    labelNames: ['severity', 'state'] as const,
    registers,
  });
  const resolution = new Histogram({
    name: 'cairn_issue_resolution_duration_seconds',
    help: 'Time from detection to resolution of resolved Issues',
    labelNames: ['severity'] as const,
    buckets: [10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600],
    registers,
  });
  new Gauge({
    name: 'cairn_active_issues',
    help: 'Issues detected and neither resolved nor escalated',
    registers,
    collect() {
      this.set(fold.activeIssues());
    },
  });
  const remediations = new Counter({
    name: 'cairn_remediations_total',
    help: 'Remediations that ended, by outcome (completed, rolled_back, failed)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const projectionLag = new Histogram({
    name: 'cairn_projection_lag_seconds',
    help: 'Time from an event being recorded to a projection committing it, for events projected live',
    labelNames: ['projection'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const appendLatency = new Histogram({
    name: 'cairn_event_store_append_duration_seconds',
    help: 'Duration of event store appends, by outcome (ok, conflict, error)',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });

  const reactorErrors = new Counter({
    name: 'cairn_reactor_errors_total',
    help: 'Failed tries of a reactor (the resource writer, the pipeline), retried or passed over as permanent',
    labelNames: ['reactor', 'outcome'] as const,
    registers,
  });
  const notifications = new Counter({
    name: 'cairn_notifications_total',
    help: 'Delivery attempts by channel (the NotificationPolicy channel name) and outcome: delivered, failed (to be retried), given_up',
    labelNames: ['channel', 'outcome'] as const,
    registers,
  });
  const notificationLatency = new Histogram({
    name: 'cairn_notification_delivery_seconds',
    help: "How long one delivery attempt's request to the channel took, by channel",
    labelNames: ['channel'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  // Escalations still paging (neither acknowledged nor resolved): Issue id -> the level paged last.
  const escalationLevels = new Map<string, number>();
  new Gauge({
    name: 'cairn_escalation_level',
    help: 'The EscalationPolicy level paged last (1 is the first) of each escalation neither acknowledged nor resolved, by Issue id',
    labelNames: ['issue'] as const,
    registers,
    collect() {
      this.reset();
      for (const [issue, level] of escalationLevels) this.set({ issue }, level);
    },
  });
  const followEscalation = (event: RecordedEvent) => {
    const issue = event.streamId.slice('escalation-'.length);
    if (event.type === 'EscalationLevelPaged') escalationLevels.set(issue, (event.data as { level: number }).level);
    else if (event.type === 'EscalationAcknowledged' || event.type === 'EscalationResolved')
      escalationLevels.delete(issue);
  };
  const slaViolations = new Counter({
    name: 'cairn_sla_violations_total',
    help: 'IncidentSLA targets missed, by Issue severity and kind (response: not acknowledged in time; resolution: not resolved in time)',
    labelNames: ['severity', 'kind'] as const,
    registers,
  });
  // The latest evaluation of each SLO the leader evaluates, by namespace/name.
  const slos = new Map<string, SloGauges & { readonly namespace: string; readonly name: string }>();
  const sloGauge = (
    name: string,
    help: string,
    labelNames: readonly string[],
    values: (slo: SloGauges) => readonly [Record<string, string>, number | undefined][],
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['namespace', 'slo', ...labelNames],
      registers,
      collect() {
        this.reset();
        for (const slo of slos.values()) {
          for (const [labels, value] of values(slo)) {
            if (value !== undefined) this.set({ namespace: slo.namespace, slo: slo.name, ...labels }, value);
          }
        }
      },
    });
  sloGauge('cairn_slo_sli_percent', 'The SLI over the SLO window, percent (absent without data)', [], (s) => [
    [{}, s.current],
  ]);
  sloGauge(
    'cairn_slo_error_budget_remaining',
    'Fraction of the error budget left over the SLO window (1 untouched, 0 spent, negative overspent)',
    [],
    (s) => [[{}, s.errorBudgetRemaining]],
  );
  sloGauge(
    'cairn_slo_burn_rate',
    'How fast the error budget burns over a window (1: spent exactly by the end of the SLO window)',
    ['window'],
    (s) => s.burnRates.map((b) => [{ window: b.window }, b.rate] as [Record<string, string>, number | undefined]),
  );
  sloGauge(
    'cairn_slo_burn_alert_firing',
    '1 for each burn-rate alert of an SLO that is firing',
    ['alert', 'severity'],
    (s) =>
      s.firing.map((f) => [{ alert: f.name, severity: f.severity }, 1] as [Record<string, string>, number | undefined]),
  );
  const chaosRuns = new Counter({
    name: 'cairn_chaos_runs_total',
    help: 'ChaosExperiment runs that ended, by fault type and outcome (passed, failed, aborted, dry_run, refused)',
    labelNames: ['fault', 'outcome'] as const,
    registers,
  });
  // The fault of each experiment's latest run, by chaos stream: the verdict does not repeat it.
  const chaosFaults = new Map<string, string>();
  const followChaos = (event: RecordedEvent) => {
    if (event.type === 'ChaosRunStarted') {
      chaosFaults.set(event.streamId, (event.data as { fault: { type: string } }).fault.type);
      return;
    }
    const fault = chaosFaults.get(event.streamId) ?? 'unknown';
    if (event.type === 'ChaosRunRefused') chaosRuns.inc({ fault, outcome: 'refused' });
    else if (event.type === 'ChaosRunCompleted')
      chaosRuns.inc({ fault, outcome: (event.data as { outcome: string }).outcome });
  };
  let reactorProgress: () => Promise<readonly ReactorProgress[]> = async () => [];
  // The gauges below are collected together; one reading of the log serves them all.
  let sampling: Promise<readonly ReactorProgress[]> | undefined;
  const sample = () => {
    sampling ??= reactorProgress().finally(() => {
      sampling = undefined;
    });
    return sampling;
  };
  const reactorGauge = (name: string, help: string, value: (p: ReactorProgress) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['reactor'] as const,
      registers,
      async collect() {
        this.reset();
        for (const p of await sample()) {
          const v = value(p);
          if (v !== undefined) this.set({ reactor: p.name }, v);
        }
      },
    });
  reactorGauge(
    'cairn_reactor_behind_events',
    'Events for a reactor after its checkpoint, counted up to 1000: 0 when it has caught up with the log',
    (p) => p.behind,
  );
  reactorGauge(
    'cairn_reactor_lag_seconds',
    'Age of the oldest event a reactor has not finished; 0 when caught up',
    (p) => p.lagSeconds,
  );
  reactorGauge(
    'cairn_reactor_retrying',
    '1 while a reactor is held on an event whose last try failed and will be retried',
    (p) => (p.retrying ? 1 : 0),
  );
  reactorGauge(
    'cairn_reactor_last_error_timestamp_seconds',
    'When a reactor last failed a try (Unix time); absent if it never has',
    (p) => (p.lastError ? Date.parse(p.lastError.at) / 1000 : undefined),
  );

  const record = (observations: readonly MetricObservation[]) => {
    for (const o of observations) {
      switch (o.metric) {
        case 'issue_state':
          issues.inc({ severity: o.severity, state: o.state });
          break;
        case 'issue_resolution':
          resolution.observe({ severity: o.severity }, o.seconds);
          break;
        case 'remediation_outcome':
          remediations.inc({ outcome: o.outcome });
          break;
        case 'notification_attempt':
          notifications.inc({ channel: o.channel, outcome: o.outcome });
          break;
        case 'notification_latency':
          notificationLatency.observe({ channel: o.channel }, o.seconds);
          break;
        default: {
          const unreachable: never = o;
          throw new Error(`unhandled metric observation ${JSON.stringify(unreachable)}`);
        }
      }
    }
  };
  const applyEvent = (event: RecordedEvent) => {
    if (event.type === 'SlaViolated') {
      const { severity, kind } = event.data as { severity: string; kind: string };
      slaViolations.inc({ severity, kind });
    } else if (event.streamId.startsWith('escalation-')) followEscalation(event);
    else if (event.streamId.startsWith('chaos-')) followChaos(event);
    else record(fold.apply(event));
  };

  return {
    registry,
    record,
    applyEvent,
    observeAppend: (seconds, outcome) => appendLatency.observe({ outcome }, seconds),
    observeProjectionLag: (projection, seconds) => projectionLag.observe({ projection }, Math.max(0, seconds)),
    followReactors: (progress) => {
      reactorProgress = progress;
    },
    observeReactorError: (reactor, outcome) => reactorErrors.inc({ reactor, outcome }),
    observeSlo: (slo, evaluation) => {
      const key = `${slo.namespace}/${slo.name}`;
      if (evaluation === undefined) slos.delete(key);
      else slos.set(key, { ...evaluation, namespace: slo.namespace, name: slo.name });
    },
    follow: (store) =>
      store.subscribeToAll(
        { filter: { streamPrefixes: ['issue-', 'remediation-', 'notification-', 'escalation-', 'sla-', 'chaos-'] } },
        (event) => applyEvent(event),
      ),
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/**
 * The same store, with every append timed into `cairn_event_store_append_duration_seconds`. A proxy rather than a
 * wrapper object, so the extra capabilities of a backend (the audit log of the sqlite store) stay visible.
 */
export function instrumentEventStore<S extends EventStore>(store: S, metrics: Pick<CairnMetrics, 'observeAppend'>): S {
  const append: EventStore['appendToStream'] = async (stream, events, options) => {
    const started = performance.now();
    try {
      const result = await store.appendToStream(stream, events, options);
      metrics.observeAppend((performance.now() - started) / 1000, AppendOutcome.Ok);
      return result;
    } catch (error) {
      const outcome = isWrongExpectedRevisionError(error) ? AppendOutcome.Conflict : AppendOutcome.Error;
      metrics.observeAppend((performance.now() - started) / 1000, outcome);
      throw error;
    }
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'appendToStream') return append;
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Seconds from the store recording `event` to now: the lag of a projection that has just committed it. */
export const lagSeconds = (event: RecordedEvent, now: number = Date.now()): number =>
  (now - Date.parse(event.recordedAt)) / 1000;
