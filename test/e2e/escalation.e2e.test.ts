import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { issueName } from '../../projections/kubernetesResources.projection.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../support/kube.ts';
import { startVendorReceiver, type VendorReceiver } from '../support/notificationReceivers.ts';

/**
 * An EscalationPolicy on the real control plane: three levels paging through a NotificationPolicy's channels (each
 * level its own PagerDuty service, told apart by routing key), 3 s on level 1 and 15 s on level 2. Remediation waits
 * for an approval, so the Issue stays open while the levels advance and Cairn resolves it once the test approves.
 */
const key = (name: string) => name.toUpperCase().padEnd(32, '0');
const KEYS = { primary: key('primary'), secondary: key('secondary'), managers: key('managers') };
const DEV_KEY = 'escalation-e2e-development-key-0123456789';
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';

let clients: KubeClients;
let cluster: LocalCluster;
let operator: RunningOperator;
let namespace: string;
let slack: VendorReceiver;
let pagerDuty: VendorReceiver;

interface PagerDutyEvent {
  routing_key: string;
  event_action: string;
  dedup_key: string;
}
const pages = () => pagerDuty.received.map((r) => r.body as PagerDutyEvent);
const pagesTo = (routingKey: string) => pages().filter((p) => p.routing_key === routingKey);
const actionsTo = (routingKey: string) => pagesTo(routingKey).map((p) => p.event_action);
const slackTexts = () => slack.received.map((r) => JSON.stringify(r.body));
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${operator.httpUrl}${path}`, {
    ...init,
    headers: { 'x-api-key': DEV_KEY, 'content-type': 'application/json' },
  });

const escalationStatus = async () =>
  (
    (await clients.custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'escalationpolicies',
      name: 'platform',
    })) as {
      status?: {
        activeGeneration?: number;
        totalEscalations?: number;
        active?: { issueId: string; level: number; levelName: string; state: string; nextDeadline?: string }[];
        conditions?: { type: string; status: string; reason: string; message: string }[];
      };
    }
  ).status;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  [slack, pagerDuty] = await Promise.all([startVendorReceiver('slack'), startVendorReceiver('pagerduty')]);
  namespace = await createNamespace(clients, 'escalate');
  await clients.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'slack-webhook' }, stringData: { url: `${slack.url}/services/T0/B0/SECRETPATH` } },
  });
  for (const [name, routingKey] of Object.entries(KEYS)) {
    await clients.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: `pagerduty-${name}` }, stringData: { routingKey } },
    });
  }
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-escalate-')), 'events.db')}`,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 20,
    maxAttempts: 1,
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
    // Every plan waits for a person: the Issue stays open until the test approves.
    approvalRules: [{ name: 'people-decide', mode: 'manual' }],
    http: { host: '127.0.0.1', port: 0 },
    api: { devApiKey: DEV_KEY },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[escalate] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
  await Promise.all([slack?.close(), pagerDuty?.close()]);
});

