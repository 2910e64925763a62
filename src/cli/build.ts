/**
 * The production build: src/cli/main.ts and its npm dependencies bundled into one ES module, run with plain node.
 *
 *   npm run build          (writes dist/cairn.mjs and dist/cairn.mjs.map)
 *   node dist/cairn.mjs operator …
 *
 * Under tsx the CLI compiles every module as it loads, in a loader thread with a heap of its own, and keeps source
 * maps for stack traces; the bundle does neither, which is most of the difference in the operator's memory (see
 * bench/operatorMemory.bench.ts).
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const defaultBundlePath = fileURLToPath(new URL('../../dist/cairn.mjs', import.meta.url));

/**
 * Left to node_modules at run time: native addons, found relative to their own package files. better-sqlite3 is
 * the embedded store; @kurrent/bridge is the kurrentdb client's addon, one package per platform; bufferutil and
 * utf-8-validate are optional speed-ups that `ws` requires inside try/catch and works without; grpc-health-check
 * reads its .proto file from beside its own code (`__dirname`) when it loads.
 */
export const bundleExternals = [
  'better-sqlite3',
  '@kurrent/bridge',
  'bufferutil',
  'utf-8-validate',
  'grpc-health-check',
] as const;

export interface BundleResult {
  readonly outfile: string;
  readonly warnings: readonly string[];
}

/**
 * Cairn's own sources find files beside them (crds/, bench/, build-toolchain.sh) through `import.meta.url`, which
 * in a bundle is the bundle's URL. Each use is rewritten to the URL its source file would have, as a path relative
 * to the bundle, so a bundle inside the repository finds them as tsx would. The operator needs none of these files;
 * only the commands that build clusters, generate CRDs or run benchmarks need the source tree.
 */
const sourceLocatedImportMeta = (outdir: string): Plugin => ({
  name: 'source-located-import-meta',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromBundle = relative(outdir, args.path);
      const located = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', located), loader: 'ts' };
    });
  },
});

/** Bundles the CLI into `outfile` (dist/cairn.mjs by default) with a source map beside it. */
export async function buildBundle(outfile: string = defaultBundlePath): Promise<BundleResult> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./bundleEntry.ts', import.meta.url))],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Not loaded by default: `node --enable-source-maps` maps stack traces back to the sources, at ~50 MB of RSS.
    sourcemap: true,
    // V8 keeps the source text of every loaded script; without the indentation the bundle's RSS is ~20 MB lower.
    minifyWhitespace: true,
    // Bundling renames clashing top-level names (Foo becomes Foo2); libraries that print or compare `.name` must
    // still see the original.
    keepNames: true,
    external: [...bundleExternals],
    absWorkingDir: repoRoot,
    logLevel: 'silent',
    // CommonJS dependencies call require() for node built-ins, which an ES module does not have.
    banner: {
      js: "import { createRequire as __cairnCreateRequire } from 'node:module';\nconst require = __cairnCreateRequire(import.meta.url);",
    },
    plugins: [sourceLocatedImportMeta(dirname(outfile))],
  });
  return { outfile, warnings: result.warnings.map((w) => `${w.location?.file ?? ''}: ${w.text}`) };
}

// `npm run build` runs this file directly; importing it (the bench, the test) only defines buildBundle.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { outfile, warnings } = await buildBundle();
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(`${relative(process.cwd(), outfile)}\n`);
}
