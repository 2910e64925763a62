import { describe, expect, it } from 'vitest';
import { ErrorCategory } from '../errors.ts';
import type { FailureEvidence } from '../events/common.schema.ts';
import type { MessageMetadata } from '../messages.ts';
import { deciderSpec, metaAt, minutesAfterBase } from '../testing/decider.spec.ts';
import type { IssueCommand } from './issue.commands.ts';
import { type IssueEvent, isSnoozed, issueDecider } from './issue.decider.ts';

const spec = deciderSpec(issueDecider);
const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const pod = { kind: 'Pod', name: 'checkout-7d9f-abcde', namespace: 'shop' };

// Event and command builders: `m` is the minute on the test clock.
const ev = <T extends IssueEvent['type']>(type: T, data: Extract<IssueEvent, { type: T }>['data'], m = 0) =>
  ({ type, data, metadata: metaAt(m) }) as Extract<IssueEvent, { type: T }>;
const cmd = <T extends IssueCommand['type']>(
  type: T,
  data: Extract<IssueCommand, { type: T }>['data'],
  m = 1,
  metadata: MessageMetadata = metaAt(m),
) => ({ type, data, metadata }) as Extract<IssueCommand, { type: T }>;

const detected = (maxAttempts = 5) =>
  ev('IssueDetected', {
    issueId: 'iss-1',
    workload,
    resource: pod,
    signal: 'oom_kill',
    source: 'watcher',
    anomalyId: 'an-1',
    description: 'container app was OOMKilled',
    signals: ['oom_kill'],
    riskScore: 30,
    severity: 'low',
    maxAttempts,
  });
const analysisRequested = (insightId = 'ins-1', attempt = 1) =>
  ev('AnalysisRequested', { insightId, attempt, previousFailures: [], doNotRepeat: [] }, 1);
const analysisCompleted = (insightId = 'ins-1', attempt = 1) =>
  ev(
    'AnalysisCompleted',
    {
      insightId,
      attempt,
      analysis: 'memory limit too low',
      confidence: 0.8,
      recommendations: ['raise the memory limit'],
      suggestedActions: [
        { name: 'raise memory', type: 'AdjustResources', description: 'x2', params: { memory_limit: '512Mi' } },
      ],
      provider: 'rules',
      model: 'rules-v1',
    },
    2,
  );
const analysisFailed = (insightId = 'ins-1') =>
  ev('AnalysisFailed', { insightId, attempt: 1, reason: 'provider unreachable' }, 2);
const remediationStarted = (remediationId = 'rem-1', attempt = 1) =>
  ev('RemediationStarted', { remediationId, attempt, source: 'ai-runbook' }, 3);

const restart = { type: 'RestartDeployment', params: {} };
const raiseMemory = { type: 'AdjustResources', params: { memory_limit: '512Mi', container: 'app' } };
const failureOf = (remediationId: string, attempt: number): FailureEvidence => ({
  remediationId,
  attempt,
  outcome: 'rolled_back',
  reason: 'verification failed: pods still OOMKilled',
  attemptedActions: [restart, raiseMemory],
  failedAction: undefined,
  observations: ['restartCount went from 3 to 5'],
});
const failedOutcome = (remediationId = 'rem-1', insightId = 'ins-2') =>
  cmd(
    'RecordRemediationOutcome',
    {
      remediationId,
      outcome: 'rolled_back',
      reason: 'verification failed: pods still OOMKilled',
      attemptedActions: [restart, raiseMemory],
      observations: ['restartCount went from 3 to 5'],
      insightId,
    },
    10,
  );
const withoutFailedAction = ({ failedAction: _, ...rest }: FailureEvidence) => rest;

const remediating = [detected(), analysisRequested(), analysisCompleted(), remediationStarted()];

