import { describe, expect, it } from 'vitest';
import { matchesTraceFile, stackTraceFiles } from './stackTraceFiles.ts';
import {
  CommitRange,
  type CommitRecord,
  globMatches,
  mergeSuspects,
  rankSuspectedCommits,
} from './suspectedCommits.ts';

const commit = (sha: string, files: CommitRecord['files'], extra: Partial<CommitRecord> = {}): CommitRecord => ({
  sha: sha.padEnd(40, '0'),
  author: 'Ada <ada@example.com>',
  message: `commit ${sha}`,
  at: '2026-12-07T10:00:00Z',
  parents: 1,
  files,
  ...extra,
});
const M = (path: string) => ({ path, change: 'M' as const });

describe('stackTraceFiles', () => {
  it('reads Node, Python, Go and Java frames and skips runtime and dependency code', () => {
    const files = stackTraceFiles([
      'TypeError: Cannot read properties of undefined',
      '    at total (/app/src/cart/total.ts:12:7)',
      '    at /app/src/server.js:40:3',
      '    at Module._compile (node:internal/modules/cjs/loader:1256:14)',
      '    at next (/app/node_modules/express/lib/router/index.js:280:10)',
      'Traceback (most recent call last):',
      '  File "app/handlers/pay.py", line 3, in handle',
      '  File "/usr/lib/python3/site-packages/flask/app.py", line 9, in run',
      'goroutine 1 [running]:',
      'main.handler(0x0)',
      '\t/build/cmd/api/main.go:42 +0x1d',
      '\tat com.shop.cart.Cart.total(Cart.java:12)',
      '\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1511)',
      '    at total (/app/src/cart/total.ts:12:7)',
    ]);
    expect(files).toEqual([
      '/app/src/cart/total.ts',
      '/app/src/server.js',
      'app/handlers/pay.py',
      '/build/cmd/api/main.go',
      'com/shop/cart/Cart.java',
    ]);
  });

  it('matches repository paths by suffix at a directory boundary, bare names only at the root', () => {
    expect(matchesTraceFile('src/cart/total.ts', '/app/src/cart/total.ts')).toBe(true);
    expect(matchesTraceFile('src/main/java/com/shop/cart/Cart.java', 'com/shop/cart/Cart.java')).toBe(true);
    expect(matchesTraceFile('src/xcart/total.ts', '/app/src/cart/total.ts')).toBe(false);
    expect(matchesTraceFile('lib/index.js', 'index.js')).toBe(false);
    expect(matchesTraceFile('index.js', 'index.js')).toBe(true);
  });
});

describe('globMatches', () => {
  it('understands **, * and plain directories', () => {
    expect(globMatches('deploy/web/**', 'deploy/web/a/b.yaml')).toBe(true);
    expect(globMatches('deploy/*.yaml', 'deploy/web.yaml')).toBe(true);
    expect(globMatches('deploy/*.yaml', 'deploy/x/web.yaml')).toBe(false);
    expect(globMatches('**/Chart.yaml', 'Chart.yaml')).toBe(true);
    expect(globMatches('charts/web', 'charts/web/values.yaml')).toBe(true);
    expect(globMatches('charts/web', 'charts/website/values.yaml')).toBe(false);
  });
});

