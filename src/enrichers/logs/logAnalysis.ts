import { ErrorCategories, type ErrorCategory, type ErrorPattern, matchPatterns } from './errorPatterns.ts';
import { type LogEntry, parseLogEntries, withinWindow } from './logEntries.ts';
import { describeTrace, extractStackTraces, type StackTrace } from './stackTraces.ts';

/**
 * What one container's log says about an incident, read from the lines written in a window before it: stack
 * traces, error patterns by category, critical lines with their context, and the most frequent problem messages.
 */
export interface PatternHit {
  readonly id: string;
  readonly category: ErrorCategory;
  readonly meaning: string;
  readonly count: number;
  readonly first?: number;
  readonly last?: number;
  /** The last line that matched, clipped. */
  readonly example: string;
}

export interface Excerpt {
  /** The critical line's number; the excerpt holds up to 3 lines either side of it. */
  readonly line: number;
  readonly lines: readonly { readonly line: number; readonly text: string; readonly critical: boolean }[];
}

export interface MessageCount {
  /** The message with numbers, ids, addresses and times replaced, so repeats of one problem group together. */
  readonly message: string;
  readonly count: number;
  readonly first?: number;
  readonly last?: number;
}

export interface LogAnalysis {
  readonly linesRead: number;
  readonly linesInWindow: number;
  readonly jsonLines: number;
  readonly levels: { readonly fatal: number; readonly error: number; readonly warn: number };
  /** Problem lines per category (a line counts once per category it matches). */
  readonly categories: Partial<Record<ErrorCategory, number>>;
  /** Most frequent first. */
  readonly patterns: readonly PatternHit[];
  readonly stackTraces: readonly StackTrace[];
  readonly excerpts: readonly Excerpt[];
  readonly topMessages: readonly MessageCount[];
  /** Times of the first and last problem line in the window. */
  readonly firstProblem?: number;
  readonly lastProblem?: number;
}

export const LogAnalysisLimits = {
  contextLines: 3,
  excerpts: 5,
  stackTraces: 5,
  topMessages: 5,
  lineChars: 240,
} as const;

export interface AnalyzeOptions {
  readonly apiTimestamps?: boolean;
  /** Only lines written in this window count; lines without a time are kept. */
  readonly window?: { readonly from: number; readonly until: number };
  readonly year?: number;
}

const clip = (text: string, max: number = LogAnalysisLimits.lineChars) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

const leadingTime =
  /^\[?\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\s?(?:Z|[+-]\d{2}:?\d{2}|UTC)?\]?\s*|^[IWEF]\d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?\s+\d+\s+/;

/** Replaces what varies between repeats of one message (times, ids, addresses, numbers) with placeholders. */
export const normaliseMessage = (text: string): string =>
  clip(
    text
      .replace(leadingTime, '')
      .replace(/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>')
      .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
      .replace(/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g, '<ip>')
      .replace(/\b0x[0-9a-f]+\b/gi, '<hex>')
      .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{10,}\b/gi, '<id>')
      .replace(/\b\d+(?:\.\d+)?(?=\b|[a-zµ]+\b)/gi, '<n>')
      .replace(/\s+/g, ' ')
      .trim(),
    200,
  );

const isProblem = (entry: LogEntry, patterns: readonly ErrorPattern[]) =>
  entry.level === 'fatal' || entry.level === 'error' || patterns.length > 0;

