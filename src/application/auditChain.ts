import { createHash } from 'node:crypto';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { AuditableEventStore, AuditLogEntry, StoredEvent } from '../ports/eventStore.ts';

/**
 * The tamper-evident audit trail. Stores that support it (sqlite, memory) write one link per audited event in the
 * same transaction as the event itself:
 *
 *   contentHash = sha256(canonical [position, id, stream, revision, type, schemaVersion, recordedAt, data, metadata])
 *   hash        = sha256(prevHash + contentHash)
 *
 * so editing a stored event breaks its content hash, and editing or deleting a link breaks the next link. The chain
 * cannot protect its own tail against someone who rewrites every later link too: anchor `headHash` elsewhere (a
 * ticket, a log line) for that. This module owns the format; the adapters call the hash functions at append time.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** Audits every event: the safe default until the catalogue says which events matter. */
export const auditAllEvents = (_type: string): boolean => true;

/** JSON with object keys sorted, so the same value always has the same text. */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value, sortKeys);
  // JSON.stringify(undefined) is undefined; stores keep such data as null.
  return text === undefined ? 'null' : text;
}

function sortKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

type ContentFields = Omit<StoredEvent, 'data' | 'metadata'>;

/** For writers: `dataJson` and `metadataJson` must already be canonical (the stores write canonicalJson text). */
export function auditContentHashOfCanonical(event: ContentFields, dataJson: string, metadataJson: string): string {
  const head = JSON.stringify([
    String(event.position),
    event.id,
    event.stream,
    String(event.revision),
    event.type,
    event.schemaVersion,
    event.recordedAt,
  ]);
  return sha256(`${head.slice(0, -1)},${dataJson},${metadataJson}]`);
}

/** For verifiers: re-canonicalises the stored text, so only a change of meaning (not of layout) breaks the hash. */
export function auditContentHash(event: StoredEvent): string {
  return auditContentHashOfCanonical(event, recanonicalise(event.data), recanonicalise(event.metadata));
}

function recanonicalise(text: string): string {
  try {
    return canonicalJson(JSON.parse(text));
  } catch {
    // Unparseable text can never match a hash written from canonical JSON; keep it raw so the mismatch shows.
    return JSON.stringify(text);
  }
}

export const auditLinkHash = (prevHash: string, contentHash: string): string => sha256(prevHash + contentHash);

export const BrokenLinkReason = {
  EventMissing: 'event_missing',
  LinkMissing: 'link_missing',
  LinkMismatch: 'link_mismatch',
  ContentChanged: 'content_changed',
  ChainBroken: 'chain_broken',
  LinkChanged: 'link_changed',
} as const;
export type BrokenLinkReason = (typeof BrokenLinkReason)[keyof typeof BrokenLinkReason];

export interface BrokenLink {
  readonly reason: BrokenLinkReason;
  readonly position: bigint;
  readonly stream: string;
  readonly eventId: string;
  /** What the chain says the hash should be; null when there is no link to say it. */
  readonly expectedHash: string | null;
  /** What the stored data hashes to now; null when the event or link is gone. */
  readonly actualHash: string | null;
}

export type AuditVerification =
  | { readonly ok: true; readonly links: number; readonly headHash: string }
  | { readonly ok: false; readonly links: number; readonly broken: BrokenLink };

export interface AuditVerifierOptions {
  /** When given, an audited event without a link is reported too (a row inserted behind the store's back). */
  readonly isAudited?: (type: string) => boolean;
}

/** Checks entries one at a time, in position order, and stops at the first broken link. */
export function createAuditVerifier(options: AuditVerifierOptions = {}) {
  let prevHash = GENESIS_HASH;
  let links = 0;
  let broken: BrokenLink | undefined;

  const check = (entry: AuditLogEntry): BrokenLink | undefined => {
    const { event, link } = entry;
    if (link === null) {
      if (event === null || options.isAudited === undefined || !options.isAudited(event.type)) return undefined;
      return {
        reason: BrokenLinkReason.LinkMissing,
        position: event.position,
        stream: event.stream,
        eventId: event.id,
        expectedHash: auditLinkHash(prevHash, auditContentHash(event)),
        actualHash: null,
      };
    }
    const at = { position: link.position, stream: link.stream, eventId: link.eventId };
    if (event === null) {
      return { reason: BrokenLinkReason.EventMissing, ...at, expectedHash: link.contentHash, actualHash: null };
    }
    const contentHash = auditContentHash(event);
    if (event.id !== link.eventId || event.stream !== link.stream) {
      return { reason: BrokenLinkReason.LinkMismatch, ...at, expectedHash: link.contentHash, actualHash: contentHash };
    }
    if (contentHash !== link.contentHash) {
      return {
        reason: BrokenLinkReason.ContentChanged,
        ...at,
        expectedHash: link.contentHash,
        actualHash: contentHash,
      };
    }
    if (link.prevHash !== prevHash) {
      return { reason: BrokenLinkReason.ChainBroken, ...at, expectedHash: prevHash, actualHash: link.prevHash };
    }
    const expected = auditLinkHash(prevHash, link.contentHash);
    if (link.hash !== expected) {
      return { reason: BrokenLinkReason.LinkChanged, ...at, expectedHash: expected, actualHash: link.hash };
    }
    prevHash = link.hash;
    links += 1;
    return undefined;
  };

  return {
    /** Returns the break, if this entry is where the chain breaks; later entries are ignored after a break. */
    add(entry: AuditLogEntry): BrokenLink | undefined {
      if (broken === undefined) broken = check(entry);
      return broken;
    },
    result(): AuditVerification {
      return broken === undefined ? { ok: true, links, headHash: prevHash } : { ok: false, links, broken };
    },
  };
}

