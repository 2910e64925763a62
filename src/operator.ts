import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import type { AnomalySource, ResourceRef } from '../domain/events/common.schema.ts';
import { type IssueEvent, issueDecider } from '../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { type ApprovalRule, approvalFor } from '../domain/remediation/approval.policy.ts';
import { StreamCategory, streamName } from '../domain/streams.ts';
import { prepareReadModel, readModelProjections } from '../projections/readModel.projections.ts';
import { createActionClients } from './actions/action.ts';
import { availableActions } from './actions/available.ts';
import { assessActionBlastRadius, assessPlanBlastRadius, graphDependants } from './actions/planBlastRadius.ts';
import {
  approvalReason,
  approvalUnderPolicy,
  defaultApproval,
  defaultRemediationPolicy,
  evaluatePlan,
  observeOnly,
  observePlanFacts,
  PolicyCode,
  sloApproval,
} from './actions/policy.ts';
import { findAction } from './actions/registry.ts';
import { observeSloFacts } from './actions/sloFacts.ts';
import { SloGuard } from './actions/sloGuard.ts';
import { openEventStore } from './adapters/eventstore/openEventStore.ts';
import { type AiServerHealthReport, createAiServerClient } from './adapters/grpc/aiops.client.ts';
import { startAlertPoller } from './adapters/grpc/alertPoller.ts';
import { dashboardPlugin } from './adapters/http/dashboard.plugin.ts';
import { graphqlRoutes } from './adapters/http/graphql/graphql.plugin.ts';
import { buildHttpApp } from './adapters/http/httpApp.ts';
import {
  fileKeySource,
  loadKeyRing,
  type ReloadingKeyRing,
  secretKeySource,
} from './adapters/http/security/keySources.ts';
import { customResources } from './adapters/kubernetes/customResources.ts';
import { startDetectionController } from './adapters/kubernetes/detection/detectionController.ts';
import type { DetectionThresholds } from './adapters/kubernetes/detection/detectors.ts';
import { startLeaderElection } from './adapters/kubernetes/leaderElection.ts';
import { startManualAnomalyController } from './adapters/kubernetes/manualAnomaly.controller.ts';
import { ensureOperatorNamespace } from './adapters/kubernetes/operatorNamespace.ts';
import { kubernetesRemediationEffects } from './adapters/kubernetes/remediationEffects.ts';
import { resourceWriterReactor } from './adapters/kubernetes/resourceWriter.reactor.ts';
import { kubernetesRunbooks } from './adapters/kubernetes/runbooks.ts';
import { createWorkloadLookup } from './adapters/kubernetes/workloadLookup.ts';
import { createCairnMetrics, instrumentEventStore, lagSeconds } from './adapters/metrics/prometheus.metrics.ts';
import { createPrometheusClient } from './adapters/prometheus/prometheus.client.ts';
import { createChaosQueries } from './adapters/readmodel/chaos.queries.ts';
import { createEscalationQueries } from './adapters/readmodel/escalations.queries.ts';
import { createNotificationQueries } from './adapters/readmodel/notifications.queries.ts';
import { createReadModelQueries } from './adapters/readmodel/readModel.queries.ts';
import {
  createSqliteProjectionTarget,
  defaultReadModelPath,
  openSqliteReadModel,
} from './adapters/readmodel/sqlite.projectionTarget.ts';
import {
  createProviderChain,
  describeProviderChain,
  type ProviderChainConfig,
} from './analysis/providers/providerChain.ts';
import { withSecretValuesRedacted } from './analysis/providers/secretValues.provider.ts';
import { createApiCommands } from './application/apiCommands.ts';
import { createAnomalyIntake } from './application/detection/anomalyIntake.ts';
import { type AnomalyReport, createAnomalyRecorder } from './application/detection/anomalyRecorder.ts';
import { issueCorrelationReactor } from './application/detection/issueCorrelation.reactor.ts';
import { startEscalationRelease } from './application/escalationRelease.ts';
import { createProjectionRunner } from './application/projectionRunner.ts';
import { type ReactorCheckpoints, type RunningReactor, runReactor } from './application/reactor.ts';
import { createReadModelChanges } from './application/readModelChanges.ts';
import { createAgenticLoop } from './application/remediation/agenticLoop.ts';
import { type ApprovalService, createApprovalService } from './application/remediation/approvals.ts';
import { DefaultUnconfirmedSources, issuePipelineReactor } from './application/remediation/issuePipeline.reactor.ts';
import {
  createRemediationExecutor,
  remediationExecutorReactor,
} from './application/remediation/remediationExecutor.ts';
import { judgeRevision, revisionLedgerReactor, revisionVerdicts } from './application/revisionLedger.ts';
import { createApprovals } from './approvals/approvals.module.ts';
import type { Retention } from './audit/auditEvent.projection.ts';
import { startAuditEvents } from './audit/auditEvents.module.ts';
import { createCascade } from './cascade/cascade.module.ts';
import { startChaos } from './chaos/chaos.module.ts';
import { createFaultInjector } from './chaos/faultInjector.ts';
import { createChangeEnricher } from './enrichers/change/change.enricher.ts';
import { analyzeWithChange } from './enrichers/commits/changeEvidence.ts';
import { createCommitsEnricher } from './enrichers/commits/commits.enricher.ts';
import { type ContextEnricher, runEnrichers } from './enrichers/enricher.ts';
import { createKubernetesContextBuilder } from './enrichers/kubernetesContext.ts';
import { createLogEnricher } from './enrichers/logs/logs.enricher.ts';
import { createMetricsEnricher } from './enrichers/metrics/metrics.enricher.ts';
import { createReferencedSecretValues } from './enrichers/referencedSecrets.ts';
import { escalationOutboxSource, startEscalations } from './escalation/escalation.module.ts';
import { createEscalationCommands } from './escalation/escalationCommands.ts';
import { notificationReadiness } from './notifications/notificationReadiness.ts';
import { startNotifications } from './notifications/notifications.module.ts';
import { testNotificationSender } from './notifications/testNotification.command.ts';
import { describePolicy } from './policy/policyConfig.ts';
import { isAuditableEventStore } from './ports/eventStore.ts';
import { startSla } from './sla/sla.module.ts';
import { createSlaQueries } from './sla/sla.queries.ts';
import { startSlo } from './slo/slo.module.ts';
import { defaultRepositoryCache, startSourceRepositories } from './sourceRepos/sourceRepos.module.ts';