export function analyzeLog(raw: string, options: AnalyzeOptions = {}): LogAnalysis {
  const parsed = parseLogEntries(raw, {
    ...(options.apiTimestamps ? { apiTimestamps: true } : {}),
    ...(options.year ? { year: options.year } : {}),
  });
  const entries = options.window ? withinWindow(parsed, options.window.from, options.window.until) : parsed;
  const traces = extractStackTraces(entries);
  const traceStarts = new Set(traces.map((t) => t.firstLine));
  const inTrace = (entry: LogEntry) => traces.some((t) => entry.line > t.firstLine && entry.line <= t.lastLine);

  const levels = { fatal: 0, error: 0, warn: 0 };
  const categories: Partial<Record<ErrorCategory, number>> = {};
  const hits = new Map<
    string,
    { pattern: ErrorPattern; count: number; first?: number; last?: number; example: string }
  >();
  const messages = new Map<string, { count: number; first?: number; last?: number }>();
  const critical: number[] = [];
  let firstProblem: number | undefined;
  let lastProblem: number | undefined;
  let jsonLines = 0;

  entries.forEach((entry, index) => {
    if (entry.json) jsonLines++;
    if (entry.level === 'fatal' || entry.level === 'error' || entry.level === 'warn') levels[entry.level]++;
    // Frames and expanded fields belong to their trace or JSON line: count the headline, not each frame.
    if (entry.expanded || inTrace(entry)) return;
    const patterns = matchPatterns(entry.text);
    const headline = traceStarts.has(entry.line);
    if (!isProblem(entry, patterns) && !headline) return;
    if (entry.time !== undefined) {
      firstProblem ??= entry.time;
      lastProblem = entry.time;
    }
    for (const category of new Set(patterns.map((x) => x.category))) {
      categories[category] = (categories[category] ?? 0) + 1;
    }
    for (const pattern of patterns) {
      const hit = hits.get(pattern.id) ?? { pattern, count: 0, example: '' };
      hit.count++;
      if (entry.time !== undefined) {
        hit.first ??= entry.time;
        hit.last = entry.time;
      }
      hit.example = clip(entry.text.trim());
      hits.set(pattern.id, hit);
    }
    const key = normaliseMessage(entry.text);
    const message = messages.get(key) ?? { count: 0 };
    message.count++;
    if (entry.time !== undefined) {
      message.first ??= entry.time;
      message.last = entry.time;
    }
    messages.set(key, message);
    if (entry.level === 'fatal' || headline || patterns.some((x) => x.critical)) critical.push(index);
  });

  return {
    linesRead: parsed.length,
    linesInWindow: entries.length,
    jsonLines,
    levels,
    categories,
    patterns: [...hits.values()]
      .sort((a, b) => b.count - a.count || (b.last ?? 0) - (a.last ?? 0))
      .map(({ pattern, count, first, last, example }) => ({
        id: pattern.id,
        category: pattern.category,
        meaning: pattern.meaning,
        count,
        ...(first === undefined ? {} : { first }),
        ...(last === undefined ? {} : { last }),
        example,
      })),
    // The traces nearest the incident matter most.
    stackTraces: traces.slice(-LogAnalysisLimits.stackTraces),
    excerpts: excerptsOf(entries, critical),
    topMessages: [...messages.entries()]
      .sort((a, b) => b[1].count - a[1].count || (b[1].last ?? 0) - (a[1].last ?? 0))
      .slice(0, LogAnalysisLimits.topMessages)
      .map(([message, m]) => ({ message, ...m })),
    ...(firstProblem === undefined ? {} : { firstProblem }),
    ...(lastProblem === undefined ? {} : { lastProblem }),
  };
}

/** Critical lines with 3 lines either side; overlapping excerpts merge; the last ones (nearest the incident) win. */
const excerptsOf = (entries: readonly LogEntry[], critical: readonly number[]): Excerpt[] => {
  const n = LogAnalysisLimits.contextLines;
  const ranges: { from: number; to: number; at: number[] }[] = [];
  for (const index of critical) {
    const from = Math.max(0, index - n);
    const to = Math.min(entries.length - 1, index + n);
    const last = ranges.at(-1);
    if (last && from <= last.to + 1) {
      last.to = Math.max(last.to, to);
      last.at.push(index);
    } else ranges.push({ from, to, at: [index] });
  }
  return ranges.slice(-LogAnalysisLimits.excerpts).map((r) => {
    const at = new Set(r.at);
    return {
      line: entries[r.at[0] as number]?.line ?? 0,
      lines: entries.slice(r.from, r.to + 1).map((e, k) => ({
        line: e.line,
        text: clip(e.text),
        critical: at.has(r.from + k),
      })),
    };
  });
};

export const hasFindings = (analysis: LogAnalysis): boolean =>
  analysis.stackTraces.length > 0 || analysis.patterns.length > 0 || analysis.levels.fatal + analysis.levels.error > 0;

export { describeTrace, ErrorCategories };
