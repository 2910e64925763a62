import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { CASCADE_WINDOW_MINUTES } from '../../../domain/correlation/cascade.policy.ts';
import { type DisruptionGuard, parseDisruptionGuard } from '../../actions/blastRadius.ts';
import { EnvelopeDefaults } from '../../actions/envelope.ts';
import {
  type DefaultApproval,
  defaultRemediationPolicy,
  PolicyDefaults,
  type RemediationMode,
  SystemNamespaces,
} from '../../actions/policy.ts';
import type { SloGuard } from '../../actions/sloGuard.ts';
import { DEFAULT_EVENT_STORE_URL } from '../../adapters/eventstore/eventStore.factory.ts';
import { DefaultThresholds, type DetectionThresholds } from '../../adapters/kubernetes/detection/detectors.ts';
import { DEFAULT_ENV_ALLOWLIST, isEnvAllowlistEntry } from '../../analysis/redaction.ts';
import { DefaultUnconfirmedSources } from '../../application/remediation/issuePipeline.reactor.ts';
import { parseDuration, RetentionDefaults } from '../../audit/auditEvent.projection.ts';
import { parseCascadeWindow, parseRecoveryGrace, RECOVERY_GRACE_SECONDS } from '../../cascade/cascadeCorrelator.ts';
import { startOperator } from '../../operator.ts';
import {
  checkPolicyConsistency,
  parseActionList,
  parseCount,
  parseDefaultApproval,
  parseNamespaceList,
  parseNamespaceModes,
  parseRemediationMode,
  parseReplicaShare,
  parseSloGuard,
} from '../../policy/policyConfig.ts';
import { addProviderOptions, type ProviderFlags, providerConfigFromFlags } from '../providerOptions.ts';
import { defaultKeyFile } from './apikey.command.ts';

const parseThreshold = (pair: string, previous: Partial<DetectionThresholds> = {}): Partial<DetectionThresholds> => {
  const [name, raw] = pair.split('=');
  if (!name || !(name in DefaultThresholds) || raw === undefined || !/^\d+$/.test(raw)) {
    throw new Error(
      `--threshold takes name=<whole number> with name one of ${Object.keys(DefaultThresholds).join(', ')}`,
    );
  }
  return { ...previous, [name]: Number(raw) };
};

const collectNamespace = (name: string, previous: string[] = []): string[] => {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
    throw new Error(`--watch-namespace takes a namespace name, not "${name}"`);
  return [...previous, name];
};

const doubtableSources = ['manual', 'prometheus', 'grpc', 'kafka'] as const;
type DoubtableSource = (typeof doubtableSources)[number];

export const parseUnconfirmedSources = (value: string): DoubtableSource[] => {
  if (value.trim() === 'none') return [];
  const sources = value.split(',').map((s) => s.trim());
  for (const source of sources) {
    if (source === 'watcher') {
      throw new Error(
        '--approve-unconfirmed: watcher is what confirms a signal; it cannot be one that needs confirming',
      );
    }
    if (!(doubtableSources as readonly string[]).includes(source)) {
      throw new Error(
        `--approve-unconfirmed takes none or sources from ${doubtableSources.join(', ')}, not "${source}"`,
      );
    }
  }
  return [...new Set(sources as DoubtableSource[])];
};

const parseSeconds = (flag: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new Error(`${flag} takes a whole number of seconds, not "${value}"`);
  return Number(value);
};

const parseAddress = (value: string): string => {
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value))
    throw new Error(`--ai-server takes host:port, not "${value}"`);
  return value;
};

const parsePositive = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 1) throw new Error(`${flag} takes a number of at least 1, not "${value}"`);
  return n;
};

/** A comma-separated list of env names (`*` wildcards); empty allows no value at all. */
const parseEnvAllowlist = (value: string): string[] => {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  const bad = names.find((name) => !isEnvAllowlistEntry(name));
  if (bad !== undefined)
    throw new Error(`--env-allowlist takes env names such as LOG_LEVEL or FEATURE_*, not "${bad}"`);
  return names;
};

const parsePort = (value: string): number => {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new Error('--http-port takes a port number (0 disables HTTP)');
  return port;
};

/** Development mode is asked for by the flag or CAIRN_DEV_MODE=1, never implied. */
const devKey = (flag: string | boolean | undefined): { devApiKey?: string } => {
  if (typeof flag === 'string') return { devApiKey: flag };
  if (flag === true || process.env.CAIRN_DEV_MODE === '1' || process.env.CAIRN_DEV_MODE === 'true') {
    return { devApiKey: `cairn_dev_${randomBytes(24).toString('base64url')}` };
  }
  return {};
};

