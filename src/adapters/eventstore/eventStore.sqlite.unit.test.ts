import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventStoreContract } from '../../../test/contracts/eventStore.contract.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createSqliteEventStore } from './sqlite.eventStore.ts';

eventStoreContract('sqlite (temp file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-es-'));
  const path = join(dir, 'events.db');
  const opened: EventStore[] = [];
  return {
    url: `sqlite:${path}`,
    open: (options = {}) => {
      const store = createSqliteEventStore({ path, validate: options.validate, pollIntervalMs: 20 });
      opened.push(store);
      return store;
    },
    dispose: async () => {
      await Promise.all(opened.map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
