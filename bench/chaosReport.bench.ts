/**
 * The game-day report of an experiment with many runs (a schedule that has run for weeks): the report of every
 * run, of the latest 20 (`--last 20`), the experiment's list entry, and the same through the sqlite read model as
 * the REST API builds it. Runs alternate between a pass and a failure copied from a decider-written game day, with
 * their times moved on. Prints `name=value unit` lines.
 *
 *   node --import tsx bench/chaosReport.bench.ts     (RUNS to vary, 5,000 by default)
 */
import { performance } from 'node:perf_hooks';
import type { RecordedEvent } from '../domain/messages.ts';
import { chaosRunsProjection } from '../projections/chaosRuns.projection.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { createChaosQueries } from '../src/adapters/readmodel/chaos.queries.ts';
import { openSqliteReadModel } from '../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { buildChaosReport, eventsByRun, summarizeExperiment } from '../src/chaos/chaosReport.ts';
import { writeGameDay } from '../test/support/chaosLog.ts';

const RUNS = Number(process.env.RUNS ?? 5_000);

const report = (name: string, value: number, unit: string, digits = 0) => {
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
};

const source = openEventStore('memory:');
await writeGameDay(source);
const template = eventsByRun(await source.readStream('chaos-shop.bad-image'));
await source.close();
const shapes = [template.get(1) ?? [], template.get(4) ?? []] as const;

const shift = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const events: RecordedEvent[] = [];
let position = 0n;
for (let run = 1; run <= RUNS; run++) {
  const shape = shapes[run % 2] ?? [];
  const firstAt = Date.parse(shape[0]?.metadata.occurredAt ?? '');
  const ms = Date.parse('2026-01-01T00:00:00Z') + run * 600_000 - firstAt;
  for (const e of shape) {
    const data: Record<string, unknown> = { ...(e.data as Record<string, unknown>), run };
    for (const key of ['at', 'revertAt', 'recoverBy'] as const) {
      if (typeof data[key] === 'string') data[key] = shift(data[key] as string, ms);
    }
    position += 1n;
    events.push({
      ...(e as RecordedEvent),
      data,
      metadata: { ...e.metadata, occurredAt: shift(e.metadata.occurredAt, ms) },
      position,
    });
  }
}
report('runs', RUNS, 'runs');
report('events', events.length, 'events');

const time = (name: string, fn: () => unknown, repeat = 3) => {
  fn();
  const started = performance.now();
  for (let i = 0; i < repeat; i++) fn();
  report(name, (performance.now() - started) / repeat, 'ms', 1);
};
const experiment = { namespace: 'shop', name: 'bad-image' };
time('report_all_ms', () => buildChaosReport(experiment, events));
time('report_last20_ms', () => buildChaosReport(experiment, events, { last: 20 }));
time('list_entry_ms', () => summarizeExperiment(experiment, events));
report('report_all_json_bytes', JSON.stringify(buildChaosReport(experiment, events)).length, 'bytes');
report('report_last20_json_bytes', JSON.stringify(buildChaosReport(experiment, events, { last: 20 })).length, 'bytes');

const db = openSqliteReadModel(':memory:');
chaosRunsProjection.init(db);
const projected = performance.now();
db.transaction(() => {
  for (const e of events) chaosRunsProjection.apply(e, db);
})();
report('project_ms', performance.now() - projected, 'ms', 1);
const queries = createChaosQueries(db);
time('readmodel_report_last20_ms', () => queries.report('shop', 'bad-image', { last: 20 }));
time('readmodel_list_ms', () => queries.listExperiments());
db.close();
