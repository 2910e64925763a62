/**
 * The source files a stack trace names, as paths relative to wherever the code was built, so they can be matched
 * against the files a commit changed. Node, Python, Go and Java frames are read; everything else in a log line is
 * ignored. Pure.
 */

// Node: `at fn (src/x.ts:12:3)`, `at /app/src/x.js:12:3`, `at file:///app/src/x.mjs:3:1`.
const nodeFrame = /^\s*at\s+(?:.*?\()?(?:file:\/\/)?([^\s()]+?\.(?:[cm]?[jt]sx?)):\d+(?::\d+)?\)?\s*$/;
// Python: `File "app/y.py", line 3, in handler`.
const pythonFrame = /^\s*File "([^"]+\.py)", line \d+/;
// Go: a tab-indented `/build/pkg/x.go:12 +0x1d` under the function line.
const goFrame = /^\s*([^\s:]+\.go):\d+(?:\s+\+0x[0-9a-f]+)?\s*$/;
// Java/Kotlin/Scala: `at com.shop.cart.Cart.total(Cart.java:12)`: the package gives the directory.
const javaFrame = /^\s*at\s+((?:[\w$]+\.)+)[\w$<>]+\(([\w$]+\.(?:java|kt|scala|groovy)):\d+\)/;

/** Runtime and dependency code: a commit to the application cannot have changed it. */
const outsideTheApp = /(?:^|\/)(?:node_modules|site-packages|dist-packages|vendor|go\/pkg\/mod)\/|^node:|^internal\//;

const MaxFiles = 64;

/**
 * The files named by the frames among `lines`, first seen first, without duplicates, at most 64. Java frames give
 * `com/shop/cart/Cart.java` (a path suffix); the others give the path as printed (possibly absolute, such as
 * `/app/src/x.ts`), which `matchesTraceFile` compares by suffix.
 */
export function stackTraceFiles(lines: readonly string[]): string[] {
  const files: string[] = [];
  const add = (file: string) => {
    const clean = file.replace(/\\/g, '/');
    if (outsideTheApp.test(clean) || files.includes(clean) || files.length >= MaxFiles) return;
    files.push(clean);
  };
  for (const line of lines) {
    const java = javaFrame.exec(line);
    if (java) {
      if (/^(?:java|javax|jdk|sun|kotlin|scala|org\.springframework|org\.apache)\./.test(java[1] ?? '')) continue;
      const dir = (java[1] ?? '').split('.').slice(0, -2).join('/');
      add(dir === '' ? (java[2] ?? '') : `${dir}/${java[2]}`);
      continue;
    }
    const match = nodeFrame.exec(line) ?? pythonFrame.exec(line) ?? goFrame.exec(line);
    if (match?.[1]) add(match[1]);
  }
  return files;
}

/**
 * Whether a file of the repository (`src/cart/total.ts`) is the one a frame names (`/app/src/cart/total.ts`,
 * `cart/total.ts`, a Java `com/shop/Cart.java` under `src/main/java/`): one ends with the other at a `/`.
 * A bare file name (`index.js`) matches only a file of that name at the repository's root, so common names do
 * not point at every directory.
 */
export function matchesTraceFile(repoPath: string, traceFile: string): boolean {
  const trace = traceFile.replace(/^\.?\//, '');
  if (!trace.includes('/')) return repoPath === trace;
  const a = `/${repoPath}`;
  const b = `/${trace}`;
  return a.endsWith(b) || b.endsWith(a);
}
