import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCategory } from '../errors.ts';
import { createCatalogue, eventCatalogue, isEventType, validateEvent } from './catalogue.ts';
import { defineEvent, strictObject } from './common.schema.ts';

const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const issueDetected = {
  issueId: 'iss-1',
  workload,
  resource: { kind: 'Pod', name: 'checkout-7d9f-abcde', namespace: 'shop' },
  signal: 'oom_kill',
  source: 'watcher',
  anomalyId: 'an-1',
  description: 'container app was OOMKilled',
  signals: ['oom_kill'],
  riskScore: 30,
  severity: 'low',
  maxAttempts: 5,
};

const refusalOf = (run: () => unknown): CairnError => {
  try {
    run();
  } catch (error) {
    if (error instanceof CairnError) return error;
    throw error;
  }
  throw new Error('expected a CairnError, nothing was thrown');
};

describe('event catalogue', () => {
  it('holds every event type of the pipeline, each with a version and an audit flag', () => {
    const expected = [
      'AnomalyDetected',
      'AnomalyDeduplicated',
      'CorrelationIssueOpened',
      'AnomalyJoinedIssue',
      'CorrelationIssueClosed',
      'IssueCascadeCorrelated',
      'IssueRemediationDeferred',
      'IssueRemediationReleased',
      'IssueRecoveryCheckScheduled',
      'IssueRecoveredWithRoot',
      'IssueDetected',
      'IssueAnomalyAttached',
      'AnalysisRequested',
      'AnalysisCompleted',
      'AnalysisFailed',
      'AnalysisDeferred',
      'RemediationStarted',
      'ReanalysisRequested',
      'IssueResolved',
      'IssueEscalated',
      'IssueAcknowledged',
      'IssueSnoozed',
      'IssueUnsnoozed',
      'IssueEscalationPaused',
      'ProposalRefused',
      'RemediationPlanCreated',
      'ApprovalRequested',
      'ApprovalGranted',
      'ApprovalRefused',
      'ApprovalExpired',
      'ChangeWindowOpened',
      'SnapshotStarted',
      'SnapshotTaken',
      'ActionStarted',
      'ActionSucceeded',
      'ActionFailed',
      'ActionRefusedByPolicy',
      'VerificationStarted',
      'VerificationPassed',
      'VerificationFailed',
      'RollbackStarted',
      'RollbackCompleted',
      'RollbackFailed',
      'RemediationCompleted',
      'RemediationRolledBack',
      'RemediationFailed',
      'AgenticStepDecided',
      'AgenticStepObserved',
      'RevisionJudged',
      'SlaStarted',
      'SlaWarned',
      'SlaViolated',
      'SlaAchieved',
      'PostMortemGenerated',
      'PostMortemReviewed',
      'PostMortemClosed',
      'PostMortemFeedbackRecorded',
      'NotificationTransitionRecorded',
      'NotificationDecided',
      'NotificationGroupSettled',
      'NotificationDelivered',
      'NotificationFailed',
      'EscalationStarted',
      'EscalationLevelPaged',
      'EscalationAcknowledged',
      'EscalationSnoozed',
      'EscalationUnsnoozed',
      'EscalationResolved',
      'EscalationPageDelivered',
      'EscalationPageFailed',
      'SloBurnAlertFired',
      'SloBurnAlertCleared',
      'ChaosRunStarted',
      'ChaosRunRefused',
      'ChaosInjectionPlanned',
      'ChaosFaultInjected',
      'ChaosInjectionFailed',
      'ChaosRevertRequested',
      'ChaosFaultReverted',
      'ChaosRevertFailed',
      'ChaosObserved',
      'ChaosRunCompleted',
    ];
    expect([...eventCatalogue.types].sort()).toEqual([...expected].sort());
    for (const type of expected) {
      expect(eventCatalogue.entry(type).schemaVersion).toBe(type === 'NotificationDecided' ? 2 : 1);
    }
  });

  it('names events in the past tense', () => {
    // The verb may sit mid-name (AnomalyJoinedIssue, ActionRefusedByPolicy).
    const pastTense = /[a-z](ed|Taken)([A-Z]|$)/;
    expect(eventCatalogue.types.filter((type) => !pastTense.test(type))).toEqual([]);
  });

  it('audits actions, approvals, rollbacks and Issue decisions, not raw detections', () => {
    for (const type of ['ActionStarted', 'ActionFailed', 'ApprovalGranted', 'RollbackStarted', 'IssueResolved']) {
      expect(eventCatalogue.isAudited(type)).toBe(true);
    }
    for (const type of ['AnomalyDetected', 'AnomalyDeduplicated', 'AnalysisRequested']) {
      expect(eventCatalogue.isAudited(type)).toBe(false);
    }
  });

  it('accepts a valid payload and returns it typed', () => {
    const data = validateEvent('IssueDetected', issueDetected);
    expect(data.riskScore).toBe(30);
    expect(isEventType('IssueDetected')).toBe(true);
  });

  describe('rejects malformed payloads, naming the field', () => {
    const cases: ReadonlyArray<readonly [string, string, unknown, string]> = [
      [
        'a number above its maximum',
        'IssueDetected',
        { ...issueDetected, riskScore: 101 },
        '/data/riskScore must be <= 100',
      ],
      [
        'a number below its minimum',
        'IssueDetected',
        { ...issueDetected, maxAttempts: 0 },
        '/data/maxAttempts must be >= 1',
      ],
      ['a non-integer', 'IssueDetected', { ...issueDetected, riskScore: 50.5 }, '/data/riskScore must be an integer'],
      ['a missing field', 'IssueDetected', { ...issueDetected, issueId: undefined }, '/data/issueId is required'],
      [
        'an unknown field',
        'IssueDetected',
        { ...issueDetected, riskScroe: 3 },
        '/data/riskScroe is not an allowed field',
      ],
      [
        'a value outside an enumeration',
        'IssueDetected',
        { ...issueDetected, severity: 'urgent' },
        '/data/severity must be one of "critical", "high", "medium", "low"',
      ],
      [
        'a nested field',
        'IssueDetected',
        { ...issueDetected, workload: { ...workload, kind: 'deployment' } },
        '/data/workload/kind must be a Kubernetes kind',
      ],
      [
        'an array element',
        'IssueDetected',
        { ...issueDetected, signals: ['oom_kill', 'Bad Signal'] },
        '/data/signals/1 must be a snake_case signal name',
      ],
      [
        'a malformed instant',
        'IssueSnoozed',
        { until: 'tomorrow', snoozedBy: 'alice' },
        '/data/until must be an ISO-8601 instant',
      ],
      [
        'an empty required string',
        'IssueAcknowledged',
        { acknowledgedBy: '' },
        '/data/acknowledgedBy must not be empty',
      ],
      [
        'an attempt below 1',
        'AnalysisFailed',
        { insightId: 'i', attempt: 0, reason: 'x' },
        '/data/attempt must be >= 1',
      ],
      [
        'a confidence above 1',
        'AnalysisCompleted',
        {
          insightId: 'i',
          attempt: 1,
          analysis: 'a',
          confidence: 1.5,
          recommendations: [],
          suggestedActions: [],
          provider: 'rules',
          model: '',
        },
        '/data/confidence must be <= 1',
      ],
      ['data that is not an object', 'IssueUnsnoozed', 'alice', '/data must be an object'],
      [
        'a wrong type',
        'ApprovalGranted',
        { requestId: 'r', approver: 'a', approvals: 1, quorumReached: 'yes' },
        '/data/quorumReached must be a boolean',
      ],
    ];
    it.each(cases)('%s', (_, type, data, message) => {
      const error = refusalOf(() => validateEvent(type, data));
      expect(error.code).toBe('event.invalid');
      expect(error.category).toBe(ErrorCategory.Validation);
      expect(error.message).toContain(message);
    });

    it('lists every offending field in the details, once each', () => {
      // An absent key draws two TypeBox errors (required, then wrong type); the message names it once.
      const { issueId: _, ...withoutId } = issueDetected;
      const error = refusalOf(() => validateEvent('IssueDetected', { ...withoutId, riskScore: 101 }));
      expect(error.details.errors).toEqual([
        { path: '/data/issueId', message: '/data/issueId is required' },
        { path: '/data/riskScore', message: '/data/riskScore must be <= 100' },
      ]);
      expect(error.message).toContain('(and 1 more)');
    });
  });

  it('refuses an unknown event type', () => {
    const error = refusalOf(() => validateEvent('IssueExploded', {}));
    expect(error.code).toBe('event.unknown_type');
    expect(error.category).toBe(ErrorCategory.Validation);
    expect(error.message).toContain('IssueExploded');
    expect(refusalOf(() => eventCatalogue.isAudited('IssueExploded')).code).toBe('event.unknown_type');
  });

  describe('envelopes', () => {
    const metadata = { occurredAt: '2026-01-05T10:00:00.000Z', actor: 'system:watcher' };

    it('accepts a well-formed event', () => {
      expect(() =>
        eventCatalogue.validateEnvelope({ type: 'IssueDetected', data: issueDetected, metadata }),
      ).not.toThrow();
    });

    it('refuses an audited event that does not say who did it', () => {
      const error = refusalOf(() =>
        eventCatalogue.validateEnvelope({
          type: 'IssueDetected',
          data: issueDetected,
          metadata: { occurredAt: metadata.occurredAt },
        }),
      );
      expect(error.code).toBe('event.invalid');
      expect(error.message).toContain('/metadata/actor is required');
    });

    it('lets an unaudited event go without an actor', () => {
      expect(() =>
        eventCatalogue.validateEnvelope({
          type: 'IssueUnsnoozed',
          data: { unsnoozedBy: 'bob' },
          metadata: { occurredAt: metadata.occurredAt },
        }),
      ).toThrow(/actor/);
      expect(() =>
        eventCatalogue.validateEnvelope({
          type: 'AnalysisFailed',
          data: { insightId: 'i', attempt: 1, reason: 'provider down' },
          metadata: { occurredAt: metadata.occurredAt },
        }),
      ).not.toThrow();
    });

    it('names a malformed metadata field', () => {
      const error = refusalOf(() =>
        eventCatalogue.validateEnvelope({
          type: 'IssueDetected',
          data: issueDetected,
          metadata: { occurredAt: 'now' },
        }),
      );
      expect(error.message).toContain('/metadata/occurredAt must be an ISO-8601 instant');
    });
  });

  describe('upcasting older schema versions', () => {
    // A v2 of a made-up event that split `name` into `kind` and `name`: the mechanism every type will use.
    const v2 = defineEvent(
      'ThingHappened',
      strictObject({ kind: Type.String(), name: Type.String(), note: Type.String() }),
      {
        audited: false,
        schemaVersion: 2,
        upcasters: {
          1: (data) => {
            const { name, ...rest } = data as { name: string };
            const [kind = '', short = ''] = name.split('/');
            return { ...rest, kind, name: short, note: 'upcast from v1' };
          },
        },
      },
    );
    const catalogue = createCatalogue([v2]);

    it('reads a v1 event as v2', () => {
      expect(catalogue.readEvent('ThingHappened', 1, { name: 'Deployment/checkout' })).toEqual({
        kind: 'Deployment',
        name: 'checkout',
        note: 'upcast from v1',
      });
    });

    it('reads a current-version event unchanged, and still validates it', () => {
      const data = { kind: 'Pod', name: 'p', note: 'n' };
      expect(catalogue.readEvent('ThingHappened', 2, data)).toEqual(data);
      expect(refusalOf(() => catalogue.readEvent('ThingHappened', 2, { kind: 'Pod' })).message).toContain(
        '/data/name is required',
      );
    });

    it('refuses a version it does not know', () => {
      const error = refusalOf(() => catalogue.readEvent('ThingHappened', 3, {}));
      expect(error.code).toBe('event.unsupported_version');
      expect(refusalOf(() => catalogue.entry('ThingHappened').upcast(0, {})).code).toBe('event.unsupported_version');
    });

    it('refuses to build a catalogue with a version whose upcaster is missing', () => {
      const broken = defineEvent('ThingHappened', strictObject({}), {
        audited: false,
        schemaVersion: 3,
        upcasters: { 1: (d) => d },
      });
      expect(() => createCatalogue([broken])).toThrow(/no upcaster from v2/);
    });

    it('refuses a type defined twice', () => {
      expect(() => createCatalogue([v2, v2])).toThrow(/defined twice/);
    });

    it('brings every event of the real catalogue through upcast at its current version unchanged', () => {
      for (const type of eventCatalogue.types) {
        const entry = eventCatalogue.entry(type);
        const marker = { marker: type };
        expect(entry.upcast(entry.schemaVersion, marker)).toBe(marker);
      }
    });
  });
});
