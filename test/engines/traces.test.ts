/**
 * Traps and their wasm stack traces: ONE table of cases, run on every engine.
 *
 * - A trap is a WasmRuntimeError whose message is `wasm error: <trap>` then `wasm stack trace:` and
 *   one tab-indented frame per line, innermost first, host function frames included, named from the
 *   name section (`$<index>` for unnamed functions); at most 30 frames, then an elision line.
 * - Each trap text names its cause with wazero's words (`invalid table access` for an index past the
 *   table or a null entry, `indirect call type mismatch`, `invalid conversion to integer` for a NaN).
 * - `wasmOffsets` holds each frame's byte offset in the module binary: the trapping instruction for
 *   the innermost frame, the pending call for its callers.
 * - Unbounded recursion traps with `stack overflow`; the module and the runtime stay usable.
 * - With DWARF (test/fixtures/dwarf, built by build.sh) each frame carries
 *   `\t\t0x<offset>: <file>:<line>:<col>` lines for the trapping instruction (innermost) or the
 *   pending call (callers), unless `withDebugInfoEnabled(false)`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newModuleConfig, Trap, WasmRuntimeError, type Runtime } from '../../src/index.js';
import { instantiate as instantiateWasi } from '../../src/wasi.js';
import { engines, runtimeFor, trapOf, wasmOffsetsOf, wat } from '../helpers.js';

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
  /** More checks of the trap, and of the runtime after it. */
  readonly check?: (e: WasmRuntimeError, r: Runtime) => void | Promise<void>;
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

/** Instantiates `text` as module `m` and calls its export `name` with `params`. */
async function callIn(r: Runtime, text: string, name: string, ...params: bigint[]): Promise<unknown> {
  const m = await r.instantiateWithConfig(await wat(text), newModuleConfig().withName('m'));
  return m.exportedFunction(name)!.call(...params);
}

const TRAPS = `(module $m
  (type $v (func))
  (type $r (func (result i32)))
  (memory 1)
  (table $t 3 funcref)
  (table $full 1 funcref)
  (func $one (result i32) (i32.const 1))
  (func $nop)
  (elem (table $t) (i32.const 0) func $one)
  (elem (table $full) (i32.const 0) func $nop)
  (func $unr (export "unreachable") unreachable)
  (func (export "nested") (call $unr))
  (func (export "load_end") (drop (i32.load offset=4 (i32.const 65529))))
  (func (export "load_wrap") (drop (i32.load offset=4 (i32.const 0xfffffffc))))
  (func (export "div") (drop (i32.div_s (i32.const 1) (i32.const 0))))
  (func (export "rem") (drop (i64.rem_u (i64.const 1) (i64.const 0))))
  (func (export "ovf") (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))
  (func (export "trunc") (drop (i32.trunc_f64_s (f64.const 1e100))))
  (func (export "trunc_nan") (drop (i32.trunc_f32_s (f32.const nan))))
  (func (export "past_table") (drop (call_indirect $t (type $r) (i32.const 7))))
  (func (export "null_entry") (drop (call_indirect $t (type $r) (i32.const 2))))
  (func (export "mismatch") (drop (call_indirect $full (type $r) (i32.const 0))))
  (func (export "table_get") (drop (table.get $t (i32.const 3))))
  (func (export "fill") (memory.fill (i32.const 65000) (i32.const 0) (i32.const 1000))))`;

const OFFSETS = `(module $o (memory 1) (type $r (func (result i32))) (table 2 funcref)
  (func $inner (param i32) (result i32) (i32.load offset=4 (local.get 0)))
  (func (export "outer") (param i32) (result i32) (call $inner (local.get 0)))
  (func (export "trunc") (param f64) (result i64) (nop) (i64.trunc_f64_u (local.get 0)))
  (func (export "ind") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))`;

/** [what traps, export of TRAPS, trap text]. */
const TRAP_TEXTS: ReadonlyArray<readonly [string, string, Trap]> = [
  ['unreachable', 'unreachable', Trap.Unreachable],
  ['a load past the end of memory', 'load_end', Trap.OutOfBoundsMemoryAccess],
  ['a load whose address plus offset wraps past 2^32', 'load_wrap', Trap.OutOfBoundsMemoryAccess],
  ['i32.div_s by zero', 'div', Trap.IntegerDivideByZero],
  ['i64.rem_u by zero', 'rem', Trap.IntegerDivideByZero],
  ['i32.div_s of INT_MIN by -1', 'ovf', Trap.IntegerOverflow],
  ['a truncation of a value out of range', 'trunc', Trap.IntegerOverflow],
  ['a truncation of NaN', 'trunc_nan', Trap.InvalidConversionToInteger],
  ['call_indirect past the end of the table', 'past_table', Trap.InvalidTableAccess],
  ['call_indirect of a null entry', 'null_entry', Trap.InvalidTableAccess],
  ['call_indirect of an entry of another type', 'mismatch', Trap.IndirectCallTypeMismatch],
  ['table.get past the end of the table', 'table_get', Trap.InvalidTableAccess],
  ['memory.fill past the end of memory', 'fill', Trap.OutOfBoundsMemoryAccess],
];

