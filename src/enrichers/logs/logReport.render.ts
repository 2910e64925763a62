import { boundText } from '../enricher.ts';
import type { ErrorCategory } from './errorPatterns.ts';
import { describeTrace, hasFindings, type LogAnalysis } from './logAnalysis.ts';
import type { StackTrace } from './stackTraces.ts';

/**
 * Renders what the log analysis found in the containers of a workload's pods as one section: a summary first, then
 * per container its stack traces, error patterns, critical lines with context and most frequent messages. When the
 * whole does not fit the bound, detail goes first (fewer frames, excerpts and messages), the findings last.
 */
export const ContainerRole = { init: 'init', main: 'main', sidecar: 'sidecar' } as const;
export type ContainerRole = (typeof ContainerRole)[keyof typeof ContainerRole];

export interface LogSource {
  readonly pod: string;
  readonly container: string;
  readonly role: ContainerRole;
  /** The log of the container's previous run (before its last restart). */
  readonly previous: boolean;
  readonly restarts: number;
}

export interface ContainerLogReport {
  readonly source: LogSource;
  readonly analysis?: LogAnalysis;
  /** Why this log could not be read. */
  readonly unavailable?: string;
}

export interface LogReportInput {
  readonly workload: { readonly kind: string; readonly namespace: string; readonly name: string };
  readonly window: { readonly from: number; readonly until: number };
  readonly podsRead: number;
  readonly podsTotal: number;
  readonly reports: readonly ContainerLogReport[];
  readonly notes?: readonly string[];
}

export interface LogFacts {
  readonly podsRead: number;
  readonly logsRead: number;
  readonly logsUnavailable: number;
  readonly categories: Partial<Record<ErrorCategory, number>>;
  readonly patterns: readonly string[];
  readonly stackTraces: readonly {
    readonly pod: string;
    readonly container: string;
    readonly previous: boolean;
    readonly language: string;
    readonly exception: string;
    readonly rootCause?: string;
  }[];
  /** One sentence naming the most telling finding, for a rule-based analysis to quote; absent when none. */
  readonly finding?: string;
}

const time = (ms: number | undefined) => (ms === undefined ? '?' : new Date(ms).toISOString().slice(11, 19));
const sourceName = (s: LogSource) =>
  `${s.pod}/${s.container}${s.role === 'main' ? '' : ` (${s.role})`}${s.previous ? ' [previous run]' : ''}`;

interface Detail {
  readonly frames: number;
  readonly patterns: number;
  readonly examples: boolean;
  readonly excerpts: number;
  readonly messages: number;
}

const Details: readonly Detail[] = [
  { frames: 8, patterns: 10, examples: true, excerpts: 3, messages: 5 },
  { frames: 4, patterns: 6, examples: true, excerpts: 2, messages: 3 },
  { frames: 2, patterns: 4, examples: false, excerpts: 1, messages: 2 },
  { frames: 1, patterns: 3, examples: false, excerpts: 0, messages: 0 },
  { frames: 0, patterns: 2, examples: false, excerpts: 0, messages: 0 },
];

const renderTrace = (trace: StackTrace, frames: number): string[] => {
  const lines = [
    `  Stack trace (${trace.language}${trace.unhandledRejection ? ', unhandled promise rejection' : ''}) at ${time(trace.time)}, line ${trace.firstLine}:`,
    `    ${trace.exception}`,
  ];
  for (const cause of trace.causes) lines.push(`    caused by: ${cause}`);
  for (const frame of trace.frames.slice(0, frames)) lines.push(`      at ${frame}`);
  if (trace.frameCount > Math.min(frames, trace.frames.length))
    lines.push(`      … ${trace.frameCount - Math.min(frames, trace.frames.length)} more frames`);
  return lines;
};

const renderContainer = (report: ContainerLogReport, detail: Detail): string[] => {
  const { source, analysis } = report;
  const head = `- ${sourceName(source)}${source.restarts > 0 ? `, restarts ${source.restarts}` : ''}`;
  if (!analysis) return [`${head}: not available (${report.unavailable ?? 'unknown reason'})`];
  const { levels } = analysis;
  const counts = `${analysis.linesInWindow} of ${analysis.linesRead} lines in the window${analysis.jsonLines > 0 ? ` (${analysis.jsonLines} JSON)` : ''}, ${levels.fatal} fatal, ${levels.error} error, ${levels.warn} warning`;
  if (!hasFindings(analysis)) return [`${head}: ${counts}; no errors found`];
  const lines = [`${head}: ${counts}; problems from ${time(analysis.firstProblem)} to ${time(analysis.lastProblem)}`];
  for (const trace of analysis.stackTraces.slice(-3)) lines.push(...renderTrace(trace, detail.frames));
  if (analysis.patterns.length > 0) {
    lines.push('  Error patterns:');
    for (const hit of analysis.patterns.slice(0, detail.patterns)) {
      lines.push(
        `    ${hit.category}/${hit.id} ×${hit.count} (${time(hit.first)}–${time(hit.last)}): ${hit.meaning}` +
          (detail.examples ? `\n      e.g. ${hit.example}` : ''),
      );
    }
  }
  if (detail.excerpts > 0 && analysis.excerpts.length > 0) {
    lines.push('  Critical lines with context:');
    for (const excerpt of analysis.excerpts.slice(-detail.excerpts)) {
      for (const l of excerpt.lines)
        lines.push(`    ${l.critical ? '>' : ' '} ${String(l.line).padStart(5)}  ${l.text}`);
      lines.push('    ---');
    }
    lines.pop();
  }
  if (detail.messages > 0 && analysis.topMessages.length > 0) {
    lines.push('  Most frequent problem messages:');
    for (const m of analysis.topMessages.slice(0, detail.messages)) {
      lines.push(`    ×${m.count} (${time(m.first)}–${time(m.last)}) ${m.message}`);
    }
  }
  return lines;
};

