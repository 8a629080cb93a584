/**
 * Property test of the compiler's rewind pass (src/compiler-native/rewind.ts) on real code: the
 * nowasi guests (C compiled by clang) with a host import `h.tick` spliced in and called at the entry
 * of every function, so that every function is on the stack during host calls and is transformed.
 * Taking a snapshot, and restoring it at once (the same host call, results unchanged), leave the
 * execution as it was: `run()` and the final memory must be exactly raw V8's, with snapshots taken
 * every few ticks (each one an unwind and a rewind of every frame on the stack), and with the
 * transform on but no snapshot taken.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Context, newModuleConfig } from '../../src/index.js';
import { getSnapshotter, withSnapshotter } from '../../src/experimental.js';
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { ByteWriter, encodeModule, type EncodableBody } from '../../src/runtime/binary/encoder.js';
import { nextInstr, readLeb, skipLeb } from '../../src/runtime/binary/instr.js';
import type { ConstExpr, Export, Import } from '../../src/runtime/binary/module.js';
import { engines, runtimeFor } from '../helpers.js';

const GUESTS = new URL('../fixtures/guests/nowasi', import.meta.url).pathname;
/**
 * The guests whose tick count stays small enough for a test (fib and calls make millions of calls),
 * and whether they tick at loop heads too (those that make few calls).
 */
const GUEST_TICKS: ReadonlyArray<readonly [string, boolean]> = [
  ['hashmap', false],
  ['i64', true],
  ['matmul', false],
  ['nbody', true],
  ['qsort', false],
  ['sha256', false],
  ['sieve', true],
];

/** FNV-1a over the memory. */
function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${bytes.length}:${h.toString(16)}`;
}

/**
 * `bytes` with the import `h.tick: () → ()` as function 0, called at the entry of every defined
 * function (and at every loop head when `loops`).
 */
function spliceTick(bytes: Uint8Array, loops: boolean): Uint8Array {
  const m = decodeModule(bytes, 0x1ff);
  const types = [...m.types];
  let tickType = types.findIndex((t) => t.params.length === 0 && t.results.length === 0);
  if (tickType < 0) {
    types.push({ params: [], results: [] });
    tickType = types.length - 1;
  }
  const imports: Import[] = [{ module: 'h', name: 'tick', desc: { kind: 0, typeIndex: tickType }, offset: -1 }, ...m.imports];
  const shiftExpr = (e: ConstExpr): ConstExpr => ({
    ...e,
    instrs: e.instrs.map((i) => (i.op === 'ref.func' ? { ...i, funcIndex: i.funcIndex + 1 } : i)),
  });
  const op = new Int32Array(1);
  const codes: EncodableBody[] = m.codes.map((b) => {
    const w = new ByteWriter(b.codeEnd - b.entryOffset + 16);
    w.bytes(m.bytes.subarray(skipLeb(m.bytes, b.entryOffset), b.codeStart));
    w.call(0);
    for (let p = b.codeStart; p < b.codeEnd;) {
      const at = p;
      p = nextInstr(m.bytes, p, op);
      const code = op[0]!;
      if (code === 0x10 || code === 0x12 || code === 0xd2) {
        w.u8(code).u32(readLeb(m.bytes, at + 1) + 1);
      } else {
        w.bytes(m.bytes.subarray(at, p));
        if (code === 0x03 && loops) w.call(0);
      }
    }
    return { encoded: w.finish() };
  });
  const exports: Export[] = m.exports.map((e) => (e.kind === 0 ? { ...e, index: e.index + 1 } : e));
  const out = encodeModule({
    ...m,
    types,
    imports,
    exports,
    codes,
    startFunction: m.startFunction === undefined ? undefined : m.startFunction + 1,
    elements: m.elements.map((s) => ({ ...s, init: s.init.map(shiftExpr) })),
    globals: m.globals.map((g) => ({ ...g, init: shiftExpr(g.init) })),
    customSections: [],
  });
  return out.bytes;
}

interface Outcome {
  readonly result: bigint;
  readonly memory: string;
}

function rawV8(bytes: Uint8Array): Outcome & { ticks: number } {
  let ticks = 0;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { h: { tick: () => void ticks++ } });
  const result = BigInt.asUintN(64, BigInt((inst.exports['run'] as () => bigint | number)()));
  return { result, memory: fingerprint(new Uint8Array((inst.exports['memory'] as WebAssembly.Memory).buffer)), ticks };
}

const compiler = engines.find((e) => e.name === 'compiler');

describe.skipIf(compiler === undefined)('rewind pass on the nowasi guests with a host call at every function entry', () => {
  for (const [name, loops] of GUEST_TICKS) {
    it(`${name}: snapshots taken (and restored at once) every few calls leave run() and memory as raw V8's`, async () => {
      const bytes = spliceTick(new Uint8Array(readFileSync(join(GUESTS, `${name}.tiny.wasm`))), loops);
      const expected = rawV8(bytes);
      // About 60 snapshots per run, a third of them restored inside the host call that took them.
      const every = Math.max(1, Math.floor(expected.ticks / 60));
      for (const mode of ['none', 'snapshots'] as const) {
        const r = runtimeFor(compiler!);
        try {
          let ticks = 0;
          let taken = 0;
          await r
            .newHostModuleBuilder('h')
            .newFunctionBuilder()
            .withFunc(
              (ctx) => {
                ticks++;
                if (mode === 'none' || ticks % every !== 0) return;
                const s = getSnapshotter(ctx)!.snapshot();
                taken++;
                if (taken % 3 === 0) s.restore([]);
              },
              [],
              [],
            )
            .export('tick')
            .instantiate();
          const ctx = withSnapshotter(Context.background());
          const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName(name), ctx);
          const res = m.exportedFunction('run')!.callWithContext(mode === 'none' ? Context.background() : ctx);
          const t = m.exportedFunction('run')!.definition().resultTypes()[0];
          const result = t === 0x7f ? BigInt.asUintN(64, BigInt.asIntN(32, res[0]!)) : res[0]!;
          const got: Outcome = { result, memory: fingerprint(m.memory()!.read(0, m.memory()!.size())!) };
          expect({ mode, ...got }).toEqual({ mode, result: expected.result, memory: expected.memory });
          if (mode === 'snapshots') expect(taken).toBeGreaterThan(10);
        } finally {
          await r.close();
        }
      }
    }, 120_000);
  }
});
