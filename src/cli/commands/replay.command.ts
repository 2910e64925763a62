import type { Command } from 'commander';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { DEFAULT_EVENT_STORE_URL } from '../../adapters/eventstore/eventStore.factory.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import type { Write } from './audit.command.ts';

const stdout: Write = (text) => {
  process.stdout.write(text);
};

/** `cairn replay <issueId>`: the incident's timeline, straight from the events (never from a read model). */
export function registerReplayCommand(program: Command, write: Write = stdout): void {
  program
    .command('replay')
    .description("print an incident's timeline from its events: the issue stream and its remediations")
    .argument('<issueId>', 'the issue id (the part after issue-)')
    .option('--store <url>', 'event store URL', DEFAULT_EVENT_STORE_URL)
    .action(async (issueId: string, opts: { store: string }) => {
      const store = openEventStore(opts.store, { mustExist: true });
      try {
        const timeline = await incidentTimeline(store, issueId);
        if (timeline.length === 0) {
          throw new CairnError(
            'replay.not_found',
            ErrorCategory.NotFound,
            `no events for issue ${issueId} in ${opts.store}`,
          );
        }
        write(formatTimeline(timeline));
      } finally {
        await store.close();
      }
    });
}

/**
 * True for the events that tell an incident's story: its own stream, and every event of the remediations whose
 * plan names it (`plans` collects those streams as the log is read in order: a plan is created before it runs).
 */
export function belongsToIssue(event: RecordedEvent, issueId: string, plans: Set<string> = new Set()): boolean {
  if (event.streamId === streamName(StreamCategory.Issue, issueId)) return true;
  if (!event.streamId.startsWith(`${StreamCategory.Remediation}-`)) return false;
  if (plans.has(event.streamId)) return true;
  const data = event.data as { issueId?: unknown } | null;
  const names = data !== null && typeof data === 'object' && data.issueId === issueId;
  if (names && event.type === 'RemediationPlanCreated') plans.add(event.streamId);
  return names;
}

/** One pass over the log in global order, so the merged timeline needs no sorting. */
export async function incidentTimeline(store: EventStore, issueId: string, pageSize = 1000): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  const plans = new Set<string>();
  let from: bigint | undefined;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: pageSize });
    for (const event of page) if (belongsToIssue(event, issueId, plans)) out.push(event);
    if (page.length < pageSize) return out;
    from = page[page.length - 1]!.position + 1n;
  }
}

export function formatTimeline(events: readonly RecordedEvent[]): string {
  const typeWidth = Math.max(4, ...events.map((e) => e.type.length));
  return events
    .map((e) => `${e.metadata.occurredAt ?? e.recordedAt}  ${e.type.padEnd(typeWidth)}  ${summarizeEvent(e)}`.trimEnd())
    .join('\n')
    .concat('\n');
}

const SUMMARY_FIELDS = ['summary', 'title', 'message', 'reason', 'action'] as const;
const MAX_SUMMARY = 140;

/** A one-line summary: the stream, a headline field when there is one, then the other scalar fields as key=value. */
export function summarizeEvent(event: RecordedEvent): string {
  const parts = [`[${event.streamId}]`];
  const data = event.data;
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const record = data as Record<string, unknown>;
    const headline = SUMMARY_FIELDS.find((key) => typeof record[key] === 'string');
    if (headline !== undefined) parts.push(oneLine(String(record[headline])));
    for (const [key, value] of Object.entries(record)) {
      if (key === headline || key === 'issueId') continue;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        parts.push(`${key}=${oneLine(String(value))}`);
      }
    }
  } else if (data !== undefined && data !== null) {
    parts.push(oneLine(JSON.stringify(data)));
  }
  const line = parts.join(' ');
  return line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY - 1)}…` : line;
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();
