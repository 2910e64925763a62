import type Database from 'better-sqlite3';
import { isCairnError } from '../../domain/errors.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { createCommandHandler } from './commandHandler.ts';

/**
 * Escalations held by a snooze are released when the snooze ends. The read model says which Issues may be due (it
 * survives restarts, unlike a timer); the Issue decider decides on its own stream whether they are, so a stale row
 * or two replicas sweeping at once escalate nothing twice.
 */
export function startEscalationRelease(deps: {
  store: EventStore;
  readModel: Database.Database;
  now: () => Date;
  intervalMs?: number;
  onError?: (error: unknown) => void;
}): { sweep(): Promise<number>; stop(): void } {
  const issues = createCommandHandler(deps.store, issueDecider);
  const due = deps.readModel.prepare<[string], { issue_id: string }>(
    `SELECT issue_id FROM incidents
     WHERE state NOT IN ('Resolved', 'Escalated') AND json_extract(document, '$.heldEscalation') IS NOT NULL
       AND acknowledged_by IS NULL AND (snoozed_until IS NULL OR julianday(snoozed_until) <= julianday(?))`,
  );
  const sweep = async () => {
    let released = 0;
    const at = deps.now().toISOString();
    for (const { issue_id } of due.all(at)) {
      try {
        const outcome = await issues(streamName(StreamCategory.Issue, issue_id), {
          type: 'ReleaseEscalation',
          data: {},
          metadata: { occurredAt: at, actor: 'system:escalation' },
        });
        released += outcome.newEvents.length;
      } catch (error) {
        // Ended meanwhile: nothing left to release.
        if (!(isCairnError(error) && error.code.startsWith('issue.already_'))) deps.onError?.(error);
      }
    }
    return released;
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((error) => deps.onError?.(error))
      .finally(() => {
        running = false;
      });
  }, deps.intervalMs ?? 5_000);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
