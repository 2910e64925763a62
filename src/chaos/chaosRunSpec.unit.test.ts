import { describe, expect, it } from 'vitest';
import { chaosRunSpec } from './chaos.module.ts';

const spec = (overrides: Record<string, unknown> = {}) => ({
  fault: { type: 'pod_kill' },
  target: { kind: 'Deployment', name: 'web' },
  duration: '2m',
  recovery: { expect: 'WorkloadReady', within: '5m' },
  ...overrides,
});

describe('a ChaosExperiment spec', () => {
  it('gets the defaults a user reads in docs/chaos.md', () => {
    const outcome = chaosRunSpec('shop', spec());
    expect(outcome).toEqual({
      ok: true,
      spec: {
        fault: 'pod_kill',
        count: 1,
        target: { kind: 'Deployment', namespace: 'shop', name: 'web' },
        durationSeconds: 120,
        recovery: { expect: 'WorkloadReady', withinSeconds: 300 },
        dryRun: false,
        enabled: true,
        concurrencyPolicy: 'Forbid',
        safety: {
          maxPodsPercent: 50,
          requireHealthyTarget: true,
          respectSloBudget: true,
          blockedNamespaces: ['kube-system'],
        },
      },
    });
  });

  it('targets a Node without a namespace', () => {
    const outcome = chaosRunSpec(
      'shop',
      spec({ fault: { type: 'node_not_ready' }, target: { kind: 'Node', name: 'n1' } }),
    );
    expect(outcome.ok && outcome.spec.target).toEqual({ kind: 'Node', namespace: '', name: 'n1' });
  });

  it('names the field of what it refuses', () => {
    expect(chaosRunSpec('shop', spec({ duration: '2 minutes' }))).toMatchObject({ ok: false, field: 'spec.duration' });
    expect(chaosRunSpec('shop', spec({ recovery: { expect: 'WorkloadReady', within: '0s' } }))).toMatchObject({
      ok: false,
      field: 'spec.recovery.within',
    });
    expect(chaosRunSpec('shop', spec({ fault: { type: 'fork_bomb' } }))).toMatchObject({
      ok: false,
      field: 'spec.fault.type',
    });
    expect(chaosRunSpec('shop', spec({ fault: { type: 'node_not_ready' } }))).toEqual({
      ok: false,
      field: 'spec.target.kind',
      message: 'node_not_ready cannot target a Deployment',
    });
    expect(chaosRunSpec('shop', 'not an object')).toMatchObject({ ok: false, field: 'spec' });
  });
});
