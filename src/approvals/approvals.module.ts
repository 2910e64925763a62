import * as k8s from '@kubernetes/client-node';
import { type ApprovalOutcome, decideApproval } from '../../domain/approval/approvalPolicy.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { findAction } from '../actions/registry.ts';
import { type ReactorCheckpoints, runReactor } from '../application/reactor.ts';
import type { ApprovalRequirement, PlanCandidate } from '../application/remediation/issuePipeline.reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type ApprovalPolicies, startApprovalPolicies } from './approvalPolicies.informer.ts';
import { approvalRequestWriterReactor } from './approvalRequestWriter.reactor.ts';
import { type ChangeWindowSweeper, startChangeWindowSweeper } from './changeWindowSweeper.ts';

export interface ApprovalsOptions {
  readonly config: k8s.KubeConfig;
  readonly store: EventStore;
  readonly checkpoints: ReactorCheckpoints;
  /** Cairn's own namespace: policies there cover every namespace. */
  readonly namespace: string;
  readonly now?: () => Date;
  /** How often due change windows are opened; 1 s by default. */
  readonly tickMs?: number;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface RunningApprovals {
  readonly policies: ApprovalPolicies;
  readonly windows: ChangeWindowSweeper;
  stop(): Promise<void>;
}

/**
 * What the ApprovalPolicies add to what the plan already needs (operator policy, configured rules): the stricter of
 * the two, a denial, and the change window to wait for; `fallback` (the default approval) when no rule matched. Pure.
 */
export function combineRequirement(
  base: ApprovalRequirement | undefined,
  outcome: ApprovalOutcome,
  fallback?: ApprovalRequirement,
): ApprovalRequirement {
  // The operator's default approval fills the gap no ApprovalPolicy rule covers; a matching rule replaces it.
  const unmatched = outcome.mode === 'auto' && outcome.matched === undefined;
  const start: ApprovalRequirement = (unmatched ? fallback : undefined) ?? base ?? { required: false };
  if (outcome.mode === 'deny') return { ...start, deny: `ApprovalPolicy ${outcome.matched.policy}: ${outcome.why}` };
  const window = outcome.waitUntil
    ? {
        changeWindow: {
          opensAt: outcome.waitUntil.opensAt,
          reason: `ApprovalPolicy ${outcome.waitUntil.policy}: ${outcome.waitUntil.why}`,
        },
      }
    : {};
  if (outcome.mode === 'auto') return { ...start, ...window };
  const rule = outcome.why ?? `rule ${outcome.matched.rule} of ApprovalPolicy ${outcome.matched.policy}`;
  const fromPolicy: ApprovalRequirement = {
    required: true,
    requiredApprovals: outcome.requiredApprovers,
    timeoutSeconds: outcome.expirySeconds,
    groups: outcome.groups,
    policy: outcome.matched.policy,
    rule,
  };
  if (!start.required) return { ...fromPolicy, ...window };
  // Both ask for people: as many approvers as the stricter asks, within the shorter expiry, from the policy's groups.
  return {
    ...fromPolicy,
    requiredApprovals: Math.max(start.requiredApprovals ?? 1, outcome.requiredApprovers),
    timeoutSeconds: Math.min(start.timeoutSeconds ?? outcome.expirySeconds, outcome.expirySeconds),
    rule: `${rule}; ${start.rule ?? 'policy'}`,
    ...window,
  };
}

const apiVersionOf = (kind: string) =>
  ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(kind)
    ? 'apps/v1'
    : ['Job', 'CronJob'].includes(kind)
      ? 'batch/v1'
      : 'v1';

/**
 * Approvals, wired as one capability: the ApprovalPolicy informer, the judgement of each plan against the policies,
 * the sweeper that starts plans when their change window opens, and the writer of ApprovalRequest objects. Built on
 * every replica (so the pipeline can ask), started by the leader.
 */
export function createApprovals(options: ApprovalsOptions) {
  const now = options.now ?? (() => new Date());
  const objects = k8s.KubernetesObjectApi.makeApiClient(options.config);
  let running: RunningApprovals | undefined;

  const labelsOf = async (workload: ResourceRef): Promise<Record<string, string>> => {
    try {
      const object = await objects.read({
        apiVersion: apiVersionOf(workload.kind),
        kind: workload.kind,
        metadata: { name: workload.name, ...(workload.namespace ? { namespace: workload.namespace } : {}) },
      });
      return object.metadata?.labels ?? {};
    } catch (error) {
      if ((error as { code?: number }).code === 404) return {};
      throw error;
    }
  };

  return {
    /** The requirement of a plan once the ApprovalPolicies have had their say; `base` is what it needed already. */
    /** `fallback` is what the plan needs when no ApprovalPolicy rule matches it (the operator's default approval). */
    async requirementFor(
      plan: PlanCandidate,
      base: ApprovalRequirement | undefined,
      fallback?: ApprovalRequirement,
    ): Promise<ApprovalRequirement> {
      const policies = running ? await running.policies.current() : [];
      const workload = plan.issue.workload;
      if (policies.length === 0 || workload === null || workload === undefined) {
        return fallback ?? base ?? { required: false };
      }
      const outcome = decideApproval(
        policies,
        {
          namespace: workload.namespace ?? '',
          labels: await labelsOf(workload),
          severity: plan.issue.severity,
          riskScore: plan.issue.riskScore,
          actionTypes: plan.actions.map((a) => a.type),
          destructive: plan.actions.some((a) => findAction(a.type)?.destructive === true),
          agentic: plan.source === 'agentic',
        },
        plan.at ?? now().toISOString(),
      );
      return combineRequirement(base, outcome, fallback);
    },

    /** Leader only: informer, window sweeper, ApprovalRequest writer. */
    start(): RunningApprovals {
      const onError = options.onError ?? (() => {});
      const policies = startApprovalPolicies({
        config: options.config,
        operatorNamespace: options.namespace,
        now,
        onError,
        ...(options.log ? { log: options.log } : {}),
      });
      const windows = startChangeWindowSweeper({
        store: options.store,
        now,
        ...(options.tickMs ? { tickMs: options.tickMs } : {}),
        onError,
        ...(options.log ? { log: (line: string) => options.log?.(`approvals: ${line}`) } : {}),
      });
      const writer = runReactor(
        options.store,
        options.checkpoints,
        approvalRequestWriterReactor({ store: options.store, config: options.config, namespace: options.namespace }),
        {
          onError: (error, event, willRetry) =>
            onError(
              `approval request writer on ${event.type} at ${event.position}${willRetry ? ' (will retry)' : ''}`,
              error,
            ),
        },
      );
      writer.done.catch((error) => onError('approval request writer stopped', error));
      const started: RunningApprovals = {
        policies,
        windows,
        stop: async () => {
          if (running === started) running = undefined;
          await writer.close();
          await windows.stop();
          await policies.stop();
        },
      };
      running = started;
      return started;
    },
  };
}

export type Approvals = ReturnType<typeof createApprovals>;
