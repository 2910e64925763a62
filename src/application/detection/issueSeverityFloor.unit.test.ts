import { describe, expect, it } from 'vitest';
import { severityFloorOf } from '../../../domain/correlation/severityFloor.policy.ts';
import type { IssueEvent } from '../../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { keptLabels, signalOfAlert } from '../../adapters/http/alertMapping.ts';
import { BURN_ALERT_NAME } from '../../slo/sloRules.ts';
import { createAnomalyIntake } from './anomalyIntake.ts';
import { createAnomalyRecorder } from './anomalyRecorder.ts';
import { issueCorrelationReactor } from './issueCorrelation.reactor.ts';

/** The correlation reactor reads an SLO burn's urgency and severity from its anomaly and hands the floor to the Issue. */
const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };

const setup = () => {
  const store = openEventStore('memory:');
  let n = 0;
  const now = () => new Date(Date.UTC(2026, 11, 7, 12, n));
  const intake = createAnomalyIntake({
    record: createAnomalyRecorder({ store, newId: () => `id-${++n}`, now }),
    store,
  });
  const reactor = issueCorrelationReactor({ store });
  let handled = 0n;
  /** Delivers every event not yet handled, as the reactor runner would, in order. */
  const deliver = async () => {
    for (const event of await store.readAll()) {
      if (event.position < handled) continue;
      handled = event.position + 1n;
      if (reactor.filter.eventTypes?.includes(event.type)) await reactor.handle(event);
    }
  };
  const report = (anomalyId: string, signal: string, labels?: Record<string, string>) =>
    intake({
      anomalyId,
      signal,
      source: signal === 'slo_burn_rate' ? 'prometheus' : 'watcher',
      resource: workload,
      workload,
      message: `${signal} on checkout`,
      observedAt: now().toISOString(),
      ...(labels ? { labels } : {}),
    });
  const severities = async (issueId: string) =>
    ((await store.readStream(streamName(StreamCategory.Issue, issueId))) as unknown as RecordedEvent<IssueEvent>[])
      .filter((e) => e.type === 'IssueDetected' || e.type === 'IssueAnomalyAttached')
      .map((e) => (e.data as { severity: string }).severity);
  return { deliver, report, severities };
};

describe('issue correlation with a severity floor', () => {
  it('raises an Issue opened by a pod restart to critical when a page burn joins it', async () => {
    const { deliver, report, severities } = setup();
    const opened = await report('restart-1', 'pod_restart');
    await deliver();
    const joined = await report('slo-1', 'slo_burn_rate', { urgency: 'page', severity: 'critical', alert: 'page-1h' });
    await deliver();
    expect(joined).toMatchObject({ status: 'recorded', issueId: opened.issueId });
    expect(await severities(opened.issueId!)).toEqual(['low', 'critical']);
  });

  it('opens a ticket burn medium, and a later page burn of the same workload raises it', async () => {
    const { deliver, report, severities } = setup();
    const ticket = await report('slo-t', 'slo_burn_rate', {
      urgency: 'ticket',
      severity: 'medium',
      alert: 'ticket-3d',
    });
    await deliver();
    const page = await report('slo-p', 'slo_burn_rate', { urgency: 'page', severity: 'high', alert: 'page-6h' });
    await deliver();
    expect(page).toMatchObject({ status: 'recorded', issueId: ticket.issueId });
    expect(await severities(ticket.issueId!)).toEqual(['medium', 'high']);
  });

  it('leaves an error_rate with the same labels to its risk score', async () => {
    const { deliver, report, severities } = setup();
    const outcome = await report('err-1', 'error_rate', { urgency: 'page', severity: 'critical' });
    await deliver();
    expect(await severities(outcome.issueId!)).toEqual(['low']);
  });
});

describe('an SLO burn alert from Alertmanager', () => {
  it('keeps the urgency and severity labels `cairn slo rules` writes, so it sets the same floor', () => {
    const labels = {
      alertname: BURN_ALERT_NAME,
      severity: 'critical',
      urgency: 'page',
      slo_alert: 'page-1h',
      namespace: 'shop',
    };
    const choice = signalOfAlert(labels);
    expect(choice).toEqual({ ok: true, signal: 'slo_burn_rate' });
    expect(severityFloorOf('slo_burn_rate', keptLabels(labels))).toBe('critical');
    expect(severityFloorOf('slo_burn_rate', keptLabels({ ...labels, severity: 'medium', urgency: 'ticket' }))).toBe(
      'medium',
    );
  });
});