describe('escalation on a real cluster', () => {
  it('pages level 1, then level 2 when nobody acknowledges; an acknowledgement stops it; the resolution reaches every level paged', async () => {
    const pager = (name: keyof typeof KEYS) => ({
      name: `pager-${name}`,
      type: 'pagerduty',
      url: `${pagerDuty.url}/v2/enqueue`,
      secretRef: { name: `pagerduty-${name}`, key: 'routingKey' },
    });
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'notificationpolicies',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'NotificationPolicy',
        metadata: { name: 'on-call' },
        spec: {
          channels: [
            { name: 'chat', type: 'slack', secretRef: { name: 'slack-webhook', key: 'url' } },
            pager('primary'),
            pager('secondary'),
            pager('managers'),
          ],
          // Its own rules hear of nothing here: every message of this test comes from the escalation.
          rules: [{ name: 'elsewhere', match: { namespaces: ['nowhere'] }, channels: ['chat'] }],
        },
      },
    });
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'escalationpolicies',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'EscalationPolicy',
        metadata: { name: 'platform' },
        spec: {
          default: true,
          namespaces: [namespace],
          notificationPolicyRef: { name: 'on-call' },
          levels: [
            { name: 'primary', escalateAfter: '3s', channels: ['pager-primary', 'chat'] },
            { name: 'secondary', escalateAfter: '15s', channels: ['pager-secondary'] },
            { name: 'managers', channels: ['pager-managers'] },
          ],
        },
      },
    });
    await eventually('the EscalationPolicy to be Ready', async () => {
      const status = await escalationStatus();
      return status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && status.activeGeneration === 1;
    });

    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
    await eventually('web ready', async () => (await podsOf(clients, namespace, 'web')).filter(isReady).length === 2);
    await applyFault(cluster, 'crashloop', `${namespace}/web`);

    await eventually('level 1 to be paged', async () => actionsTo(KEYS.primary).includes('trigger'), 120_000);
    const issueId = pagesTo(KEYS.primary)[0]!.dedup_key;
    await eventually('level 1 to be told on Slack', async () =>
      slackTexts().some((t) => t.includes('escalation level 1/3 (primary)')),
    );

    await eventually('level 2 to be paged after its timeout', async () =>
      actionsTo(KEYS.secondary).includes('trigger'),
    );
    expect(pagesTo(KEYS.secondary)[0]?.dedup_key).toBe(issueId);
    const atLevel2 = await eventually('the policy status to show level 2', async () =>
      (await escalationStatus())?.active?.find((a) => a.issueId === issueId && a.level === 2),
    );
    expect(atLevel2).toMatchObject({ levelName: 'secondary', state: 'active' });
    expect(atLevel2.nextDeadline).toBeDefined();

    const metrics = async () => (await fetch(`${operator.httpUrl}/metrics`)).text();
    await eventually('/metrics to show level 2', async () =>
      (await metrics()).includes(`cairn_escalation_level{issue="${issueId}"} 2`),
    );

    const ack = await fetch(`${operator.httpUrl}/api/v1/incidents/${issueId}/acknowledge`, {
      method: 'POST',
      headers: { 'x-api-key': DEV_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'on it' }),
    });
    expect(ack.status).toBeLessThan(300);
    await eventually('PagerDuty to be told of the acknowledgement at both levels paged', async () =>
      ['primary', 'secondary'].every((level) => actionsTo(KEYS[level as keyof typeof KEYS]).includes('acknowledge')),
    );
    const acknowledged = await eventually('the policy status to show the acknowledgement', async () =>
      (await escalationStatus())?.active?.find((a) => a.issueId === issueId && a.state === 'acknowledged'),
    );
    expect(acknowledged.level).toBe(2);
    expect(acknowledged.nextDeadline).toBeUndefined();

    const rest = await eventually('the read model to show the acknowledged escalation', async () => {
      const response = await api(`/api/v1/incidents/${issueId}/escalation`);
      const body = (await response.json()) as { state?: string; pages?: { at: string }[] };
      return body.state === 'acknowledged' ? body : undefined;
    });
    expect(rest).toMatchObject({
      policy: { namespace, name: 'platform', generation: 1 },
      level: 2,
      levelName: 'secondary',
      nextDeadline: null,
      acknowledgedBy: expect.any(String),
      pages: [
        { level: 1, reason: 'started' },
        { level: 2, reason: 'timeout' },
      ],
    });
    const onIssue = await eventually("the Issue object's status to show its escalation", async () => {
      const issue = (await clients.custom.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'issues',
        name: issueName(issueId, { kind: 'Deployment', namespace, name: 'web' }),
      })) as { status?: { escalation?: { state: string } } };
      return issue.status?.escalation?.state === 'acknowledged' ? issue.status.escalation : undefined;
    });
    expect(onIssue).toMatchObject({ policy: `${namespace}/platform`, level: 2, levelName: 'secondary' });
    const graphql = await api('/graphql', {
      method: 'POST',
      body: JSON.stringify({
        query: 'query ($id: ID!) { incident(id: $id) { escalation { state level levelName pages { level reason } } } }',
        variables: { id: issueId },
      }),
    });
    expect(await graphql.json()).toMatchObject({
      data: { incident: { escalation: { state: 'acknowledged', level: 2, levelName: 'secondary' } } },
    });
    expect((await api('/api/v1/incidents/no-such-incident/escalation')).status).toBe(404);
    await eventually('/metrics to drop the acknowledged escalation', async () => !(await metrics()).includes(issueId));

    // Cairn resolves the Issue once its plan is approved.
    const request = await eventually('the plan to wait for approval', async () =>
      (await operator.approvals.listPending()).find((r) => r.issueId === issueId),
    );
    await operator.approvals.approve(request.requestId, 'alice');
    await eventually(
      'PagerDuty to be told of the resolution at both levels paged',
      async () =>
        ['primary', 'secondary'].every((level) => actionsTo(KEYS[level as keyof typeof KEYS]).includes('resolve')),
      180_000,
    );
    await eventually('Slack (paged at level 1) to hear of the resolution', async () =>
      slackTexts().some((t) => t.includes('resolved') && t.includes('escalation level')),
    );

    expect(actionsTo(KEYS.primary)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(actionsTo(KEYS.secondary)).toEqual(['trigger', 'acknowledge', 'resolve']);
    // Level 2 was paged no earlier than level 1's 3 s allowed.
    expect(Date.parse(rest.pages![1]!.at) - Date.parse(rest.pages![0]!.at)).toBeGreaterThanOrEqual(3_000);
    // Acknowledged at level 2: level 3 is never paged, even once its deadline would have passed.
    await eventually(
      "level 3's deadline to be past",
      async () => Date.now() > Date.parse(rest.pages![1]!.at) + 16_000,
      60_000,
    );
    expect(pagesTo(KEYS.managers)).toEqual([]);
    expect(pages().every((p) => p.dedup_key === issueId)).toBe(true);
    expect([...pagerDuty.received, ...slack.received].every((r) => r.problems.length === 0)).toBe(true);
    await eventually('the policy status to list no active escalation', async () => {
      const status = await escalationStatus();
      return status?.totalEscalations === 1 && (status.active ?? []).length === 0;
    });
  });
  it('a snooze stops the clock; an incident escalated by hand pages the last level again and its escalation is acknowledged and resolved directly', async () => {
    // A policy of its own for the api workload (by its labels, over the default one), with a longer first level.
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'escalationpolicies',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'EscalationPolicy',
        metadata: { name: 'api' },
        spec: {
          labelSelector: { matchLabels: { app: 'api' } },
          notificationPolicyRef: { name: 'on-call' },
          levels: [
            { name: 'primary', escalateAfter: '20s', channels: ['pager-primary'] },
            { name: 'secondary', channels: ['pager-secondary'] },
          ],
        },
      },
    });
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('api', { replicas: 1 }) });
    await eventually('api ready', async () => (await podsOf(clients, namespace, 'api')).filter(isReady).length === 1);
    const before = new Set(pagesTo(KEYS.primary).map((p) => p.dedup_key));
    await applyFault(cluster, 'crashloop', `${namespace}/api`);
    const issueId = await eventually(
      'level 1 to be paged for the new Issue',
      async () => pagesTo(KEYS.primary).find((p) => !before.has(p.dedup_key))?.dedup_key,
      120_000,
    );
    const until = new Date(Date.now() + 4_000).toISOString();
    const snooze = await api(`/api/v1/incidents/${issueId}/snooze`, {
      method: 'POST',
      body: JSON.stringify({ until }),
    });
    expect(snooze.status).toBeLessThan(300);
    const snoozed = await eventually('the escalation to be snoozed', async () => {
      const body = (await (await api(`/api/v1/incidents/${issueId}/escalation`)).json()) as {
        state: string;
        policy: { name: string };
        snoozedUntil: string | null;
        nextDeadline: string | null;
        pages: { level: number; at: string }[];
      };
      return body.state === 'snoozed' ? body : undefined;
    });
    // The level-1 time left when the snooze began (at most its 20 s) runs again from the snooze's end, so level 2
    // is due later than it was before the snooze.
    const level1Due = Date.parse(snoozed.pages[0]!.at) + 20_000;
    const resumesWith = Date.parse(snoozed.nextDeadline!) - Date.parse(until);
    expect(Date.parse(snoozed.snoozedUntil!)).toBe(Date.parse(until));
    expect(resumesWith).toBeGreaterThan(0);
    expect(resumesWith).toBeLessThanOrEqual(20_000);
    expect(Date.parse(snoozed.nextDeadline!)).toBeGreaterThan(level1Due);
    expect(snoozed.policy).toMatchObject({ name: 'api' });

    await eventually(
      'level 2 to be paged once the snooze ended',
      async () => pagesTo(KEYS.secondary).some((p) => p.dedup_key === issueId),
      60_000,
    );
    const after = (await (await api(`/api/v1/incidents/${issueId}/escalation`)).json()) as {
      pages: { level: number; reason: string; at: string }[];
    };
    expect(after.pages.map((p) => [p.level, p.reason])).toEqual([
      [1, 'started'],
      [2, 'timeout'],
    ]);
    expect(Date.parse(after.pages[1]!.at)).toBeGreaterThanOrEqual(Date.parse(snoozed.nextDeadline!));

    // An open incident's escalation is acknowledged through the incident, not around it.
    const early = await api(`/api/v1/incidents/${issueId}/escalation/acknowledge`, { method: 'POST', body: '{}' });
    expect(early.status).toBe(409);
    expect(((await early.json()) as { code: string }).code).toBe('escalation.acknowledge_the_incident');

    // Escalated by hand: the Issue is over for Cairn, its escalation pages the last level again at once...
    const escalate = await api(`/api/v1/incidents/${issueId}/escalate`, {
      method: 'POST',
      body: JSON.stringify({ detail: 'needs the database team' }),
    });
    expect(escalate.status).toBe(200);
    const secondaryOf = () => pagesTo(KEYS.secondary).filter((p) => p.dedup_key === issueId);
    await eventually('the last level to be paged again', async () => secondaryOf().length === 2);
    // ...and, since the Issue can no longer be acknowledged, its escalation is acknowledged and resolved directly.
    expect((await api(`/api/v1/incidents/${issueId}/acknowledge`, { method: 'POST', body: '{}' })).status).toBe(409);
    const ack = await api(`/api/v1/incidents/${issueId}/escalation/acknowledge`, { method: 'POST', body: '{}' });
    expect(await ack.json()).toMatchObject({ issueId, state: 'acknowledged', level: 2 });
    const resolve = await api(`/api/v1/incidents/${issueId}/escalation/resolve`, { method: 'POST', body: '{}' });
    expect(await resolve.json()).toMatchObject({ issueId, state: 'resolved' });
    await eventually('both levels to hear of the acknowledgement and the resolution', async () =>
      [KEYS.primary, KEYS.secondary].every((k) => {
        const actions = pagesTo(k)
          .filter((p) => p.dedup_key === issueId)
          .map((p) => p.event_action);
        return actions.includes('acknowledge') && actions.includes('resolve');
      }),
    );
    expect(secondaryOf().map((p) => p.event_action)).toEqual(['trigger', 'trigger', 'acknowledge', 'resolve']);
    const again = await api(`/api/v1/incidents/${issueId}/escalation/resolve`, { method: 'POST', body: '{}' });
    expect(again.status).toBe(409);
  });

  it('repeats the last level every repeatLastLevelEvery until someone acknowledges', async () => {
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'escalationpolicies',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'EscalationPolicy',
        metadata: { name: 'batch' },
        spec: {
          labelSelector: { matchLabels: { app: 'batch' } },
          notificationPolicyRef: { name: 'on-call' },
          levels: [
            { name: 'primary', escalateAfter: '2s', channels: ['pager-primary'] },
            { name: 'managers', channels: ['pager-managers'] },
          ],
          repeatLastLevelEvery: '3s',
        },
      },
    });
    await eventually('the batch policy to be Ready', async () => {
      const policy = (await clients.custom.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'escalationpolicies',
        name: 'batch',
      })) as { status?: { activeGeneration?: number } };
      return policy.status?.activeGeneration === 1;
    });
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('batch', { replicas: 1 }) });
    await eventually(
      'batch ready',
      async () => (await podsOf(clients, namespace, 'batch')).filter(isReady).length === 1,
    );
    const before = new Set(pagesTo(KEYS.managers).map((p) => p.dedup_key));
    await applyFault(cluster, 'crashloop', `${namespace}/batch`);
    const issueId = await eventually(
      'the last level to be paged',
      async () => pagesTo(KEYS.managers).find((p) => !before.has(p.dedup_key))?.dedup_key,
      120_000,
    );
    const managers = () => pagesTo(KEYS.managers).filter((p) => p.dedup_key === issueId);
    await eventually('the last level to be paged again', async () => managers().length >= 2, 60_000);
    const ack = await api(`/api/v1/incidents/${issueId}/acknowledge`, { method: 'POST', body: '{}' });
    expect(ack.status).toBeLessThan(300);
    await eventually('the last level to be told of the acknowledgement', async () =>
      managers().some((p) => p.event_action === 'acknowledge'),
    );
    const view = (await (await api(`/api/v1/incidents/${issueId}/escalation`)).json()) as {
      state: string;
      pages: { level: number; reason: string; at: string }[];
    };
    expect(view.state).toBe('acknowledged');
    expect(view.pages.slice(0, 3).map((p) => [p.level, p.reason])).toEqual([
      [1, 'started'],
      [2, 'timeout'],
      [2, 'repeat'],
    ]);
    // Repeats every 3 s as recorded, and none after the acknowledgement, even once the next repeat would be due.
    for (const [i, page] of view.pages.slice(2).entries()) {
      expect(Date.parse(page.at) - Date.parse(view.pages[i + 1]!.at)).toBeGreaterThanOrEqual(3_000);
    }
    const last = view.pages.at(-1)!;
    await eventually('the next repeat to be past', async () => Date.now() > Date.parse(last.at) + 4_000, 30_000);
    const triggers = managers().filter((p) => p.event_action === 'trigger').length;
    expect(triggers).toBe(view.pages.filter((p) => p.level === 2).length);
    expect(managers().at(-1)?.event_action).toBe('acknowledge');
  });

  it('a malformed update is refused in Ready, naming the field, while the last valid generation stays the one new escalations follow', async () => {
    await clients.custom.patchNamespacedCustomObject(
      {
        group,
        version,
        namespace,
        plural: 'escalationpolicies',
        name: 'platform',
        body: [{ op: 'remove', path: '/spec/levels/0/escalateAfter' }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    const ready = await eventually('Ready=False to name the field', async () => {
      const status = await escalationStatus();
      const condition = status?.conditions?.find((c) => c.type === 'Ready');
      return condition?.status === 'False' && status?.activeGeneration === 1 ? condition : undefined;
    });
    expect(ready.reason).toBe('InvalidSpec');
    expect(ready.message).toContain('spec.levels[0].escalateAfter');
    expect(ready.message).toContain('still follow generation 1');
  });
});
