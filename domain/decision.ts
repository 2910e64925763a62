import type { Command } from './messages.ts';
import { invalid } from './refusals.ts';

/** Ends a `switch` over a union: a member without a case no longer compiles. */
export const assertNever = (value: never, what: string): never => {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
};

/** Commands a person issues (acknowledge, snooze, approve...) must say who: the audit trail records it. */
export const actorOf = (command: Command): string => {
  const actor = command.metadata.actor;
  if (actor === undefined || actor.length === 0) {
    throw invalid('command.actor_required', `${command.type} needs metadata.actor: who is asking is audited`);
  }
  return actor;
};

/** Drops undefined fields so optional event fields are absent rather than present-and-undefined. */
export const withoutUndefined = <T extends Record<string, unknown>>(record: T): T =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;

/** Free text composed into events (errors, reasons) is bounded like the schemas' ShortText. */
export const clip = (text: string, max = 2_048): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
