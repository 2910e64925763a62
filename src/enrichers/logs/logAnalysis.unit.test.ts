import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCategories, ErrorPatterns, matchPatterns } from './errorPatterns.ts';
import { analyzeLog, normaliseMessage } from './logAnalysis.ts';
import { parseLogEntries } from './logEntries.ts';
import { extractStackTraces } from './stackTraces.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/logs/${name}`, import.meta.url), 'utf8');

describe('stack traces in the log corpus', () => {
  const cases = [
    {
      file: 'java-spring-startup.log',
      language: 'java',
      count: 2,
      exception: /^org\.springframework\.beans\.factory\.BeanCreationException: Error creating bean/,
      causes: [/JDBCConnectionException/, /PSQLException: Connection to orders-db/],
      frame: /AbstractAutowireCapableBeanFactory\.initializeBean\(AbstractAutowireCapableBeanFactory\.java:1786\)/,
    },
    {
      file: 'java-request-npe.log',
      language: 'java',
      count: 1,
      exception: /^java\.lang\.NullPointerException: Cannot invoke "com\.acme\.cart\.Price\.amount\(\)"/,
      causes: [],
      frame: /com\.acme\.cart\.CartService\.total\(CartService\.java:88\)/,
    },
    {
      file: 'go-panic-nil-map.log',
      language: 'go',
      count: 1,
      exception: /^panic: assignment to entry in nil map$/,
      causes: [],
      frame: /reserve\.\(\*Ledger\)\.Hold \(\/src\/internal\/reserve\/ledger\.go:57\)/,
    },
    {
      file: 'python-chained-traceback.log',
      language: 'python',
      count: 1,
      exception: /^django\.db\.utils\.OperationalError: connection to server at "billing-db"/,
      causes: [/^psycopg2\.OperationalError: .*too many connections/],
      frame: /<module> \(\/app\/billing\/wsgi\.py:16\)/,
    },
    {
      file: 'node-unhandled-rejection.log',
      language: 'node',
      count: 1,
      exception: /^Error: connect ECONNREFUSED 10\.0\.33\.4:6379$/,
      causes: [],
      frame: /TCPConnectWrap\.afterConnect \[as oncomplete\] \(node:net:1555:16\)/,
    },
    {
      file: 'node-pino-json.log',
      language: 'node',
      count: 1,
      exception: /^TypeError: Cannot read properties of undefined \(reading 'hits'\)$/,
      causes: [],
      frame: /toResults \(\/app\/src\/search\/format\.js:12:31\)/,
    },
  ];

  it.each(cases)('$file: $language trace with its exception, causes and frames', (c) => {
    const traces = extractStackTraces(parseLogEntries(fixture(c.file)));
    expect(traces).toHaveLength(c.count);
    const trace = traces.at(-1)!;
    expect(trace.language).toBe(c.language);
    expect(trace.exception).toMatch(c.exception);
    expect(trace.causes).toHaveLength(c.causes.length);
    for (const [i, cause] of c.causes.entries()) expect(trace.causes[i]).toMatch(cause);
    expect(trace.frames[0]).toMatch(c.frame);
    expect(trace.frameCount).toBeGreaterThanOrEqual(trace.frames.length);
  });

  it('marks a Node error that escaped a promise as an unhandled rejection', () => {
    const [trace] = extractStackTraces(parseLogEntries(fixture('node-unhandled-rejection.log')));
    expect(trace?.unhandledRejection).toBe(true);
    const [handled] = extractStackTraces(parseLogEntries(fixture('node-pino-json.log')));
    expect(handled?.unhandledRejection).toBeUndefined();
  });

  it('keeps the first Java trace and its cause chain too', () => {
    const [first] = extractStackTraces(parseLogEntries(fixture('java-spring-startup.log')));
    expect(first?.exception).toMatch(/^org\.postgresql\.util\.PSQLException: Connection to orders-db/);
    expect(first?.causes).toEqual(['java.net.ConnectException: Connection refused']);
    expect(first?.frameCount).toBe(10);
    expect(first?.frames).toHaveLength(8);
  });

  it('finds no trace in logs that hold none', () => {
    for (const file of ['go-zap-json.log', 'sidecar-envoy.log', 'init-migrate.log', 'python-amqp-worker.log']) {
      expect(extractStackTraces(parseLogEntries(fixture(file))), file).toEqual([]);
    }
  });
});

