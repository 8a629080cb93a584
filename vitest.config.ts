import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (file: string): string => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

// The package's own entry points resolve to the sources, so examples import `wasmscope/…` exactly as
// users do (and run unchanged against the packed package).
const entries: Array<[string, string]> = [
  ['wasmscope', 'index.ts'],
  ['wasmscope/api', 'api.ts'],
  ['wasmscope/experimental', 'experimental.ts'],
  ['wasmscope/experimental/logging', 'experimental-logging.ts'],
  ['wasmscope/experimental/table', 'experimental-table.ts'],
  ['wasmscope/wasi', 'wasi.ts'],
  ['wasmscope/assemblyscript', 'assemblyscript.ts'],
  ['wasmscope/emscripten', 'emscripten.ts'],
  ['wasmscope/sys', 'sys.ts'],
  ['wasmscope/wazerotest', 'wazerotest.ts'],
  ['wasmscope/vitest', 'vitest.ts'],
  ['wasmscope/otel', 'otel.ts'],
  ['wasmscope/profile', 'profile.ts'],
  ['wasmscope/snapshot', 'snapshot.ts'],
];

export default defineConfig({
  resolve: {
    alias: entries.map(([name, file]) => ({ find: new RegExp(`^${name.replace('/', '\\/')}$`), replacement: src(file) })),
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'spectest/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