type PolicyOverrides = NonNullable<Parameters<typeof defaultRemediationPolicy>[0]>;

export interface OperatorOptions {
  /** A kubeconfig file; otherwise KUBECONFIG, ~/.kube/config or the in-cluster service account. */
  readonly kubeconfig?: string;
  /** `sqlite:<path>` (default), `memory:` or an EventStoreDB URL. */
  readonly store: string;
  /** Where the operator keeps its lease, and the resources of cluster-scoped objects. */
  readonly namespace: string;
  readonly identity?: string;
  readonly thresholds?: Partial<DetectionThresholds>;
  /** Watch only these namespaces (Nodes are always watched); every namespace when absent. */
  readonly watchNamespaces?: readonly string[];
  /** Watch TLS Secrets so an Ingress's missing certificate is detected (needs list/watch on Secrets). */
  readonly detectTlsSecrets?: boolean;
  /** Run ChaosExperiments (inject and take back their faults); off by default, so nothing is injected unasked. */
  readonly chaos?: boolean;
  /** Where SourceRepositories are mirrored; beside a sqlite store, or in ./cairn-data, by default. */
  readonly sourceRepositoryCache?: string;
  /** Cascade correlation: the window in minutes (15 by default; 0 turns it off) and the dependants' recovery grace. */
  readonly cascade?: { readonly windowMinutes?: number; readonly recoveryGraceSeconds?: number };
  /** Remediation attempts before an Issue is escalated; 5 by default. */
  readonly maxAttempts?: number;
  readonly leaseDurationMs?: number;
  readonly log?: (line: string) => void;
  /**
   * Analyse and remediate Issues (the default). Off, the operator only detects and correlates: Issues stay
   * Detected for a human.
   */
  readonly remediate?: boolean;
  /** Read and analyse the workload's container logs for each analysis (the default). */
  readonly logAnalysis?: boolean;
  /**
   * Env names whose literal values the analysis context may show (`*` wildcards); every other env value is sent
   * as `[REDACTED]`. DEFAULT_ENV_ALLOWLIST of src/analysis/redaction.ts when absent.
   */
  readonly envAllowlist?: readonly string[];
  /** How long a workload has to become healthy after a plan's actions; 90 s by default. */
  readonly verificationTimeoutSeconds?: number;
  /** Which analysis providers to ask, in order (default: the offline rules provider alone). */
  readonly providers?: ProviderChainConfig;
  /**
   * Agentic mode, for Issues no runbook matches and whose analysis proposed no usable action: the AI decides one
   * step at a time, at most `maxSteps` (10) steps and `timeLimitSeconds` (600) seconds. `false` escalates instead.
   */
  readonly agentic?:
    | false
    | { readonly maxSteps?: number; readonly timeLimitSeconds?: number; readonly settleMs?: number };
  /** Bounds on what any plan may do, whatever proposed it; the defaults of src/actions/policy.ts otherwise. */
  readonly policy?: PolicyOverrides;
  /**
   * AuditEvent objects in `namespace` for the high-value events of the audit chain (sqlite and memory stores), kept
   * within these bounds (1,000 objects, 30 days by default); `false` writes none. The event store keeps the trail.
   */
  readonly auditEvents?: false | Partial<Retention>;
  /** Which plans wait for people (first matching rule decides); none by default. */
  readonly approvalRules?: readonly ApprovalRule[];
  /**
   * Plans for an Issue whose every signal came from these sources, none seen by Cairn's own watchers on the live
   * object, wait for people: DefaultUnconfirmedSources (manual, prometheus, grpc, kafka) when absent; [] never.
   */
  readonly unconfirmedSourcesNeedApproval?: readonly AnomalySource[];
  /** Serve the HTTP API (REST under /api/v1, webhooks, /healthz, /readyz, /metrics) on every replica; port 0 picks one. */
  readonly http?: { readonly host: string; readonly port: number };
  /** Prometheus to read the workload's metrics from during analysis; no metrics section without it. */
  readonly prometheusUrl?: string;
  /** Where the API keys are (a file and/or a Secret `<namespace>/<name>`), or an explicit development key. */
  readonly api?: { readonly keysFile?: string; readonly keysSecret?: string; readonly devApiKey?: string };
  /** Analyse through a `cairn server` instead of the in-process provider chain, and record its alerts. */
  readonly aiServer?: {
    /** `host:port`. */
    readonly address: string;
    readonly tokenFile?: string;
    /** TLS, trusting this PEM CA bundle. */
    readonly caFile?: string;
    /** Per AnalyzeIssue call; 60 s by default. */
    readonly deadlineSeconds?: number;
    /** How often the server's alerts are fetched (GetAlerts); 30 s by default, 0 never. */
    readonly alertPollSeconds?: number;
  };
}