const sum = (records: readonly Partial<Record<ErrorCategory, number>>[]) => {
  const total: Partial<Record<ErrorCategory, number>> = {};
  for (const r of records) {
    for (const [k, v] of Object.entries(r) as [ErrorCategory, number][]) total[k] = (total[k] ?? 0) + v;
  }
  return total;
};

export function logFacts(input: LogReportInput): LogFacts {
  const read = input.reports.filter((r) => r.analysis);
  const categories = sum(read.map((r) => r.analysis?.categories ?? {}));
  const stackTraces = read.flatMap((r) =>
    (r.analysis?.stackTraces ?? []).map((t) => ({
      pod: r.source.pod,
      container: r.source.container,
      previous: r.source.previous,
      language: t.language,
      exception: t.exception,
      ...(t.causes.length > 0 ? { rootCause: t.causes.at(-1) as string } : {}),
      time: t.time ?? 0,
      trace: t,
      source: r.source,
    })),
  );
  const patterns = new Map<string, { count: number; meaning: string; category: string; source: LogSource }>();
  for (const r of read) {
    for (const hit of r.analysis?.patterns ?? []) {
      const known = patterns.get(hit.id);
      patterns.set(hit.id, {
        count: (known?.count ?? 0) + hit.count,
        meaning: hit.meaning,
        category: hit.category,
        source: known?.source ?? r.source,
      });
    }
  }
  const latestTrace = stackTraces.sort((a, b) => a.time - b.time).at(-1);
  const topPattern = [...patterns.entries()].sort((a, b) => b[1].count - a[1].count)[0];
  const finding = latestTrace
    ? `the log of ${sourceName(latestTrace.source)} shows a ${latestTrace.language} stack trace: ${describeTrace(latestTrace.trace)}`
    : topPattern
      ? `the logs show ${topPattern[1].category} errors (${topPattern[0]}, ${topPattern[1].count} lines in ${sourceName(topPattern[1].source)}): ${topPattern[1].meaning}`
      : undefined;
  return {
    podsRead: input.podsRead,
    logsRead: read.length,
    logsUnavailable: input.reports.length - read.length,
    categories,
    patterns: [...patterns.keys()],
    stackTraces: stackTraces.map(({ time: _t, trace: _trace, source: _s, ...rest }) => rest),
    ...(finding ? { finding: finding.length > 400 ? `${finding.slice(0, 399)}…` : finding } : {}),
  };
}

export function renderLogReport(
  input: LogReportInput,
  options: { readonly maxChars: number },
): {
  text: string;
  facts: LogFacts;
} {
  const facts = logFacts(input);
  const { workload, window } = input;
  const categories = Object.entries(facts.categories)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`);
  const languages = [...new Set(facts.stackTraces.map((t) => t.language))];
  const header = [
    `Logs of ${workload.kind} ${workload.namespace}/${workload.name}: ${facts.logsRead} container logs read from ${input.podsRead} of ${input.podsTotal} pods` +
      `${facts.logsUnavailable > 0 ? `, ${facts.logsUnavailable} not available` : ''}; window ${new Date(window.from).toISOString()} to ${new Date(window.until).toISOString()}.`,
    `Findings: ${categories.length > 0 ? categories.join(', ') : 'no known error pattern'}; ${facts.stackTraces.length} stack trace${facts.stackTraces.length === 1 ? '' : 's'}${languages.length > 0 ? ` (${languages.join(', ')})` : ''}.`,
    ...(facts.finding ? [`Most telling: ${facts.finding}.`] : []),
    ...(input.notes ?? []).map((n) => `Note: ${n}`),
  ];
  // Containers with findings first, so a cut keeps them.
  const ordered = [...input.reports].sort(
    (a, b) =>
      Number(Boolean(b.analysis && hasFindings(b.analysis))) - Number(Boolean(a.analysis && hasFindings(a.analysis))),
  );
  let text = '';
  for (const detail of Details) {
    text = [...header, '', ...ordered.flatMap((r) => renderContainer(r, detail))].join('\n');
    if (text.length <= options.maxChars) break;
  }
  return { text: boundText(text, options.maxChars), facts };
}
