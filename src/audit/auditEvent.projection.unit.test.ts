import { describe, expect, it } from 'vitest';
import type { AuditLink, StoredEvent } from '../ports/eventStore.ts';
import {
  actorOf,
  auditEventFor,
  auditEventName,
  checkAuditEvent,
  isHighValue,
  issueOf,
  parseDuration,
  prunable,
} from './auditEvent.projection.ts';

const event = (type: string, data: unknown, stream = 'remediation-iss9-insight-2-plan'): StoredEvent => ({
  position: 12n,
  id: 'ev-12',
  stream,
  revision: 3n,
  type,
  schemaVersion: 1,
  data: JSON.stringify(data),
  metadata: JSON.stringify({ occurredAt: '2026-12-01T10:00:00.000Z', actor: 'system:executor' }),
  recordedAt: '2026-12-01T10:00:00.010Z',
});
const link = (seq: bigint, prevHash = 'b'.repeat(64)): AuditLink => ({
  seq,
  position: 12n,
  eventId: 'ev-12',
  stream: 'remediation-iss9-insight-2-plan',
  prevHash,
  contentHash: 'c'.repeat(64),
  hash: 'd'.repeat(64),
});

describe('which events become AuditEvent objects', () => {
  it('actions, approvals and rollbacks always; proposals only when the policy refused them; pages only', () => {
    for (const type of [
      'ActionStarted',
      'ActionFailed',
      'ApprovalExpired',
      'RollbackCompleted',
      'ActionRefusedByPolicy',
    ])
      expect(isHighValue(type, {})).toBe(true);
    expect(isHighValue('ProposalRefused', { stage: 'policy' })).toBe(true);
    expect(isHighValue('ProposalRefused', { stage: 'parser' })).toBe(false);
    expect(isHighValue('NotificationDecided', { deliveries: [{ pagingAction: 'trigger' }] })).toBe(true);
    expect(isHighValue('NotificationDecided', { deliveries: [{ repeat: false }] })).toBe(false);
    expect(isHighValue('EscalationLevelPaged', { level: 2 })).toBe(true);
    expect(isHighValue('EscalationSnoozed', {})).toBe(false);
    expect(isHighValue('AnomalyDetected', {})).toBe(false);
  });

  it('builds the object from the event and its link, named by its place in the chain', () => {
    const doc = auditEventFor({
      position: 12n,
      event: event('ActionFailed', {
        actionId: '1-restart',
        type: 'RestartDeployment',
        error: 'forbidden',
        target: { kind: 'Deployment', name: 'web', namespace: 'shop' },
      }),
      link: link(41n),
    });
    expect(doc?.metadata.name).toBe(`audit-000000000041-${'d'.repeat(12)}`);
    expect(doc?.metadata.labels).toEqual({
      'aiops.cairn.dev/event-type': 'ActionFailed',
      'aiops.cairn.dev/issue': 'iss9',
    });
    expect(doc?.spec).toEqual({
      sequence: 41,
      eventType: 'ActionFailed',
      eventId: 'ev-12',
      stream: 'remediation-iss9-insight-2-plan',
      occurredAt: '2026-12-01T10:00:00.000Z',
      actor: { type: 'system', name: 'system:executor' },
      resource: { kind: 'Deployment', name: 'web', namespace: 'shop' },
      issueRef: { name: 'iss9' },
      summary: 'ActionFailed: RestartDeployment: forbidden',
      details: { actionId: '1-restart', type: 'RestartDeployment', error: 'forbidden' },
      hash: 'd'.repeat(64),
      previousHash: 'b'.repeat(64),
    });
    // The first link of a chain has no previous hash.
    expect(
      auditEventFor({ position: 12n, event: event('ActionStarted', {}), link: link(0n, '0'.repeat(64)) })?.spec,
    ).not.toHaveProperty('previousHash');
    // An unlinked event, or a link whose event is gone, is no object.
    expect(auditEventFor({ position: 12n, event: event('ActionStarted', {}), link: null })).toBeUndefined();
    expect(auditEventFor({ position: 12n, event: null, link: link(1n) })).toBeUndefined();
  });

  it('tells system, API key and people apart, and finds the Issue of a remediation stream', () => {
    expect(actorOf('system:pipeline')).toEqual({ type: 'system', name: 'system:pipeline' });
    expect(actorOf('key:ops')).toEqual({ type: 'apikey', name: 'key:ops' });
    expect(actorOf('alice@example.com')).toEqual({ type: 'user', name: 'alice@example.com' });
    expect(actorOf(undefined)).toEqual({ type: 'system', name: 'system:unknown' });
    expect(issueOf('issue-abc', {})).toBe('abc');
    expect(issueOf('remediation-abc-insight-3-plan', {})).toBe('abc');
    expect(issueOf('notification-x', { issueId: 'def' })).toBe('def');
    expect(issueOf('notification-x', {})).toBe('');
    expect(issueOf('escalation-abc', { level: 2 })).toBe('abc');
  });

  it('compares an object with its chain entry field by field', () => {
    const stored = event('ActionStarted', { type: 'DeletePod', actionId: 'a', params: {}, index: 0 });
    const entry = { link: link(5n), event: stored };
    const spec = auditEventFor({ position: 12n, ...entry })!.spec as unknown as Record<string, unknown>;
    expect(checkAuditEvent('x', spec, entry)).toBeUndefined();
    expect(checkAuditEvent('x', { ...spec, summary: 'nothing' }, entry)?.reason).toMatch(/^spec.summary is "nothing"/);
    expect(checkAuditEvent('x', { ...spec, extra: 'y' }, entry)?.reason).toMatch(
      /^spec.extra is "y", the chain says \(absent\)/,
    );
    expect(checkAuditEvent('x', spec, undefined)?.reason).toBe('the audit chain has no entry 5');
    expect(checkAuditEvent('x', spec, { link: link(5n), event: null })?.reason).toBe(
      'the event of chain entry 5 is gone',
    );
  });
});

