import { describe, expect, it } from 'vitest';
import type { SuspectedCommit } from '../../../domain/events/analysis.events.ts';
import { issueDecider } from '../../../domain/issue/issue.decider.ts';
import { deciderSpec, metaAt } from '../../../domain/testing/decider.spec.ts';
import { type ContextEnricher, runEnrichers } from '../enricher.ts';
import { changeEvidence } from './changeEvidence.ts';
import { renderCommitsSection } from './commits.render.ts';

const workload = { kind: 'Deployment', namespace: 'shop', name: 'web' };
const sha = '3f786850e387550fdab836ed7e6dc881de23001b';
const suspect: SuspectedCommit = {
  repository: 'shop/web',
  sha,
  author: 'Grace Hopper',
  message: 'Look prices up in the catalogue',
  at: '2026-12-01T09:03:00Z',
  confidence: 0.95,
  filesChanged: ['src/cart/total.ts'],
  reasons: ["changes src/cart/total.ts, named in the incident's stack trace"],
};
const Token = 'ghp_Zq8x7Lk2Vb9Nc4Md1Wr6Ty3Ps5Qa0Ue7Io2';

const fixed = (name: string, section: () => ReturnType<ContextEnricher['enrich']>): ContextEnricher => ({
  name,
  enrich: section,
});

const target = {
  issueId: 'i-1',
  workload,
  signal: 'crashloop',
  signals: ['crashloop'],
  detectedAt: '2026-12-07T10:00:00Z',
};

describe('changeEvidence', () => {
  it('keeps the suspected commits (full shas survive redaction, a token in a message does not) and the GitOps lines', async () => {
    const sections = await runEnrichers(
      [
        fixed('change', async () => ({
          enricher: 'change',
          title: 'Recent changes',
          text: [
            'Change context of Deployment shop/web:',
            'Helm release shop/web: 3 revision(s), current 3, last good before it 2.',
            'GitOps: no Argo CD Application or Flux object deploys it.',
            'Rollout history: see the Kubernetes context (revisions and what each changed in the pod template).',
          ].join('\n'),
          facts: { unreadable: [] },
        })),
        fixed('commits', async () =>
          renderCommitsSection({
            workload,
            facts: {
              repositories: [],
              suspectedCommits: [suspect, { ...suspect, sha: sha.replace('3f', '4e'), message: `token ${Token}` }],
              traceFiles: [],
              unreadable: [],
            },
          }),
        ),
      ],
      target,
    );
    const evidence = changeEvidence(sections);
    expect(evidence?.gitOps).toBe(
      'Helm release shop/web: 3 revision(s), current 3, last good before it 2.\nGitOps: no Argo CD Application or Flux object deploys it.',
    );
    expect(evidence?.suspectedCommits?.map((s) => s.sha)).toEqual([sha, sha.replace('3f', '4e')]);
    expect(JSON.stringify(evidence)).not.toContain(Token);
  });

  it('is absent when neither section says anything, and an unreadable section adds nothing', async () => {
    expect(changeEvidence([])).toBeUndefined();
    expect(
      changeEvidence([{ enricher: 'commits', title: 'x', text: 'commits: not available (x)', unavailable: 'x' }]),
    ).toBeUndefined();
  });

  it('drops a suspect the event schema refuses instead of failing the analysis', () => {
    const section = renderCommitsSection({
      workload,
      facts: {
        repositories: [],
        suspectedCommits: [{ ...suspect, sha: 'not-a-sha' }, suspect],
        traceFiles: [],
        unreadable: [],
      },
    });
    expect(changeEvidence([section])?.suspectedCommits?.map((s) => s.sha)).toEqual([sha]);
  });

  it('is recorded by the Issue with its analysis', () => {
    const meta = metaAt(0);
    const change = { gitOps: 'Helm release shop/web: 3 revision(s)', suspectedCommits: [suspect] };
    const answer = {
      analysis: 'the cart total reads a catalogue that is not loaded',
      confidence: 0.7,
      recommendations: [],
      suggestedActions: [],
      provider: 'rules',
      model: 'rules-v1',
    };
    deciderSpec(issueDecider)
      .given(
        {
          type: 'IssueDetected',
          data: {
            issueId: 'iss-1',
            workload,
            resource: workload,
            signal: 'crashloop',
            source: 'watcher',
            anomalyId: 'an-1',
            description: 'web crashes',
            signals: ['crashloop'],
            riskScore: 20,
            severity: 'low',
            maxAttempts: 5,
          },
          metadata: meta,
        },
        {
          type: 'AnalysisRequested',
          data: { insightId: 'ins-1', attempt: 1, previousFailures: [], doNotRepeat: [] },
          metadata: meta,
        },
      )
      .when({ type: 'CompleteAnalysis', data: { insightId: 'ins-1', ...answer, change }, metadata: metaAt(1) })
      .expectEvents([{ type: 'AnalysisCompleted', data: { insightId: 'ins-1', attempt: 1, ...answer, change } }]);
  });
});
