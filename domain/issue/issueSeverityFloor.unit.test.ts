import { describe, expect, it } from 'vitest';
import { ErrorCategory } from '../errors.ts';
import type { Severity } from '../events/common.schema.ts';
import { deciderSpec, metaAt } from '../testing/decider.spec.ts';
import type { IssueCommand } from './issue.commands.ts';
import { type IssueEvent, issueDecider } from './issue.decider.ts';

/** An SLO burn alert's severity floor, as the Issue decider honours it (see severityFloor.policy.ts). */
const spec = deciderSpec(issueDecider);
const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };

const detect = (signal: string, severityFloor?: Severity): IssueCommand => ({
  type: 'DetectIssue',
  data: {
    issueId: 'iss-1',
    workload,
    resource: workload,
    signal,
    source: 'prometheus',
    anomalyId: 'an-1',
    description: 'SLO shop/checkout burns its error budget',
    ...(severityFloor ? { severityFloor } : {}),
  },
  metadata: metaAt(0),
});
const attach = (anomalyId: string, signal: string, severityFloor?: Severity, m = 1): IssueCommand => ({
  type: 'AttachAnomaly',
  data: { anomalyId, signal, ...(severityFloor ? { severityFloor } : {}) },
  metadata: metaAt(m),
});

const history = (...commands: IssueCommand[]): IssueEvent[] => spec.history(...commands);

describe('an Issue severity floor', () => {
  it('opens an Issue from a page burn at the pair severity, not the low its risk score alone gives', () => {
    const [detected] = spec.given().when(detect('slo_burn_rate', 'critical')).events();
    expect(detected).toMatchObject({ type: 'IssueDetected', data: { riskScore: 25, severity: 'critical' } });
    const [high] = spec.given().when(detect('slo_burn_rate', 'high')).events();
    expect(high?.data).toMatchObject({ severity: 'high' });
  });

  it('opens a ticket burn at medium, and without a floor at the score severity as before', () => {
    expect(spec.given().when(detect('slo_burn_rate', 'medium')).stateAfter().severity).toBe('medium');
    expect(spec.given().when(detect('slo_burn_rate')).stateAfter().severity).toBe('low');
  });

  it('raises an open Issue that a page burn joins, and records the severity it had before', () => {
    spec
      .given(...history(detect('pod_restart')))
      .when(attach('an-2', 'slo_burn_rate', 'critical'))
      .expectEvents([
        {
          type: 'IssueAnomalyAttached',
          data: {
            anomalyId: 'an-2',
            signal: 'slo_burn_rate',
            newSignal: true,
            signals: ['pod_restart', 'slo_burn_rate'],
            riskScore: 45,
            severity: 'critical',
            previousSeverity: 'low',
          },
        },
      ]);
  });

  it('keeps a floor once set: later anomalies without one never lower the Issue', () => {
    const state = spec
      .given(...history(detect('slo_burn_rate', 'high'), attach('an-2', 'pod_restart')))
      .when(attach('an-3', 'slo_burn_rate', 'medium', 2))
      .stateAfter();
    expect(state.severity).toBe('high');
    expect(state.riskScore).toBe(45);
  });

  it('lets other signals raise a ticket-level Issue past medium on their score', () => {
    const state = spec
      .given(...history(detect('slo_burn_rate', 'medium'), attach('an-2', 'oom_kill')))
      .when(attach('an-3', 'error_rate', undefined, 2))
      .stateAfter();
    expect(state.riskScore).toBe(80);
    expect(state.severity).toBe('critical');
  });

  it('refuses a floor that is no severity, naming the field', () => {
    spec
      .given()
      .when(detect('slo_burn_rate', 'urgent' as Severity))
      .expectRefusal('issue.invalid_severity_floor', ErrorCategory.Validation);
    spec
      .given(...history(detect('pod_restart')))
      .when(attach('an-2', 'slo_burn_rate', 'page' as Severity))
      .expectRefusal('issue.invalid_severity_floor', ErrorCategory.Validation);
  });
});
