// Runs the remediation executor alone on one remediation stream, as the operator would after a restart, and
// prints every event it appends (`event <type>[:<actionId>]`). With CAIRN_TEST_PAUSE_AT set it stops dead at that
// checkpoint boundary and says `paused <point>`, so a test can SIGKILL it at a known place:
//   <EventType>[:<actionId>]  right after that event is durably appended (e.g. ActionStarted:a2)
//   applied:<actionId>        after the action changed the cluster, before its outcome is recorded
//   verify                    inside the first health check of the Verifying state
// This hook lives here, in the test's own child, and never in production code.
import * as k8s from '@kubernetes/client-node';
import { openEventStore } from '../../../src/adapters/eventstore/openEventStore.ts';
import { kubernetesRemediationEffects } from '../../../src/adapters/kubernetes/remediationEffects.ts';
import {
  createRemediationExecutor,
  type RemediationEffects,
} from '../../../src/application/remediation/remediationExecutor.ts';
import type { EventStore } from '../../../src/ports/eventStore.ts';

const [kubeconfig, storeUrl, stream] = process.argv.slice(2) as [string, string, string];
const pauseAt = process.env.CAIRN_TEST_PAUSE_AT ?? '';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Never returns; the interval keeps the process alive (a pending promise alone would let it exit). */
const hang = (point: string): Promise<never> => {
  say(`paused ${point}`);
  setInterval(() => {}, 1 << 30);
  return new Promise<never>(() => {});
};

const config = new k8s.KubeConfig();
config.loadFromFile(kubeconfig);
const inner = openEventStore(storeUrl);

const store: EventStore = {
  ...inner,
  readStream: (...args) => inner.readStream(...args),
  readAll: (...args) => inner.readAll(...args),
  subscribeToAll: (...args) => inner.subscribeToAll(...args),
  close: () => inner.close(),
  appendToStream: async (name, events, options) => {
    const result = await inner.appendToStream(name, events, options);
    for (const event of events) {
      const actionId = (event.data as { actionId?: string }).actionId;
      const key = actionId === undefined ? event.type : `${event.type}:${actionId}`;
      say(`event ${key}`);
      if (pauseAt === key) await hang(key);
    }
    return result;
  },
};

// Snapshot data keys of the test cluster live in `default`, which every cluster has.
const real = kubernetesRemediationEffects(config, undefined, { namespace: 'default' });
const effects: RemediationEffects = {
  ...real,
  run: async (action, target) => {
    const result = await real.run(action, target);
    say(`ran ${action.actionId}`);
    if (pauseAt === `applied:${action.actionId}`) await hang(pauseAt);
    return result;
  },
  wasApplied: async (action, target, startedAt) => {
    const applied = await real.wasApplied(action, target, startedAt);
    say(`reconciled ${action.actionId} applied=${applied}`);
    return applied;
  },
  verify: async (target, signals) => {
    if (pauseAt === 'verify') await hang(pauseAt);
    return real.verify(target, signals);
  },
};

const execute = createRemediationExecutor({
  store,
  effects,
  now: () => new Date(),
  newId: () => crypto.randomUUID(),
  // The plan's own signals are beside the point here: verification looks for unready pods in any case.
  signalsOf: async () => ['pod_restart'],
  pollIntervalMs: 250,
  log: (line) => process.stderr.write(`${line}\n`),
});

const state = await execute(stream);
say(`done ${state.status}`);
await inner.close();
// The Kubernetes client keeps sockets open; the executor's work is done and recorded.
process.exit(0);
