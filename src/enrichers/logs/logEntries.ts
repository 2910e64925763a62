/**
 * Turns raw container log text into entries: one per line, with the time the line was written (from the API's
 * `timestamps=true` prefix, a timestamp in the line, or a JSON field), its level, and for JSON lines the message and
 * error fields. Multi-line fields of a JSON line (a `stack` holding a whole trace) become lines of their own, so
 * stack traces logged as JSON are found like printed ones.
 */

export const LogLevel = { fatal: 'fatal', error: 'error', warn: 'warn', info: 'info', debug: 'debug' } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export interface LogEntry {
  /** 1-based line number in the text read; lines expanded from one JSON line share its number. */
  readonly line: number;
  /** Milliseconds since the epoch; absent when neither the line nor an earlier one carries a time. */
  readonly time?: number;
  /** The line without the API's timestamp prefix; for a JSON line, its message and error fields. */
  readonly text: string;
  readonly level?: LogLevel;
  /** The line was a JSON object. */
  readonly json?: boolean;
  /** The line was expanded from a multi-line field of the JSON line before it. */
  readonly expanded?: boolean;
}

// RFC 3339 with optional fraction, as the API server prefixes lines with `timestamps=true`.
const apiPrefix = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) /;
// A timestamp near the start of a plain line: ISO-like, with `T` or a space, comma or dot fraction, optional zone.
const inlineTime =
  /^\[?(\d{4}[-/]\d{2}[-/]\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2}|UTC)?\]?(?=[\s\]|,])/;
// klog/glog: `E0308 10:15:02.123456    1 file.go:42] message` (the year is not in the line).
const klogPrefix = /^([IWEF])(\d{2})(\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s/;

const levelWords: Record<string, LogLevel> = {
  fatal: 'fatal',
  panic: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  alert: 'fatal',
  severe: 'fatal',
  error: 'error',
  err: 'error',
  warn: 'warn',
  warning: 'warn',
  info: 'info',
  notice: 'info',
  debug: 'debug',
  trace: 'debug',
  verbose: 'debug',
};
const klogLevels: Record<string, LogLevel> = { I: 'info', W: 'warn', E: 'error', F: 'fatal' };

// A level word early in a plain line, bracketed or bare, or logfmt's `level=error`.
const plainLevel =
  /(?:^|[\s[|(:])(FATAL|PANIC|CRITICAL|CRIT|EMERG|SEVERE|ERROR|ERR|WARN|WARNING|INFO|NOTICE|DEBUG|TRACE)(?=[\s\]|):,-]|$)/i;
const logfmtLevel = /\b(?:level|lvl|severity)=["']?([A-Za-z]+)/;

export const levelOf = (word: unknown): LogLevel | undefined => {
  if (typeof word === 'number') {
    // pino/bunyan numeric levels.
    return word >= 60 ? 'fatal' : word >= 50 ? 'error' : word >= 40 ? 'warn' : word >= 30 ? 'info' : 'debug';
  }
  return typeof word === 'string' ? levelWords[word.trim().toLowerCase()] : undefined;
};

const parseIso = (text: string): number | undefined => {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
};

const epochToMs = (value: number): number => (value > 1e14 ? value / 1e6 : value > 1e11 ? value : value * 1000);

const timeField = (value: unknown): number | undefined => {
  if (typeof value === 'number' && Number.isFinite(value)) return epochToMs(value);
  if (typeof value === 'string') return /^\d+(\.\d+)?$/.test(value) ? epochToMs(Number(value)) : parseIso(value);
  return undefined;
};

const pick = (object: Record<string, unknown>, keys: readonly string[]): unknown => {
  for (const key of keys) {
    if (key.includes('.')) {
      const [outer, inner] = key.split('.') as [string, string];
      const nested = object[outer];
      if (nested && typeof nested === 'object' && inner in nested) return (nested as Record<string, unknown>)[inner];
    } else if (object[key] !== undefined && object[key] !== null) return object[key];
  }
  return undefined;
};

const JsonKeys = {
  time: ['time', 'timestamp', 'ts', '@timestamp', 'datetime', 'date', 't'],
  level: ['level', 'lvl', 'severity', 'log.level', 'levelname', 'loglevel', 'log_level'],
  message: ['msg', 'message', 'event', 'log'],
  error: ['error', 'err', 'error.message', 'exception', 'exc_info', 'stack', 'stack_trace', 'stacktrace', 'trace'],
  logger: ['logger', 'logger_name', 'name', 'caller', 'module'],
} as const;

const asText = (value: unknown): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    const inner = value as Record<string, unknown>;
    const message = inner.message ?? inner.msg;
    const stack = inner.stack ?? inner.stack_trace;
    if (typeof stack === 'string') return stack;
    if (typeof message === 'string')
      return [inner.type ?? inner.kind ?? inner.name, message].filter(Boolean).join(': ');
    return JSON.stringify(value);
  }
  return String(value);
};