describe('retention', () => {
  const objects = [1, 2, 3, 4, 5].map((n) => ({
    name: auditEventName(n, 'e'.repeat(64)),
    sequence: n,
    occurredAt: `2026-12-0${n}T00:00:00Z`,
  }));

  it('keeps the newest within the count and the age', () => {
    const now = new Date('2026-12-06T00:00:00Z');
    expect(prunable(objects, { maxCount: 3, maxAgeSeconds: 30 * 86_400 }, now)).toEqual([
      objects[0]!.name,
      objects[1]!.name,
    ]);
    expect(prunable(objects, { maxCount: 10, maxAgeSeconds: 2.5 * 86_400 }, now)).toEqual(
      objects.slice(0, 3).map((o) => o.name),
    );
    expect(prunable([...objects].reverse(), { maxCount: 4, maxAgeSeconds: 30 * 86_400 }, now)).toEqual([
      objects[0]!.name,
    ]);
    expect(prunable(objects, { maxCount: 10, maxAgeSeconds: 30 * 86_400 }, now)).toEqual([]);
  });

  it('reads durations for the age flag', () => {
    expect(parseDuration('--audit-event-max-age', '30d')).toBe(2_592_000);
    expect(parseDuration('--audit-event-max-age', '12h')).toBe(43_200);
    expect(parseDuration('--audit-event-max-age', '90m')).toBe(5_400);
    expect(parseDuration('--audit-event-max-age', '3600')).toBe(3_600);
    for (const bad of ['0', '1w', '-3d', 'soon', ''])
      expect(() => parseDuration('--audit-event-max-age', bad)).toThrow(
        `--audit-event-max-age takes a duration such as 30d, 12h, 90m or 3600s, not "${bad}"`,
      );
  });
});

describe('what the CRD could not hold', () => {
  it('leaves out a target it would refuse, and keeps the event', () => {
    const doc = auditEventFor({
      position: 12n,
      event: event('ActionFailed', {
        type: 'DeletePod',
        error: 'x',
        target: { kind: 'pod', name: 'Web_1', namespace: 'NS' },
      }),
      link: link(3n),
    });
    expect(doc?.spec).not.toHaveProperty('resource');
    expect(doc?.spec.summary).toBe('ActionFailed: DeletePod: x');
    const long = 'a'.repeat(300);
    const big = auditEventFor({
      position: 12n,
      event: event('ActionFailed', { type: 'DeletePod', error: long.repeat(20), [long]: 'v' }),
      link: link(4n),
    });
    expect(big?.spec.summary?.length).toBeLessThanOrEqual(4096);
    expect(Object.values(big?.spec.details ?? {}).every((v) => v.length <= 4096)).toBe(true);
  });
});
