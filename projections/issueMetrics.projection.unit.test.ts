import { describe, expect, it } from 'vitest';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { writePipelineIncident } from '../test/support/pipelineLog.ts';
import { createIssueMetricsFold, type MetricObservation } from './issueMetrics.projection.ts';

async function log() {
  const store = openEventStore('memory:');
  // oom_kill alone is low (risk 30); with pod_restart it is medium (50).
  await writePipelineIncident(store, { issueId: 'ok', outcome: 'resolved', attach: ['pod_restart'] });
  await writePipelineIncident(store, { issueId: 'bad', outcome: 'rolled_back', start: 100 });
  await writePipelineIncident(store, { issueId: 'open', outcome: 'open', start: 200 });
  const events = await store.readAll();
  await store.close();
  return events;
}

describe('metrics derived from the event log', () => {
  it('counts state entries, resolution durations, remediation outcomes and open issues', async () => {
    const fold = createIssueMetricsFold();
    const observations: MetricObservation[] = (await log()).flatMap((event) => fold.apply(event));

    const states = observations.filter((o) => o.metric === 'issue_state').map((o) => `${o.severity}/${o.state}`);
    expect(states.sort()).toEqual(
      [
        // ok: detected (low), then a second signal made it medium before analysis
        'low/Detected',
        'medium/Analyzing',
        'medium/Remediating',
        'medium/Resolved',
        // bad: its one attempt rolled back, so it escalates
        'low/Detected',
        'low/Analyzing',
        'low/Remediating',
        'low/Escalated',
        // open: still remediating
        'low/Detected',
        'low/Analyzing',
        'low/Remediating',
      ].sort(),
    );
    expect(observations.filter((o) => o.metric === 'issue_resolution')).toEqual([
      { metric: 'issue_resolution', severity: 'medium', seconds: 60 },
    ]);
    expect(
      observations
        .filter((o) => o.metric === 'remediation_outcome')
        .map((o) => o.outcome)
        .sort(),
    ).toEqual(['completed', 'rolled_back']);
    expect(fold.activeIssues()).toBe(1);
  });

  it('ignores an event it has already folded, so a redelivery counts nothing twice', async () => {
    const events = await log();
    const fold = createIssueMetricsFold();
    const once = events.flatMap((event) => fold.apply(event));
    const again = events.flatMap((event) => fold.apply(event));
    expect(once.length).toBeGreaterThan(0);
    expect(again).toEqual([]);
    expect(fold.activeIssues()).toBe(1);
  });

  it('ignores events of streams it does not measure and of issues it never saw detected', async () => {
    const events = await log();
    const fold = createIssueMetricsFold();
    // Starting mid-stream: the first Issue's later events arrive without its detection.
    const detectedAt = events.findIndex((e) => e.type === 'IssueDetected' && e.streamId === 'issue-ok');
    const observations = events.slice(detectedAt + 1).flatMap((event) => fold.apply(event));
    expect(observations.some((o) => o.metric === 'issue_resolution')).toBe(false);
    expect(fold.activeIssues()).toBe(1);
  });
});