interface JsonLine {
  readonly time?: number;
  readonly level?: LogLevel;
  readonly text: string;
  /** Further lines of a multi-line error or stack field. */
  readonly more: readonly string[];
}

const parseJsonLine = (line: string): JsonLine | undefined => {
  if (!line.startsWith('{') || !line.endsWith('}')) return undefined;
  let object: unknown;
  try {
    object = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!object || typeof object !== 'object' || Array.isArray(object)) return undefined;
  const record = object as Record<string, unknown>;
  const message = asText(pick(record, JsonKeys.message)) ?? '';
  const errorText = asText(pick(record, JsonKeys.error));
  const logger = asText(pick(record, JsonKeys.logger));
  const [firstErrorLine, ...moreErrorLines] = (errorText ?? '').split('\n');
  const text = [
    logger && typeof logger === 'string' && logger.length <= 80 ? `[${logger}]` : '',
    message,
    firstErrorLine ? `error="${firstErrorLine}"` : '',
  ]
    .filter((part) => part.length > 0)
    .join(' ');
  const time = timeField(pick(record, JsonKeys.time));
  const level = levelOf(pick(record, JsonKeys.level));
  // A trace in the error field starts with its headline; keep it as the first expanded line so the trace is whole.
  const more = moreErrorLines.length > 0 && firstErrorLine ? [firstErrorLine, ...moreErrorLines] : [];
  return {
    ...(time === undefined ? {} : { time }),
    ...(level ? { level } : {}),
    text: text || line,
    more: more.filter((l) => l.trim().length > 0),
  };
};

const plainLineLevel = (text: string): LogLevel | undefined => {
  const klog = klogPrefix.exec(text);
  if (klog) return klogLevels[klog[1] as string];
  const logfmt = logfmtLevel.exec(text);
  if (logfmt) return levelOf(logfmt[1]);
  // Only the head of the line: a level word deep inside a message ("… no error …") says nothing.
  const head = plainLevel.exec(text.slice(0, 80));
  return head ? levelOf(head[1]) : undefined;
};

const plainLineTime = (text: string, year: number): number | undefined => {
  const iso = inlineTime.exec(text);
  if (iso) {
    const zone =
      !iso[4] || iso[4] === 'UTC' ? 'Z' : iso[4].length === 5 ? `${iso[4].slice(0, 3)}:${iso[4].slice(3)}` : iso[4];
    return parseIso(
      `${(iso[1] as string).replaceAll('/', '-')}T${iso[2]}${iso[3] ? `.${iso[3].slice(0, 3)}` : ''}${zone}`,
    );
  }
  const klog = klogPrefix.exec(text);
  if (klog) return parseIso(`${year}-${klog[2]}-${klog[3]}T${klog[4]}Z`);
  return undefined;
};

export interface ParseOptions {
  /** Lines start with the API's RFC 3339 timestamp (`timestamps=true`): strip it and use it as the line's time. */
  readonly apiTimestamps?: boolean;
  /** The year for formats that omit it (klog); defaults to the current UTC year. */
  readonly year?: number;
}

export function parseLogEntries(raw: string, options: ParseOptions = {}): LogEntry[] {
  const year = options.year ?? new Date().getUTCFullYear();
  const lines = raw.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const entries: LogEntry[] = [];
  let lastTime: number | undefined;
  lines.forEach((rawLine, index) => {
    let line = rawLine;
    let time: number | undefined;
    if (options.apiTimestamps) {
      const prefix = apiPrefix.exec(line);
      if (prefix) {
        time = parseIso(prefix[1] as string);
        line = line.slice(prefix[0].length);
      }
    }
    const json = parseJsonLine(line.trim());
    if (json) {
      time ??= json.time;
      if (time !== undefined) lastTime = time;
      const at = time ?? lastTime;
      entries.push({
        line: index + 1,
        ...(at === undefined ? {} : { time: at }),
        text: json.text,
        ...(json.level ? { level: json.level } : {}),
        json: true,
      });
      for (const more of json.more) {
        entries.push({ line: index + 1, ...(at === undefined ? {} : { time: at }), text: more, expanded: true });
      }
      return;
    }
    time ??= plainLineTime(line, year);
    if (time !== undefined) lastTime = time;
    const at = time ?? lastTime;
    const level = plainLineLevel(line);
    entries.push({
      line: index + 1,
      ...(at === undefined ? {} : { time: at }),
      text: line,
      ...(level ? { level } : {}),
    });
  });
  return entries;
}

/**
 * The entries written in `[from, until]`. A line without any time (before the first timestamped line) is kept:
 * nothing says it is outside the window.
 */
export const withinWindow = (entries: readonly LogEntry[], from: number, until: number): LogEntry[] =>
  entries.filter((e) => e.time === undefined || (e.time >= from && e.time <= until));