/** What readiness probes need to know. */
export interface OperatorHealth {
  /** Absent when analysis runs in process. */
  readonly aiServer?: AiServerHealthReport;
}

export interface RunningOperator {
  isLeader(): boolean;
  /** Pending approvals and the decisions on them; the caller passes the authenticated approver. */
  readonly approvals: ApprovalService;
  /** Where the HTTP API listens (`http://host:port`), when it was asked for. */
  readonly httpUrl?: string;
  health(): OperatorHealth;
  stop(): Promise<void>;
}

const newId = () => randomBytes(8).toString('hex');

/** The read model, and the reactors' checkpoints beside the projections', live next to the event store. */
function openReadModel(storeUrl: string) {
  const db = openSqliteReadModel(storeUrl === 'memory:' ? ':memory:' : defaultReadModelPath(storeUrl));
  prepareReadModel(db);
  const target = createSqliteProjectionTarget(db);
  const checkpoints: ReactorCheckpoints = {
    read: (name) => target.transaction((tx) => target.readCheckpoint(tx, `reactor:${name}`)),
    write: (name, position) => target.transaction((tx) => target.writeCheckpoint(tx, `reactor:${name}`, position)),
  };
  return { db, target, checkpoints };
}

/** Caught up means every reactor of the leader has handled or passed over every event meant for it. */
async function reactorReadiness(reactors: readonly RunningReactor[]): Promise<{ ok: boolean; detail: string }> {
  if (reactors.length === 0) return { ok: true, detail: 'not leading: the leader writes resources and acts' };
  const states = await Promise.all(reactors.map((r) => r.progress()));
  const lines = states.map((p) => {
    const skipped = p.lastError?.skipped ? `; last passed over: ${p.lastError.message}` : '';
    if (p.retrying) {
      return `${p.name}: held on ${p.retrying.type} at ${p.retrying.position} after ${p.retrying.attempts} tries (${p.retrying.error}), ${p.behind}${p.behindAtLeast ? '+' : ''} events behind${skipped}`;
    }
    if (!p.live || p.behind > 0 || p.behindAtLeast) {
      return `${p.name}: ${p.behind}${p.behindAtLeast ? '+' : ''} events behind, ${Math.round(p.lagSeconds)} s${skipped}`;
    }
    return `${p.name}: caught up${p.skipped > 0 ? `, ${p.skipped} passed over` : ''}${skipped}`;
  });
  const ok = states.every((p) => p.live && p.behind === 0 && !p.behindAtLeast && !p.retrying);
  return { ok, detail: lines.join('; ') };
}

