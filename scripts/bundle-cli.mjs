// Bundles the CLI (dist/cli/bin.js, as tsc wrote it) into dist/cli/wasmscope.js, which
// bin/wasmscope.mjs runs. Reason: start-up. Node's ESM loader resolves, reads and links each of the
// ~90 modules of a run one by one, which measured 40 ms of a 140 ms `wasmscope run`; one file (and
// the chunks of what only some flags load: tracing, host logging, record/replay) avoids it. The
// library entry points stay unbundled. The OpenTelemetry packages stay external: they are optional
// and loaded only by the tracing flags. Run by `npm run build` after tsc; `node scripts/bundle-cli.mjs
// <dist dir>` bundles another build (the package test stages one).
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url));
const outdir = join(dist, 'cli');
// Chunk names carry a hash: drop the previous build's.
for (const f of readdirSync(outdir)) if (f.startsWith('wasmscope')) rmSync(join(outdir, f));
await build({
  entryPoints: { wasmscope: join(outdir, 'bin.js') },
  outdir,
  // Chunks sit beside the entry: code reading ../../package.json from import.meta.url finds it.
  chunkNames: 'wasmscope-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@opentelemetry/*'],
  // Less to parse at start-up; names and lines stay readable in stack traces.
  minifyWhitespace: true,
  logLevel: 'warning',
});
