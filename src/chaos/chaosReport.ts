import {
  type ChaosRun,
  evolveChaos,
  initialChaosState,
  RunPhase,
  runFigures,
} from '../../domain/chaos/chaos.decider.ts';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ChaosEvent, ChaosObservedData } from '../../domain/events/chaos.events.ts';
import type { MessageMetadata } from '../../domain/messages.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { chaosStatus } from './chaos.module.ts';

/**
 * The game-day report of one ChaosExperiment, from the events of its stream alone: each run's timeline (offsets from
 * the injection), safety checks and figures, and a summary over every run. Pure: the CLI, REST and GraphQL hand it
 * the same events and get the same report; `formatChaosReport` is the terminal's rendering of the same content.
 */

/** What the report needs of an event: the store's RecordedEvent and the read model's copy both fit. */
export interface ChaosReportEvent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Pick<MessageMetadata, 'occurredAt'>;
}

export interface ChaosFigures {
  readonly timeToDetectSeconds: number | null;
  readonly timeToPlanSeconds: number | null;
  readonly timeToRecoverSeconds: number | null;
  /** Null until the run has a verdict (and for a refused run). */
  readonly remediatedByCairn: boolean | null;
  readonly issueId: string | null;
}

export interface ChaosTimelineEntry {
  readonly at: string;
  /** Seconds from the origin (the injection, or the start of a run that injected nothing); negative before it. */
  readonly offsetSeconds: number;
  /** The same, as the terminal shows it: `+00:03.2`. */
  readonly offset: string;
  readonly event: string;
  readonly text: string;
}

/** One run as lists show it. */
export interface ChaosRunSummary {
  readonly run: number;
  /** As the experiment's status says it: Running, Verifying, Passed, Failed, Aborted, Refused or DryRun. */
  readonly state: string;
  readonly trigger: string;
  readonly fault: { readonly type: string; readonly count: number };
  readonly target: { readonly kind: string; readonly namespace: string; readonly name: string };
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly injectedAt: string | null;
  readonly completedAt: string | null;
  /** passed, failed, aborted, dry_run, refused; null while the run is under way. */
  readonly outcome: string | null;
  /** The verdict's reason, the refusal, or where the run is. */
  readonly reason: string;
  readonly figures: ChaosFigures;
}

export interface ChaosRunReport extends ChaosRunSummary {
  readonly recovery: { readonly expect: string; readonly withinSeconds: number; readonly slo: string | null };
  readonly durationSeconds: number;
  readonly checks: readonly { readonly name: string; readonly passed: boolean; readonly detail: string }[];
  /** What the offsets count from: `injection`, or `start` when nothing was injected. */
  readonly origin: 'injection' | 'start';
  readonly timeline: readonly ChaosTimelineEntry[];
}

export interface ChaosFigureStats {
  /** Runs that have the figure. */
  readonly runs: number;
  readonly median: number | null;
  readonly max: number | null;
}

export interface ChaosSummary {
  readonly runs: number;
  readonly outcomes: {
    readonly passed: number;
    readonly failed: number;
    readonly aborted: number;
    readonly dryRun: number;
    readonly refused: number;
    readonly inProgress: number;
  };
  readonly timeToDetectSeconds: ChaosFigureStats;
  readonly timeToPlanSeconds: ChaosFigureStats;
  readonly timeToRecoverSeconds: ChaosFigureStats;
  /** Runs with a verdict in which Cairn's own remediation brought the target back. */
  readonly remediatedByCairn: number;
}

export interface ChaosReport {
  readonly namespace: string;
  readonly name: string;
  /** Latest first; only the run asked for when one was. */
  readonly runs: readonly ChaosRunReport[];
  /** Over every run, whichever were shown. */
  readonly summary: ChaosSummary;
}

export interface ChaosReportOptions {
  /** Only this run (the summary still covers all). */
  readonly run?: number;
  /** Only the latest this many runs (the summary still covers all). */
  readonly last?: number;
  /** The signal an Issue was opened for, when known: shown beside the Issue in the timeline. */
  readonly issueSignal?: (issueId: string) => string | undefined;
}

const runOf = (event: ChaosReportEvent): number | undefined => {
  const run = (event.data as { run?: unknown } | null)?.run;
  return typeof run === 'number' && Number.isInteger(run) ? run : undefined;
};

