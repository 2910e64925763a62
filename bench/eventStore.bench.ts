/**
 * Event store benchmarks: sqlite append throughput (single and batched), replay of 1,000,000 events into an
 * in-memory read model, and append-to-handler subscription lag. Prints `name=value unit` lines.
 *
 *   node --import tsx bench/eventStore.bench.ts            (REPLAY_EVENTS=200000 for a quicker run)
 *
 * The store runs as deployed: WAL, synchronous=NORMAL, every event audited (the default).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RecordedEvent } from '../domain/messages.ts';
import { createSqliteEventStore } from '../src/adapters/eventstore/sqlite.eventStore.ts';
import type { NewEvent } from '../src/ports/eventStore.ts';

const APPEND_EVENTS = Number(process.env.APPEND_EVENTS ?? 20_000);
const REPLAY_EVENTS = Number(process.env.REPLAY_EVENTS ?? 1_000_000);
const LAG_EVENTS = Number(process.env.LAG_EVENTS ?? 2_000);
const STREAMS = 500;

const report = (name: string, value: number, unit: string, digits = 0) => {
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
};

const namespaces = ['checkout', 'payments', 'search', 'inventory', 'frontend'];
/** A realistic anomaly/action payload: about 600 bytes of JSON. */
function payload(n: number): NewEvent {
  const ns = namespaces[n % namespaces.length]!;
  return {
    type: n % 3 === 0 ? 'AnomalyDetected' : n % 3 === 1 ? 'ActionProposed' : 'ActionExecuted',
    data: {
      issueId: `iss-${(n % STREAMS).toString(36).padStart(6, '0')}`,
      resource: {
        kind: 'Deployment',
        namespace: ns,
        name: `${ns}-api-${n % 17}`,
        uid: `0b7c3e1a-${n.toString(16).padStart(8, '0')}`,
      },
      signal: {
        metric: 'http_server_requests_seconds',
        quantile: 0.99,
        value: 1.234 + (n % 100) / 1000,
        baseline: 0.412,
      },
      labels: { team: 'sre', tier: 'backend', region: 'eu-west-1', version: `v1.${n % 40}.3`, canary: n % 2 === 0 },
      summary: `p99 latency of ${ns} is ${(3 + (n % 7)).toFixed(1)}x its baseline since the rollout of revision ${n % 40}; error budget burning`,
      evidence: [
        `pod/${ns}-api-${n % 17}-7d9f8b6c4-x${n % 10}k2p restarted 3 times`,
        'node memory pressure on ip-10-0-3-17',
      ],
      score: (n % 1000) / 1000,
      detector: 'latency-ewma',
    },
    metadata: {
      occurredAt: new Date(1_735_689_600_000 + n * 1000).toISOString(),
      correlationId: `corr-${n % 9973}`,
      actor: 'system:detector',
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
try {
  const sample = JSON.stringify(payload(12345).data).length;
  report('payload_size', sample, 'bytes');

  // Appends, one event per call, each with an exact expected revision as a command handler would.
  {
    const store = createSqliteEventStore({ path: join(dir, 'single.db') });
    const revisions = new Map<string, bigint>();
    const started = performance.now();
    for (let n = 0; n < APPEND_EVENTS; n++) {
      const stream = `issue-${n % STREAMS}`;
      const expected = revisions.get(stream) ?? 'no_stream';
      const result = await store.appendToStream(stream, [payload(n)], { expectedRevision: expected });
      revisions.set(stream, result.nextExpectedRevision);
    }
    const seconds = (performance.now() - started) / 1000;
    report('sqlite_append_single_throughput', APPEND_EVENTS / seconds, 'events/s');
    report('sqlite_append_single_latency_mean', (seconds * 1000) / APPEND_EVENTS, 'ms', 3);
    await store.close();
  }

  // Appends in batches of 100.
  {
    const store = createSqliteEventStore({ path: join(dir, 'batched.db') });
    const batch = 100;
    const started = performance.now();
    for (let n = 0; n < APPEND_EVENTS; n += batch) {
      const events = Array.from({ length: batch }, (_, i) => payload(n + i));
      await store.appendToStream(`remediation-${(n / batch) % STREAMS}`, events);
    }
    const seconds = (performance.now() - started) / 1000;
    report('sqlite_append_batched100_throughput', APPEND_EVENTS / seconds, 'events/s');
    await store.close();
  }

  // 1M events generated in batches of 1,000, then replayed with readAll into a plain in-memory read model.
  {
    const path = join(dir, 'replay.db');
    const store = createSqliteEventStore({ path });
    const batch = 1000;
    let started = performance.now();
    for (let n = 0; n < REPLAY_EVENTS; n += batch) {
      const events = Array.from({ length: Math.min(batch, REPLAY_EVENTS - n) }, (_, i) => payload(n + i));
      await store.appendToStream(`issue-${(n / batch) % STREAMS}`, events);
    }
    const generateSeconds = (performance.now() - started) / 1000;
    report('sqlite_generate_events', REPLAY_EVENTS, 'events');
    report('sqlite_generate_seconds', generateSeconds, 's', 1);
    report('sqlite_generate_throughput', REPLAY_EVENTS / generateSeconds, 'events/s');
    report('sqlite_file_size', statSync(path).size / 2 ** 20, 'MiB');
    await store.close();

    // A fresh connection, as after a restart: nothing cached by the writer.
    const reader = createSqliteEventStore({ path });
    const model = {
      byType: new Map<string, number>(),
      lastRevision: new Map<string, bigint>(),
      issues: new Map<string, number>(),
    };
    const apply = (e: RecordedEvent) => {
      model.byType.set(e.type, (model.byType.get(e.type) ?? 0) + 1);
      model.lastRevision.set(e.streamId, e.revision);
      const issueId = (e.data as { issueId: string }).issueId;
      model.issues.set(issueId, (model.issues.get(issueId) ?? 0) + 1);
    };
    started = performance.now();
    let replayed = 0;
    let from: bigint | undefined;
    for (;;) {
      const page = await reader.readAll({ fromPosition: from, maxCount: 10_000 });
      for (const e of page) apply(e);
      replayed += page.length;
      if (page.length < 10_000) break;
      from = page[page.length - 1]!.position + 1n;
    }
    const replaySeconds = (performance.now() - started) / 1000;
    if (replayed !== REPLAY_EVENTS) throw new Error(`replayed ${replayed} of ${REPLAY_EVENTS}`);
    report('sqlite_replay_events', replayed, 'events');
    report('sqlite_replay_seconds', replaySeconds, 's', 2);
    report('sqlite_replay_throughput', replayed / replaySeconds, 'events/s');
    await reader.close();
  }

  // Subscription lag: append one event at a time while a live subscription on another store instance (another
  // connection to the file, as in a second component) handles them; lag = handler time - append call time.
  {
    const path = join(dir, 'lag.db');
    const writer = createSqliteEventStore({ path });
    const subscriber = createSqliteEventStore({ path });
    const sentAt = new Map<string, number>();
    const lags: number[] = [];
    let live = false;
    const subscription = subscriber.subscribeToAll(
      {
        onLive: () => {
          live = true;
        },
      },
      (e) => {
        const t0 = sentAt.get(e.id);
        if (t0 !== undefined) lags.push(performance.now() - t0);
      },
    );
    while (!live) await new Promise((resolve) => setTimeout(resolve, 1));
    for (let n = 0; n < LAG_EVENTS; n++) {
      const id = `lag-${n}`;
      sentAt.set(id, performance.now());
      await writer.appendToStream(`slo-${n % 10}`, [{ ...payload(n), id }]);
      // Spread appends out, as real traffic is, instead of measuring a queue.
      if (n % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      else await new Promise((resolve) => setImmediate(resolve));
    }
    const deadline = Date.now() + 10_000;
    while (lags.length < LAG_EVENTS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await subscription.close();
    await writer.close();
    await subscriber.close();
    if (lags.length < LAG_EVENTS) throw new Error(`only ${lags.length} of ${LAG_EVENTS} events reached the subscriber`);
    lags.sort((a, b) => a - b);
    report('subscription_lag_p50', percentile(lags, 50), 'ms', 3);
    report('subscription_lag_p99', percentile(lags, 99), 'ms', 3);
    report('subscription_lag_max', lags.at(-1)!, 'ms', 3);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
