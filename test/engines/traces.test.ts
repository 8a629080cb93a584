/**
 * Wasm stack traces in trap messages: ONE table of cases, run on every engine. Frames are innermost
 * first, host function frames included; with DWARF (test/fixtures/dwarf, built by build.sh) each
 * frame carries `\t\t0x<offset>: <file>:<line>:<col>` lines for the trapping instruction (innermost)
 * or the pending call (callers), unless `withDebugInfoEnabled(false)`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newModuleConfig, WasmRuntimeError, type Runtime } from '../../src/index.js';
import { instantiate as instantiateWasi } from '../../src/wasi.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const I32 = 0x7f;

interface Case {
  readonly name: string;
  readonly debugInfo: boolean;
  /** Engines that do not implement this yet (remove once they do). */
  readonly gaps?: readonly string[];
  readonly run: (r: Runtime) => Promise<unknown>;
  /** Substrings the trap message must contain, in order. */
  readonly contains: readonly string[];
  readonly excludes?: readonly string[];
}

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/dwarf/${name}`, import.meta.url)));

async function runWasi(r: Runtime, file: string): Promise<unknown> {
  await instantiateWasi(r);
  return r.instantiateWithConfig(fixture(file), newModuleConfig());
}

const TRAP_C_FRAMES = [
  'wasm error: integer divide by zero',
  'wasm stack trace:',
  '\t.divide(i32,i32) i32\n\t\t0x54: /fixtures/trap.c:4:13\n',
  '\t.compute(i32) i32\n\t\t0xc5: /fixtures/trap.c:10:10\n',
  '\t.__original_main() i32\n\t\t0x11f: /fixtures/trap.c:16:10\n',
];

const cases: Case[] = [
  {
    name: 'DWARF 4: source lines for the trapping instruction and each pending call',
    debugInfo: true,
    gaps: [],
    run: (r) => runWasi(r, 'trap.dwarf4.wasm'),
    contains: TRAP_C_FRAMES,
  },
  {
    name: 'DWARF 5: the same lines',
    debugInfo: true,
    gaps: [],
    run: (r) => runWasi(r, 'trap.dwarf5.wasm'),
    contains: TRAP_C_FRAMES,
  },
  {
    name: 'withDebugInfoEnabled(false): frames without source lines',
    debugInfo: false,
    run: (r) => runWasi(r, 'trap.dwarf4.wasm'),
    contains: ['\t.divide(i32,i32) i32\n\t.compute(i32) i32\n\t.__original_main() i32\n'],
    excludes: ['trap.c'],
  },
  {
    name: 'a trap under a host function that called back into the guest shows the host frame',
    debugInfo: true,
    gaps: [],
    async run(r) {
      let inner: ((x: number) => unknown) | undefined;
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(
          (_ctx, _mod, x: number) => {
            inner!(x);
            return 0;
          },
          [I32],
          [I32],
        )
        .withName('back')
        .export('back')
        .instantiate();
      const m = await r.instantiateWithConfig(
        await wat(`(module $g (import "env" "back" (func $back (param i32) (result i32)))
          (func $outer (export "outer") (param i32) (result i32) (call $back (local.get 0)))
          (func $inner (export "inner") (param i32) (drop (i32.div_u (i32.const 1) (local.get 0)))))`),
        newModuleConfig().withName('g'),
      );
      inner = (x) => m.exportedFunction('inner')!.call(x);
      return m.exportedFunction('outer')!.call(0);
    },
    contains: ['wasm error: integer divide by zero', '\tg.inner(i32)\n', '\tenv.back(i32) i32\n', '\tg.outer(i32) i32'],
  },
  {
    name: 'deep stacks print 30 frames and an elision line',
    debugInfo: true,
    async run(r) {
      const m = await r.instantiateWithConfig(
        await wat(`(module $d (func $f (export "f") (param i32)
          (if (i32.eqz (local.get 0)) (then unreachable))
          (call $f (i32.sub (local.get 0) (i32.const 1)))))`),
        newModuleConfig().withName('d'),
      );
      return m.exportedFunction('f')!.call(40);
    },
    contains: ['wasm error: unreachable', '\td.f(i32)\n'.repeat(30) + '\t... maybe followed by omitted frames'],
  },
];

for (const engine of engines) {
  describe(`wasm stack traces on the ${engine.name}`, () => {
    for (const c of cases) {
      it.skipIf(c.gaps?.includes(engine.name) === true)(c.name, async () => {
        const r = runtimeFor(engine, (cfg) => cfg.withDebugInfoEnabled(c.debugInfo));
        try {
          let err: unknown;
          try {
            await c.run(r);
          } catch (e) {
            err = e;
          }
          const e = err instanceof WasmRuntimeError ? err : (err as Error | undefined)?.cause;
          expect(e, String(err)).toBeInstanceOf(WasmRuntimeError);
          const msg = (e as WasmRuntimeError).message;
          let from = 0;
          for (const s of c.contains) {
            const at = msg.indexOf(s, from);
            expect(at, `${JSON.stringify(s)} in\n${msg}`).toBeGreaterThanOrEqual(0);
            from = at + s.length;
          }
          for (const s of c.excludes ?? []) expect(msg).not.toContain(s);
        } finally {
          await r.close();
        }
      });
    }
  });
}
