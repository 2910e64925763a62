import { eventStoreContract } from '../../../test/contracts/eventStore.contract.ts';
import { createMemoryEventLog, createMemoryEventStore } from './memory.eventStore.ts';

eventStoreContract(
  'memory',
  () => {
    const log = createMemoryEventLog();
    return {
      open: (options = {}) => createMemoryEventStore({ log, validate: options.validate }),
      dispose: async () => {},
    };
  },
  { sharedAcrossProcesses: false },
);
