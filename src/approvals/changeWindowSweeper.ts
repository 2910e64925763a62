import { ErrorCategory, isCairnError } from '../../domain/errors.ts';
import type { RemediationCommand } from '../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { epochMs } from '../../domain/time.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { EventStore, Subscription } from '../ports/eventStore.ts';

export interface ChangeWindowSweeperOptions {
  readonly store: EventStore;
  readonly now: () => Date;
  /** How often due openings are looked for; 1 s by default. */
  readonly tickMs?: number;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface ChangeWindowSweeper {
  /** Plans waiting for their window: remediation stream → when it opens. */
  waiting(): ReadonlyMap<string, string>;
  /** Opens every window due at `now()`; what the timer runs, callable by tests with an injected clock. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

const ENDED = ['ChangeWindowOpened', 'RemediationFailed', 'RemediationCompleted', 'RemediationRolledBack'];

/**
 * Starts plans whose change window has opened. The openings are deadlines recorded with the plans
 * (RemediationPlanCreated.changeWindow), rebuilt from the store at start; the aggregate decides whether each is still
 * due (OpenChangeWindow is refused once the window is open), so a restart or a new leader opens each exactly once.
 * Leader only.
 */
export function startChangeWindowSweeper(options: ChangeWindowSweeperOptions): ChangeWindowSweeper {
  const decide = createCommandHandler(options.store, remediationDecider, { maxAttempts: 5 });
  const waiting = new Map<string, string>();
  const subscription: Subscription = options.store.subscribeToAll(
    { filter: { eventTypes: ['RemediationPlanCreated', ...ENDED] } },
    (event) => {
      if (event.type === 'RemediationPlanCreated') {
        const opensAt = (event.data as { changeWindow?: { opensAt: string } }).changeWindow?.opensAt;
        if (opensAt) waiting.set(event.streamId, opensAt);
      } else {
        waiting.delete(event.streamId);
      }
    },
  );
  subscription.done.catch((error) => options.onError?.('change windows: subscription ended', error));

  const sweep = async () => {
    const now = options.now();
    let opened = 0;
    for (const [stream, opensAt] of [...waiting]) {
      if (now.getTime() < epochMs(opensAt)) continue;
      try {
        await decide(stream, {
          type: 'OpenChangeWindow',
          data: {},
          metadata: { occurredAt: now.toISOString(), actor: 'system:change-windows' },
        } as RemediationCommand);
        options.log?.(`change window of ${stream} opened (${opensAt})`);
        opened += 1;
      } catch (error) {
        // Already open, or the plan ended meanwhile: nothing left to do. Anything else is tried again next tick.
        if (!isCairnError(error) || error.category === ErrorCategory.Transient) throw error;
      }
      waiting.delete(stream);
    }
    return opened;
  };

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    timer = setTimeout(() => {
      sweep()
        .catch((error) => options.onError?.('change windows: sweep failed', error))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, options.tickMs ?? 1_000);
  };
  schedule();

  return {
    waiting: () => waiting,
    sweep,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await subscription.close();
    },
  };
}
