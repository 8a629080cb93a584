/**
 * The guest corpus (C programs built with wasi-libc): each prints exactly its expected output, on every
 * engine at the tiny size, and on the compiler engine at the default size too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engines, runtimeFor } from '../helpers.js';
import { GUESTS_DIR } from '../paths.js';
import { runGuest } from './run-guest.js';

const TINY_ARGS: Record<string, string[]> = {
  fib: ['32'],
  calls: ['1000000'],
  sha256: ['4'],
  matmul: ['200'],
  nbody: ['200000'],
  sieve: ['1000000', '4'],
  qsort: ['200000'],
  hashmap: ['100000'],
  i64: ['2000000'],
};

function expected(name: string, size: 'tiny' | 'default'): string {
  return readFileSync(join(GUESTS_DIR, 'expected', `${name}.${size}.txt`), 'utf8');
}

describe.each(engines)('guest corpus on $name', (engine) => {
  for (const [name, args] of Object.entries(TINY_ARGS)) {
    it(`${name} ${args.join(' ')} prints expected/${name}.tiny.txt`, async () => {
      const r = runtimeFor(engine);
      const wasm = readFileSync(join(GUESTS_DIR, `${name}.wasm`));
      const res = await runGuest(r, wasm, { args: [name, ...args] });
      expect(res.stderr).toBe('');
      expect(res.exitCode).toBe(0);
      expect(res.stdout).toBe(expected(name, 'tiny'));
      await r.close();
    }, 120_000);
  }

  // The default sizes take about a second each on V8 (more on a busy machine); WASMSCOPE_GUESTS_DEFAULT=0 skips them.
  if (engine.name === 'compiler' && process.env['WASMSCOPE_GUESTS_DEFAULT'] !== '0') {
    for (const name of Object.keys(TINY_ARGS)) {
      it(`${name} (default size) prints expected/${name}.default.txt`, async () => {
        const r = runtimeFor(engine);
        const wasm = readFileSync(join(GUESTS_DIR, `${name}.wasm`));
        const res = await runGuest(r, wasm, { args: [name] });
        expect(res.exitCode).toBe(0);
        expect(res.stdout).toBe(expected(name, 'default'));
        await r.close();
      }, 120_000);
    }
  }
});
