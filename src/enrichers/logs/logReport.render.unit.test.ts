import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analysisRequest, healthyFacts } from '../../../test/fixtures/analysis.fixtures.ts';
import { analyzeWithRules } from '../../analysis/rules.provider.ts';
import { analyzeLog } from './logAnalysis.ts';
import { type ContainerLogReport, type LogSource, renderLogReport } from './logReport.render.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/logs/${name}`, import.meta.url), 'utf8');

const source = (container: string, overrides: Partial<LogSource> = {}): LogSource => ({
  pod: 'orders-7c9d-abcde',
  container,
  role: 'main',
  previous: false,
  restarts: 0,
  ...overrides,
});

const window = { from: Date.parse('2026-03-14T00:00:00Z'), until: Date.parse('2026-03-15T00:00:00Z') };
const workload = { kind: 'Deployment', namespace: 'shop', name: 'orders' };

/** A pod as the corpus has it: an app that crashed on start, a failed migration, an unhappy sidecar. */
const reports: ContainerLogReport[] = [
  { source: source('migrate', { role: 'init' }), analysis: analyzeLog(fixture('init-migrate.log'), { window }) },
  { source: source('app', { restarts: 4 }), analysis: analyzeLog(fixture('java-request-npe.log'), { window }) },
  {
    source: source('app', { restarts: 4, previous: true }),
    analysis: analyzeLog(fixture('java-spring-startup.log'), { window }),
  },
  {
    source: source('istio-proxy', { role: 'sidecar' }),
    analysis: analyzeLog(fixture('sidecar-envoy.log'), { window }),
  },
  { source: source('log-shipper', { role: 'sidecar' }), unavailable: 'HTTP 400: container is waiting to start' },
];

describe('renderLogReport', () => {
  it('names every container with its role and run, the traces, patterns and critical lines', () => {
    const { text, facts } = renderLogReport(
      { workload, window, podsRead: 1, podsTotal: 3, reports },
      { maxChars: 20_000 },
    );
    expect(text).toMatch(/^Logs of Deployment shop\/orders: 4 container logs read from 1 of 3 pods, 1 not available/);
    expect(text).toContain('orders-7c9d-abcde/migrate (init)');
    expect(text).toContain('orders-7c9d-abcde/istio-proxy (sidecar)');
    expect(text).toContain('orders-7c9d-abcde/app [previous run], restarts 4');
    expect(text).toContain(
      'orders-7c9d-abcde/log-shipper (sidecar): not available (HTTP 400: container is waiting to start)',
    );
    expect(text).toContain('Stack trace (java)');
    expect(text).toContain('caused by: org.hibernate.exception.JDBCConnectionException');
    expect(text).toContain('database/db-schema');
    expect(text).toMatch(/> +7 {2}2026-03-14T14:00:00.340Z FATAL migration failed/);
    expect(text).toContain('Most frequent problem messages:');
    expect(facts).toMatchObject({ podsRead: 1, logsRead: 4, logsUnavailable: 1 });
    expect(facts.categories.database).toBeGreaterThan(0);
    expect(facts.stackTraces.map((t) => t.language)).toEqual(['java', 'java', 'java']);
    // The latest trace is the most telling: the request that failed with a NullPointerException.
    expect(facts.finding).toMatch(
      /^the log of orders-7c9d-abcde\/app shows a java stack trace: java\.lang\.NullPointerException/,
    );
  });

  it('drops detail before findings to stay within the bound', () => {
    const full = renderLogReport({ workload, window, podsRead: 1, podsTotal: 1, reports }, { maxChars: 20_000 });
    for (const maxChars of [4_000, 2_000, 1_000]) {
      const { text } = renderLogReport({ workload, window, podsRead: 1, podsTotal: 1, reports }, { maxChars });
      expect(text.length).toBeLessThanOrEqual(maxChars);
      expect(text.length).toBeLessThan(full.text.length);
      expect(text).toContain('Most telling: the log of orders-7c9d-abcde/app shows a java stack trace');
    }
    const medium = renderLogReport({ workload, window, podsRead: 1, podsTotal: 1, reports }, { maxChars: 2_500 });
    expect(medium.text).toContain('java.lang.NullPointerException');
  });

  it('says when the logs hold no known error', () => {
    const quiet = analyzeLog('2026-03-14T10:00:00Z INFO ready\n2026-03-14T10:00:01Z INFO GET / 200\n', { window });
    const { text, facts } = renderLogReport(
      { workload, window, podsRead: 1, podsTotal: 1, reports: [{ source: source('app'), analysis: quiet }] },
      { maxChars: 6_000 },
    );
    expect(text).toContain('Findings: no known error pattern; 0 stack traces.');
    expect(text).toContain(
      'orders-7c9d-abcde/app: 2 of 2 lines in the window, 0 fatal, 0 error, 0 warning; no errors found',
    );
    expect(facts.finding).toBeUndefined();
  });
});

describe('the rules provider quotes the log finding', () => {
  const { text, facts } = renderLogReport(
    { workload, window, podsRead: 1, podsTotal: 1, reports },
    { maxChars: 6_000 },
  );
  const section = { enricher: 'logs', title: 'Logs', text, facts: { ...facts } };

  it('beside a diagnosis', () => {
    const crashing = healthyFacts({ crashLooping: true, maxRestarts: 4, notReadyPods: 2 });
    const without = analyzeWithRules(analysisRequest(crashing));
    const withLogs = analyzeWithRules(analysisRequest(crashing, { sections: [section] }));
    expect(without.analysis).not.toContain('Logs:');
    expect(withLogs.analysis).toBe(`${without.analysis} Logs: ${facts.finding}.`);
    expect(withLogs.suggestedActions).toEqual(without.suggestedActions);
  });

  it('as the first recommendation when the diagnosis is unknown', () => {
    const result = analyzeWithRules(analysisRequest(healthyFacts(), { sections: [section] }));
    expect(result.analysis).toBe('unknown');
    expect(result.recommendations[0]).toBe(`Logs: ${facts.finding}.`);
  });
});
