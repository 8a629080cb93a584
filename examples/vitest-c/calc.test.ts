/**
 * Unit tests of a C guest (calc.c, built by build.sh into calc.wasm) with wasmscope's Vitest toolkit:
 * the `wasmTest` fixture (a runtime per test with WASI, an in-memory filesystem, captured output),
 * `mockImports` for the guest's own import, the matchers, and the guest-memory helpers. Runs on both
 * engines.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, vi } from 'vitest';
import type { Module } from 'wasmscope/api';
import { Oflag, type File } from 'wasmscope/sys';
import { matchers, mockImports, readCString, wasmTest, writeCString, type WasmTestFixtures } from 'wasmscope/vitest';

expect.extend(matchers);

const CALC = readFileSync(new URL('./calc.wasm', import.meta.url));

/** Instantiates calc.wasm with env.log_value mocked by `log`, running its reactor initializer. */
async function calc({ runtime, config }: Pick<WasmTestFixtures, 'runtime' | 'config'>, log = vi.fn()): Promise<Module> {
  const compiled = await runtime.compileModule(CALC);
  return mockImports(compiled, { env: { log_value: log } }).instantiate(runtime, config.withName('calc').withStartFunctions('_initialize'));
}

for (const engine of ['compiler', 'interpreter'] as const) {
  describe(`calc.c on the ${engine}`, () => {
    wasmTest.override({ engine });

    wasmTest('divides, and traps on a zero divisor with calc.c lines in the stack trace', async ({ runtime, config }) => {
      const mod = await calc({ runtime, config });
      const divide = mod.exportedFunction('divide')!;
      expect(divide.call(84, 2)).toEqual([42n]);
      expect(() => divide.call(1, 0)).toTrap('integer divide by zero');
      let message = '';
      try {
        divide.call(1, 0);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/calc\.c:13:\d+/);
    });

    wasmTest('logs each partial sum through the mocked env.log_value', async ({ runtime, config }) => {
      const log = vi.fn();
      const mod = await calc({ runtime, config }, log);
      expect(mod.exportedFunction('sum_to')!.call(4)).toEqual([10n]);
      expect(log.mock.calls).toEqual([[1], [3], [6], [10]]);
      expect(mod).toHaveCalledImport('env.log_value', 6);
      expect(mod).not.toHaveCalledImport('env.log_value', 7);
    });

    wasmTest('greets a name written into guest memory', async ({ runtime, config }) => {
      const mod = await calc({ runtime, config });
      // The name goes in the second half of the guest's 64-byte buffer; the greeting fills the first.
      const name = Number(mod.exportedFunction('scratch')!.call()[0]) + 32;
      writeCString(mod, name, 'wasm');
      const [greeting] = mod.exportedFunction('greet')!.call(name);
      expect(readCString(mod, Number(greeting))).toBe('hello, wasm!');
      expect(mod).toHaveMemory(Number(greeting), 'hello, wasm!\0');
    });

    wasmTest(
      'counts the lines of a file from the in-memory filesystem and prints to the captured stdout',
      async ({ runtime, config, fs, stdout }) => {
        const f = fs.openFile('notes.txt', Oflag.CREAT | Oflag.WRONLY, 0o644) as File;
        f.write(new TextEncoder().encode('one\ntwo\nthree\n'));
        f.close();
        const mod = await calc({ runtime, config });
        const [path] = mod.exportedFunction('scratch')!.call();
        writeCString(mod, Number(path), '/notes.txt');
        expect(mod.exportedFunction('count_lines')!.call(path!)).toEqual([3n]);
        expect(stdout.text).toBe('/notes.txt: 3 lines\n');
        expect(mod).toHaveCalledImport('wasi_snapshot_preview1.fd_write');
      },
    );

    wasmTest('exits with code 2 and an error on stderr when the file is missing', async ({ runtime, config, stderr }) => {
      const mod = await calc({ runtime, config });
      const [path] = mod.exportedFunction('scratch')!.call();
      writeCString(mod, Number(path), '/missing.txt');
      expect(() => mod.exportedFunction('count_lines')!.call(path!)).toExitWith(2);
      expect(stderr.text).toBe('cannot open /missing.txt\n');
      expect(mod.isClosed()).toBe(true);
    });
  });
}
