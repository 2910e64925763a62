import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssueCommand } from '../../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../../domain/issue/issue.decider.ts';
import type { RemediationCommand } from '../../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../../domain/remediation/remediation.decider.ts';
import { insightName, planName } from '../../../projections/kubernetesResources.projection.ts';
import { createNamespace, deleteNamespace, type KubeClients, kubeClients } from '../../../test/support/kube.ts';
import { createCommandHandler } from '../../application/commandHandler.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { resourceWriterReactor } from './resourceWriter.reactor.ts';

interface Written {
  metadata: { resourceVersion: string };
  status?: { refusedProposals?: unknown[]; refusals?: unknown[] };
}

let clients: KubeClients;
let namespace: string;
beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'refusals');
});
afterAll(() => deleteNamespace(clients, namespace));

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe('refusals in the custom resources, on a real API server', () => {
  it('keeps every field of AIInsight status.refusedProposals and RemediationPlan status.refusals', async () => {
    const store = openEventStore('memory:');
    const web = { kind: 'Deployment', name: 'web', namespace };
    const issue = (s: number, command: Omit<IssueCommand, 'metadata'>) =>
      createCommandHandler(store, issueDecider)('issue-r1', {
        ...command,
        metadata: { occurredAt: at(s), actor: 'system:test' },
      } as IssueCommand);
    const plan = (s: number, command: Omit<RemediationCommand, 'metadata'>) =>
      createCommandHandler(store, remediationDecider)('remediation-r1-plan', {
        ...command,
        metadata: { occurredAt: at(s), actor: 'system:test' },
      } as RemediationCommand);
    const memory = { container: 'app', memory_limit: '4Ti' };
    await issue(0, {
      type: 'DetectIssue',
      data: {
        issueId: 'r1',
        workload: web,
        resource: web,
        signal: 'oom_kill',
        source: 'watcher',
        anomalyId: 'a1',
        description: 'OOMKilled',
      },
    });
    await issue(1, { type: 'RequestAnalysis', data: { insightId: 'r1-insight-1' } });
    await issue(2, {
      type: 'CompleteAnalysis',
      data: {
        insightId: 'r1-insight-1',
        analysis: 'memory too low',
        confidence: 0.6,
        recommendations: [],
        suggestedActions: [{ name: 'raise', type: 'AdjustResources', description: '', params: memory }],
        provider: 'openai',
        model: 'm',
        refusedProposals: [
          {
            refusalId: 'r1-insight-1/answer/1',
            action: { type: 'DeleteNamespace', params: { namespace } },
            code: 'parser.unknown_action_type',
            reason: 'unknown action type: DeleteNamespace',
          },
        ],
      },
    });
    await issue(3, { type: 'StartRemediation', data: { remediationId: 'r1-plan', source: 'agentic' } });
    await plan(4, {
      type: 'CreateRemediationPlan',
      data: {
        remediationId: 'r1-plan',
        issueId: 'r1',
        attempt: 1,
        source: 'agentic',
        target: web,
        actions: [],
        agentic: { maxSteps: 5, timeLimitSeconds: 600 },
      },
    });
    await plan(5, { type: 'StartSnapshot', data: { snapshotId: 's1' } });
    await plan(6, { type: 'RecordSnapshot', data: { snapshotId: 's1', captured: {} } });
    await plan(7, {
      type: 'DecideAgenticStep',
      data: {
        step: 1,
        reasoning: 'raise memory',
        resolved: false,
        action: { actionId: 'step-1-adjustresources', type: 'AdjustResources', params: memory },
      },
    });
    await plan(8, {
      type: 'RefuseAction',
      data: {
        actionId: 'step-1-adjustresources',
        policy: 'envelope.memory_above_factor',
        reason: '4Ti is above 4× 256Mi',
      },
    });
    await issue(9, {
      type: 'RecordProposalRefusals',
      data: {
        remediationId: 'r1-plan',
        refusals: [
          {
            refusalId: 'r1-plan/step-1-adjustresources',
            action: { type: 'AdjustResources', params: memory },
            code: 'envelope.memory_above_factor',
            reason: '4Ti is above 4× 256Mi',
            step: 1,
          },
        ],
      },
    });

    const events = await store.readAll();
    const replay = async () => {
      const reactor = resourceWriterReactor({ store, config: clients.config, namespace });
      for (const event of events) {
        if (reactor.filter.streamPrefixes?.some((p) => event.streamId.startsWith(p))) await reactor.handle(event);
      }
    };
    await replay();
    const get = async (plural: string, name: string) =>
      (await clients.custom.getNamespacedCustomObject({
        group: 'aiops.cairn.dev',
        version: 'v1alpha1',
        namespace,
        plural,
        name,
      })) as Written;

    const insight = await get('aiinsights', insightName('r1', web, 1));
    expect(insight.status?.refusedProposals).toEqual([
      {
        stage: 'parser',
        action: 'DeleteNamespace',
        params: { namespace },
        code: 'parser.unknown_action_type',
        reason: 'unknown action type: DeleteNamespace',
        at: at(2),
      },
      {
        stage: 'envelope',
        action: 'AdjustResources',
        params: memory,
        code: 'envelope.memory_above_factor',
        reason: '4Ti is above 4× 256Mi',
        remediation: 'r1-plan',
        step: 1,
        at: at(9),
      },
    ]);
    const written = await get('remediationplans', planName('r1', web, 1));
    expect(written.status?.refusals).toEqual([
      {
        stage: 'envelope',
        action: 'AdjustResources',
        params: memory,
        code: 'envelope.memory_above_factor',
        reason: '4Ti is above 4× 256Mi',
        step: 1,
        at: at(8),
      },
    ]);

    // Written again from the same events, nothing changes.
    await replay();
    expect((await get('aiinsights', insightName('r1', web, 1))).metadata.resourceVersion).toBe(
      insight.metadata.resourceVersion,
    );
    expect((await get('remediationplans', planName('r1', web, 1))).metadata.resourceVersion).toBe(
      written.metadata.resourceVersion,
    );
  });
});
