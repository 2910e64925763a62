import type { LogEntry } from './logEntries.ts';

/**
 * Finds the stack traces Java, Go, Python and Node print when something fails, in log entries, and keeps what a
 * reader needs from each: the exception and its message, the chain of causes, and the first frames.
 */
export const StackLanguage = { java: 'java', go: 'go', python: 'python', node: 'node' } as const;
export type StackLanguage = (typeof StackLanguage)[keyof typeof StackLanguage];

export interface StackTrace {
  readonly language: StackLanguage;
  /** The exception or panic and its message: `java.lang.IllegalStateException: pool closed`. */
  readonly exception: string;
  /** Causes, outermost first (Java `Caused by`, Python's chained tracebacks, Go's `[recovered]` panics). */
  readonly causes: readonly string[];
  /** The first frames, innermost first for Java, Go and Node, as printed for Python (outermost first). */
  readonly frames: readonly string[];
  readonly frameCount: number;
  /** The line numbers (1-based) of its first and last lines in the text read. */
  readonly firstLine: number;
  readonly lastLine: number;
  readonly time?: number;
  /** Node: the error escaped a promise nobody awaited. */
  readonly unhandledRejection?: boolean;
}

const MaxFrames = 8;

// Java: `pkg.Class(Exception|Error)(: message)`, possibly after a log prefix or `Exception in thread "main" `.
const javaHeadline = /((?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable|Failure)[\w$]*)(?::\s?(.*))?$/;
const javaFrame = /^\s+at\s+([\w$.<>/-]+)\(([^)]*)\)\s*(?:~?\[.*\])?\s*$/;
const javaMore = /^\s+\.\.\. \d+ (?:more|common frames omitted)\s*$/;
const javaCause = /^(?:\s*)Caused by:\s*(.+)$/;
const javaSuppressed = /^\s+Suppressed:\s*(.+)$/;