describe('rankSuspectedCommits', () => {
  const scope = {
    manifests: ['deploy/web/**'],
    chart: ['charts/web/**'],
    traceFiles: ['/app/src/cart/total.ts'],
  };

  it('ranks the commit that changed the file in the stack trace first, with its reasons', () => {
    const commits = [
      commit('aaa1', [M('README.md')]),
      commit('bbb2', [M('deploy/web/deployment.yaml')]),
      commit('ccc3', [M('src/cart/total.ts'), M('src/cart/total.test.ts')]),
      commit('ddd4', [M('docs/intro.md')]),
    ];
    const ranked = rankSuspectedCommits({ repository: 'shop/web', commits, scope, range: CommitRange.Exact });
    expect(ranked.map((s) => s.sha.slice(0, 4))).toEqual(['ccc3', 'bbb2']);
    expect(ranked[0]!.reasons[0]).toContain("src/cart/total.ts, named in the incident's stack trace");
    expect(ranked[1]!.reasons[0]).toContain("the workload's manifests");
    expect(ranked[0]!.confidence).toBeGreaterThan(ranked[1]!.confidence);
    expect(ranked[0]!.confidence).toBeLessThanOrEqual(1);
    // Deterministic: the same input gives the same answer.
    expect(rankSuspectedCommits({ repository: 'shop/web', commits, scope, range: CommitRange.Exact })).toEqual(ranked);
  });

  it('leaves out a commit with no file in scope', () => {
    const ranked = rankSuspectedCommits({
      repository: 'shop/web',
      commits: [commit('eee5', [M('other/service/main.go')]), commit('fff6', [])],
      scope,
      range: CommitRange.Exact,
    });
    expect(ranked).toEqual([]);
  });

  it('halves a merge commit, which ranks below the commit it merged', () => {
    const ranked = rankSuspectedCommits({
      repository: 'shop/web',
      commits: [
        commit('merge', [M('src/cart/total.ts')], { parents: 2, message: 'Merge branch feature' }),
        commit('feat1', [M('src/cart/total.ts')]),
      ],
      scope,
      range: CommitRange.Exact,
    });
    expect(ranked.map((s) => s.sha.slice(0, 5))).toEqual(['feat1', 'merge']);
    expect(ranked[1]!.reasons.join(' ')).toContain('a merge of 2 parents');
  });

  it('follows a rename: the old path in scope counts, and the reason says so', () => {
    const ranked = rankSuspectedCommits({
      repository: 'shop/web',
      commits: [commit('ren1', [{ path: 'manifests/web.yaml', from: 'deploy/web/web.yaml', change: 'R' }])],
      scope,
      range: CommitRange.Exact,
    });
    expect(ranked).toHaveLength(1);
    expect(ranked[0]!.reasons).toContain('renames deploy/web/web.yaml to manifests/web.yaml');
  });

  it('is less sure when the last healthy revision is unknown, and says why', () => {
    const commits = [commit('ccc3', [M('src/cart/total.ts')])];
    const exact = rankSuspectedCommits({ repository: 'r/r', commits, scope, range: CommitRange.Exact });
    const guessed = rankSuspectedCommits({ repository: 'r/r', commits, scope, range: CommitRange.BeforeDetection });
    expect(guessed[0]!.confidence).toBeLessThan(exact[0]!.confidence);
    expect(guessed[0]!.reasons.at(-1)).toContain('newest commits before the incident');
  });

  it('with no mapped path, suspects every commit that changes a file, newest first', () => {
    const ranked = rankSuspectedCommits({
      repository: 'r/r',
      commits: [commit('new1', [M('a.txt')]), commit('old2', [M('b.txt')])],
      scope: { manifests: [], chart: [], traceFiles: [] },
      range: CommitRange.Exact,
    });
    expect(ranked.map((s) => s.sha.slice(0, 4))).toEqual(['new1', 'old2']);
  });

  it('keeps at most five across repositories, most likely first', () => {
    const a = rankSuspectedCommits({
      repository: 'a/a',
      commits: ['1', '2', '3', '4'].map((n) => commit(`a${n}`, [M('deploy/web/x.yaml')])),
      scope,
      range: CommitRange.Exact,
    });
    const b = rankSuspectedCommits({
      repository: 'b/b',
      commits: [commit('b1', [M('src/cart/total.ts')]), commit('b2', [M('charts/web/values.yaml')])],
      scope,
      range: CommitRange.Exact,
    });
    const merged = mergeSuspects([a, b]);
    expect(merged).toHaveLength(5);
    expect(merged[0]!.repository).toBe('b/b');
  });
});
