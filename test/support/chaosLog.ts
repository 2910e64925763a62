import { type ChaosCommand, chaosDecider } from '../../domain/chaos/chaos.decider.ts';
import type { ChaosCheck } from '../../domain/events/chaos.events.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';

/** The first run of the game day starts here; run k starts k × 10 minutes later. */
export const GAME_DAY = Date.parse('2026-12-07T10:00:00.000Z');
export const gameDayAt = (run: number, seconds: number) =>
  new Date(GAME_DAY + (run - 1) * 600_000 + seconds * 1000).toISOString();

const target = (namespace: string) => ({ kind: 'Deployment' as const, namespace, name: 'web' });

const checks = (namespace: string, share: { passed: boolean }): ChaosCheck[] => [
  { name: 'namespace', passed: true, detail: `namespace ${namespace} is allowed` },
  { name: 'target', passed: true, detail: `Deployment ${namespace}/web exists` },
  { name: 'healthy', passed: true, detail: `Deployment ${namespace}/web is healthy: healthy` },
  {
    name: 'share',
    passed: share.passed,
    detail: `the fault reaches every replica: 3 of 3 (100%), at most ${share.passed ? 100 : 50}% allowed by safety.maxPodsPercent`,
  },
  { name: 'slo_budget', passed: true, detail: 'no SLO of the target is out of budget or burning at page level' },
  { name: 'target_free', passed: true, detail: 'no other experiment is running on the target' },
  { name: 'injectable', passed: true, detail: 'the fault can be produced on this target' },
];

const plan = (namespace: string) => ({
  summary: `roll out Deployment ${namespace}/web with unpullable image(s) registry.local/web:1.4.2-nonexistent`,
  plan: {
    version: 1,
    type: 'image_pull',
    target: target(namespace),
    undo: [
      { step: 'image', container: 'web', from: 'registry.local/web:1.4.2', to: 'registry.local/web:1.4.2-nonexistent' },
    ],
  },
});

/** A step of a run: a command to the chaos decider at `seconds` after the run's start. */
type Step = readonly [seconds: number, type: ChaosCommand['type'], data: Record<string, unknown>];

/**
 * Writes a realistic game day of experiment `namespace/bad-image` (image_pull on Deployment web, recovery
 * IssueResolved within 3m) through the chaos decider, as the chaos module would, plus the Issues it links to:
 * run 1 passed with Cairn's rollback, run 2 refused by the share check, run 3 passed again, run 4 failed (the Issue
 * was escalated, the fault taken back at its deadline). Every event is validated by the store's catalogue.
 */
