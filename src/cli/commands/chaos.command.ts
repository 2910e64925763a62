import { type Command, InvalidArgumentError } from 'commander';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { ChaosObservedData } from '../../../domain/events/chaos.events.ts';
import type { IssueDetectedData } from '../../../domain/events/issue.events.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { DEFAULT_EVENT_STORE_URL } from '../../adapters/eventstore/eventStore.factory.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import {
  buildChaosReport,
  type ChaosExperimentSummary,
  chaosExperimentStream,
  experimentOfStream,
  formatChaosList,
  formatChaosReport,
  summarizeExperiment,
} from '../../chaos/chaosReport.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import type { Write } from './audit.command.ts';

const stdout: Write = (text) => {
  process.stdout.write(text);
};

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const objectName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `<namespace>/<name>` of a ChaosExperiment; anything else is refused, saying what is expected. */
export function parseExperimentRef(text: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = text.split('/');
  if (
    namespace === undefined ||
    name === undefined ||
    rest.length > 0 ||
    namespace.length > 63 ||
    !dnsLabel.test(namespace) ||
    name.length > 253 ||
    !objectName.test(name)
  ) {
    throw new CairnError(
      'chaos.invalid_experiment',
      ErrorCategory.Validation,
      `"${text}" is not <namespace>/<name> of a ChaosExperiment (lower-case Kubernetes names), e.g. shop/bad-image`,
    );
  }
  return { namespace, name };
}

const runNumber = (text: string): number => {
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new InvalidArgumentError('a whole number from 1');
  return Number(text);
};

/** The signal each Issue was opened for, from the first event of its stream. */
async function issueSignals(store: EventStore, events: readonly RecordedEvent[]): Promise<Map<string, string>> {
  const ids = new Set<string>();
  for (const e of events) {
    const issueId = e.type === 'ChaosObserved' ? (e.data as ChaosObservedData).issueId : undefined;
    if (issueId !== undefined) ids.add(issueId);
  }
  const signals = new Map<string, string>();
  for (const id of ids) {
    const [first] = await store.readStream(streamName(StreamCategory.Issue, id), { maxCount: 1 });
    if (first?.type === 'IssueDetected') signals.set(id, (first.data as IssueDetectedData).signal);
  }
  return signals;
}

/** Every experiment with a stream in the store, in namespace/name order, with its latest run. */
export async function listChaosExperiments(store: EventStore, pageSize = 1000): Promise<ChaosExperimentSummary[]> {
  const streams = new Set<string>();
  let from: bigint | undefined;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: pageSize });
    for (const e of page) if (e.type === 'ChaosRunStarted') streams.add(e.streamId);
    if (page.length < pageSize) break;
    from = page[page.length - 1]!.position + 1n;
  }
  const out: ChaosExperimentSummary[] = [];
  for (const stream of [...streams].sort()) {
    const experiment = experimentOfStream(stream);
    if (experiment === undefined) continue;
    const summary = summarizeExperiment(experiment, await store.readStream(stream));
    if (summary !== undefined) out.push(summary);
  }
  return out.sort((a, b) =>
    a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
  );
}

async function withStore<T>(url: string, use: (store: EventStore) => Promise<T>): Promise<T> {
  const store = openEventStore(url, { mustExist: true });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/**
 * `cairn chaos report <namespace>/<name>`: an experiment's game-day report (every run latest first, or one with
 * --run; the summary over all), from its event stream. `cairn chaos list`: every experiment that has run.
 */
export function registerChaosCommand(program: Command, write: Write = stdout): void {
  const chaos = program.command('chaos').description('ChaosExperiment runs, from the event store');

  chaos
    .command('report')
    .description(
      "an experiment's game-day report: each run's safety checks, timeline from the injection, figures and verdict, and a summary over all runs",
    )
    .argument('<experiment>', 'the experiment as <namespace>/<name>')
    .option('--store <url>', 'event store URL', DEFAULT_EVENT_STORE_URL)
    .option('--run <n>', 'only this run (the summary still covers every run)', runNumber)
    .option('--last <n>', 'only the latest n runs (the summary still covers every run)', runNumber)
    .option('--json', 'the report as JSON (the same document as GET /api/v1/chaos/{namespace}/{name}/report)')
    .action(async (ref: string, opts: { store: string; run?: number; last?: number; json?: boolean }) => {
      const experiment = parseExperimentRef(ref);
      await withStore(opts.store, async (store) => {
        const events = await store.readStream(chaosExperimentStream(experiment.namespace, experiment.name));
        const signals = await issueSignals(store, events);
        const report = buildChaosReport(experiment, events, {
          ...(opts.run === undefined ? {} : { run: opts.run }),
          ...(opts.last === undefined ? {} : { last: opts.last }),
          issueSignal: (id) => signals.get(id),
        });
        write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatChaosReport(report));
      });
    });

  chaos
    .command('list')
    .description('every ChaosExperiment that has run: runs, the latest run, its state and figures')
    .option('--store <url>', 'event store URL', DEFAULT_EVENT_STORE_URL)
    .option('--json', 'as JSON (the items of GET /api/v1/chaos)')
    .action(async (opts: { store: string; json?: boolean }) => {
      await withStore(opts.store, async (store) => {
        const experiments = await listChaosExperiments(store);
        write(opts.json ? `${JSON.stringify(experiments, null, 2)}\n` : formatChaosList(experiments));
      });
    });
}
