import { describe, expect, it } from 'vitest';
import { analysisRequest, healthyFacts, revision } from '../../test/fixtures/analysis.fixtures.ts';
import { renderChangeSection } from '../enrichers/change/change.render.ts';
import type { HelmFacts } from '../enrichers/change/changeFacts.ts';
import type { ContextSection } from '../enrichers/enricher.ts';
import { analyzeWithRules } from './rules.provider.ts';

const GOOD = 'registry.local/shop/web:1.0.0';
const BROKEN = 'registry.local/shop/web:1.1.0-broken';

/** Revision 2 of the Deployment (from Helm revision 2) crash-loops; revision 1 still serves. */
const crashing = () =>
  healthyFacts({
    containers: [{ name: 'app', image: BROKEN, memoryLimit: '128Mi', memoryRequest: '64Mi' }],
    revisions: [
      revision(2, BROKEN, { current: true, replicas: 1, imageChanges: [{ container: 'app', from: GOOD, to: BROKEN }] }),
      revision(1, GOOD, { replicas: 1, readyReplicas: 1, ready: true }),
    ],
    currentRevision: 2,
    pods: [
      {
        name: 'web-rs2-aaaaa',
        revision: 2,
        phase: 'Running',
        ready: false,
        restarts: 6,
        reasons: ['CrashLoopBackOff'],
        oomKilledContainers: [],
      },
    ],
    podCount: 2,
    notReadyPods: 1,
    maxRestarts: 6,
    crashLooping: true,
  });

const helm = (overrides: Partial<HelmFacts> = {}): HelmFacts => ({
  release: 'web',
  namespace: 'shop',
  revisions: [
    { revision: 2, status: 'deployed', chart: 'web-0.1.0' },
    { revision: 1, status: 'superseded', chart: 'web-0.1.0' },
  ],
  revisionCount: 2,
  currentRevision: 2,
  lastGoodRevision: 1,
  valuesDiff: [{ path: 'image', from: `"${GOOD}"`, to: `"${BROKEN}"` }],
  chartChanged: false,
  ...overrides,
});

const sections = (facts: HelmFacts): ContextSection[] => [
  renderChangeSection({
    workload: { kind: 'Deployment', namespace: 'shop', name: 'web' },
    facts: { helm: facts, unreadable: [] },
  }),
];

describe('the rules provider and Helm releases', () => {
  it('rolls the Helm release back to its last good revision when its last upgrade broke the workload', () => {
    const result = analyzeWithRules(analysisRequest(crashing(), { signal: 'crashloop', sections: sections(helm()) }));
    expect(result.suggestedActions).toEqual([
      {
        name: 'helm-rollback-to-revision-1',
        type: 'HelmRollback',
        description: 'Roll Helm release shop/web back to revision 1',
        params: { release: 'web', revision: '1' },
      },
    ]);
    expect(result.analysis).toContain('Helm release web made that change in its revision 2');
  });

  it('keeps the workload rollback when Helm did not change anything, or when a Helm rollback already failed', () => {
    const untouched = analyzeWithRules(
      analysisRequest(crashing(), { signal: 'crashloop', sections: sections(helm({ valuesDiff: [] })) }),
    );
    expect(untouched.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
    const noGood = analyzeWithRules(
      analysisRequest(crashing(), { signal: 'crashloop', sections: sections(helm({ lastGoodRevision: undefined })) }),
    );
    expect(noGood.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
    const tried = analyzeWithRules(
      analysisRequest(crashing(), {
        signal: 'crashloop',
        sections: sections(helm()),
        doNotRepeat: ['HelmRollback(release=web,revision=1)'],
      }),
    );
    expect(tried.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
    const without = analyzeWithRules(analysisRequest(crashing(), { signal: 'crashloop' }));
    expect(without.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
  });
});
