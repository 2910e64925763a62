import { describe } from 'vitest';
import { eventStoreContract } from '../../../test/contracts/eventStore.contract.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createEsdbEventStore } from './esdb.eventStore.ts';

// No EventStoreDB server can be installed on these machines: the esdb run needs one at CAIRN_ESDB_URL.
const url = process.env.CAIRN_ESDB_URL ?? '';

if (url === '') {
  console.warn(
    '[cairn] EventStoreDB/KurrentDB contract run SKIPPED: CAIRN_ESDB_URL is not set and no server is available on this ' +
      'machine. Its tests are reported as skipped; they have not passed.',
  );
}

describe.skipIf(url === '')('esdb adapter (CAIRN_ESDB_URL)', () => {
  eventStoreContract(`esdb at ${url || '(unset)'}`, () => {
    const opened: EventStore[] = [];
    return {
      url,
      open: (options = {}) => {
        const store = createEsdbEventStore({ connectionString: url, validate: options.validate });
        opened.push(store);
        return store;
      },
      dispose: async () => {
        await Promise.all(opened.map((s) => s.close()));
      },
    };
  });
});