export async function verifyAuditChain(
  store: AuditableEventStore,
  options: AuditVerifierOptions & { pageSize?: number } = {},
): Promise<AuditVerification> {
  const verifier = createAuditVerifier(options);
  for await (const entry of auditLogEntries(store, options.pageSize)) {
    if (verifier.add(entry) !== undefined) break;
  }
  return verifier.result();
}

export async function* auditLogEntries(store: AuditableEventStore, pageSize = 1000): AsyncGenerator<AuditLogEntry> {
  let after: bigint | undefined;
  for (;;) {
    const page = await store.readAuditLog({ afterPosition: after, maxCount: pageSize });
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.position;
  }
}

/** One exported line of the audit trail. */
export interface AuditRecord {
  readonly seq: string;
  readonly position: string;
  readonly recordedAt: string;
  readonly occurredAt: string;
  readonly stream: string;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly actor: string;
  /** From an `issue-<id>` stream, or from `data.issueId` on other streams; empty when neither. */
  readonly issueId: string;
  readonly prevHash: string;
  readonly hash: string;
  readonly data: unknown;
}

/** Linked entries only: the export is the chain, so an unaudited event is not part of it. */
export function toAuditRecord(entry: AuditLogEntry): AuditRecord | undefined {
  const { event, link } = entry;
  if (event === null || link === null) return undefined;
  const data = parseOr(event.data, event.data);
  const metadata = parseOr(event.metadata, {}) as Record<string, unknown>;
  return {
    seq: String(link.seq),
    position: String(event.position),
    recordedAt: event.recordedAt,
    occurredAt: typeof metadata.occurredAt === 'string' ? metadata.occurredAt : '',
    stream: event.stream,
    eventId: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    actor: typeof metadata.actor === 'string' ? metadata.actor : '',
    issueId: issueIdOf(event.stream, data),
    prevHash: link.prevHash,
    hash: link.hash,
    data,
  };
}

function parseOr(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

export function issueIdOf(stream: string, data: unknown): string {
  if (stream.startsWith('issue-')) return stream.slice('issue-'.length);
  if (data !== null && typeof data === 'object' && 'issueId' in data) {
    const issueId = (data as { issueId: unknown }).issueId;
    if (typeof issueId === 'string') return issueId;
  }
  return '';
}

export interface AuditExportFilter {
  /** ISO-8601 instant; keeps records whose event occurred at or after it. */
  readonly since?: string;
  readonly issue?: string;
}

export function auditRecordFilter(filter: AuditExportFilter): (record: AuditRecord) => boolean {
  let since: number | undefined;
  if (filter.since !== undefined) {
    since = Date.parse(filter.since);
    if (Number.isNaN(since)) {
      throw new CairnError(
        'audit.bad_since',
        ErrorCategory.Validation,
        `--since is not an ISO-8601 instant: ${filter.since}`,
      );
    }
  }
  return (record) => {
    if (filter.issue !== undefined && record.issueId !== filter.issue) return false;
    if (since !== undefined) {
      const at = Date.parse(record.occurredAt || record.recordedAt);
      if (Number.isNaN(at) || at < since) return false;
    }
    return true;
  };
}

export const formatJsonLine = (record: AuditRecord): string => `${JSON.stringify(record)}\n`;

export const AUDIT_CSV_COLUMNS = [
  'seq',
  'position',
  'recordedAt',
  'occurredAt',
  'stream',
  'eventId',
  'type',
  'schemaVersion',
  'actor',
  'issueId',
  'prevHash',
  'hash',
  'data',
] as const satisfies readonly (keyof AuditRecord)[];

export const formatCsvHeader = (): string => `${AUDIT_CSV_COLUMNS.join(',')}\r\n`;

/** RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote or a line break. */
export function formatCsvRow(record: AuditRecord): string {
  const cells = AUDIT_CSV_COLUMNS.map((column) => {
    const value = record[column];
    return csvCell(typeof value === 'string' ? value : JSON.stringify(value));
  });
  return `${cells.join(',')}\r\n`;
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const AuditExportFormat = { Jsonl: 'jsonl', Csv: 'csv' } as const;
export type AuditExportFormat = (typeof AuditExportFormat)[keyof typeof AuditExportFormat];

/** Whole-export formatting for callers that already hold the records. */
export function formatAuditExport(records: readonly AuditRecord[], format: AuditExportFormat): string {
  if (format === 'jsonl') return records.map(formatJsonLine).join('');
  return formatCsvHeader() + records.map(formatCsvRow).join('');
}