describe('Issue decider', () => {
  describe('detection', () => {
    it('detects an Issue, scoring its first signal, with 5 attempts by default', () => {
      spec
        .given()
        .when(
          cmd('DetectIssue', {
            issueId: 'iss-1',
            workload,
            resource: pod,
            signal: 'oom_kill',
            source: 'watcher',
            anomalyId: 'an-1',
            description: 'container app was OOMKilled',
          }),
        )
        .expectEvents([{ type: 'IssueDetected', data: detected().data }]);
    });

    it('takes a configured maximum of attempts', () => {
      const [event] = spec
        .given()
        .when(
          cmd('DetectIssue', {
            ...detected().data,
            signal: 'error_rate',
            maxAttempts: 3,
          }),
        )
        .events();
      expect(event?.data).toMatchObject({ maxAttempts: 3, riskScore: 25, severity: 'low', signals: ['error_rate'] });
    });

    it('stamps events with the command metadata (time, actor, correlation)', () => {
      const metadata = { occurredAt: minutesAfterBase(7), actor: 'system:correlator', correlationId: 'c-9' };
      const [event] = spec
        .given()
        .when(cmd('DetectIssue', detected().data, 7, metadata))
        .events();
      expect(event?.metadata).toEqual(metadata);
      expect(
        spec
          .given()
          .when(cmd('DetectIssue', detected().data, 7, metadata))
          .stateAfter().detectedAt,
      ).toBe(metadata.occurredAt);
    });

    it('refuses to detect the same Issue twice', () => {
      spec
        .given(detected())
        .when(cmd('DetectIssue', detected().data))
        .expectRefusal('issue.already_detected', ErrorCategory.IllegalState);
    });

    it.each([0, 21, 2.5])('refuses maxAttempts %s', (maxAttempts) => {
      spec
        .given()
        .when(cmd('DetectIssue', { ...detected().data, maxAttempts }))
        .expectRefusal('issue.invalid_max_attempts', ErrorCategory.Validation);
    });

    it('refuses a command whose time cannot be read', () => {
      spec
        .given()
        .when(cmd('DetectIssue', detected().data, 0, { occurredAt: 'yesterday', actor: 'x' }))
        .expectRefusal('command.invalid_instant', ErrorCategory.Validation);
    });

    it('refuses every other command before the Issue exists', () => {
      spec.given().when(cmd('AcknowledgeIssue', {})).expectRefusal('issue.not_found', ErrorCategory.NotFound);
    });
  });

  describe('anomalies joining and risk', () => {
    it('rescores with each new signal: oom_kill + pod_restart = 50 medium, + error_rate = 75 high', () => {
      const withRestart = spec
        .given(detected())
        .when(cmd('AttachAnomaly', { anomalyId: 'an-2', signal: 'pod_restart' }));
      withRestart.expectEvents([
        {
          type: 'IssueAnomalyAttached',
          data: {
            anomalyId: 'an-2',
            signal: 'pod_restart',
            newSignal: true,
            signals: ['oom_kill', 'pod_restart'],
            riskScore: 50,
            severity: 'medium',
            previousSeverity: 'low',
          },
        },
      ]);
      const [attached] = withRestart.events();
      spec
        .given(detected(), attached!)
        .when(cmd('AttachAnomaly', { anomalyId: 'an-3', signal: 'error_rate' }))
        .expectEvents([
          {
            type: 'IssueAnomalyAttached',
            data: {
              anomalyId: 'an-3',
              signal: 'error_rate',
              newSignal: true,
              signals: ['oom_kill', 'pod_restart', 'error_rate'],
              riskScore: 75,
              severity: 'high',
              previousSeverity: 'medium',
            },
          },
        ]);
    });

    it('counts a signal once per Issue', () => {
      spec
        .given(detected())
        .when(cmd('AttachAnomaly', { anomalyId: 'an-2', signal: 'oom_kill' }))
        .expectEvents([
          {
            type: 'IssueAnomalyAttached',
            data: {
              anomalyId: 'an-2',
              signal: 'oom_kill',
              newSignal: false,
              signals: ['oom_kill'],
              riskScore: 30,
              severity: 'low',
              previousSeverity: 'low',
            },
          },
        ]);
    });

    it('ignores an anomaly it already holds (a retried command)', () => {
      spec
        .given(detected())
        .when(cmd('AttachAnomaly', { anomalyId: 'an-1', signal: 'oom_kill' }))
        .expectNoEvents();
    });

    it('caps the risk score at 100 (critical)', () => {
      const signals = ['pod_restart', 'error_rate', 'node_not_ready', 'deploy_failing'];
      let history: IssueEvent[] = [detected()];
      for (const [index, signal] of signals.entries()) {
        history = [
          ...history,
          ...spec
            .given(...history)
            .when(cmd('AttachAnomaly', { anomalyId: `a${index}`, signal }))
            .events(),
        ];
      }
      const state = spec.given(...history).state();
      expect(state.riskScore).toBe(100);
      expect(state.severity).toBe('critical');
    });
  });

  describe('analysis', () => {
    it('requests the first analysis: Detected → Analyzing', () => {
      const when = spec.given(detected()).when(cmd('RequestAnalysis', { insightId: 'ins-1' }));
      when.expectEvents([{ type: 'AnalysisRequested', data: analysisRequested().data }]);
      expect(when.stateAfter()).toMatchObject({ status: 'Analyzing', analysis: 'pending', insightId: 'ins-1' });
    });

    it('records a completed analysis', () => {
      const { insightId: _, attempt: __, ...answer } = analysisCompleted().data;
      spec
        .given(detected(), analysisRequested())
        .when(cmd('CompleteAnalysis', { insightId: 'ins-1', ...answer }))
        .expectEvents([{ type: 'AnalysisCompleted', data: analysisCompleted().data }]);
    });

    it('records a failed analysis, then allows asking again', () => {
      spec
        .given(detected(), analysisRequested())
        .when(cmd('FailAnalysis', { insightId: 'ins-1', reason: 'provider unreachable' }))
        .expectEvents([{ type: 'AnalysisFailed', data: analysisFailed().data }]);
      spec
        .given(detected(), analysisRequested(), analysisFailed())
        .when(cmd('RequestAnalysis', { insightId: 'ins-1b' }))
        .expectEvents([{ type: 'AnalysisRequested', data: analysisRequested('ins-1b').data }]);
    });

    it('refuses a second request while one is pending, or once it is done', () => {
      spec
        .given(detected(), analysisRequested())
        .when(cmd('RequestAnalysis', { insightId: 'x' }))
        .expectRefusal('issue.analysis_in_progress');
      spec
        .given(detected(), analysisRequested(), analysisCompleted())
        .when(cmd('RequestAnalysis', { insightId: 'x' }))
        .expectRefusal('issue.analysis_already_completed');
      spec
        .given(...remediating)
        .when(cmd('RequestAnalysis', { insightId: 'x' }))
        .expectRefusal('issue.remediation_in_progress');
    });

    it('refuses an answer when no analysis is pending', () => {
      const fail = cmd('FailAnalysis', { insightId: 'ins-1', reason: 'x' });
      spec.given(detected()).when(fail).expectRefusal('issue.no_analysis_pending', ErrorCategory.IllegalState);
      spec
        .given(detected(), analysisRequested(), analysisCompleted())
        .when(fail)
        .expectRefusal('issue.no_analysis_pending');
      spec
        .given(...remediating)
        .when(fail)
        .expectRefusal('issue.no_analysis_pending');
    });

    describe('waiting for the analysis server', () => {
      const defer = (cause: 'unreachable' | 'unauthenticated' | 'timeout' | 'not_serving' = 'unreachable', m = 2) =>
        cmd('DeferAnalysis', { insightId: 'ins-1', server: 'ai:50051', cause, reason: `server ${cause}` }, m);
      const deferred = (cause: 'unreachable' | 'unauthenticated' = 'unreachable', m = 2) =>
        ev(
          'AnalysisDeferred',
          { insightId: 'ins-1', attempt: 1, server: 'ai:50051', cause, reason: `server ${cause}` },
          m,
        );

      it('records why the analysis waits, keeping it pending', () => {
        const when = spec.given(detected(), analysisRequested()).when(defer());
        when.expectEvents([{ type: 'AnalysisDeferred', data: deferred().data }]);
        expect(when.stateAfter()).toMatchObject({
          status: 'Analyzing',
          analysis: 'pending',
          analysisWait: { server: 'ai:50051', cause: 'unreachable', since: minutesAfterBase(2), until: null },
        });
      });

      it('records nothing more while the same reason persists, and again when it changes', () => {
        spec.given(detected(), analysisRequested(), deferred()).when(defer('unreachable', 5)).expectEvents([]);
        const when = spec.given(detected(), analysisRequested(), deferred()).when(defer('unauthenticated', 5));
        when.expectEvents([{ type: 'AnalysisDeferred', data: deferred('unauthenticated').data }]);
        // The wait began with the first deferral.
        expect(when.stateAfter().analysisWait).toMatchObject({ cause: 'unauthenticated', since: minutesAfterBase(2) });
      });

      it('ends the wait when the answer comes, so the Issue no longer says it waits', () => {
        const when = spec
          .given(detected(), analysisRequested(), deferred())
          .when(
            cmd(
              'CompleteAnalysis',
              { ...(({ insightId, attempt, ...rest }) => rest)(analysisCompleted().data), insightId: 'ins-1' },
              7,
            ),
          );
        when.expectEvents([{ type: 'AnalysisCompleted', data: analysisCompleted().data }]);
        expect(when.stateAfter().analysisWait).toMatchObject({ cause: 'unreachable', until: minutesAfterBase(7) });
      });

      it('refuses to defer an analysis that is not pending, or another round', () => {
        spec.given(detected()).when(defer()).expectRefusal('issue.no_analysis_pending');
        spec
          .given(detected(), analysisRequested(), analysisCompleted())
          .when(defer())
          .expectRefusal('issue.no_analysis_pending');
        spec.given(detected(), analysisRequested('ins-2')).when(defer()).expectRefusal('issue.insight_mismatch');
      });
    });

    it('refuses an answer for another insight (a slow answer from an earlier round)', () => {
      const { insightId: _, attempt: __, ...answer } = analysisCompleted().data;
      spec
        .given(detected(), analysisRequested('ins-2'))
        .when(cmd('CompleteAnalysis', { insightId: 'ins-1', ...answer }))
        .expectRefusal('issue.insight_mismatch');
      spec
        .given(detected(), analysisRequested('ins-2'))
        .when(cmd('FailAnalysis', { insightId: 'ins-1', reason: 'late' }))
        .expectRefusal('issue.insight_mismatch');
    });
  });

  describe('remediation', () => {
    it('starts a remediation after the analysis: Analyzing → Remediating, attempt 1', () => {
      const when = spec
        .given(detected(), analysisRequested(), analysisCompleted())
        .when(cmd('StartRemediation', { remediationId: 'rem-1', source: 'ai-runbook' }));
      when.expectEvents([{ type: 'RemediationStarted', data: remediationStarted().data }]);
      expect(when.stateAfter()).toMatchObject({ status: 'Remediating', attempts: 1, remediationId: 'rem-1' });
    });

    it.each(['manual-runbook', 'agentic'] as const)(
      'starts a %s remediation even when the analysis failed',
      (source) => {
        spec
          .given(detected(), analysisRequested(), analysisFailed())
          .when(cmd('StartRemediation', { remediationId: 'rem-1', source }))
          .expectEvents([{ type: 'RemediationStarted', data: { remediationId: 'rem-1', attempt: 1, source } }]);
      },
    );

    it('refuses an AI runbook without an analysis to build it on', () => {
      spec
        .given(detected(), analysisRequested(), analysisFailed())
        .when(cmd('StartRemediation', { remediationId: 'rem-1', source: 'ai-runbook' }))
        .expectRefusal('issue.no_analysis_for_ai_runbook');
    });

    it('refuses to remediate before analysis, during analysis, or twice at once', () => {
      const start = cmd('StartRemediation', { remediationId: 'rem-2', source: 'manual-runbook' });
      spec.given(detected()).when(start).expectRefusal('issue.not_analyzing');
      spec.given(detected(), analysisRequested()).when(start).expectRefusal('issue.analysis_pending');
      spec
        .given(...remediating)
        .when(start)
        .expectRefusal('issue.remediation_in_progress');
    });

    it('refuses a remediation beyond the maximum of attempts', () => {
      // Only reachable through a history written under a larger maximum; the guard still holds.
      spec
        .given(
          detected(1),
          analysisRequested(),
          analysisCompleted(),
          remediationStarted(),
          ev('ReanalysisRequested', {
            insightId: 'ins-2',
            attempt: 2,
            failure: withoutFailedAction(failureOf('rem-1', 1)),
            previousFailures: [],
            doNotRepeat: [],
          }),
          analysisCompleted('ins-2', 2),
        )
        .when(cmd('StartRemediation', { remediationId: 'rem-2', source: 'agentic' }))
        .expectRefusal('issue.attempts_exhausted');
    });

    it('resolves the Issue when its remediation completes', () => {
      const when = spec
        .given(...remediating)
        .when(cmd('RecordRemediationOutcome', { remediationId: 'rem-1', outcome: 'completed' }, 12));
      when.expectEvents([
        {
          type: 'IssueResolved',
          data: { resolution: 'remediated', remediationId: 'rem-1', attempts: 1, durationSeconds: 12 * 60 },
        },
      ]);
      expect(when.stateAfter()).toMatchObject({ status: 'Resolved', endedAt: minutesAfterBase(12) });
    });

    it('re-analyses after a failed remediation, carrying the evidence and the actions not to repeat', () => {
      const when = spec.given(...remediating).when(failedOutcome());
      const failure = withoutFailedAction(failureOf('rem-1', 1));
      when.expectEvents([
        {
          type: 'ReanalysisRequested',
          data: {
            insightId: 'ins-2',
            attempt: 2,
            failure,
            previousFailures: [failure],
            doNotRepeat: ['RestartDeployment', 'AdjustResources(container=app,memory_limit=512Mi)'],
          },
        },
      ]);
      expect(when.stateAfter()).toMatchObject({ status: 'Analyzing', analysis: 'pending', insightId: 'ins-2' });
    });

    it('adds the failed action itself to the do-not-repeat list and keeps the list free of duplicates', () => {
      const first = spec
        .given(...remediating)
        .when(failedOutcome())
        .events();
      const history = [...remediating, ...first, analysisCompleted('ins-2', 2), remediationStarted('rem-2', 2)];
      const [event] = spec
        .given(...history)
        .when(
          cmd(
            'RecordRemediationOutcome',
            {
              remediationId: 'rem-2',
              outcome: 'failed',
              reason: 'rollback failed',
              attemptedActions: [restart],
              failedAction: { type: 'ScaleDeployment', params: { replicas: '4' }, error: 'quota exceeded' },
              observations: [],
              insightId: 'ins-3',
            },
            20,
          ),
        )
        .events();
      expect(event?.type).toBe('ReanalysisRequested');
      expect(event?.data).toMatchObject({
        attempt: 3,
        doNotRepeat: [
          'RestartDeployment',
          'AdjustResources(container=app,memory_limit=512Mi)',
          'ScaleDeployment(replicas=4)',
        ],
      });
      expect(event?.data).toHaveProperty('previousFailures.length', 2);
    });

    it('hands previous failures to an analysis asked for again after a failed re-analysis', () => {
      const reanalysis = spec
        .given(...remediating)
        .when(failedOutcome())
        .events();
      const [request] = spec
        .given(...remediating, ...reanalysis, analysisFailed('ins-2'))
        .when(cmd('RequestAnalysis', { insightId: 'ins-2b' }))
        .events();
      expect(request?.data).toMatchObject({
        attempt: 2,
        previousFailures: [withoutFailedAction(failureOf('rem-1', 1))],
        doNotRepeat: ['RestartDeployment', 'AdjustResources(container=app,memory_limit=512Mi)'],
      });
    });

    it('escalates once the attempts are used up (5 by default)', () => {
      let history: IssueEvent[] = [detected(), analysisRequested(), analysisCompleted()];
      for (let attempt = 1; attempt <= 5; attempt++) {
        history = [
          ...history,
          ...spec
            .given(...history)
            .when(cmd('StartRemediation', { remediationId: `rem-${attempt}`, source: 'manual-runbook' }))
            .events(),
        ];
        const outcome = spec
          .given(...history)
          .when(failedOutcome(`rem-${attempt}`, `ins-${attempt + 1}`))
          .events();
        if (attempt < 5) {
          expect(outcome.map((event) => event.type)).toEqual(['ReanalysisRequested']);
          history = [...history, ...outcome, analysisCompleted(`ins-${attempt + 1}`, attempt + 1)];
        } else {
          expect(outcome).toEqual([
            expect.objectContaining({
              type: 'IssueEscalated',
              data: expect.objectContaining({
                reason: 'attempts_exhausted',
                attempts: 5,
                lastFailure: withoutFailedAction(failureOf('rem-5', 5)),
              }),
            }),
          ]);
          history = [...history, ...outcome];
        }
      }
      expect(spec.given(...history).state()).toMatchObject({ status: 'Escalated', attempts: 5 });
      expect(spec.given(...history).state().failures).toHaveLength(5);
    });

    it('escalates on the first failure when only one attempt is allowed', () => {
      const when = spec
        .given(detected(1), analysisRequested(), analysisCompleted(), remediationStarted())
        .when(failedOutcome());
      when.expectEvents([
        {
          type: 'IssueEscalated',
          data: {
            reason: 'attempts_exhausted',
            attempts: 1,
            detail: '1 remediation attempts failed; the last: verification failed: pods still OOMKilled',
            lastFailure: withoutFailedAction(failureOf('rem-1', 1)),
          },
        },
      ]);
    });

    it('refuses an outcome when no remediation runs, or for another remediation', () => {
      spec
        .given(detected(), analysisRequested())
        .when(cmd('RecordRemediationOutcome', { remediationId: 'rem-1', outcome: 'completed' }))
        .expectRefusal('issue.not_remediating');
      spec
        .given(...remediating)
        .when(cmd('RecordRemediationOutcome', { remediationId: 'rem-0', outcome: 'completed' }))
        .expectRefusal('issue.remediation_mismatch');
    });
  });

  describe('refused proposals', () => {
    const drain = { type: 'DrainNode', params: { node: 'worker-2' } };
    const policyRefusal = (refusalId = 'ins-1/screen/1-drainnode') => ({
      refusalId,
      action: drain,
      code: 'policy.too_many_destructive',
      reason: 'DrainNode is destructive and the plan already has 1 (at most 1)',
    });
    const analysed = [detected(), analysisRequested(), analysisCompleted()];
    const { insightId: _i, attempt: _a, ...answer } = analysisCompleted().data;

    it('records what the parser could not use beside the analysis, in the same decision', () => {
      spec
        .given(detected(), analysisRequested())
        .when(
          cmd('CompleteAnalysis', {
            insightId: 'ins-1',
            ...answer,
            refusedProposals: [
              {
                refusalId: 'ins-1/answer/2',
                action: { type: 'DeleteNamespace', params: { name: 'shop' } },
                code: 'parser.unknown_action_type',
                reason: 'unknown action type: DeleteNamespace',
              },
              { refusalId: 'ins-1/answer/3', code: 'parser.malformed_action', reason: 'malformed action: 42' },
            ],
          }),
        )
        .expectEvents([
          { type: 'AnalysisCompleted', data: analysisCompleted().data },
          {
            type: 'ProposalRefused',
            data: {
              refusalId: 'ins-1/answer/2',
              insightId: 'ins-1',
              stage: 'parser',
              action: { type: 'DeleteNamespace', params: { name: 'shop' } },
              code: 'parser.unknown_action_type',
              reason: 'unknown action type: DeleteNamespace',
              fingerprint: 'DeleteNamespace(name=shop)',
            },
          },
          {
            type: 'ProposalRefused',
            data: {
              refusalId: 'ins-1/answer/3',
              insightId: 'ins-1',
              stage: 'parser',
              code: 'parser.malformed_action',
              reason: 'malformed action: 42',
            },
          },
        ]);
    });

    it('records a policy refusal for the current analysis round and remembers the action as not to repeat', () => {
      const when = spec.given(...analysed).when(cmd('RecordProposalRefusals', { refusals: [policyRefusal()] }));
      when.expectEvents([
        {
          type: 'ProposalRefused',
          data: {
            refusalId: 'ins-1/screen/1-drainnode',
            insightId: 'ins-1',
            stage: 'policy',
            action: drain,
            code: 'policy.too_many_destructive',
            reason: 'DrainNode is destructive and the plan already has 1 (at most 1)',
            fingerprint: 'DrainNode(node=worker-2)',
          },
        },
      ]);
      expect(when.stateAfter().doNotRepeat).toEqual(['DrainNode(node=worker-2)']);
    });

    it.each([
      ['envelope.memory_above_factor', 'envelope'],
      ['action.invalid_params', 'action_check'],
      ['policy.node_disruption_budget', 'policy'],
      ['do-not-repeat', 'do_not_repeat'],
      ['approval.refused', 'approval'],
      ['offered.not_offered', 'offered_types'],
      ['cluster.scoped_needs_approval', 'policy'],
    ])('takes the stage of code %s from its family: %s', (code, stage) => {
      const [event] = spec
        .given(...analysed)
        .when(cmd('RecordProposalRefusals', { refusals: [{ ...policyRefusal(), code }] }))
        .events();
      expect(event?.data).toMatchObject({ code, stage });
    });

    it('names the remediation and the agentic step a refusal happened in', () => {
      const [event] = spec
        .given(...remediating)
        .when(
          cmd('RecordProposalRefusals', {
            remediationId: 'rem-1',
            refusals: [{ ...policyRefusal('rem-1/step-2-drainnode'), step: 2 }],
          }),
        )
        .events();
      expect(event?.data).toMatchObject({ insightId: 'ins-1', remediationId: 'rem-1', step: 2 });
    });

    it('adds nothing for a refusal reported again, and records the new ones of a repeated report', () => {
      const first = spec
        .given(...analysed)
        .when(cmd('RecordProposalRefusals', { refusals: [policyRefusal()] }))
        .events();
      const again = spec.given(...analysed, ...first).when(
        cmd('RecordProposalRefusals', {
          refusals: [policyRefusal(), { ...policyRefusal('ins-1/screen/2-drainnode'), action: { ...drain } }],
        }),
      );
      expect(again.events().map((e) => (e.data as { refusalId: string }).refusalId)).toEqual([
        'ins-1/screen/2-drainnode',
      ]);
      // The same action refused twice is one entry of the list.
      expect(again.stateAfter().doNotRepeat).toEqual(['DrainNode(node=worker-2)']);
    });

    it('carries refused actions into the re-analysis after a failed remediation, so it cannot propose them again', () => {
      const refused = spec
        .given(...remediating)
        .when(cmd('RecordProposalRefusals', { remediationId: 'rem-1', refusals: [policyRefusal('rem-1/2-drain')] }))
        .events();
      const [reanalysis] = spec
        .given(...remediating, ...refused)
        .when(failedOutcome())
        .events();
      expect(reanalysis?.type).toBe('ReanalysisRequested');
      expect(reanalysis?.data).toHaveProperty('doNotRepeat', [
        'DrainNode(node=worker-2)',
        'RestartDeployment',
        'AdjustResources(container=app,memory_limit=512Mi)',
      ]);
      const [request] = spec
        .given(...remediating, ...refused, reanalysis as IssueEvent, analysisFailed('ins-2'))
        .when(cmd('RequestAnalysis', { insightId: 'ins-2b' }))
        .events();
      expect(request?.data).toHaveProperty('doNotRepeat', expect.arrayContaining(['DrainNode(node=worker-2)']));
    });

    it('fingerprints nothing that could never run, and cuts a huge proposal to the record without failing', () => {
      const [garbage, huge] = spec
        .given(...analysed)
        .when(
          cmd('RecordProposalRefusals', {
            refusals: [
              { refusalId: 'r-1', action: { type: 'rm -rf /', params: {} }, code: 'parser.x', reason: 'no' },
              {
                refusalId: 'r-2',
                action: {
                  type: 'PatchConfigMap',
                  params: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'v'.repeat(9_000)])),
                },
                code: 'policy.not_allowed',
                reason: 'x'.repeat(10_000),
              },
            ],
          }),
        )
        .events();
      expect(garbage?.data).not.toHaveProperty('fingerprint');
      const d = huge?.data as { action: { params: Record<string, string> }; reason: string; fingerprint: string };
      expect(Object.keys(d.action.params)).toHaveLength(32);
      expect(d.reason.length).toBeLessThanOrEqual(2_000);
      expect(d.fingerprint.length).toBeLessThanOrEqual(1_024);
    });

    it('refuses a report without a code, too many refusals at once, or before any analysis', () => {
      spec
        .given(...analysed)
        .when(cmd('RecordProposalRefusals', { refusals: [{ ...policyRefusal(), code: ' ' }] }))
        .expectRefusal('issue.invalid_refusal_code', ErrorCategory.Validation);
      spec
        .given(...analysed)
        .when(
          cmd('RecordProposalRefusals', {
            refusals: Array.from({ length: 101 }, (_, i) => policyRefusal(`r-${i}`)),
          }),
        )
        .expectRefusal('issue.too_many_refusals', ErrorCategory.Validation);
      spec
        .given(detected())
        .when(cmd('RecordProposalRefusals', { refusals: [policyRefusal()] }))
        .expectRefusal('issue.not_analysed', ErrorCategory.IllegalState);
    });
  });

  describe('manual resolution and escalation', () => {
    it.each([
      ['Detected', [detected()]],
      ['Analyzing', [detected(), analysisRequested()]],
      ['Remediating', remediating],
    ] as const)('resolves by hand from %s, recording who', (_, history) => {
      spec
        .given(...history)
        .when(cmd('ResolveIssue', { note: 'fixed the config map' }, 30, metaAt(30, 'alice')))
        .expectEvents([
          {
            type: 'IssueResolved',
            data: {
              resolution: 'manual',
              resolvedBy: 'alice',
              note: 'fixed the config map',
              attempts: history.length === 4 ? 1 : 0,
              durationSeconds: 30 * 60,
            },
          },
        ]);
    });

    it('refuses a manual resolution that does not say who', () => {
      spec
        .given(detected())
        .when(cmd('ResolveIssue', {}, 5, { occurredAt: minutesAfterBase(5) }))
        .expectRefusal('command.actor_required', ErrorCategory.Validation);
    });

    it('escalates on request', () => {
      spec
        .given(detected(), analysisRequested(), analysisFailed())
        .when(
          cmd(
            'EscalateIssue',
            { reason: 'analysis_failed', detail: 'no provider answered' },
            5,
            metaAt(5, 'system:issues'),
          ),
        )
        .expectEvents([
          {
            type: 'IssueEscalated',
            data: {
              reason: 'analysis_failed',
              attempts: 0,
              detail: 'no provider answered',
              escalatedBy: 'system:issues',
            },
          },
        ]);
    });
  });

  describe('acknowledge and snooze', () => {
    it('acknowledges once', () => {
      const when = spec.given(detected()).when(cmd('AcknowledgeIssue', { note: 'looking' }, 2, metaAt(2, 'bob')));
      when.expectEvents([{ type: 'IssueAcknowledged', data: { acknowledgedBy: 'bob', note: 'looking' } }]);
      spec
        .given(detected(), ...when.events())
        .when(cmd('AcknowledgeIssue', {}))
        .expectRefusal('issue.already_acknowledged');
    });

    it('snoozes until an instant, snoozed only before it', () => {
      const until = minutesAfterBase(60);
      const when = spec
        .given(detected())
        .when(cmd('SnoozeIssue', { until, reason: 'maintenance' }, 1, metaAt(1, 'bob')));
      when.expectEvents([{ type: 'IssueSnoozed', data: { until, snoozedBy: 'bob', reason: 'maintenance' } }]);
      const state = when.stateAfter();
      expect(state.snoozedUntil).toBe(until);
      expect(isSnoozed(state, minutesAfterBase(59))).toBe(true);
      expect(isSnoozed(state, minutesAfterBase(60))).toBe(false);
      expect(isSnoozed(spec.given(detected()).state(), minutesAfterBase(1))).toBe(false);
    });

    it('extends a snooze', () => {
      const snoozed = ev('IssueSnoozed', { until: minutesAfterBase(30), snoozedBy: 'bob' }, 1);
      const when = spec.given(detected(), snoozed).when(cmd('SnoozeIssue', { until: minutesAfterBase(90) }, 10));
      expect(when.stateAfter().snoozedUntil).toBe(minutesAfterBase(90));
    });

    it('unsnoozes while snoozed', () => {
      const snoozed = ev('IssueSnoozed', { until: minutesAfterBase(30), snoozedBy: 'bob' }, 1);
      const when = spec.given(detected(), snoozed).when(cmd('UnsnoozeIssue', {}, 29, metaAt(29, 'carol')));
      when.expectEvents([{ type: 'IssueUnsnoozed', data: { unsnoozedBy: 'carol' } }]);
      expect(when.stateAfter().snoozedUntil).toBeNull();
    });

    it('refuses to unsnooze an Issue whose snooze has run out, judged by the command time', () => {
      const snoozed = ev('IssueSnoozed', { until: minutesAfterBase(30), snoozedBy: 'bob' }, 1);
      spec
        .given(detected(), snoozed)
        .when(cmd('UnsnoozeIssue', {}, 30))
        .expectRefusal('issue.not_snoozed');
      spec
        .given(detected())
        .when(cmd('UnsnoozeIssue', {}, 2))
        .expectRefusal('issue.not_snoozed');
    });

    it('refuses a snooze that ends now or in the past, or at an unreadable time', () => {
      spec
        .given(detected())
        .when(cmd('SnoozeIssue', { until: minutesAfterBase(5) }, 5))
        .expectRefusal('issue.snooze_not_in_future', ErrorCategory.Validation);
      spec
        .given(detected())
        .when(cmd('SnoozeIssue', { until: 'later' }, 5))
        .expectRefusal('command.invalid_instant', ErrorCategory.Validation);
    });
  });

  describe('cascade', () => {
    const chain = [
      { issueId: 'iss-0', workload: { ...workload, name: 'payments' }, detectedAt: minutesAfterBase(-3) },
      { issueId: 'iss-1', workload, detectedAt: minutesAfterBase(0) },
    ];

    it('records the cascade it belongs to, once', () => {
      const when = spec
        .given(detected())
        .when(cmd('CorrelateCascade', { rootIssueId: 'iss-0', chain, windowMinutes: 15 }));
      when.expectEvents([{ type: 'IssueCascadeCorrelated', data: { rootIssueId: 'iss-0', chain, windowMinutes: 15 } }]);
      const history = [detected(), ...when.events()];
      expect(spec.given(...history).state().cascade).toEqual({ rootIssueId: 'iss-0', chain: ['iss-0', 'iss-1'] });
      spec
        .given(...history)
        .when(cmd('CorrelateCascade', { rootIssueId: 'iss-0', chain, windowMinutes: 15 }))
        .expectNoEvents();
      const longer = [
        ...chain,
        { issueId: 'iss-2', workload: { ...workload, name: 'web' }, detectedAt: minutesAfterBase(2) },
      ];
      expect(
        spec
          .given(...history)
          .when(cmd('CorrelateCascade', { rootIssueId: 'iss-0', chain: longer, windowMinutes: 15 }))
          .events(),
      ).toHaveLength(1);
    });

    it('refuses a chain that does not start at its root or does not contain the Issue', () => {
      spec
        .given(detected())
        .when(cmd('CorrelateCascade', { rootIssueId: 'iss-1', chain, windowMinutes: 15 }))
        .expectRefusal('issue.cascade_root_mismatch', ErrorCategory.Validation);
      spec
        .given(detected())
        .when(
          cmd('CorrelateCascade', {
            rootIssueId: 'iss-0',
            chain: [chain[0]!, { ...chain[1]!, issueId: 'iss-9' }],
            windowMinutes: 15,
          }),
        )
        .expectRefusal('issue.not_in_cascade', ErrorCategory.Validation);
    });
  });

  describe('terminal states refuse every command', () => {
    const resolved = ev(
      'IssueResolved',
      { resolution: 'manual', resolvedBy: 'alice', attempts: 0, durationSeconds: 60 },
      1,
    );
    const escalated = ev('IssueEscalated', { reason: 'manual', attempts: 0 }, 1);
    const { insightId: _, attempt: __, ...answer } = analysisCompleted().data;
    const commands: IssueCommand[] = [
      cmd('AttachAnomaly', { anomalyId: 'an-9', signal: 'pod_restart' }),
      cmd('RequestAnalysis', { insightId: 'ins-9' }),
      cmd('CompleteAnalysis', { insightId: 'ins-1', ...answer }),
      cmd('FailAnalysis', { insightId: 'ins-1', reason: 'x' }),
      cmd('StartRemediation', { remediationId: 'rem-9', source: 'agentic' }),
      cmd('RecordRemediationOutcome', { remediationId: 'rem-1', outcome: 'completed' }),
      cmd('ResolveIssue', {}),
      cmd('EscalateIssue', { reason: 'manual' }),
      cmd('AcknowledgeIssue', {}),
      cmd('SnoozeIssue', { until: minutesAfterBase(90) }),
      cmd('UnsnoozeIssue', {}),
      cmd('CorrelateCascade', { rootIssueId: 'iss-1', chain: [], windowMinutes: 15 }),
      cmd('RecordProposalRefusals', { refusals: [] }),
    ];

    it.each(commands.map((command) => [command.type, command] as const))('Resolved refuses %s', (_, command) => {
      spec
        .given(...remediating, resolved)
        .when(command)
        .expectRefusal('issue.already_resolved', ErrorCategory.IllegalState);
    });

    it.each(commands.map((command) => [command.type, command] as const))('Escalated refuses %s', (_, command) => {
      spec
        .given(...remediating, escalated)
        .when(command)
        .expectRefusal('issue.already_escalated', ErrorCategory.IllegalState);
    });

    it('covers every command but DetectIssue', () => {
      expect(new Set(commands.map((command) => command.type)).size).toBe(13);
    });
  });

  describe('evolve', () => {
    it('ignores events it does not know and never throws on them', () => {
      const stranger = { type: 'SomethingElseHappened', data: null, metadata: metaAt(0) } as unknown as IssueEvent;
      const before = spec.given(detected()).state();
      expect(issueDecider.evolve(before, stranger)).toBe(before);
    });
  });
});