describe('error patterns', () => {
  const rows = fixture('pattern-lines.tsv')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [id, ...rest] = l.split('\t');
      return { id: id as string, line: rest.join('\t') };
    });

  it('has at least 24 patterns covering every category, each exercised by the corpus', () => {
    expect(ErrorPatterns.length).toBeGreaterThanOrEqual(24);
    expect(new Set(ErrorPatterns.map((x) => x.category))).toEqual(new Set(ErrorCategories));
    const exercised = new Set(rows.map((r) => r.id));
    for (const pattern of ErrorPatterns) expect(exercised, pattern.id).toContain(pattern.id);
    for (const category of ErrorCategories) {
      const lines = rows.filter((r) => ErrorPatterns.find((x) => x.id === r.id)?.category === category);
      expect(lines.length, category).toBeGreaterThanOrEqual(2);
    }
  });

  it.each(rows)('$id ← $line', ({ id, line }) => {
    const ids = matchPatterns(line).map((x) => x.id);
    if (id === '-') expect(ids).toEqual([]);
    else expect(ids).toContain(id);
  });
});

describe('log entries', () => {
  it('reads JSON lines: level, message, error and time from their fields', () => {
    const entries = parseLogEntries(fixture('go-zap-json.log'));
    expect(entries).toHaveLength(8);
    expect(entries.every((e) => e.json)).toBe(true);
    expect(entries[2]).toMatchObject({
      level: 'error',
      time: Date.parse('2026-03-14T11:20:00.402Z'),
      text: '[checkout] redis ping failed error="dial tcp: lookup sessions-redis on 10.96.0.10:53: no such host"',
    });
    expect(entries[7]?.level).toBe('fatal');
  });

  it('reads pino numeric levels and epoch times, and expands a stack held in a field', () => {
    const entries = parseLogEntries(fixture('node-pino-json.log'));
    expect(entries[0]).toMatchObject({ level: 'info', time: 1773496200000 });
    const error = entries.find((e) => e.level === 'error');
    expect(error?.text).toContain('request failed');
    expect(entries.filter((e) => e.expanded).length).toBe(5);
  });

  it('takes the time from the API prefix when asked, from the line otherwise, and carries it to continuations', () => {
    const api = parseLogEntries('2026-03-14T09:00:00.5Z hello\n2026-03-14T09:00:01Z \tat a.B.c(B.java:1)\n', {
      apiTimestamps: true,
    });
    expect(api.map((e) => [e.time, e.text])).toEqual([
      [Date.parse('2026-03-14T09:00:00.5Z'), 'hello'],
      [Date.parse('2026-03-14T09:00:01Z'), '\tat a.B.c(B.java:1)'],
    ]);
    const plain = parseLogEntries(fixture('java-request-npe.log'));
    expect(plain[0]?.time).toBe(Date.parse('2026-03-14T10:41:17.203Z'));
    expect(plain[3]?.time).toBe(Date.parse('2026-03-14T10:41:17.240Z'));
    const go = parseLogEntries(fixture('go-panic-nil-map.log'));
    expect(go.at(-1)?.time).toBe(Date.parse('2026-03-14T11:03:12Z'));
    const gunicorn = parseLogEntries(fixture('python-chained-traceback.log'));
    expect(gunicorn[0]?.time).toBe(Date.parse('2026-03-14T12:00:01Z'));
    const klog = parseLogEntries('E0314 08:15:02.123456       1 reflector.go:147] failed to list: connection refused', {
      year: 2026,
    });
    expect(klog[0]).toMatchObject({ level: 'error', time: Date.parse('2026-03-14T08:15:02Z') });
  });

  it('reads levels from plain lines only near their start', () => {
    const [a, b, c, d] = parseLogEntries(
      '2026-03-14 10:00:00,000 ERROR [main] x - boom\nlevel=warn msg="slow"\nINFO all good, no ERROR here\n[FATAL] dying',
    );
    expect([a?.level, b?.level, c?.level, d?.level]).toEqual(['error', 'warn', 'info', 'fatal']);
  });
});

