import { describe, expect, it } from 'vitest';
import { slaFor } from '../../domain/sla/sla.matching.ts';
import { validateSla } from './sla.validation.ts';

const meta = { namespace: 'shop', name: 'office', generation: 2, createdAt: '2026-01-01T00:00:00Z' };
const spec = {
  targets: [
    { severity: 'critical', response: '15m', resolution: '4h' },
    { severity: 'high', response: '1h', resolution: '24h' },
  ],
  businessHours: {
    timeZone: 'Europe/Paris',
    ranges: [{ days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'], start: '09:00', end: '18:00' }],
  },
  holidays: ['2026-12-25'],
  escalateOn: ['response'],
  notificationPolicyRef: { name: 'on-call' },
};
const problemOf = (s: unknown) => {
  const outcome = validateSla(meta, s, 'cairn-system');
  return outcome.ok ? undefined : outcome.problem;
};

describe('IncidentSLA validation', () => {
  it('turns a spec into targets in seconds, the calendar and the defaults', () => {
    const outcome = validateSla(meta, spec, 'cairn-system');
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.sla.targets.get('critical')).toEqual({ responseSeconds: 900, resolutionSeconds: 14_400 });
    expect(outcome.sla.terms).toMatchObject({
      warningAt: 0.8,
      escalateOn: ['response'],
      notificationPolicy: { namespace: 'shop', name: 'on-call' },
      calendar: { timeZone: 'Europe/Paris', holidays: ['2026-12-25'] },
    });
    expect(outcome.sla.clusterWide).toBe(false);
  });

  it('names the field of what cannot be measured by', () => {
    expect(problemOf({ ...spec, businessHours: { ...spec.businessHours, timeZone: 'Mars/Olympus' } })).toEqual({
      field: 'spec.businessHours.timeZone',
      message: expect.stringContaining('unknown time zone'),
    });
    const empty = { ...spec.businessHours, ranges: [{ days: ['Monday'], start: '09:00', end: '09:00' }] };
    expect(problemOf({ ...spec, businessHours: empty })?.field).toBe('spec.businessHours.ranges[0].end');
    expect(problemOf({ ...spec, holidays: ['2026-13-01'] })?.field).toBe('spec.holidays[0]');
    expect(problemOf({ ...spec, businessHours: undefined })?.field).toBe('spec.holidays');
    expect(problemOf({ ...spec, targets: [{ severity: 'low', response: '2h', resolution: '1h' }] })?.field).toBe(
      'spec.targets[0].response',
    );
    expect(problemOf({ ...spec, targets: [{ severity: 'low', response: 'soon', resolution: '1h' }] })?.field).toBe(
      'spec.targets[0].response',
    );
    expect(problemOf({ ...spec, warningAt: 1.5 })?.field).toBe('spec.warningAt');
    expect(problemOf({ ...spec, targets: [] })?.field).toBe('spec.targets');
  });

  it('matches an Issue to the SLA of its own namespace before a cluster-wide one, by name between equals', () => {
    const make = (namespace: string, name: string, severity = 'critical', createdAt = '2026-01-01T00:00:00Z') => {
      const outcome = validateSla(
        { namespace, name, generation: 1, createdAt },
        { targets: [{ severity, response: '5m', resolution: '1h' }] },
        'cairn-system',
      );
      if (!outcome.ok) throw new Error(outcome.problem.message);
      return outcome.sla;
    };
    const slas = [
      make('cairn-system', 'a-global'),
      make('shop', 'z-local'),
      make('shop', 'b-local'),
      make('shop', 'a-later', 'critical', '2026-06-01T00:00:00Z'),
      make('other', 'x'),
    ];
    const detectedAt = '2026-03-01T00:00:00Z';
    expect(slaFor(slas, { namespace: 'shop', severity: 'critical', detectedAt })?.sla.name).toBe('b-local');
    expect(slaFor(slas, { namespace: 'web', severity: 'critical', detectedAt })?.sla.name).toBe('a-global');
    expect(slaFor(slas, { namespace: 'web', severity: 'low', detectedAt })).toBeUndefined();
    // An SLA never measures an Issue detected before it existed.
    const early = { namespace: 'web', severity: 'critical', detectedAt: '2025-12-31T00:00:00Z' } as const;
    expect(slaFor(slas, early)).toBeUndefined();
    const late = { namespace: 'shop', severity: 'critical', detectedAt: '2026-07-01T00:00:00Z' } as const;
    expect(slaFor(slas, late)?.sla.name).toBe('a-later');
    expect(slaFor(slas, { namespace: 'shop', severity: 'critical', detectedAt })).toMatchObject({
      responseSeconds: 300,
      resolutionSeconds: 3_600,
      warningAt: 0.8,
      escalateOn: [],
    });
  });
});