export function registerOperatorCommand(program: Command): void {
  addProviderOptions(program.command('operator'))
    .description('watch the cluster and turn faults into Anomalies and Issues (leader-elected)')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--store <url>', 'event store: sqlite:<path>, memory: or esdb://…', DEFAULT_EVENT_STORE_URL)
    .option('--namespace <name>', "the operator's namespace: its lease and cluster-scoped resources", 'cairn-system')
    .option(
      '--watch-namespace <name>',
      'watch only this namespace, repeatable (Nodes are always watched; default: every namespace)',
      collectNamespace,
    )
    .option(
      '--detect-tls-secrets',
      'watch TLS Secrets so an Ingress naming a missing certificate is reported (needs list/watch on Secrets)',
    )
    .option(
      '--chaos',
      'run ChaosExperiments: inject their faults and take them back (needs write access to the targets; off by default)',
    )
    .option('--identity <id>', 'name of this replica in the lease (default: host and pid)')
    .option(
      '--threshold <name=value>',
      `detection threshold, repeatable (${Object.entries(DefaultThresholds)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')})`,
      parseThreshold,
    )
    .option('--lease-duration <ms>', 'leader lease duration in milliseconds', (v) => Number.parseInt(v, 10), 15_000)
    .option(
      '--http-port <port>',
      'HTTP API port: Alertmanager webhook, anomalies, /healthz (0 disables)',
      parsePort,
      8090,
    )
    .option('--http-host <address>', 'address the HTTP API listens on', '127.0.0.1')
    .option('--api-keys <file>', 'API key file (default: api-keys.json beside the sqlite store); see `cairn apikey`')
    .option('--api-keys-secret <namespace/name>', "also read API keys from this Secret's api-keys.json")
    .option(
      '--dev-api-key [key]',
      'DEVELOPMENT ONLY: accept one admin key (generated and printed when not given); also CAIRN_DEV_MODE=1',
    )
    .option(
      '--ai-server <host:port>',
      'analyse through a `cairn server` instead of in process, and poll its alerts',
      parseAddress,
    )
    .option('--ai-server-token-file <file>', 'bearer token for --ai-server, read again before each call')
    .option('--ai-server-ca <file>', 'PEM CA bundle: talk TLS to --ai-server and trust this CA')
    .option(
      '--ai-server-deadline <seconds>',
      'deadline of each analysis call',
      parseSeconds('--ai-server-deadline'),
      60,
    )
    .option(
      '--ai-server-poll <seconds>',
      "how often the server's alerts are fetched (0: never)",
      parseSeconds('--ai-server-poll'),
      30,
    )
    .option('--no-remediate', 'detect and correlate only: no analysis, no remediation')
    .option('--no-log-analysis', "analyse Issues without reading the workload's container logs")
    .option(
      '--source-repository-cache <dir>',
      'where SourceRepositories are mirrored (bare git clones); default: source-repositories/ beside a sqlite store, else ./cairn-data/source-repositories',
    )
    .option(
      '--env-allowlist <names>',
      `env names whose values the analysis may see, comma-separated, * as wildcard (replaces the default: ${DEFAULT_ENV_ALLOWLIST.join(',')})`,
      parseEnvAllowlist,
    )
    .option(
      '--verification-timeout <seconds>',
      'how long a workload has to become healthy after a remediation',
      (v) => Number.parseInt(v, 10),
      90,
    )
    .option(
      '--prometheus-url <url>',
      'Prometheus to read workload metrics from during analysis and to evaluate ServiceLevelObjectives (http[s]://…)',
    )
    .option(
      '--envelope-factor <n>',
      "new resource values, PVC sizes, HPA maximums and Job parallelism stay within this factor of today's",
      parsePositive('--envelope-factor'),
      EnvelopeDefaults.factor,
    )
    .option(
      '--replica-ceiling <n>',
      'replicas a scale may set when no HorizontalPodAutoscaler bounds the workload',
      parsePositive('--replica-ceiling'),
      EnvelopeDefaults.replicaCeiling,
    )
    .option(
      '--autonomous-node-actions',
      'let an Issue on a Node cordon or drain that Node without approval (never for an Issue of a namespace)',
    )
    .option(
      '--approve-unconfirmed <sources>',
      `remediate only with approval an Issue whose every signal came from these sources and none from Cairn's own watchers (comma-separated; none: act on any source alone)`,
      parseUnconfirmedSources,
      [...DefaultUnconfirmedSources],
    )
    .option(
      '--protected-namespace <names>',
      `namespaces Cairn never acts in, comma-separated or repeated (added to ${SystemNamespaces.join(', ')})`,
      parseNamespaceList('--protected-namespace'),
    )
    .option(
      '--allow-action <types>',
      'the only action types plans may use, comma-separated or repeated (default: every built-in action but Custom)',
      parseActionList('--allow-action'),
    )
    .option(
      '--deny-action <types>',
      'action types refused whatever the allowlist says, comma-separated or repeated',
      parseActionList('--deny-action'),
    )
    .option(
      '--max-pods-affected <n>',
      'pods one action may delete, evict, restart or scale away',
      parseCount('--max-pods-affected', 0),
      PolicyDefaults.maxPodsAffected,
    )
    .option(
      '--max-replica-share <share>',
      "share of a workload's replicas one action may take down: 0.5 or 50% (1: no bound beyond --max-pods-affected)",
      parseReplicaShare,
      PolicyDefaults.maxReplicaShare,
    )
    .option(
      '--max-destructive-per-plan <n>',
      'destructive actions (pods deleted, values overwritten) one plan may hold',
      parseCount('--max-destructive-per-plan', 0),
      PolicyDefaults.maxDestructivePerPlan,
    )
    .option(
      '--remediation-mode <mode>',
      'observe (detect and analyse, never act), approve (every plan waits for people) or auto, where --namespace-mode says nothing',
      parseRemediationMode,
      PolicyDefaults.mode,
    )
    .option(
      '--namespace-mode <namespace=mode,...>',
      'the remediation mode of these namespaces, e.g. prod=approve,dev=auto (repeatable)',
      parseNamespaceModes,
    )
    .option(
      '--default-approval <auto|single>',
      'what a plan no approval rule matches needs: nothing (auto) or one person (single); a matching rule decides instead',
      parseDefaultApproval,
      PolicyDefaults.defaultApproval,
    )
    .option(
      '--slo-guard <off|approve|refuse>',
      'destructive actions on a workload whose SLO has no error budget left or a page-urgency burn firing: run as usual (off), wait for one person (approve) or are refused (refuse)',
      parseSloGuard,
      PolicyDefaults.sloGuard,
    )
    .option(
      '--disruption-guard <refuse|approve|off>',
      'an action that would take down more pods than a PodDisruptionBudget allows or leave a Service with no ready endpoint: refused (refuse; in approve mode it runs only once approved), or its plan waits for one person (approve); one that would exceed a ResourceQuota is refused with either; off: nothing is assessed',
      parseDisruptionGuard,
      PolicyDefaults.disruptionGuard,
    )
    .option(
      '--max-dependants <n>',
      "workloads that may depend on a plan's target (the dependency graph) before the plan waits for one person",
      parseCount('--max-dependants', 0),
      PolicyDefaults.maxDependants,
    )
    .option(
      '--cascade-window <minutes|off>',
      'Issues on connected workloads detected within this many minutes form one cascade whose root is remediated first (1 to 1440); 0 or off turns cascade correlation off',
      parseCascadeWindow,
      CASCADE_WINDOW_MINUTES,
    )
    .option(
      '--cascade-recovery-grace <seconds>',
      "seconds after a cascade's root is resolved before each dependant's workload is checked: healthy, it resolves with its root; still failing, its own plan starts",
      parseRecoveryGrace,
      RECOVERY_GRACE_SECONDS,
    )
    .option(
      '--audit-event-limit <n>',
      `AuditEvent objects kept in the operator's namespace, oldest deleted first (0: write none; the event store keeps the whole trail)`,
      parseCount('--audit-event-limit', 0),
      RetentionDefaults.maxCount,
    )
    .option(
      '--audit-event-max-age <duration>',
      'AuditEvent objects older than this are deleted: 30d, 12h, 90m or 3600s',
      (v) => parseDuration('--audit-event-max-age', v),
      RetentionDefaults.maxAgeSeconds,
    )
    .option('--no-agentic', 'escalate instead of starting an agentic loop when no usable action was proposed')
    .option('--agentic-max-steps <n>', 'steps an agentic loop may take', (v) => Number.parseInt(v, 10), 10)
    .option(
      '--agentic-time-limit <seconds>',
      'wall-clock budget of an agentic loop',
      (v) => Number.parseInt(v, 10),
      600,
    )
    .action(
      async (
        opts: ProviderFlags & {
          kubeconfig?: string;
          store: string;
          namespace: string;
          watchNamespace?: string[];
          detectTlsSecrets?: boolean;
          chaos?: boolean;
          identity?: string;
          threshold?: Partial<DetectionThresholds>;
          leaseDuration: number;
          httpPort: number;
          httpHost: string;
          apiKeys?: string;
          apiKeysSecret?: string;
          devApiKey?: string | boolean;
          remediate: boolean;
          logAnalysis: boolean;
          sourceRepositoryCache?: string;
          envAllowlist?: string[];
          verificationTimeout: number;
          aiServer?: string;
          aiServerTokenFile?: string;
          aiServerCa?: string;
          aiServerDeadline: number;
          aiServerPoll: number;
          prometheusUrl?: string;
          envelopeFactor: number;
          replicaCeiling: number;
          autonomousNodeActions?: boolean;
          approveUnconfirmed: DoubtableSource[];
          protectedNamespace?: string[];
          allowAction?: string[];
          denyAction?: string[];
          maxPodsAffected: number;
          maxReplicaShare: number;
          maxDestructivePerPlan: number;
          remediationMode: RemediationMode;
          namespaceMode?: Record<string, RemediationMode>;
          defaultApproval: DefaultApproval;
          sloGuard: SloGuard;
          disruptionGuard: DisruptionGuard;
          maxDependants: number;
          cascadeWindow: number;
          cascadeRecoveryGrace: number;
          auditEventLimit: number;
          auditEventMaxAge: number;
          agentic: boolean;
          agenticMaxSteps: number;
          agenticTimeLimit: number;
        },
      ) => {
        for (const [flag, value] of [
          ['--agentic-max-steps', opts.agenticMaxSteps],
          ['--agentic-time-limit', opts.agenticTimeLimit],
        ] as const) {
          if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer`);
        }
        const policy = {
          envelope: { factor: opts.envelopeFactor, replicaCeiling: opts.replicaCeiling },
          autonomousNodeActions: opts.autonomousNodeActions === true,
          ...(opts.protectedNamespace ? { extraProtectedNamespaces: opts.protectedNamespace } : {}),
          ...(opts.allowAction ? { allowedActions: opts.allowAction } : {}),
          ...(opts.denyAction ? { deniedActions: opts.denyAction } : {}),
          maxPodsAffected: opts.maxPodsAffected,
          maxReplicaShare: opts.maxReplicaShare,
          maxDestructivePerPlan: opts.maxDestructivePerPlan,
          mode: opts.remediationMode,
          namespaceModes: opts.namespaceMode ?? {},
          defaultApproval: opts.defaultApproval,
          sloGuard: opts.sloGuard,
          disruptionGuard: opts.disruptionGuard,
          maxDependants: opts.maxDependants,
        };
        checkPolicyConsistency(defaultRemediationPolicy(policy), {
          ...(opts.allowAction ? { allowedActions: opts.allowAction } : {}),
        });
        const operator = await startOperator({
          store: opts.store,
          namespace: opts.namespace,
          leaseDurationMs: opts.leaseDuration,
          remediate: opts.remediate,
          logAnalysis: opts.logAnalysis,
          ...(opts.envAllowlist ? { envAllowlist: opts.envAllowlist } : {}),
          verificationTimeoutSeconds: opts.verificationTimeout,
          policy,
          cascade: { windowMinutes: opts.cascadeWindow, recoveryGraceSeconds: opts.cascadeRecoveryGrace },
          auditEvents:
            opts.auditEventLimit === 0
              ? false
              : { maxCount: opts.auditEventLimit, maxAgeSeconds: opts.auditEventMaxAge },
          unconfirmedSourcesNeedApproval: opts.approveUnconfirmed,
          providers: providerConfigFromFlags(opts),
          agentic: opts.agentic ? { maxSteps: opts.agenticMaxSteps, timeLimitSeconds: opts.agenticTimeLimit } : false,
          ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
          ...(opts.aiServer
            ? {
                aiServer: {
                  address: opts.aiServer,
                  deadlineSeconds: opts.aiServerDeadline,
                  alertPollSeconds: opts.aiServerPoll,
                  ...(opts.aiServerTokenFile ? { tokenFile: opts.aiServerTokenFile } : {}),
                  ...(opts.aiServerCa ? { caFile: opts.aiServerCa } : {}),
                },
              }
            : {}),
          ...(opts.identity ? { identity: opts.identity } : {}),
          ...(opts.watchNamespace ? { watchNamespaces: opts.watchNamespace } : {}),
          ...(opts.detectTlsSecrets ? { detectTlsSecrets: true } : {}),
          ...(opts.chaos ? { chaos: true } : {}),
          ...(opts.sourceRepositoryCache ? { sourceRepositoryCache: opts.sourceRepositoryCache } : {}),
          ...(opts.threshold ? { thresholds: opts.threshold } : {}),
          ...(opts.httpPort > 0 ? { http: { host: opts.httpHost, port: opts.httpPort } } : {}),
          ...(opts.prometheusUrl ? { prometheusUrl: opts.prometheusUrl } : {}),
          api: {
            keysFile: opts.apiKeys ?? defaultKeyFile(opts.store),
            ...(opts.apiKeysSecret ? { keysSecret: opts.apiKeysSecret } : {}),
            ...devKey(opts.devApiKey),
          },
          log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
        });
        await new Promise<void>((resolve) => {
          for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
        });
        await operator.stop();
      },
    );
}
