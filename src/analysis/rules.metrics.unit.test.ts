import { describe, expect, it } from 'vitest';
import { analysisRequest, healthyFacts, revision } from '../../test/fixtures/analysis.fixtures.ts';
import type { ContextSection } from '../enrichers/enricher.ts';
import type { MetricsFacts } from '../enrichers/metrics/metricsFacts.ts';
import { analyzeWithRules, RuleConfidence } from './rules.provider.ts';

/** A metrics section as the enricher writes it, with the container at `percent` of its memory limit. */
const metricsSection = (percent: number, extra: Partial<ContextSection> = {}): ContextSection => {
  const facts: MetricsFacts = {
    window: { start: '2026-11-26T09:30:00.000Z', end: '2026-11-26T10:00:00.000Z', stepSeconds: 30 },
    trends: {},
    noData: [],
    failed: {},
    memory: { percentOfLimit: percent, trend: 'sustained_high', direction: 'rising', nearLimit: percent >= 90 },
    findings: [],
  };
  return { enricher: 'metrics', title: 'Metrics', text: '…', facts: { ...facts }, ...extra };
};

const restarting = healthyFacts({
  maxRestarts: 3,
  revisions: [
    revision(2, 'web:2', { current: true, replicas: 2, readyReplicas: 2, ready: true }),
    revision(1, 'web:2', { replicas: 0 }),
  ],
  currentRevision: 2,
});

describe('rules provider with a metrics section', () => {
  it('raises the memory limit when restarts come with memory at its limit, though no OOM kill was seen', () => {
    const result = analyzeWithRules(analysisRequest(restarting, { sections: [metricsSection(97)] }));
    expect(result.analysis).toContain('is at 97% of its memory limit and rising (Prometheus)');
    expect(result.confidence).toBe(RuleConfidence.oomAdjustSignalOnly);
    expect(result.suggestedActions).toEqual([
      expect.objectContaining({ type: 'AdjustResources', params: expect.objectContaining({ memory_limit: '256Mi' }) }),
    ]);
  });

  it('leaves the diagnosis alone when memory is not near the limit, or metrics could not be read', () => {
    const without = analyzeWithRules(analysisRequest(restarting));
    expect(analyzeWithRules(analysisRequest(restarting, { sections: [metricsSection(70)] }))).toEqual(without);
    const down = metricsSection(97, { unavailable: 'Prometheus is unreachable' });
    expect(analyzeWithRules(analysisRequest(restarting, { sections: [down] }))).toEqual(without);
    expect(without.suggestedActions.map((a) => a.type)).not.toContain('AdjustResources');
  });

  it('still rolls back a release that broke the image, whatever the memory', () => {
    const facts = healthyFacts({
      revisions: [
        revision(2, 'web:broken', {
          current: true,
          replicas: 1,
          imageChanges: [{ container: 'app', from: 'web:1', to: 'web:broken' }],
        }),
        revision(1, 'web:1', { replicas: 1, readyReplicas: 1, ready: true }),
      ],
      currentRevision: 2,
      maxRestarts: 5,
      crashLooping: true,
      notReadyPods: 1,
    });
    const result = analyzeWithRules(analysisRequest(facts, { signal: 'crashloop', sections: [metricsSection(97)] }));
    expect(result.suggestedActions[0]?.type).toBe('RollbackDeployment');
  });
});
