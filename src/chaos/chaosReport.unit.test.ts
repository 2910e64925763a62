import { beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/messages.ts';
import { gameDayAt, writeGameDay } from '../../test/support/chaosLog.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import {
  buildChaosReport,
  type ChaosReportEvent,
  formatChaosReport,
  formatDuration,
  formatOffset,
  summarizeRuns,
} from './chaosReport.ts';

let events: RecordedEvent[];
const experiment = { namespace: 'shop', name: 'bad-image' };
const issueSignal = (id: string) => (id.startsWith('iss-') ? 'image_pull' : undefined);

beforeAll(async () => {
  const store = openEventStore('memory:');
  await writeGameDay(store);
  events = await store.readStream('chaos-shop.bad-image');
  await store.close();
});

describe('the game-day report', () => {
  it('shows every run latest first, each with its verdict, checks and figures', () => {
    const report = buildChaosReport(experiment, events, { issueSignal });
    expect(report.runs.map((r) => [r.run, r.state, r.outcome])).toEqual([
      [4, 'Failed', 'failed'],
      [3, 'Passed', 'passed'],
      [2, 'Refused', 'refused'],
      [1, 'Passed', 'passed'],
    ]);
    const [failed, , refused, first] = report.runs;
    expect(first?.figures).toEqual({
      timeToDetectSeconds: 3.2,
      timeToPlanSeconds: 4.1,
      timeToRecoverSeconds: 7.9,
      remediatedByCairn: true,
      issueId: 'iss-shop-r1',
    });
    expect(failed?.figures).toMatchObject({
      remediatedByCairn: false,
      timeToPlanSeconds: null,
      issueId: 'iss-shop-r4',
    });
    expect(failed?.reason).toMatch(/^not recovered by 2026-12-07T10:33:00.000Z/);
    expect(refused?.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['share']);
    expect(refused?.reason).toMatch(/^refused \(too_many_pods\)/);
    expect(refused?.figures.remediatedByCairn).toBeNull();
    expect(first?.recovery).toEqual({ expect: 'IssueResolved', withinSeconds: 180, slo: null });
  });

  it('times the timeline from the injection, placing observations when they happened', () => {
    const [, , , first] = buildChaosReport(experiment, events, { issueSignal }).runs;
    expect(first?.origin).toBe('injection');
    expect(first?.injectedAt).toBe(gameDayAt(1, 0.4));
    const lines = first?.timeline.map((e) => `${e.offset} ${e.text}`) ?? [];
    expect(lines[0]).toMatch(/^-00:00\.4 Run 1 started \(created\): image_pull on Deployment shop\/web/);
    expect(lines).toContain('+00:03.2 Issue detected iss-shop-r1 (image_pull)');
    expect(lines).toContain('+00:04.1 Remediation planned rem-shop-r1 for Issue iss-shop-r1');
    expect(lines).toContain('+00:07.9 Target recovered: healthy');
    expect(lines.at(-1)).toMatch(/^\+00:08\.9 Run completed: PASSED: recovered 7\.9s after the injection/);
    // The resolution was recorded after the recovery but happened before it: in order of when things happened.
    expect(lines.indexOf('+00:07.8 Issue resolved iss-shop-r1 (remediated)')).toBe(
      lines.indexOf('+00:07.9 Target recovered: healthy') - 1,
    );
    const offsets = first?.timeline.map((e) => e.offsetSeconds) ?? [];
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    // Without a way to name the signal, the Issue is shown alone.
    const plain = buildChaosReport(experiment, events, { run: 1 }).runs[0];
    expect(plain?.timeline.map((e) => e.text)).toContain('Issue detected iss-shop-r1');
  });

  it('times a run that injected nothing from its start', () => {
    const refused = buildChaosReport(experiment, events, { run: 2 }).runs[0];
    expect(refused?.origin).toBe('start');
    expect(refused?.timeline.map((e) => `${e.offset} ${e.event}`)).toEqual([
      '+00:00.0 ChaosRunStarted',
      '+00:00.0 ChaosRunRefused',
    ]);
  });

  it('summarises every run: counts by outcome, median and max of each figure', () => {
    const report = buildChaosReport(experiment, events, { run: 3 });
    expect(report.runs.map((r) => r.run)).toEqual([3]);
    expect(report.summary).toEqual({
      runs: 4,
      outcomes: { passed: 2, failed: 1, aborted: 0, dryRun: 0, refused: 1, inProgress: 0 },
      timeToDetectSeconds: { runs: 3, median: 3.2, max: 4 },
      timeToPlanSeconds: { runs: 2, median: 3.45, max: 4.1 },
      timeToRecoverSeconds: { runs: 3, median: 7.9, max: 130.5 },
      remediatedByCairn: 2,
    });
    expect(buildChaosReport(experiment, events, { last: 3 }).runs.map((r) => r.run)).toEqual([4, 3, 2]);
    expect(buildChaosReport(experiment, events, { last: 9 }).runs).toHaveLength(4);
    expect(() => buildChaosReport(experiment, events, { last: 0 })).toThrow(/last must be a whole number from 1/);
    expect(summarizeRuns([])).toMatchObject({ runs: 0, timeToDetectSeconds: { runs: 0, median: null, max: null } });
  });

  it('shows a run under way with what it has measured so far', () => {
    const underWay = events.filter(
      (e) => (e.data as { run: number }).run < 4 || e.metadata.occurredAt <= gameDayAt(4, 10),
    );
    const report = buildChaosReport(experiment, underWay);
    expect(report.runs[0]).toMatchObject({
      run: 4,
      state: 'Running',
      outcome: null,
      completedAt: null,
      figures: { timeToDetectSeconds: 4, remediatedByCairn: null },
    });
    expect(report.summary.outcomes.inProgress).toBe(1);
    expect(formatChaosReport(report)).toContain('outcome              Running (under way)');
  });

  it('refuses an experiment without runs and a run it never had, naming what exists', () => {
    expect(() => buildChaosReport(experiment, [])).toThrow(/ChaosExperiment shop\/bad-image has no runs recorded/);
    expect(() => buildChaosReport(experiment, events, { run: 9 })).toThrow(/has no run 9; its runs are 1 to 4/);
    const stray: ChaosReportEvent = { type: 'Unknown', data: null, metadata: { occurredAt: gameDayAt(1, 0) } };
    expect(buildChaosReport(experiment, [stray, ...events]).runs).toHaveLength(4);
  });

  it('renders the same content for a terminal', () => {
    const text = formatChaosReport(buildChaosReport(experiment, events, { issueSignal }));
    expect(text.split('\n')[0]).toBe('ChaosExperiment shop/bad-image');
    expect(text).toContain('Run 4: FAILED  image_pull on Deployment shop/web (edited)');
    expect(text).toContain('    FAILED  share');
    expect(text).toContain('    +00:59.5  Issue escalated iss-shop-r4: no runbook or plan fixed it');
    expect(text).toMatch(/time to recover +3 +7\.9 s +130\.5 s/);
    expect(text).toContain('passed 2, failed 1, aborted 0, dry run 0, refused 1, in progress 0');
    expect(text.indexOf('Run 4:')).toBeLessThan(text.indexOf('Run 1:'));
  });
});

describe('time formats', () => {
  it('writes offsets to a tenth of a second, with hours when there are any', () => {
    expect(formatOffset(3.24)).toBe('+00:03.2');
    expect(formatOffset(-0.4)).toBe('-00:00.4');
    expect(formatOffset(59.96)).toBe('+01:00.0');
    expect(formatOffset(3723)).toBe('+1:02:03.0');
    expect(formatDuration(180)).toBe('3m');
    expect(formatDuration(90)).toBe('1m30s');
    expect(formatDuration(7200)).toBe('2h');
    expect(formatDuration(2.5)).toBe('2.5s');
  });
});