export async function writeGameDay(
  store: EventStore,
  namespace = 'shop',
  name = 'bad-image',
  /** Issue ids are `<prefix>-r<run>`; two experiments in one namespace need their own. */
  issuePrefix = `iss-${namespace}`,
): Promise<void> {
  const chaos = createCommandHandler(store, chaosDecider);
  const issues = createCommandHandler(store, issueDecider);
  const stream = streamName(StreamCategory.Chaos, `${namespace}.${name}`);
  const start = (run: number, trigger: string, share = true) =>
    ({
      trigger,
      generation: run,
      fault: { type: 'image_pull', count: 1 },
      target: target(namespace),
      durationSeconds: 120,
      recovery: { expect: 'IssueResolved', withinSeconds: 180 },
      dryRun: false,
      checks: checks(namespace, { passed: share }),
      ...(share
        ? { plan: plan(namespace) }
        : {
            refusal: {
              code: 'too_many_pods',
              message: 'the fault reaches every replica: 3 of 3 (100%), at most 50% allowed by safety.maxPodsPercent',
            },
          }),
    }) as Record<string, unknown>;
  const detect = async (run: number, issueId: string, seconds: number) => {
    await issues(streamName(StreamCategory.Issue, issueId), {
      type: 'DetectIssue',
      data: {
        issueId,
        workload: { kind: 'Deployment', name: 'web', namespace },
        resource: { kind: 'Pod', name: `web-7c9d-${run}x`, namespace },
        signal: 'image_pull',
        source: 'watcher',
        anomalyId: `${issueId}-a1`,
        description: 'container web cannot pull registry.local/web:1.4.2-nonexistent',
      },
      metadata: { occurredAt: gameDayAt(run, seconds), actor: 'system:test' },
    });
  };
  const play = async (run: number, steps: readonly Step[]) => {
    for (const [seconds, type, data] of steps) {
      const at = gameDayAt(run, seconds);
      const withAt = type === 'Observe' ? { run, ...data, at: gameDayAt(run, data.at as number) } : { run, ...data };
      const command = {
        type,
        data: type === 'StartRun' ? data : withAt,
        metadata: { occurredAt: at, actor: 'system:chaos' },
      };
      await chaos(stream, command as ChaosCommand);
    }
  };
  const injected = { podsAffected: 3, summary: plan(namespace).summary };

  await detect(1, `${issuePrefix}-r1`, 3.6);
  await play(1, [
    [0, 'StartRun', start(1, 'created')],
    [0.4, 'RecordInjection', injected],
    [1.5, 'Observe', { what: 'fault_visible', at: 1.5, detail: '0 of 3 replicas updated to the current template' }],
    [3.8, 'Observe', { what: 'issue_detected', at: 3.6, issueId: `${issuePrefix}-r1` }],
    [
      4.5,
      'Observe',
      { what: 'plan_created', at: 4.5, issueId: `${issuePrefix}-r1`, remediationId: `rem-${namespace}-r1` },
    ],
    [8.3, 'Observe', { what: 'target_recovered', at: 8.3, detail: 'healthy' }],
    // The observer records the resolution after the health check saw the target back, but it happened first.
    [8.6, 'Observe', { what: 'issue_resolved', at: 8.2, issueId: `${issuePrefix}-r1`, resolution: 'remediated' }],
    [9, 'Judge', {}],
    [
      9.2,
      'RecordRevert',
      { changed: false, summary: `nothing to revert on Deployment ${namespace}/web: the fault is no longer there` },
    ],
    [9.3, 'Judge', {}],
  ]);
  await play(2, [[0, 'StartRun', start(2, 'edited', false)]]);
  await detect(3, `${issuePrefix}-r3`, 2.4);
  await play(3, [
    [0, 'StartRun', start(3, 'edited')],
    [0.3, 'RecordInjection', injected],
    [1.2, 'Observe', { what: 'fault_visible', at: 1.2, detail: '0 of 3 replicas updated to the current template' }],
    [2.5, 'Observe', { what: 'issue_detected', at: 2.5, issueId: `${issuePrefix}-r3` }],
    [
      3.1,
      'Observe',
      { what: 'plan_created', at: 3.1, issueId: `${issuePrefix}-r3`, remediationId: `rem-${namespace}-r3` },
    ],
    [6.3, 'Observe', { what: 'target_recovered', at: 6.3, detail: 'healthy' }],
    [6.5, 'Observe', { what: 'issue_resolved', at: 6.5, issueId: `${issuePrefix}-r3`, resolution: 'remediated' }],
    [7, 'Judge', {}],
    [
      7.1,
      'RecordRevert',
      { changed: false, summary: `nothing to revert on Deployment ${namespace}/web: the fault is no longer there` },
    ],
    [7.2, 'Judge', {}],
  ]);
  await detect(4, `${issuePrefix}-r4`, 4);
  await play(4, [
    [0, 'StartRun', start(4, 'edited')],
    [0.5, 'RecordInjection', injected],
    [1.5, 'Observe', { what: 'fault_visible', at: 1.5, detail: '0 of 3 replicas updated to the current template' }],
    [4.1, 'Observe', { what: 'issue_detected', at: 4.5, issueId: `${issuePrefix}-r4` }],
    [
      60,
      'Observe',
      {
        what: 'issue_escalated',
        at: 60,
        issueId: `${issuePrefix}-r4`,
        detail: 'escalated: no runbook or plan fixed it',
      },
    ],
    [120, 'Judge', {}],
    [
      120.4,
      'RecordRevert',
      {
        changed: true,
        summary: `Deployment ${namespace}/web: image of container web back to registry.local/web:1.4.2`,
      },
    ],
    [131, 'Observe', { what: 'target_recovered', at: 131, detail: 'healthy' }],
    [180, 'Judge', {}],
  ]);
}