/** The events of each run, by run number, in stream order. Events that name no run are left out. */
export function eventsByRun(events: readonly ChaosReportEvent[]): Map<number, ChaosReportEvent[]> {
  const runs = new Map<number, ChaosReportEvent[]>();
  for (const event of events) {
    const run = runOf(event);
    if (run === undefined) continue;
    const list = runs.get(run);
    if (list === undefined) runs.set(run, [event]);
    else list.push(event);
  }
  return runs;
}

/** One run folded by the decider's own evolve, so the report agrees with the status and the verdict. */
export function foldRun(events: readonly ChaosReportEvent[]): ChaosRun | null {
  return events.reduce((state, e) => evolveChaos(state, e as ChaosEvent), initialChaosState()).current;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** `+00:03.2`, `-00:00.4`, `+1:02:03.0`: minutes and seconds to a tenth, hours when there are any. */
export function formatOffset(seconds: number): string {
  const sign = seconds < 0 ? '-' : '+';
  const tenths = Math.round(Math.abs(seconds) * 10);
  const h = Math.floor(tenths / 36_000);
  const m = Math.floor((tenths % 36_000) / 600);
  const s = (tenths % 600) / 10;
  const mmss = `${String(m).padStart(2, '0')}:${s.toFixed(1).padStart(4, '0')}`;
  return h > 0 ? `${sign}${h}:${mmss}` : `${sign}${mmss}`;
}

/** 180 → `3m`, 90 → `1m30s`, 7200 → `2h`, 2.5 → `2.5s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${round3(seconds)}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = round3(seconds % 60);
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
}

const targetText = (t: { kind: string; namespace: string; name: string }) =>
  t.namespace === '' ? `${t.kind} ${t.name}` : `${t.kind} ${t.namespace}/${t.name}`;

function observationText(o: ChaosObservedData, issueSignal: ChaosReportOptions['issueSignal']): string {
  const issue = o.issueId ?? '(unknown)';
  const detail = o.detail === undefined ? '' : `: ${o.detail}`;
  switch (o.what) {
    case 'fault_visible':
      return `Fault visible on the target${detail}`;
    case 'issue_detected': {
      const signal = o.issueId === undefined ? undefined : issueSignal?.(o.issueId);
      return `Issue detected ${issue}${signal === undefined ? '' : ` (${signal})`}`;
    }
    case 'plan_created':
      return `Remediation planned ${o.remediationId ?? '(unknown)'} for Issue ${issue}`;
    case 'issue_resolved':
      return `Issue resolved ${issue}${o.resolution === undefined ? '' : ` (${o.resolution})`}`;
    case 'issue_escalated':
      // The observer words its detail `escalated: <reason>`.
      return `Issue escalated ${issue}${detail.replace(/^: escalated: /, ': ')}`;
    case 'target_recovered':
      return `Target recovered${detail}`;
  }
}

/** One line per event; `deadline` renders an instant of the plan as an offset. */
function eventText(
  event: ChaosEvent,
  deadline: (iso: string) => string,
  issueSignal: ChaosReportOptions['issueSignal'],
): string {
  switch (event.type) {
    case 'ChaosRunStarted': {
      const d = event.data;
      const passed = d.checks.filter((c) => c.passed).length;
      const count = d.fault.type === 'pod_kill' || d.fault.type === 'pod_not_ready' ? ` x${d.fault.count}` : '';
      return `Run ${d.run} started (${d.trigger}${d.dryRun ? ', dry run' : ''}): ${d.fault.type}${count} on ${targetText(d.target)}; safety checks ${passed} of ${d.checks.length} passed`;
    }
    case 'ChaosRunRefused':
      return `Refused (${event.data.code}): ${event.data.message}`;
    case 'ChaosInjectionPlanned':
      return `Injection planned: ${event.data.summary}; taken back by ${deadline(event.data.revertAt)} at the latest, recovery due by ${deadline(event.data.recoverBy)}`;
    case 'ChaosFaultInjected':
      return `Fault injected: ${event.data.summary} (${event.data.podsAffected} pod(s))`;
    case 'ChaosInjectionFailed':
      return `Injection failed: ${event.data.error}`;
    case 'ChaosRevertRequested':
      return `Taking the fault back (${event.data.reason}): ${event.data.detail}`;
    case 'ChaosFaultReverted':
      return event.data.changed
        ? `Fault taken back: ${event.data.summary}`
        : `Nothing left to take back: ${event.data.summary}`;
    case 'ChaosRevertFailed':
      return `Taking the fault back failed (attempt ${event.data.attempt}): ${event.data.error}`;
    case 'ChaosObserved':
      return observationText(event.data, issueSignal);
    case 'ChaosRunCompleted':
      return `Run completed: ${event.data.outcome.toUpperCase()}: ${event.data.reason}`;
  }
}

const figuresOf = (run: ChaosRun): ChaosFigures => {
  const done = run.completed;
  if (done !== undefined) {
    return {
      timeToDetectSeconds: done.timeToDetectSeconds ?? null,
      timeToPlanSeconds: done.timeToPlanSeconds ?? null,
      timeToRecoverSeconds: done.timeToRecoverSeconds ?? null,
      remediatedByCairn: done.outcome === 'dry_run' ? null : done.remediatedByCairn,
      issueId: done.issueId ?? null,
    };
  }
  // Under way: what has been measured so far, from the same function the verdict uses.
  const live = run.injectedAt === undefined ? undefined : runFigures(run);
  return {
    timeToDetectSeconds: live?.timeToDetectSeconds ?? null,
    timeToPlanSeconds: live?.timeToPlanSeconds ?? null,
    timeToRecoverSeconds: live?.timeToRecoverSeconds ?? null,
    remediatedByCairn: null,
    issueId: live?.issueId ?? null,
  };
};

const outcomeOf = (run: ChaosRun): string | null =>
  run.phase === RunPhase.Refused ? 'refused' : (run.completed?.outcome ?? null);

/** A run as lists show it, or undefined for events that never started one. */
export function summarizeRun(events: readonly ChaosReportEvent[]): ChaosRunSummary | undefined {
  const run = foldRun(events);
  return run === null ? undefined : summaryOf(run);
}

function summaryOf(run: ChaosRun): ChaosRunSummary {
  const status = chaosStatus({ runs: run.run, current: run });
  const s = run.started;
  return {
    run: run.run,
    state: status.state,
    trigger: s.trigger,
    fault: { type: s.fault.type, count: s.fault.count },
    target: { kind: s.target.kind, namespace: s.target.namespace, name: s.target.name },
    dryRun: s.dryRun,
    startedAt: run.startedAt,
    injectedAt: run.injectedAt ?? null,
    completedAt: run.completedAt ?? null,
    outcome: outcomeOf(run),
    reason: 'result' in status ? status.result : '',
    figures: figuresOf(run),
  };
}

/** One run's full report: its summary, recovery assertion, checks and timeline. */
export function reportRun(
  events: readonly ChaosReportEvent[],
  options: Pick<ChaosReportOptions, 'issueSignal'> = {},
): ChaosRunReport | undefined {
  const run = foldRun(events);
  if (run === null) return undefined;
  const summary = summaryOf(run);
  const origin = run.injectedAt ?? run.startedAt;
  const originMs = Date.parse(origin);
  const offsetOf = (iso: string) => round3((Date.parse(iso) - originMs) / 1000);
  const deadline = (iso: string) => formatOffset(offsetOf(iso));
  const entries = events.map((event, index) => {
    const e = event as ChaosEvent;
    // An observation is placed when it happened, which may be before it was recorded.
    const at = e.type === 'ChaosObserved' ? e.data.at : e.metadata.occurredAt;
    const offsetSeconds = offsetOf(at);
    return {
      index,
      entry: {
        at,
        offsetSeconds,
        offset: formatOffset(offsetSeconds),
        event: e.type,
        text: eventText(e, deadline, options.issueSignal),
      },
    };
  });
  entries.sort((a, b) => a.entry.offsetSeconds - b.entry.offsetSeconds || a.index - b.index);
  const s = run.started;
  return {
    ...summary,
    recovery: { expect: s.recovery.expect, withinSeconds: s.recovery.withinSeconds, slo: s.recovery.slo ?? null },
    durationSeconds: s.durationSeconds,
    checks: s.checks.map((c) => ({ name: c.name, passed: c.passed, detail: c.detail })),
    origin: run.injectedAt === undefined ? 'start' : 'injection',
    timeline: entries.map((e) => e.entry),
  };
}

const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : round3(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
};

const stats = (values: readonly (number | null)[]): ChaosFigureStats => {
  const present = values.filter((v): v is number => v !== null);
  return {
    runs: present.length,
    median: median(present),
    max: present.length === 0 ? null : Math.max(...present),
  };
};

/** Counts by outcome, and the median and max of each figure over the runs that have it. */
export function summarizeRuns(runs: readonly ChaosRunSummary[]): ChaosSummary {
  const count = (outcome: string | null) => runs.filter((r) => r.outcome === outcome).length;
  return {
    runs: runs.length,
    outcomes: {
      passed: count('passed'),
      failed: count('failed'),
      aborted: count('aborted'),
      dryRun: count('dry_run'),
      refused: count('refused'),
      inProgress: count(null),
    },
    timeToDetectSeconds: stats(runs.map((r) => r.figures.timeToDetectSeconds)),
    timeToPlanSeconds: stats(runs.map((r) => r.figures.timeToPlanSeconds)),
    timeToRecoverSeconds: stats(runs.map((r) => r.figures.timeToRecoverSeconds)),
    remediatedByCairn: runs.filter((r) => r.figures.remediatedByCairn === true).length,
  };
}

/**
 * The report of experiment `namespace/name` from its stream's events. An experiment with no run is NotFound, as
 * is a `run` it never had.
 */
export function buildChaosReport(
  experiment: { readonly namespace: string; readonly name: string },
  events: readonly ChaosReportEvent[],
  options: ChaosReportOptions = {},
): ChaosReport {
  const label = `ChaosExperiment ${experiment.namespace}/${experiment.name}`;
  const byRun = eventsByRun(events);
  const numbers = [...byRun.keys()].sort((a, b) => b - a);
  const summaries = numbers
    .map((n) => summarizeRun(byRun.get(n) ?? []))
    .filter((s): s is ChaosRunSummary => s !== undefined);
  if (summaries.length === 0) {
    throw new CairnError('chaos.not_found', ErrorCategory.NotFound, `${label} has no runs recorded`);
  }
  if (options.last !== undefined && (!Number.isInteger(options.last) || options.last < 1)) {
    throw new CairnError('chaos.invalid_last', ErrorCategory.Validation, `last must be a whole number from 1`);
  }
  if (options.run !== undefined && !byRun.has(options.run)) {
    throw new CairnError(
      'chaos.run_not_found',
      ErrorCategory.NotFound,
      `${label} has no run ${options.run}; its runs are 1 to ${numbers[0]}`,
    );
  }
  const shown =
    options.run !== undefined ? [options.run] : options.last !== undefined ? numbers.slice(0, options.last) : numbers;
  const issueSignal = options.issueSignal === undefined ? {} : { issueSignal: options.issueSignal };
  return {
    namespace: experiment.namespace,
    name: experiment.name,
    runs: shown
      .map((n) => reportRun(byRun.get(n) ?? [], issueSignal))
      .filter((r): r is ChaosRunReport => r !== undefined),
    summary: summarizeRuns(summaries),
  };
}

// --- The terminal ----------------------------------------------------------------------------------------------

const secondsText = (value: number | null) => (value === null ? '-' : `${value} s`);
const yesNo = (value: boolean | null) => (value === null ? '-' : value ? 'yes' : 'no');

const table = (rows: readonly (readonly string[])[], indent = '  '): string[] => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `${indent}${r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
};

function formatRun(run: ChaosRunReport): string[] {
  const lines: string[] = [];
  const verdict = run.outcome === null ? run.state.toUpperCase() : run.outcome.toUpperCase().replace('_', ' ');
  const count = run.fault.type === 'pod_kill' || run.fault.type === 'pod_not_ready' ? ` x${run.fault.count}` : '';
  lines.push(`Run ${run.run}: ${verdict}  ${run.fault.type}${count} on ${targetText(run.target)} (${run.trigger})`);
  lines.push(`  started    ${run.startedAt}`);
  if (run.injectedAt !== null) lines.push(`  injected   ${run.injectedAt}`);
  if (run.completedAt !== null) lines.push(`  completed  ${run.completedAt}`);
  lines.push(
    `  recovery   ${run.recovery.expect} within ${formatDuration(run.recovery.withinSeconds)}${run.recovery.slo === null ? '' : `, SLO ${run.recovery.slo} not burning`}; fault held at most ${formatDuration(run.durationSeconds)}`,
  );
  lines.push('', '  Safety checks');
  lines.push(
    ...table(
      run.checks.map((c) => [c.passed ? 'ok' : 'FAILED', c.name, c.detail]),
      '    ',
    ),
  );
  lines.push('', `  Timeline (from the ${run.origin === 'injection' ? 'injection' : 'start; nothing was injected'})`);
  lines.push(...run.timeline.map((e) => `    ${e.offset}  ${e.text}`));
  lines.push('', '  Figures');
  const f = run.figures;
  lines.push(
    ...table(
      [
        ['time to detect', secondsText(f.timeToDetectSeconds)],
        ['time to plan', secondsText(f.timeToPlanSeconds)],
        ['time to recover', secondsText(f.timeToRecoverSeconds)],
        ['remediated by Cairn', yesNo(f.remediatedByCairn)],
        ['issue', f.issueId ?? '-'],
        ['outcome', run.outcome === null ? `${run.state} (under way)` : run.outcome],
        ['reason', run.reason],
      ],
      '    ',
    ),
  );
  return lines;
}

function formatSummary(summary: ChaosSummary): string[] {
  const o = summary.outcomes;
  const figure = (label: string, s: ChaosFigureStats) => [
    label,
    String(s.runs),
    s.median === null ? '-' : `${s.median} s`,
    s.max === null ? '-' : `${s.max} s`,
  ];
  return [
    `Summary over ${summary.runs} run(s)`,
    `  passed ${o.passed}, failed ${o.failed}, aborted ${o.aborted}, dry run ${o.dryRun}, refused ${o.refused}, in progress ${o.inProgress}`,
    `  remediated by Cairn in ${summary.remediatedByCairn} run(s)`,
    '',
    ...table([
      ['figure', 'runs', 'median', 'max'],
      figure('time to detect', summary.timeToDetectSeconds),
      figure('time to plan', summary.timeToPlanSeconds),
      figure('time to recover', summary.timeToRecoverSeconds),
    ]),
  ];
}

/** The report for a terminal: every run shown (latest first), then the summary. */
export function formatChaosReport(report: ChaosReport): string {
  const lines = [`ChaosExperiment ${report.namespace}/${report.name}`, ''];
  for (const run of report.runs) lines.push(...formatRun(run), '');
  lines.push(...formatSummary(report.summary));
  return `${lines.join('\n')}\n`;
}

// --- Experiments -----------------------------------------------------------------------------------------------

/** One experiment in a list: how many runs it has had and where the latest stands. */
export interface ChaosExperimentSummary {
  readonly namespace: string;
  readonly name: string;
  readonly runs: number;
  readonly latest: ChaosRunSummary;
}

/** The stream of experiment `namespace/name`. */
export const chaosExperimentStream = (namespace: string, name: string): string =>
  streamName(StreamCategory.Chaos, `${namespace}.${name}`);

/** The experiment a stream belongs to, or undefined for any other stream. A namespace has no dot; a name may. */
export function experimentOfStream(stream: string): { namespace: string; name: string } | undefined {
  const prefix = `${StreamCategory.Chaos}-`;
  if (!stream.startsWith(prefix)) return undefined;
  const id = stream.slice(prefix.length);
  const dot = id.indexOf('.');
  if (dot <= 0 || dot === id.length - 1) return undefined;
  return { namespace: id.slice(0, dot), name: id.slice(dot + 1) };
}

/** The experiment's list entry from its stream's events, or undefined when it has no run. */
export function summarizeExperiment(
  experiment: { readonly namespace: string; readonly name: string },
  events: readonly ChaosReportEvent[],
): ChaosExperimentSummary | undefined {
  const byRun = eventsByRun(events);
  const latestRun = Math.max(0, ...byRun.keys());
  const latest = summarizeRun(byRun.get(latestRun) ?? []);
  if (latest === undefined) return undefined;
  return { namespace: experiment.namespace, name: experiment.name, runs: byRun.size, latest };
}

/** The list for a terminal, one experiment per line. */
export function formatChaosList(experiments: readonly ChaosExperimentSummary[]): string {
  if (experiments.length === 0) return 'no ChaosExperiment has run yet\n';
  const rows = [
    ['EXPERIMENT', 'RUNS', 'LATEST', 'STATE', 'FAULT', 'TARGET', 'DETECT', 'PLAN', 'RECOVER', 'BY CAIRN', 'STARTED'],
    ...experiments.map((e) => {
      const l = e.latest;
      return [
        `${e.namespace}/${e.name}`,
        String(e.runs),
        String(l.run),
        l.state,
        l.fault.type,
        targetText(l.target),
        secondsText(l.figures.timeToDetectSeconds),
        secondsText(l.figures.timeToPlanSeconds),
        secondsText(l.figures.timeToRecoverSeconds),
        yesNo(l.figures.remediatedByCairn),
        l.startedAt,
      ];
    }),
  ];
  return `${table(rows, '').join('\n')}\n`;
}