/**
 * The operator's composition root. Every replica campaigns for the lease; only the leader watches the cluster and
 * acts, so two replicas never record the same fault or write the same resource.
 */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const log = options.log ?? (() => {});
  // Built first, so a malformed URL stops the start-up instead of the first analysis.
  const prometheus = options.prometheusUrl ? createPrometheusClient({ url: options.prometheusUrl }) : undefined;
  const config = new k8s.KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromDefault();
  await ensureOperatorNamespace(config, options.namespace, log);
  const metrics = createCairnMetrics({ processMetrics: true });
  const store = instrumentEventStore(openEventStore(options.store), metrics);
  const readModel = openReadModel(options.store);
  const { checkpoints } = readModel;
  const identity = options.identity ?? `${hostname()}-${process.pid}`;
  const recorder = createAnomalyRecorder({ store, newId, now: () => new Date() });
  const record = async (report: AnomalyReport) => {
    const events = await recorder(report);
    if (events.some((event) => event.type === 'AnomalyDetected'))
      log(
        `anomaly: ${report.signal} (${report.source}) on ${report.workload.kind}/${report.workload.namespace}/${report.workload.name}: ${report.message}`,
      );
    return events;
  };
  // Sources other than the watchers name objects that must be read to find their workload, and want an answer.
  const workloads = createWorkloadLookup(config);
  const intake = createAnomalyIntake({ record, store });
  const onError = (what: string, error: unknown) => {
    // The API server's own explanation travels in the body of the client's exception, not in its message.
    const body = (error as { body?: unknown }).body;
    const detail =
      body === undefined ? '' : ` ${(typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 600)}`;
    log(`error: ${what}: ${error instanceof Error ? error.message : String(error)}${detail}`);
  };
  // GraphQL subscribers hear of every read-model commit of this replica's projections.
  const changes = createReadModelChanges((error) => onError('read model listener', error));
  // Every replica follows the log for the metrics it serves, leader or not.
  const metricsFeed = metrics.follow(store);
  metricsFeed.done.catch((error) => onError('metrics feed stopped', error));

  // Built before anything starts, so a provider that cannot work (no model, unreadable key file) stops start-up.
  const provider = createProviderChain(options.providers ?? {}, {
    onFallback: (failure) =>
      log(
        `analysis: ${failure.provider} ${failure.timedOut ? 'timed out' : 'failed'}, asking the next provider: ${failure.error}`,
      ),
  });
  const aiServer = options.aiServer
    ? createAiServerClient({
        address: options.aiServer.address,
        ...(options.aiServer.tokenFile ? { tokenFile: options.aiServer.tokenFile } : {}),
        ...(options.aiServer.caFile ? { caFile: options.aiServer.caFile } : {}),
        ...(options.aiServer.deadlineSeconds ? { analysisDeadlineMs: options.aiServer.deadlineSeconds * 1000 } : {}),
        onHealthChange: (report) =>
          log(`AI server ${report.server}: ${report.state}${report.detail ? ` (${report.detail})` : ''}`),
      })
    : undefined;
  // The values of the Secrets a workload references are hunted in everything sent about it, whichever provider.
  const analysis = withSecretValuesRedacted(
    aiServer?.provider ?? provider,
    createReferencedSecretValues(config, { onError: (what, error) => onError(`redaction: ${what}`, error) }),
  );
  if (options.remediate !== false)
    log(
      aiServer
        ? `analysis: the AI server at ${aiServer.address}`
        : `analysis providers: ${describeProviderChain(options.providers ?? {})}`,
    );

  const policy = defaultRemediationPolicy(options.policy ?? {});
  if (options.remediate !== false) log(`policy: ${describePolicy(policy)}`);
  // What Cairn recorded of each workload's revisions: rollbacks go only where a rollout is known to have worked.
  const verdicts = (workload: ResourceRef) => revisionVerdicts(store, workload);
  const repositoryCache = options.sourceRepositoryCache ?? defaultRepositoryCache(options.store);
  const approvals = createApprovalService({ store, now: () => new Date(), log: (line) => log(`approvals: ${line}`) });
  // ApprovalPolicies and change windows: judged for every plan, started with the leadership.
  const approvalPolicies = createApprovals({ config, store, checkpoints, namespace: options.namespace, log, onError });
  // Cross-service cascades: the root's plan goes first, its dependants' wait (started with the leadership).
  const cascade = createCascade({ config, store, checkpoints, log, onError, ...options.cascade });

  /** Analysis (provider chain, Kubernetes context), plans, and the executor that carries them out. */
  const remediationReactors = () => {
    const context = createKubernetesContextBuilder(config, {
      ...(options.envAllowlist ? { envAllowlist: options.envAllowlist } : {}),
    });
    const actionClients = createActionClients(config);
    const agenticOptions = options.agentic === false ? undefined : (options.agentic ?? {});
    const agentic = agenticOptions
      ? createAgenticLoop({
          store,
          // The same providers, in the same order, as the analysis (through the AI server when there is one).
          provider: analysis,
          context: (workload) => context.build(workload),
          availableActions: (target) => availableActions(policy, target.kind),
          assess: assessActionBlastRadius({ clients: actionClients, policy }),
          ...(agenticOptions.settleMs !== undefined ? { settleMs: agenticOptions.settleMs } : {}),
        })
      : undefined;
    // Sources beyond the workload's objects (logs, metrics, …); each adds one bounded section to the analysis.
    const enrichers: ContextEnricher[] = [
      ...(options.logAnalysis === false ? [] : [createLogEnricher(config)]),
      ...(prometheus ? [createMetricsEnricher({ client: prometheus })] : []),
      createChangeEnricher(config),
      createCommitsEnricher(config, { cacheDir: repositoryCache, verdicts }),
    ];
    const issueSignals = async (issueId: string) => {
      const history = await store.readStream(streamName(StreamCategory.Issue, issueId));
      return (history as unknown as RecordedEvent<IssueEvent>[]).reduce(
        issueDecider.evolve,
        issueDecider.initialState(),
      ).signals;
    };
    const execute = createRemediationExecutor({
      store,
      effects: kubernetesRemediationEffects(config, policy, { namespace: options.namespace }, verdicts),
      ...(agentic ? { agentic } : {}),
      now: () => new Date(),
      newId,
      signalsOf: issueSignals,
      log: (line) => log(`remediation: ${line}`),
    });
    return [
      issuePipelineReactor({
        store,
        now: () => new Date(),
        runbooks: kubernetesRunbooks(config, options.namespace),
        screen: async (actions, target) => {
          const facts = await observePlanFacts(actionClients, target, actions, verdicts, policy);
          const verdict = evaluatePlan(actions, target, policy, facts);
          return { allowed: verdict.allowed, refused: verdict.refused };
        },
        beyondNamespace: (actions, target) => actions.flatMap((a) => approvalReason(a, target, policy) ?? []),
        blastRadius: assessPlanBlastRadius({ clients: actionClients, policy, dependantsOf: graphDependants(config) }),
        unconfirmedSourcesNeedApproval: options.unconfirmedSourcesNeedApproval ?? DefaultUnconfirmedSources,
        ...(agenticOptions
          ? {
              agentic: {
                ...(agenticOptions.maxSteps ? { maxSteps: agenticOptions.maxSteps } : {}),
                ...(agenticOptions.timeLimitSeconds ? { timeLimitSeconds: agenticOptions.timeLimitSeconds } : {}),
              },
            }
          : {}),
        observeOnly: (target) => observeOnly(policy, target),
        deferToRoot: cascade.deferIfDependant,
        observeCode: PolicyCode.ObserveMode,
        // The approval rules and ApprovalPolicies decide; approve mode adds a requirement, the default fills a gap.
        approvalFor: async (plan) => {
          const { issue, source, actions, confidence } = plan;
          const namespace = issue.workload?.namespace ?? '';
          const verdict = approvalFor(options.approvalRules ?? [], {
            severity: issue.severity,
            riskScore: issue.riskScore,
            namespace,
            kind: issue.workload?.kind ?? '',
            source,
            actionTypes: actions.map((a) => a.type),
            destructive: actions.some((a) => findAction(a.type)?.destructive === true),
            ...(confidence === undefined ? {} : { confidence }),
          });
          // The SLO guard (approve) makes a destructive plan on a workload out of error budget wait for one person.
          const guarded =
            policy.sloGuard === SloGuard.Approve && issue.workload
              ? sloApproval(policy, actions, await observeSloFacts(actionClients, issue.workload), verdict)
              : verdict;
          const base = approvalUnderPolicy(policy, namespace, guarded);
          // The default approval holds only where no rule matched: neither a configured one nor an ApprovalPolicy's.
          const fallback = verdict.rule === undefined ? defaultApproval(policy, base) : undefined;
          return approvalPolicies.requirementFor(plan, base, fallback);
        },
        ...(options.verificationTimeoutSeconds
          ? { verificationTimeoutSeconds: options.verificationTimeoutSeconds }
          : {}),
        log,
        analyze: async (issue) =>
          analyzeWithChange(analysis, {
            issueId: issue.issueId,
            namespace: issue.workload!.namespace,
            workload: issue.workload!,
            signal: issue.signal,
            signals: issue.signals,
            severity: issue.severity,
            riskScore: issue.riskScore,
            description: issue.signal,
            context: await context.build(issue.workload!),
            sections: await runEnrichers(enrichers, {
              issueId: issue.issueId,
              workload: issue.workload!,
              signal: issue.signal,
              signals: issue.signals,
              detectedAt: issue.detectedAt ?? new Date().toISOString(),
            }),
            previousFailures: issue.failures,
            doNotRepeat: issue.doNotRepeat,
          }),
      }),
      remediationExecutorReactor(execute),
    ];
  };

  // Every replica can list and decide approvals; only the leader expires them.
  if (options.remediate !== false) approvals.start({ expire: false });
  let active: { stop: () => Promise<void> } | undefined;
  // While leading: what /readyz and /metrics say about how far behind the log the reactors are.
  let leadingReactors: readonly RunningReactor[] = [];
  metrics.followReactors(() => Promise.all(leadingReactors.map((r) => r.progress())));
  const lead = () => {
    log(`${identity} is leading: watching the cluster`);
    const reactors: RunningReactor[] = [
      issueCorrelationReactor({
        store,
        ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
        onRefused: (reason) => log(`correlation: ${reason}`),
      }),
      resourceWriterReactor({ store, config, namespace: options.namespace }),
      revisionLedgerReactor(store),
      ...(options.remediate === false ? [] : remediationReactors()),
    ].map((reactor) => {
      const running = runReactor(store, checkpoints, reactor, {
        onError: (error, event, willRetry) => {
          metrics.observeReactorError(reactor.name, willRetry ? 'retried' : 'skipped');
          onError(
            `${reactor.name} on ${event.type} at ${event.position}${willRetry ? ' (will retry)' : ' (skipped)'}`,
            error,
          );
        },
      });
      running.done.catch((error) => onError(`reactor ${reactor.name} stopped`, error));
      return running;
    });
    const cascading = cascade.start();
    leadingReactors = reactors;
    const detection = startDetectionController({
      config,
      record,
      ...(options.thresholds ? { thresholds: options.thresholds } : {}),
      ...(options.watchNamespaces ? { namespaces: options.watchNamespaces } : {}),
      tlsSecrets: options.detectTlsSecrets === true,
      onError,
      onRevisionProven: (workload, revision) =>
        judgeRevision(
          store,
          { workload, revision, verdict: 'healthy', reason: 'a rollout of it completed with every replica available' },
          { occurredAt: new Date().toISOString(), actor: 'system:watcher' },
        ),
    });
    const manual = startManualAnomalyController({ config, intake, workloads, onError });
    const pollSeconds = options.aiServer?.alertPollSeconds ?? 30;
    const alertPoller =
      aiServer && pollSeconds > 0
        ? startAlertPoller({
            getAlerts: aiServer.getAlerts,
            server: aiServer.address,
            intake,
            workloads,
            ...(options.watchNamespaces ? { namespaces: options.watchNamespaces } : {}),
            intervalMs: pollSeconds * 1000,
            log,
          })
        : undefined;
    const release = startEscalationRelease({
      store,
      readModel: readModel.db,
      now: () => new Date(),
      onError: (error) => onError('escalation release', error),
    });
    if (options.remediate !== false) approvals.startExpiry();
    const approvalCapability = options.remediate === false ? undefined : approvalPolicies.start();
    const sla = startSla({
      config,
      store,
      checkpoints,
      readModel: readModel.db,
      namespace: options.namespace,
      log,
      onError,
    });
    // ServiceLevelObjectives are evaluated only against a Prometheus (--prometheus-url).
    const slo = prometheus ? startSlo({ config, store, prometheus, intake, metrics, log, onError }) : undefined;
    const sourceRepositories = startSourceRepositories({
      config,
      cacheDir: repositoryCache,
      ...(options.watchNamespaces ? { namespaces: options.watchNamespaces } : {}),
      log,
      onError,
    });
    const chaos = options.chaos
      ? startChaos({
          config,
          store,
          checkpoints,
          injector: createFaultInjector(config),
          ...(options.watchNamespaces ? { namespaces: options.watchNamespaces } : {}),
          log,
          onError,
        })
      : undefined;
    const notifications = startNotifications({
      config,
      store,
      checkpoints,
      namespace: options.namespace,
      log,
      onError,
      outboxSources: [escalationOutboxSource(store)],
    });
    const escalations = startEscalations({
      config,
      store,
      checkpoints,
      namespace: options.namespace,
      notifications,
      log,
      onError,
    });
    const auditEvents =
      options.auditEvents !== false && isAuditableEventStore(store)
        ? startAuditEvents({
            config,
            store,
            checkpoints,
            namespace: options.namespace,
            retention: options.auditEvents ?? {},
            log,
            onError,
          })
        : undefined;
    // /readyz and the metrics report how far behind the log these are.
    const followed = [
      ...reactors,
      ...(auditEvents ? [auditEvents.reactor] : []),
      escalations.router,
      cascading.reactor,
    ];
    leadingReactors = followed;
    active = {
      stop: async () => {
        approvals.stopExpiry();
        await approvalCapability?.stop();
        await auditEvents?.stop();
        await cascading.stop();
        release.stop();
        await sla.stop();
        await slo?.stop();
        await chaos?.stop();
        await sourceRepositories.stop();
        await Promise.all([
          detection.stop(),
          manual.stop(),
          alertPoller?.stop(),
          escalations.stop(),
          notifications.stop(),
        ]);
        await Promise.all(reactors.map((r) => r.close()));
        if (leadingReactors === followed) leadingReactors = [];
      },
    };
  };
  const follow = () => {
    log(`${identity} is standing by`);
    const stopping = active;
    active = undefined;
    void stopping?.stop();
  };

  // Every replica answers HTTP: recording goes through the event store, where concurrent writers are safe.
  let http: Awaited<ReturnType<typeof buildHttpApp>> | undefined;
  let httpUrl: string | undefined;
  // Every replica keeps its read model current: the REST API answers on every replica, leader or not.
  const projections = createProjectionRunner({
    store,
    target: readModel.target,
    projections: readModelProjections,
    onError: (error, name) => onError(`projection ${name}`, error),
    onProjected: (name, event) => {
      metrics.observeProjectionLag(name, lagSeconds(event));
      changes.publish(name, event);
    },
  });
  let projectionsStarted = false;
  projections
    .start()
    .then(() => {
      projectionsStarted = true;
    })
    .catch((error) => onError('read model projections', error));
  let keyRing: ReloadingKeyRing | undefined;
  if (options.http) {
    try {
      keyRing = await loadKeyRing(
        [
          ...(options.api?.keysFile ? [fileKeySource(options.api.keysFile)] : []),
          ...(options.api?.keysSecret ? [secretKeySource(config, options.api.keysSecret)] : []),
        ],
        { intervalMs: 30_000, onError: (error) => onError('reloading API keys (keeping the previous keys)', error) },
      );
      const devKey = options.api?.devApiKey;
      if (devKey !== undefined) {
        const rule = '!'.repeat(78);
        log(rule);
        log('DEVELOPMENT MODE: the API accepts this admin key; never run like this where others can reach it');
        log(`  development API key: ${devKey}`);
        log(rule);
      } else if (keyRing.current().size === 0) {
        log(
          'warning: no API keys are configured, so the REST API refuses every request (503); create one with `cairn apikey create --role admin --name <you>`',
        );
      } else {
        log(`API keys: ${keyRing.current().size} loaded`);
      }
      const runbooks = customResources(config, 'Runbook', 'runbooks');
      const registrations = customResources(config, 'ClusterRegistration', 'clusterregistrations');
      const notificationQueries = createNotificationQueries(readModel.db);
      const escalationQueries = createEscalationQueries(readModel.db);
      const slaQueries = createSlaQueries(readModel.db);
      const chaosQueries = createChaosQueries(readModel.db, createReadModelQueries(readModel.db));
      const notificationPolicies = customResources(config, 'NotificationPolicy', 'notificationpolicies');
      const ring = keyRing;
      http = await buildHttpApp({
        intake,
        workloads,
        newId,
        now: () => new Date(),
        log,
        metrics,
        securedPlugins: [
          graphqlRoutes({
            queries: createReadModelQueries(readModel.db),
            changes,
            log,
            notifications: { queries: notificationQueries, policies: notificationPolicies },
            escalations: escalationQueries,
            slas: slaQueries,
            chaos: chaosQueries,
          }),
        ],
        publicPlugins: [dashboardPlugin],
        security: { keys: () => ring.current(), ...(devKey !== undefined ? { devKey } : {}) },
        api: {
          queries: createReadModelQueries(readModel.db),
          commands: createApiCommands({ store, now: () => new Date() }),
          runbooks,
          slos: customResources(config, 'ServiceLevelObjective', 'servicelevelobjectives'),
          clusters: async () => {
            const reachable = await runbooks.reachable();
            const local = {
              name: config.getCurrentCluster()?.name ?? 'local',
              source: 'local' as const,
              server: config.getCurrentCluster()?.server ?? null,
              reachable,
            };
            const remote = reachable ? await registrations.list() : [];
            return [
              local,
              ...remote.map((r) => ({
                name: r.metadata.name,
                source: 'registration' as const,
                server: null,
                reachable: null,
                ...(r.spec ? { spec: r.spec } : {}),
                ...(r.status ? { status: r.status } : {}),
              })),
            ];
          },
          ...(isAuditableEventStore(store) ? { audit: store } : {}),
          escalations: {
            queries: escalationQueries,
            incidents: createReadModelQueries(readModel.db),
            commands: createEscalationCommands({ store, now: () => new Date() }),
          },
          slas: { queries: slaQueries, incidents: createReadModelQueries(readModel.db) },
          chaos: { queries: chaosQueries },
          notifications: {
            queries: notificationQueries,
            policies: notificationPolicies,
            sendTest: testNotificationSender({ store, policies: notificationPolicies, now: () => new Date() }),
          },
        },
        readiness: [
          {
            name: 'event-store',
            check: async () => {
              await store.readAll({ maxCount: 1 });
              return { ok: true, detail: 'open' };
            },
          },
          {
            name: 'projections',
            check: async () => {
              const failed = projections.status().filter((p) => p.error !== undefined || !p.live);
              if (!projectionsStarted) return { ok: false, detail: 'catching up with the event log' };
              return failed.length === 0
                ? { ok: true, detail: 'caught up and live' }
                : { ok: false, detail: `not live: ${failed.map((p) => p.name).join(', ')}` };
            },
          },
          {
            name: 'policy',
            // Shown, not deciding: what plans may do, and where Cairn only observes or waits for people.
            advisory: true,
            check: async () => ({
              ok: true,
              detail: options.remediate === false ? 'remediation is off (--no-remediate)' : describePolicy(policy),
            }),
          },
          {
            name: 'reactors',
            // Shown, not deciding: taking the API out of service would stop the webhook and the dashboard and
            // would not help a writer the API server refuses. Alert on cairn_reactor_behind_events instead.
            advisory: true,
            check: () => reactorReadiness(leadingReactors),
          },
          {
            name: 'notifications',
            // Shown, not deciding: a receiver that is down never blocks the pipeline or the other channels.
            advisory: true,
            check: async () => notificationReadiness(notificationQueries.channels()),
          },
          {
            name: 'cluster',
            check: async () =>
              (await runbooks.reachable())
                ? { ok: true, detail: 'API server reachable' }
                : { ok: false, detail: 'API server unreachable' },
          },
          ...(aiServer
            ? [
                {
                  name: 'ai-server',
                  // Issues wait (and say so) while the server is away; the API keeps serving meanwhile.
                  advisory: true,
                  check: async () => {
                    const h = aiServer.health();
                    return {
                      ok: h.state === 'SERVING',
                      detail: `${h.state} at ${h.server} since ${h.since}${h.detail ? `: ${h.detail}` : ''}`,
                    };
                  },
                },
              ]
            : []),
        ],
      });
      httpUrl = await http.listen({ host: options.http.host, port: options.http.port });
      log(`HTTP API on ${httpUrl}`);
    } catch (error) {
      await http?.close();
      keyRing?.stop();
      await projections.stop();
      await metricsFeed.close();
      await store.close();
      throw new Error(`cannot serve HTTP on ${options.http.host}:${options.http.port}`, { cause: error });
    }
  }

  const elector = startLeaderElection(config, {
    namespace: options.namespace,
    name: 'cairn-operator',
    identity,
    ...(options.leaseDurationMs
      ? {
          leaseDurationMs: options.leaseDurationMs,
          renewDeadlineMs: (options.leaseDurationMs * 2) / 3,
          retryPeriodMs: options.leaseDurationMs / 6,
        }
      : {}),
    onStartedLeading: lead,
    onStoppedLeading: follow,
    onError: (error) => onError('leader election', error),
  });

  return {
    isLeader: () => elector.isLeader(),
    approvals,
    ...(httpUrl ? { httpUrl } : {}),
    health: () => (aiServer ? { aiServer: aiServer.health() } : {}),
    stop: async () => {
      await http?.close();
      keyRing?.stop();
      await elector.stop();
      await active?.stop();
      aiServer?.close();
      await projections.stop();
      await metricsFeed.close();
      await approvals.stop();
      await store.close();
      readModel.db.close();
    },
  };
}
