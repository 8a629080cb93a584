/**
 * A C++ program built by a real toolchain with exceptions (test/fixtures/exceptions: Debian's clang
 * 14 with -fwasm-exceptions, build.sh): a calculator whose parser throws from deep recursion to the
 * caller of each expression, with destructors running as frames unwind and a catch (...) of an int.
 * It prints on both engines exactly what its native build prints (calc.expected), and with every
 * function listened the listener's calls balance (unwound frames get abort). clang 14 emits the
 * legacy encoding, so the compiler engine runs it on Node 20 too.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Context } from '../../src/index.js';
import { CoreFeaturesV2 } from '../../src/api.js';
import {
  CoreFeaturesExceptionHandling,
  CoreFeaturesV3,
  functionListenerFactoryFunc,
  withFunctionListenerFactory,
  type FunctionListener,
} from '../../src/experimental.js';
import { engines, runtimeFor } from '../helpers.js';
import { runGuest } from './run-guest.js';

const dir = new URL('../fixtures/exceptions/', import.meta.url);
const wasm = new Uint8Array(readFileSync(new URL('calc.wasm', dir)));
const expected = readFileSync(new URL('calc.expected', dir), 'utf8');

for (const engine of engines) {
  describe(`C++ exceptions guest on the ${engine.name}`, () => {
    it('prints what its native build prints', async () => {
      const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV3));
      const out = await runGuest(r, wasm);
      expect(out).toEqual({ stdout: expected, stderr: '', exitCode: 0 });
      await r.close();
    });

    it('is refused without the exception-handling feature, and runs with just it', async () => {
      const r2 = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV2));
      await expect(r2.compileModule(wasm)).rejects.toThrow(/malformed section id/);
      await r2.close();
      const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV2 | CoreFeaturesExceptionHandling));
      expect((await runGuest(r, wasm)).stdout).toBe(expected);
      await r.close();
    });

    it('with every function listened, each before gets one after or abort', async () => {
      let open = 0;
      let befores = 0;
      let aborts = 0;
      const listener: FunctionListener = {
        before: () => {
          befores++;
          open++;
        },
        after: () => void open--,
        abort: () => {
          open--;
          aborts++;
        },
      };
      const ctx = withFunctionListenerFactory(
        Context.background(),
        functionListenerFactoryFunc(() => listener),
      );
      const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV3));
      const { instantiate } = await import('../../src/wasi.js');
      await instantiate(r, ctx);
      const compiled = await r.compileModule(wasm, ctx);
      const { newModuleConfig } = await import('../../src/index.js');
      const out: Uint8Array[] = [];
      await r.instantiateModule(compiled, newModuleConfig().withStdout({ write: (c: Uint8Array) => void out.push(c) }), ctx);
      expect(Buffer.concat(out).toString()).toBe(expected);
      expect(open).toBe(0);
      expect(befores).toBeGreaterThan(100);
      // Seven throws unwind listened frames (the parser's, check's): each gets its abort.
      expect(aborts).toBeGreaterThan(7);
      await r.close();
    });
  });
}