// Go: `panic: message`, `fatal error: message`, then `goroutine N [state]:` and function/file line pairs.
const goHeadline = /^(?:panic|fatal error): (.+?)(?:\s*\[recovered\])?$/;
const goRecovered = /^\s*panic: (.+?)\s*\[recovered\]/;
const goGoroutine = /^goroutine \d+ \[[^\]]+\]:$/;
const goFunction = /^([\w./*()\-[\]{},]+)\((?:.*)\)$/;
const goFile = /^\s+(\S+\.go:\d+)(?: \+0x[0-9a-f]+)?$/;
const goNoise = /^(?:\s*|exit status \d+|\[signal .*\]|created by .*|\s+\/.*|.*\.\.\.additional frames elided\.\.\.)$/;

// Python: `Traceback (most recent call last):`, `  File "x.py", line N, in f`, source lines, `ExcType: message`.
const pyHeadline = /Traceback \(most recent call last\):\s*$/;
const pyFile = /^\s+File "([^"]+)", line (\d+)(?:, in (.+))?$/;
const pyException =
  /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Timeout|Refused)?)(?::\s?(.*))?$/;
const pyChain =
  /^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)$/;

// Node: `TypeError: message` (or `Error [ERR_X]: message`, `Uncaught Error: …`) followed by `    at …` frames.
const nodeHeadline =
  /^(?:Uncaught\s+|UnhandledPromiseRejectionWarning:\s+)?((?:[A-Z][\w$]*)?Error(?: \[[A-Z0-9_]+\])?|AggregateError)(?::\s?(.*))?$/;
const nodeFrame =
  /^\s+at\s+(?:(?:async\s+)?[^\s(]+(?:\s\[as [^\]]+\])?\s\((.+:\d+:\d+|native|<anonymous>)\)|(?:async\s+)?(\S+:\d+:\d+))\s*$/;
const nodeRejection =
  /unhandled ?(?:promise )?rejection|triggerUncaughtException\(err, true|UnhandledPromiseRejection/i;

const text = (entries: readonly LogEntry[], i: number) => entries[i]?.text ?? '';

interface Found {
  readonly trace: StackTrace;
  /** Index of the entry after the trace. */
  readonly next: number;
}

const finish = (
  entries: readonly LogEntry[],
  start: number,
  end: number,
  fields: Omit<StackTrace, 'firstLine' | 'lastLine' | 'time' | 'frames' | 'frameCount'> & { frames: string[] },
): Found => {
  const time = entries[start]?.time;
  return {
    trace: {
      ...fields,
      frames: fields.frames.slice(0, MaxFrames),
      frameCount: fields.frames.length,
      firstLine: entries[start]?.line ?? 0,
      lastLine: entries[end - 1]?.line ?? 0,
      ...(time === undefined ? {} : { time }),
    },
    next: end,
  };
};

const javaAt = (entries: readonly LogEntry[], i: number): Found | undefined => {
  const head = javaHeadline.exec(text(entries, i));
  if (!head || !javaFrame.test(text(entries, i + 1))) return undefined;
  const frames: string[] = [];
  const causes: string[] = [];
  let j = i + 1;
  for (; j < entries.length; j++) {
    const line = text(entries, j);
    const frame = javaFrame.exec(line);
    if (frame) {
      if (causes.length === 0) frames.push(`${frame[1]}(${frame[2]})`);
      continue;
    }
    const cause = javaCause.exec(line) ?? javaSuppressed.exec(line);
    if (cause) {
      causes.push((cause[1] as string).trim());
      continue;
    }
    if (javaMore.test(line)) continue;
    break;
  }
  const exception = head[2] ? `${head[1]}: ${head[2].trim()}` : (head[1] as string);
  return finish(entries, i, j, { language: 'java', exception, causes, frames });
};

const goAt = (entries: readonly LogEntry[], i: number): Found | undefined => {
  const head = goHeadline.exec(text(entries, i).trim());
  if (!head) return undefined;
  // A Go panic is followed by a goroutine dump, possibly after `[signal …]` lines and a blank line.
  let j = i + 1;
  const causes: string[] = [];
  const recovered = goRecovered.exec(text(entries, i).trim());
  let exception = `panic: ${head[1]}`;
  if (text(entries, i).trim().startsWith('fatal error:')) exception = `fatal error: ${head[1]}`;
  if (recovered) {
    // `panic: A [recovered]` then `\tpanic: B`: B was raised while handling A.
    while (j < entries.length && /^\s+panic: /.test(text(entries, j))) {
      causes.push(text(entries, j).trim());
      j++;
    }
  }
  let k = j;
  while (k < entries.length && k < j + 4 && !goGoroutine.test(text(entries, k).trim())) k++;
  if (!goGoroutine.test(text(entries, k).trim())) return undefined;
  const frames: string[] = [];
  let fn: string | undefined;
  for (j = k + 1; j < entries.length; j++) {
    const line = text(entries, j);
    const file = goFile.exec(line);
    if (file && fn) {
      frames.push(`${fn} (${file[1]})`);
      fn = undefined;
      continue;
    }
    const func = goFunction.exec(line.trim());
    if (func && !/^\s/.test(line)) {
      fn = func[1] as string;
      continue;
    }
    if (goGoroutine.test(line.trim()) || goNoise.test(line)) continue;
    break;
  }
  return finish(entries, i, j, { language: 'go', exception, causes: causes.reverse(), frames });
};

const pythonBlock = (entries: readonly LogEntry[], i: number) => {
  const frames: string[] = [];
  let j = i + 1;
  for (; j < entries.length; j++) {
    const line = text(entries, j);
    const file = pyFile.exec(line);
    if (file) {
      frames.push(`${file[3] ?? '<module>'} (${file[1]}:${file[2]})`);
      continue;
    }
    // The source line under a frame, and Python 3.11's `^^^^` markers.
    if (/^\s{4,}\S/.test(line) || /^\s+[~^]+\s*$/.test(line)) continue;
    break;
  }
  const last = pyException.exec(text(entries, j).trim());
  if (!last || frames.length === 0) return undefined;
  const exception = last[2] ? `${last[1]}: ${last[2]}` : (last[1] as string);
  return { frames, exception, next: j + 1 };
};

const pythonAt = (entries: readonly LogEntry[], i: number): Found | undefined => {
  if (!pyHeadline.test(text(entries, i))) return undefined;
  const first = pythonBlock(entries, i);
  if (!first) return undefined;
  // Chained tracebacks: the last printed is the one that escaped; the earlier ones are its causes.
  const chain = [first];
  let next = first.next;
  for (;;) {
    let k = next;
    while (k < entries.length && text(entries, k).trim() === '') k++;
    if (!pyChain.test(text(entries, k).trim())) break;
    k++;
    while (k < entries.length && text(entries, k).trim() === '') k++;
    if (!pyHeadline.test(text(entries, k))) break;
    const more = pythonBlock(entries, k);
    if (!more) break;
    chain.push(more);
    next = more.next;
  }
  const outer = chain.at(-1) ?? first;
  return finish(entries, i, next, {
    language: 'python',
    exception: outer.exception,
    causes: chain
      .slice(0, -1)
      .reverse()
      .map((c) => c.exception),
    frames: outer.frames,
  });
};

const nodeAt = (entries: readonly LogEntry[], i: number): Found | undefined => {
  const head = nodeHeadline.exec(text(entries, i).trim());
  if (!head || !nodeFrame.test(text(entries, i + 1))) return undefined;
  const frames: string[] = [];
  let j = i + 1;
  for (; j < entries.length; j++) {
    const line = text(entries, j);
    if (nodeFrame.test(line)) {
      frames.push(line.trim().replace(/^at\s+/, ''));
      continue;
    }
    // Node prints the error's own properties after the frames: `{ code: 'ECONNREFUSED', … }`.
    if (/^\s*\{\s*$|^\s+[\w$]+: .*,?$|^\s*\}\s*$/.test(line) && j > i + 1) continue;
    break;
  }
  const exception = head[2] ? `${head[1]}: ${head[2].trim()}` : (head[1] as string);
  const around = [i - 4, i - 3, i - 2, i - 1, i, j, j + 1].map((k) => text(entries, k)).join('\n');
  const unhandledRejection = nodeRejection.test(around);
  return finish(entries, i, j, {
    language: 'node',
    exception,
    causes: [],
    frames,
    ...(unhandledRejection ? { unhandledRejection } : {}),
  });
};

/** Every stack trace in the entries, in the order they appear. */
export function extractStackTraces(entries: readonly LogEntry[]): StackTrace[] {
  const traces: StackTrace[] = [];
  let i = 0;
  while (i < entries.length) {
    const found = pythonAt(entries, i) ?? goAt(entries, i) ?? nodeAt(entries, i) ?? javaAt(entries, i);
    if (found) {
      traces.push(found.trace);
      i = Math.max(found.next, i + 1);
    } else i++;
  }
  return traces;
}

/** One line naming a trace, for summaries: `java java.lang.X: msg (caused by …) at a.b.C.m(C.java:1)`. */
export const describeTrace = (trace: StackTrace): string => {
  const cause = trace.causes.length > 0 ? `; root cause ${trace.causes.at(-1)}` : '';
  const at = trace.frames[0] ? ` at ${trace.frames[0]}` : '';
  const clip = (text: string) => (text.length > 160 ? `${text.slice(0, 159)}…` : text);
  return `${clip(trace.exception)}${clip(cause)}${at}`;
};
