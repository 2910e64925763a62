import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssueCommand } from '../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RemediationCommand } from '../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { approvalRequestName } from '../../projections/approvalRequest.projection.ts';
import { insightName, planName } from '../../projections/kubernetesResources.projection.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../test/support/kube.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { resourceWriterReactor } from '../adapters/kubernetes/resourceWriter.reactor.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { Reactor } from '../application/reactor.ts';
import { issuePipelineReactor } from '../application/remediation/issuePipeline.reactor.ts';
import { approvalRequestWriterReactor } from '../approvals/approvalRequestWriter.reactor.ts';
import { DEPENDS_ON_ANNOTATION } from '../cascade/dependencyGraph.ts';
import { createActionClients } from './action.ts';
import { DisruptionGuard } from './blastRadius.ts';
import { assessPlanBlastRadius, graphDependants } from './planBlastRadius.ts';
import { defaultRemediationPolicy, evaluatePlan, observePlanFacts } from './policy.ts';

/*
 * A plan on a one-replica Deployment behind a Service and a PodDisruptionBudget, made by the real pipeline against
 * the real API server: the plan records its blast radius, and the RemediationPlan, AIInsight and ApprovalRequest
 * objects show it.
 */

let kube: KubeClients;
let namespace: string;

beforeAll(async () => {
  kube = kubeClients();
  namespace = await createNamespace(kube, 'plan-blast');
  const clients = createActionClients(kube.config);
  // One replica, maxUnavailable 1: a rolling restart may take its only pod down before the new one is ready.
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('solo', { replicas: 1 }) });
  const caller: k8s.V1Deployment = deployment('caller', { replicas: 1 });
  caller.metadata = { ...caller.metadata, annotations: { [DEPENDS_ON_ANNOTATION]: 'solo' } };
  await kube.apps.createNamespacedDeployment({ namespace, body: caller });
  await kube.core.createNamespacedService({
    namespace,
    body: { metadata: { name: 'solo' }, spec: { selector: { app: 'solo' }, ports: [{ port: 80 }] } },
  });
  await clients.policy.createNamespacedPodDisruptionBudget({
    namespace,
    body: { metadata: { name: 'solo-pdb' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'solo' } } } },
  });
  await eventually(
    'the ready pod of solo',
    async () => {
      const pods = await podsOf(kube, namespace, 'solo');
      return pods.length === 1 && pods.every(isReady) ? pods : undefined;
    },
    180_000,
  );
  await eventually(
    'the disruption controller to count the budget',
    async () => {
      const pdb = await clients.policy.readNamespacedPodDisruptionBudget({ name: 'solo-pdb', namespace });
      return pdb.status?.currentHealthy === 1 && pdb.status.disruptionsAllowed === 0;
    },
    180_000,
  );
}, 400_000);
afterAll(() => deleteNamespace(kube, namespace));

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 12, 0, s));

interface Written {
  status?: { blastRadius?: Record<string, unknown> };
}

