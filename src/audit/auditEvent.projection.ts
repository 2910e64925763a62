import { GENESIS_HASH, issueIdOf } from '../application/auditChain.ts';
import type { AuditLink, AuditLogEntry, StoredEvent } from '../ports/eventStore.ts';

/**
 * Which events become AuditEvent objects: what was done to the cluster, who allowed it, what was refused and who was
 * paged (by a NotificationPolicy or an EscalationPolicy level). The event store keeps the whole chain; these objects
 * are a bounded window onto it for `kubectl`.
 */
const ALWAYS = new Set([
  'ActionStarted',
  'ActionSucceeded',
  'ActionFailed',
  'ActionRefusedByPolicy',
  'ApprovalRequested',
  'ApprovalGranted',
  'ApprovalRefused',
  'ApprovalExpired',
  'RollbackStarted',
  'RollbackCompleted',
  'RollbackFailed',
  'RemediationRolledBack',
  // An escalation level exists to page people: each page is one.
  'EscalationLevelPaged',
]);

/** Event types the projection listens to; some are kept only when their data says so (see isHighValue). */
export const AuditedEventTypes: readonly string[] = [...ALWAYS, 'ProposalRefused', 'NotificationDecided'];

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const record = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** Policy refusals of proposals (not parser or do-not-repeat ones), and notifications that page someone. */
export function isHighValue(type: string, data: unknown): boolean {
  if (ALWAYS.has(type)) return true;
  const d = record(data);
  if (type === 'ProposalRefused') return d.stage === 'policy';
  if (type === 'NotificationDecided') {
    return Array.isArray(d.deliveries) && d.deliveries.some((x) => record(x).pagingAction !== undefined);
  }
  return false;
}

export interface AuditEventSpecDoc {
  readonly sequence: number;
  readonly eventType: string;
  readonly eventId: string;
  readonly stream: string;
  readonly occurredAt: string;
  readonly actor: { readonly type: 'user' | 'apikey' | 'system'; readonly name: string };
  readonly resource?: { kind: string; name: string; namespace?: string };
  readonly issueRef?: { name: string };
  readonly correlationId?: string;
  readonly summary?: string;
  readonly details?: Record<string, string>;
  readonly hash: string;
  readonly previousHash?: string;
}

export interface AuditEventDoc {
  readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
  readonly spec: AuditEventSpecDoc;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** `system:pipeline` is Cairn, `key:ops` (or `apikey:`) an API key, anything else a person. */
export function actorOf(actor: unknown): AuditEventSpecDoc['actor'] {
  const name = typeof actor === 'string' && actor.length > 0 ? actor.slice(0, 253) : 'system:unknown';
  if (name.startsWith('system:')) return { type: 'system', name };
  if (name.startsWith('key:') || name.startsWith('apikey:')) return { type: 'apikey', name };
  return { type: 'user', name };
}

/** The issue of a remediation stream is in its id (`<issue>-insight-<n>-plan`); other streams name it themselves. */
export function issueOf(stream: string, data: unknown): string {
  const direct = issueIdOf(stream, data);
  if (direct !== '') return direct;
  const plan = /^remediation-(.+)-insight-\d+-plan$/.exec(stream);
  if (plan) return plan[1]!;
  const escalation = /^escalation-(.+)$/.exec(stream);
  return escalation ? escalation[1]! : '';
}

const KIND = /^[A-Z][A-Za-z0-9]*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The object acted on, when the event names one the CRD can hold; anything else stays in the summary and details. */
const refOf = (value: unknown): AuditEventSpecDoc['resource'] | undefined => {
  const r = record(value);
  if (typeof r.kind !== 'string' || typeof r.name !== 'string') return undefined;
  if (r.kind.length > 63 || !KIND.test(r.kind) || r.name.length > 253 || !DNS_SUBDOMAIN.test(r.name)) return undefined;
  const namespace =
    typeof r.namespace === 'string' && r.namespace.length <= 63 && DNS_LABEL.test(r.namespace) ? r.namespace : '';
  return { kind: r.kind, name: r.name, ...(namespace !== '' ? { namespace } : {}) };
};

/** Scalars of the event's data, as strings: what a person reading `kubectl get -o yaml` needs. */
const detailsOf = (data: Record<string, unknown>): Record<string, string> => {
  const details: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (Object.keys(details).length >= 32) break;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      details[key] = String(value).slice(0, 4096);
    } else if (key === 'params' || key === 'action' || key === 'approver') {
      details[key] = JSON.stringify(value).slice(0, 4096);
    }
  }
  return details;
};

const summaryOf = (type: string, d: Record<string, unknown>): string => {
  const action = typeof d.type === 'string' ? d.type : record(d.action).type;
  const why = d.reason ?? d.error ?? d.result ?? d.detail;
  return [type, action, typeof d.code === 'string' ? d.code : d.policy, why]
    .filter((part) => typeof part === 'string' && part !== '')
    .join(': ')
    .slice(0, 4096);
};

/** AuditEvent names sort by their place in the chain, and differ between two chains with the same sequence. */
export const auditEventName = (seq: bigint | number, hash: string) =>
  `audit-${String(seq).padStart(12, '0')}-${hash.slice(0, 12)}`;