const cases: Case[] = [
  ...TRAP_TEXTS.map(([what, name, trap]): Case => ({
    name: `${what} traps with "${trap}"`,
    debugInfo: false,
    run: (r) => callIn(r, TRAPS, name),
    contains: [`wasm error: ${trap}\nwasm stack trace:\n\tm.`],
    check: (e) => {
      expect(e.trap).toBe(trap);
      expect(e.message.startsWith(`wasm error: ${trap}\n`)).toBe(true);
    },
  })),
  {
    name: 'frames are named from the name section ($<index> when unnamed) and offsets point at the trapping instruction and each pending call',
    debugInfo: false,
    run: (r) => callIn(r, TRAPS, 'nested'),
    contains: ['wasm error: unreachable\nwasm stack trace:\n\tm.unr()\n\tm.$3()'],
    async check(e) {
      expect(e.message).toBe('wasm error: unreachable\nwasm stack trace:\n\tm.unr()\n\tm.$3()');
      expect(e.stackFrames).toEqual(['m.unr()', 'm.$3()']);
      const bytes = await wat(TRAPS);
      const [unr, call] = wasmOffsetsOf(e);
      expect(wasmOffsetsOf(e).length).toBe(2);
      expect(bytes[unr!]).toBe(0x00); // unreachable, the first instruction of $unr
      expect([...bytes.subarray(call!, call! + 2)]).toEqual([0x10, 2]); // call $unr
    },
  },
  {
    name: 'offsets point at the trapping instruction inside a body (a load with its memarg, a truncation after a nop, a call_indirect)',
    debugInfo: false,
    async run(r) {
      const m = await r.instantiateWithConfig(await wat(OFFSETS), newModuleConfig().withName('o'));
      expect(m.exportedFunction('outer')!.call(65528)).toEqual([0n]);
      return m.exportedFunction('outer')!.call(65529);
    },
    contains: ['wasm error: out of bounds memory access\nwasm stack trace:\n\to.inner(i32) i32\n\to.$1(i32) i32'],
    async check(e, r) {
      const bytes = await wat(OFFSETS);
      const [load, call] = wasmOffsetsOf(e);
      expect([...bytes.subarray(load!, load! + 3)]).toEqual([0x28, 0x02, 0x04]); // i32.load align=2 offset=4
      expect([...bytes.subarray(call!, call! + 2)]).toEqual([0x10, 0x00]); // call $inner
      const m = r.module('o')!;
      const nan = trapOf(() => m.exportedFunction('trunc')!.call(0x7ff8000000000000n));
      expect(nan.trap).toBe(Trap.InvalidConversionToInteger);
      expect(bytes[wasmOffsetsOf(nan)[0]!]).toBe(0xb1); // i64.trunc_f64_u, after the nop
      const ind = trapOf(() => m.exportedFunction('ind')!.call(1));
      expect(ind.message).toBe('wasm error: invalid table access\nwasm stack trace:\n\to.$3(i32) i32');
      expect(bytes[wasmOffsetsOf(ind)[0]!]).toBe(0x11); // call_indirect
    },
  },
  {
    name: 'unbounded recursion traps with "stack overflow" and 30 frames; the module stays usable and overflows alike again',
    debugInfo: false,
    run: (r) =>
      callIn(
        r,
        `(module $m
          (func $rec (export "rec") (param i64) (result i64) (i64.add (call $rec (local.get 0)) (i64.const 1)))
          (func $fac (export "fac") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
              (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1))))))))`,
        'rec',
        1n,
      ),
    contains: [
      'wasm error: stack overflow\nwasm stack trace:\n' + '\tm.rec(i64) i64\n'.repeat(30) + '\t... maybe followed by omitted frames',
    ],
    check(e, r) {
      expect(e.trap).toBe(Trap.StackOverflow);
      expect(e.stackFrames.length).toBe(31);
      const m = r.module('m')!;
      expect(m.exportedFunction('fac')!.call(20n)).toEqual([2432902008176640000n]);
      expect(trapOf(() => m.exportedFunction('rec')!.call(1n)).trap).toBe(Trap.StackOverflow);
      expect(m.exportedFunction('fac')!.call(20n)).toEqual([2432902008176640000n]);
    },
  },
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
  describe(`traps and wasm stack traces on the ${engine.name}`, () => {
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
          await c.check?.(e as WasmRuntimeError, r);
        } finally {
          await r.close();
        }
      });
    }
  });
}
