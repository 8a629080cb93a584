/**
 * Unit tests of an AssemblyScript guest: assembly/index.ts is compiled by the `assemblyscript`
 * compiler when the tests start, `env.abort` (where `assert` failures go) and `env.log` are mocked,
 * and the guest is checked with wasmscope's matchers, memory helpers and a call-trace snapshot, on
 * both engines.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, vi } from 'vitest';
import type { Module } from 'wasmscope/api';
import { matchers, mockImports, readAssemblyScriptString, wasmTest, type ImportCallContext, type WasmTestFixtures } from 'wasmscope/vitest';

expect.extend(matchers);

/** The part of the `assemblyscript/asc` API used here (its own typings declare conflicting globals). */
interface Asc {
  compileString(
    sources: Record<string, string>,
    options: Record<string, unknown>,
  ): Promise<{ error: Error | null; binary: Uint8Array | null; stderr: { toString(): string } }>;
}

let guest: Uint8Array;

beforeAll(async () => {
  const compiler = 'assemblyscript/asc';
  const asc = ((await import(compiler)) as { default: Asc }).default;
  const source = readFileSync(new URL('./assembly/index.ts', import.meta.url), 'utf8');
  const result = await asc.compileString({ 'index.ts': source }, { runtime: 'stub', debug: true, optimizeLevel: 0 });
  if (result.error !== null || result.binary === null) throw new Error(`asc failed: ${result.error?.message}\n${result.stderr.toString()}`);
  guest = result.binary;
}, 60_000);

/** What the mocked env.abort saw: the message, file, line and column an assertion failed at. */
interface Abort {
  message: string | null;
  file: string | null;
  line: number;
  column: number;
}

async function instantiate({ runtime, config }: Pick<WasmTestFixtures, 'runtime' | 'config'>, log = vi.fn()) {
  const aborts: Abort[] = [];
  const abort = vi.fn(function (this: ImportCallContext, message: number, file: number, line: number, column: number) {
    aborts.push({
      message: readAssemblyScriptString(this.module, message),
      file: readAssemblyScriptString(this.module, file),
      line,
      column,
    });
  });
  const compiled = await runtime.compileModule(guest);
  const mod: Module = await mockImports(compiled, { env: { abort, log } }).instantiate(runtime, config.withName('as'));
  return { mod, abort, aborts, log };
}

for (const engine of ['compiler', 'interpreter'] as const) {
  describe(`the AssemblyScript guest on the ${engine}`, () => {
    wasmTest.override({ engine });

    wasmTest('adds', async ({ runtime, config }) => {
      const { mod, abort } = await instantiate({ runtime, config });
      expect(mod.exportedFunction('add')!.call(2, 40)).toEqual([42n]);
      expect(abort).not.toHaveBeenCalled();
    });

    wasmTest('a failed assert calls the mocked env.abort with its message, then traps', async ({ runtime, config }) => {
      const { mod, abort, aborts } = await instantiate({ runtime, config });
      expect(mod.exportedFunction('checkedDivide')!.call(84, 2)).toEqual([42n]);
      expect(() => mod.exportedFunction('checkedDivide')!.call(1, 0)).toTrap('unreachable');
      expect(abort).toHaveBeenCalledOnce();
      expect(aborts).toEqual([{ message: 'division by zero', file: 'index.ts', line: 12, column: 3 }]);
      expect(mod).toHaveCalledImport('env.abort', expect.any(Number), expect.any(Number), 12, 3);
    });

    wasmTest('returns a string the host reads from guest memory', async ({ runtime, config }) => {
      const { mod } = await instantiate({ runtime, config });
      const [ptr] = mod.exportedFunction('greeting')!.call();
      expect(readAssemblyScriptString(mod, Number(ptr))).toBe('hello from AssemblyScript');
    });

    wasmTest('counts down through the mocked env.log', async ({ runtime, config }) => {
      const { mod, log } = await instantiate({ runtime, config });
      mod.exportedFunction('countdown')!.call(3);
      expect(log.mock.calls).toEqual([[3], [2], [1]]);
    });

    describe('with call tracing', () => {
      wasmTest.override({ callTrace: true });

      wasmTest('fib calls itself as the snapshot shows, the same on both engines', async ({ runtime, config }) => {
        const { mod } = await instantiate({ runtime, config });
        expect(mod.exportedFunction('fib')!.call(4)).toEqual([3n]);
        expect(mod).toMatchCallTrace('fib(4)');
      });
    });
  });
}