export function auditEventSpec(event: StoredEvent, link: AuditLink): AuditEventSpecDoc {
  const data = record(parse(event.data));
  const metadata = record(parse(event.metadata));
  const issue = issueOf(event.stream, data);
  const resource = refOf(data.target) ?? refOf(data.workload) ?? refOf(data.resource);
  const details = detailsOf(data);
  const summary = summaryOf(event.type, data);
  return {
    sequence: Number(link.seq),
    eventType: event.type,
    eventId: event.id,
    stream: event.stream,
    occurredAt: typeof metadata.occurredAt === 'string' ? metadata.occurredAt : event.recordedAt,
    actor: actorOf(metadata.actor),
    ...(resource ? { resource } : {}),
    ...(issue !== '' && issue.length <= 253 && DNS_SUBDOMAIN.test(issue) ? { issueRef: { name: issue } } : {}),
    ...(typeof metadata.correlationId === 'string' ? { correlationId: metadata.correlationId.slice(0, 128) } : {}),
    ...(summary !== '' ? { summary } : {}),
    ...(Object.keys(details).length > 0 ? { details } : {}),
    hash: link.hash,
    ...(link.prevHash !== GENESIS_HASH ? { previousHash: link.prevHash } : {}),
  };
}

/** The object for one entry of the audit log, or undefined when the entry is not a linked high-value event. */
export function auditEventFor(entry: AuditLogEntry): AuditEventDoc | undefined {
  const { event, link } = entry;
  if (event === null || link === null || !isHighValue(event.type, parse(event.data))) return undefined;
  const spec = auditEventSpec(event, link);
  const labels: Record<string, string> = { 'aiops.cairn.dev/event-type': event.type };
  if (spec.issueRef && spec.issueRef.name.length <= 63 && LABEL_VALUE.test(spec.issueRef.name)) {
    labels['aiops.cairn.dev/issue'] = spec.issueRef.name;
  }
  return { metadata: { name: auditEventName(link.seq, link.hash), labels }, spec };
}

export interface Retention {
  /** AuditEvent objects kept at most; the oldest go first. */
  readonly maxCount: number;
  /** Objects whose event occurred longer ago than this are deleted. */
  readonly maxAgeSeconds: number;
}

export const RetentionDefaults: Retention = { maxCount: 1000, maxAgeSeconds: 30 * 24 * 3600 };

export interface RetainedObject {
  readonly name: string;
  readonly sequence: number;
  readonly occurredAt: string;
}

/** Which objects retention deletes: beyond the count (lowest sequences first) or older than the age. */
export function prunable(objects: readonly RetainedObject[], retention: Retention, now: Date): string[] {
  const sorted = [...objects].sort((a, b) => a.sequence - b.sequence || a.name.localeCompare(b.name));
  const excess = Math.max(0, sorted.length - retention.maxCount);
  const oldest = now.getTime() - retention.maxAgeSeconds * 1000;
  return sorted
    .filter((o, index) => {
      if (index < excess) return true;
      const at = Date.parse(o.occurredAt);
      return Number.isFinite(at) && at < oldest;
    })
    .map((o) => o.name);
}

export interface AuditEventMismatch {
  readonly name: string;
  readonly sequence: number | null;
  readonly reason: string;
}

/** What the chain holds at one sequence, for comparing an AuditEvent with it. */
export interface ChainEntry {
  readonly link: AuditLink;
  readonly event: StoredEvent | null;
}

/**
 * Compares one AuditEvent object with the chain entry of its sequence. The spec is rebuilt from the stored event
 * and must be the same, field by field: an object recreated with another hash, actor or summary does not match.
 */
export function checkAuditEvent(
  name: string,
  spec: Record<string, unknown> | undefined,
  chain: ChainEntry | undefined,
): AuditEventMismatch | undefined {
  const sequence = typeof spec?.sequence === 'number' ? spec.sequence : null;
  if (sequence === null) return { name, sequence, reason: 'it has no sequence' };
  if (chain === undefined) return { name, sequence, reason: `the audit chain has no entry ${sequence}` };
  if (chain.event === null) return { name, sequence, reason: `the event of chain entry ${sequence} is gone` };
  const expected = auditEventSpec(chain.event, chain.link) as unknown as Record<string, unknown>;
  const fields = new Set([...Object.keys(expected), ...Object.keys(spec ?? {})]);
  for (const field of ['hash', 'previousHash', 'eventId', 'stream', 'eventType', ...fields]) {
    const want = JSON.stringify(sortKeys(expected[field]));
    const have = JSON.stringify(sortKeys(spec?.[field]));
    if (want !== have) {
      return {
        name,
        sequence,
        reason: `spec.${field} is ${have ?? '(absent)'}, the chain says ${want ?? '(absent)'}`,
      };
    }
  }
  return undefined;
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}

/** `30d`, `12h`, `90m` or `3600s` (a bare number is seconds), for the retention age. */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match?.[2] ?? ''] ?? 1;
  const seconds = match ? Number(match[1]) * unit : Number.NaN;
  if (!(seconds > 0) || !Number.isSafeInteger(seconds)) {
    throw new Error(`${flag} takes a duration such as 30d, 12h, 90m or 3600s, not "${value}"`);
  }
  return seconds;
}