describe('a plan on a one-replica Deployment behind a Service with a PodDisruptionBudget', () => {
  it('records pods, the budget, the Service and the dependants, and the RemediationPlan and AIInsight show them', async () => {
    const store = openEventStore('memory:');
    const solo = { kind: 'Deployment', name: 'solo', namespace };
    const clients = createActionClients(kube.config);
    // People are asked: the restart would break the budget, and one workload depends on solo (limit 0).
    const policy = defaultRemediationPolicy({ disruptionGuard: DisruptionGuard.Approve, maxDependants: 0 });
    const pipeline = issuePipelineReactor({
      store,
      now: () => at(5),
      analyze: async () => ({
        analysis: 'the pod leaks memory; a restart frees it',
        confidence: 0.8,
        recommendations: [],
        suggestedActions: [{ name: 'restart', type: 'RestartDeployment', description: 'restart', params: {} }],
        provider: 'rules',
        model: 'rules-v1',
      }),
      screen: async (actions, target) => {
        const verdict = evaluatePlan(
          actions,
          target,
          policy,
          await observePlanFacts(clients, target, actions, undefined, policy),
        );
        return { allowed: verdict.allowed, refused: verdict.refused };
      },
      blastRadius: assessPlanBlastRadius({ clients, policy, dependantsOf: graphDependants(kube.config) }),
    });
    await createCommandHandler(store, issueDecider)('issue-pb1', {
      type: 'DetectIssue',
      data: {
        issueId: 'pb1',
        workload: solo,
        resource: solo,
        signal: 'oom_kill',
        source: 'watcher',
        anomalyId: 'a1',
        description: 'OOMKilled',
      },
      metadata: { occurredAt: at(0).toISOString(), actor: 'system:test' },
    } as IssueCommand);
    const run = async (reactor: Reactor, from = 0) => {
      let seen = from;
      for (;;) {
        const events = await store.readAll();
        if (seen >= events.length) return;
        for (const event of events.slice(seen)) {
          const prefixes = reactor.filter?.streamPrefixes;
          if (prefixes && !prefixes.some((p) => event.streamId.startsWith(p))) continue;
          if (reactor.filter?.eventTypes && !reactor.filter.eventTypes.includes(event.type)) continue;
          await reactor.handle(event);
        }
        seen = events.length;
      }
    };
    await run(pipeline);

    const created = (await store.readAll()).find((e) => e.type === 'RemediationPlanCreated');
    expect(created?.data).toMatchObject({
      actions: [{ type: 'RestartDeployment' }],
      approval: { required: true },
      blastRadius: {
        actions: [
          {
            type: 'RestartDeployment',
            pods: 1,
            pdbViolations: [{ namespace, name: 'solo-pdb', disruptionsAllowed: 0, podsTaken: 1 }],
            servicesEmptied: [{ namespace, name: 'solo', readyEndpoints: 1 }],
            quotaOverflows: [],
          },
        ],
        dependants: [{ kind: 'Deployment', name: 'caller', namespace }],
      },
    });
    const rule = (created!.data as { approval: { rule?: string } }).approval.rule ?? '';
    expect(rule).toContain(`1 workload(s) depend on Deployment ${namespace}/solo, above the limit of 0`);
    expect(rule).toContain(
      'the plan would violate 1 PodDisruptionBudget(s) and leave 1 Service(s) with no ready endpoint',
    );

    await run(resourceWriterReactor({ store, config: kube.config, namespace }));
    const get = async (plural: string, name: string) =>
      (await kube.custom.getNamespacedCustomObject({
        group: 'aiops.cairn.dev',
        version: 'v1alpha1',
        namespace,
        plural,
        name,
      })) as Written;
    const plan = await get('remediationplans', planName('pb1', solo, 1));
    expect(plan.status?.blastRadius).toEqual({
      summary: '1 pod affected, 1 PodDisruptionBudget violated, 1 Service emptied, 0 quotas exceeded, 1 dependant',
      pods: 1,
      pdbViolations: 1,
      servicesEmptied: 1,
      quotaOverflows: 0,
      dependants: 1,
      actions: [
        {
          actionId: '1-restartdeployment',
          type: 'RestartDeployment',
          pods: 1,
          pdbViolations: [`${namespace}/solo-pdb: takes 1 healthy pod(s), allows 0`],
          servicesEmptied: [`${namespace}/solo: all 1 ready endpoint(s) gone`],
        },
      ],
      dependantRefs: [{ kind: 'Deployment', name: 'caller', namespace }],
    });
    const insight = await get('aiinsights', insightName('pb1', solo, 1));
    expect(insight.status?.blastRadius).toEqual({
      planRef: { name: planName('pb1', solo, 1) },
      summary: '1 pod affected, 1 PodDisruptionBudget violated, 1 Service emptied, 0 quotas exceeded, 1 dependant',
      pods: 1,
      pdbViolations: 1,
      servicesEmptied: 1,
      quotaOverflows: 0,
      dependants: 1,
    });

    // The executor asks people; the ApprovalRequest they decide on says the same numbers.
    await createCommandHandler(store, remediationDecider)(
      `remediation-${(created!.data as { remediationId: string }).remediationId}`,
      {
        type: 'RequestApproval',
        data: { requestId: 'pb1-approval' },
        metadata: { occurredAt: at(6).toISOString(), actor: 'system:executor' },
      } as RemediationCommand,
    );
    await run(approvalRequestWriterReactor({ store, config: kube.config, namespace }));
    const request = (await kube.custom.getNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'approvalrequests',
      name: approvalRequestName('pb1', solo, 1),
    })) as { spec: { blastRadius: { description: string } } };
    expect(request.spec.blastRadius.description).toBe(
      `1 action(s) on Deployment ${namespace}/solo; 1 pod affected, 1 PodDisruptionBudget violated, 1 Service emptied, 0 quotas exceeded, 1 dependant; ` +
        `RestartDeployment violates PodDisruptionBudget ${namespace}/solo-pdb: takes 1 healthy pod(s), allows 0; ` +
        `RestartDeployment empties Service ${namespace}/solo: all 1 ready endpoint(s) gone; ` +
        `dependants: Deployment ${namespace}/caller`,
    );
  }, 240_000);
});