describe('analyzeLog', () => {
  it('counts categories and patterns with their first and last occurrence', () => {
    const analysis = analyzeLog(fixture('go-zap-json.log'));
    expect(analysis.jsonLines).toBe(8);
    expect(analysis.levels).toEqual({ fatal: 1, error: 3, warn: 1 });
    expect(analysis.categories).toMatchObject({ dns: 3, connectivity: 1 });
    const dns = analysis.patterns.find((x) => x.id === 'dns-resolution');
    expect(dns).toMatchObject({
      count: 3,
      first: Date.parse('2026-03-14T11:20:00.402Z'),
      last: Date.parse('2026-03-14T11:20:06.405Z'),
    });
    expect(analysis.patterns[0]?.id).toBe('dns-resolution');
    expect(analysis.firstProblem).toBe(Date.parse('2026-03-14T11:20:00.402Z'));
    expect(analysis.lastProblem).toBe(Date.parse('2026-03-14T11:20:06.405Z'));
  });

  it('groups repeats of one message once numbers, addresses and ids are normalised', () => {
    const analysis = analyzeLog(fixture('sidecar-envoy.log'));
    const top = analysis.topMessages[0];
    expect(top?.count).toBe(2);
    expect(top?.message).toMatch(/^warning envoy upstream .*upstream connect error/);
    expect(normaliseMessage('2026-03-14T10:00:00Z dial 10.0.0.1:5432 after 120ms id=0xdeadbeef')).toBe(
      'dial <ip> after <n>ms id=<hex>',
    );
    expect(analysis.categories.connectivity).toBeGreaterThanOrEqual(3);
  });

  it('shows each critical line with up to 3 lines either side, merging overlaps', () => {
    const analysis = analyzeLog(fixture('init-migrate.log'));
    expect(analysis.categories.database).toBe(2);
    const excerpt = analysis.excerpts.at(-1)!;
    expect(excerpt.lines.find((l) => l.critical)?.text).toContain('FATAL migration failed');
    expect(excerpt.lines.map((l) => l.line)).toEqual([4, 5, 6, 7]);
    const java = analyzeLog(fixture('java-request-npe.log'));
    expect(java.excerpts).toHaveLength(1);
    const lines = java.excerpts[0]!.lines;
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(lines.filter((l) => l.critical).map((l) => l.line)).toEqual([4]);
  });

  it('only counts lines written inside the window', () => {
    const log = fixture('go-zap-json.log');
    const all = analyzeLog(log);
    const early = analyzeLog(log, {
      window: { from: Date.parse('2026-03-14T11:20:00Z'), until: Date.parse('2026-03-14T11:20:03Z') },
    });
    expect(all.linesInWindow).toBe(8);
    expect(early.linesInWindow).toBe(5);
    expect(early.levels.fatal).toBe(0);
    expect(early.categories.dns).toBe(2);
    const apiStamped = '2026-03-14T11:00:00Z connection refused\n2026-03-14T11:30:00Z connection refused\n';
    expect(
      analyzeLog(apiStamped, {
        apiTimestamps: true,
        window: { from: Date.parse('2026-03-14T11:20:00Z'), until: Date.parse('2026-03-14T11:40:00Z') },
      }).patterns[0]?.count,
    ).toBe(1);
  });

  it('counts a stack trace once, not once per frame', () => {
    const analysis = analyzeLog(fixture('java-spring-startup.log'));
    expect(analysis.stackTraces).toHaveLength(2);
    expect(analysis.patterns.find((x) => x.id === 'startup-failure')?.count).toBeGreaterThanOrEqual(1);
    // The frames mention no pattern themselves; the headlines and log lines do.
    expect(analysis.categories.database).toBeLessThanOrEqual(4);
  });

  it('finds messaging problems in Kafka and AMQP clients', () => {
    expect(analyzeLog(fixture('java-kafka-consumer.log')).categories.messaging).toBeGreaterThanOrEqual(3);
    expect(analyzeLog(fixture('python-amqp-worker.log')).categories.messaging).toBeGreaterThanOrEqual(1);
  });

  it('keeps its results bounded however long the log', () => {
    const noisy = Array.from({ length: 20_000 }, (_, i) =>
      i % 10 === 0
        ? `2026-03-14T10:00:00Z ERROR request ${i} failed: connection refused`
        : `2026-03-14T10:00:00Z INFO ok ${i}`,
    ).join('\n');
    const analysis = analyzeLog(noisy);
    expect(analysis.patterns[0]).toMatchObject({ id: 'connection-refused', count: 2000 });
    expect(analysis.topMessages[0]).toMatchObject({
      message: 'ERROR request <n> failed: connection refused',
      count: 2000,
    });
    expect(analysis.topMessages.length).toBeLessThanOrEqual(5);
    expect(analysis.excerpts.length).toBeLessThanOrEqual(5);
  });
});
