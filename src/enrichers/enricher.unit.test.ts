import { describe, expect, it } from 'vitest';
import { boundText, type ContextEnricher, runEnrichers } from './enricher.ts';

const target = {
  issueId: 'i-1',
  workload: { kind: 'Deployment', name: 'shop', namespace: 'prod' },
  signal: 'pod_restart',
  signals: ['pod_restart'],
  detectedAt: '2026-11-26T10:00:00.000Z',
};

const enricher = (name: string, enrich: ContextEnricher['enrich']): ContextEnricher => ({ name, enrich });

describe('runEnrichers', () => {
  it('returns one section per enricher, in their order, whatever order they finish in', async () => {
    const slow = enricher('logs', async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { enricher: 'logs', title: 'Logs', text: 'panic: boom' };
    });
    const fast = enricher('metrics', async () => ({ enricher: 'metrics', title: 'Metrics', text: 'cpu flat' }));
    const sections = await runEnrichers([slow, fast], target);
    expect(sections.map((s) => s.enricher)).toEqual(['logs', 'metrics']);
    expect(sections[0]?.text).toBe('panic: boom');
  });

  it('turns a failing enricher into a section that says why, and keeps the others', async () => {
    const broken = enricher('logs', async () => {
      throw new Error('connection refused');
    });
    const fine = enricher('metrics', async () => ({ enricher: 'metrics', title: 'Metrics', text: 'ok' }));
    const [logs, metrics] = await runEnrichers([broken, fine], target);
    expect(logs?.unavailable).toBe('connection refused');
    expect(logs?.text).toContain('not available (connection refused)');
    expect(metrics?.text).toBe('ok');
  });

  it('gives up on an enricher past its deadline and aborts it', async () => {
    let aborted = false;
    const hanging = enricher(
      'metrics',
      (_t, { signal }) =>
        new Promise(() => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
    );
    const [section] = await runEnrichers([hanging], target, { timeoutMs: 20 });
    expect(section?.unavailable).toBe('no answer within 20 ms');
    expect(aborted).toBe(true);
  });

  it('redacts and bounds what an enricher returns', async () => {
    const leaky = enricher('logs', async () => ({
      enricher: 'logs',
      title: 'Logs',
      text: `DB_PASSWORD=hunter2-very-secret\n${'x'.repeat(100)}\n${'y'.repeat(100)}`,
    }));
    const [section] = await runEnrichers([leaky], target, { maxChars: 150 });
    expect(section?.text).not.toContain('hunter2');
    expect(section?.text.length).toBeLessThanOrEqual(150);
    expect(section?.text).toContain('(truncated)');
  });

  it('redacts the title, the reason a source was unavailable and the facts, not only the text', async () => {
    const leaky = enricher('logs', async () => ({
      enricher: 'logs',
      title: 'Logs (token=tkn-in-title-123)',
      text: 'ok',
      unavailable: 'https://u:pw-in-reason-456@loki:3100 refused',
      facts: { lines: ['Authorization: Bearer fact-bearer-789abc'], password: 'fact-password-0' },
    }));
    const [section] = await runEnrichers([leaky], target);
    expect(JSON.stringify(section)).not.toMatch(/tkn-in-title-123|pw-in-reason-456|fact-bearer-789abc|fact-password-0/);
    expect(section?.facts).toEqual({ lines: ['Authorization: Bearer [REDACTED]'], password: '[REDACTED]' });
  });
});

describe('boundText', () => {
  it('leaves short text alone', () => {
    expect(boundText('short', 10)).toBe('short');
  });
});
