/** Generated modules for benches. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreFeaturesV2 } from '../runtime/api/features.js';
import { FUNCREF, I32 } from '../runtime/api/value-type.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import {
  ByteWriter,
  encodeFuncType,
  encodeModule,
  type EncodableBody,
  type EncodableModule,
  type EncodedBody,
} from '../runtime/binary/encoder.js';
import { nextInstr, readLeb, skipLeb } from '../runtime/binary/instr.js';
import { SectionId, type ConstExpr, type Export, type FuncType, type Global, type Import } from '../runtime/binary/module.js';
import { GUEST_NAMES, guestsDir } from './guests.js';

/**
 * A module of `n` small functions (each adds, loads and calls the next), for compile latency.
 * `salt` goes into a custom section so every call gives new bytes (V8 caches native modules by bytes).
 */
export function bigModule(n: number, salt: number): Uint8Array {
  const w = new ByteWriter(n * 16).preamble();
  const types = new ByteWriter().u32(1);
  encodeFuncType(types, { params: [I32], results: [I32] });
  w.section(SectionId.Type, types);
  const funcs = new ByteWriter().u32(n);
  for (let i = 0; i < n; i++) funcs.u32(0);
  w.section(SectionId.Function, funcs);
  w.section(SectionId.Memory, new ByteWriter().u32(1).u8(0).u32(1));
  w.section(SectionId.Global, new ByteWriter().u32(1).u8(I32).u8(1).i32Const(0).end());
  w.section(SectionId.Export, new ByteWriter().u32(1).name('f0').u8(0).u32(0));
  const code = new ByteWriter(n * 16).u32(n);
  for (let i = 0; i < n; i++) {
    const b = new ByteWriter(32)
      .u32(0)
      .localGet(0)
      .i32Const(i & 63)
      .i32Add()
      .i32Load(2, 0)
      .call((i + 1) % n)
      .end();
    code.sized(b);
  }
  w.section(SectionId.Code, code);
  w.section(SectionId.Custom, new ByteWriter().name('salt').u32(salt));
  return w.finish();
}

/**
 * A big module of the shape of real programs (the startup witness): the functions of the guest
 * corpus (C compiled by clang with wasi-libc: loops, calls, call_indirect, memory, globals)
 * replicated until the module is about `targetBytes`. Each replica's calls go to its own copies;
 * imports, types, one table, one memory and each guest's globals are shared. Meant to be compiled
 * and instantiated, not run (function pointers in memory do not match the table).
 */
export function corpusWitness(targetBytes: number): Uint8Array {
  const guests = GUEST_NAMES.map((n) => decodeModule(new Uint8Array(readFileSync(join(guestsDir(), `${n}.wasm`))), CoreFeaturesV2));
  const types: FuncType[] = [];
  const typeIndex = (t: FuncType): number => {
    const i = types.findIndex((x) => x.params.join() === t.params.join() && x.results.join() === t.results.join());
    if (i >= 0) return i;
    types.push(t);
    return types.length - 1;
  };
  const imports: Import[] = [];
  const importIndex = new Map<string, number>();
  const globals: Global[] = [];
  const plan = guests.map((g) => {
    const fimp = g.imports.filter((i) => i.desc.kind === 0);
    const importMap = fimp.map((imp) => {
      const key = `${imp.module}\u0000${imp.name}`;
      let k = importIndex.get(key);
      if (k === undefined) {
        k = imports.length;
        importIndex.set(key, k);
        const desc = imp.desc.kind === 0 ? { kind: 0 as const, typeIndex: typeIndex(g.types[imp.desc.typeIndex]!) } : imp.desc;
        imports.push({ ...imp, desc });
      }
      return k;
    });
    const typeMap = g.types.map(typeIndex);
    const globalBase = globals.length;
    globals.push(...g.globals);
    return { g, importMap, typeMap, globalBase };
  });
  const bodies: EncodedBody[] = [];
  const funcTypeIndices: number[] = [];
  const op = new Int32Array(1);
  let size = 0;
  while (size < targetBytes) {
    for (const { g, importMap, typeMap, globalBase } of plan) {
      const base = imports.length + funcTypeIndices.length - g.numImportedFuncs; // this replica's index of g's function 0 (defined)
      const fn = (i: number): number => (i < g.numImportedFuncs ? importMap[i]! : base + i);
      for (let d = 0; d < g.codes.length; d++) {
        const body = g.codes[d]!;
        const out = new ByteWriter(body.codeEnd - body.entryOffset + 16);
        // Local declarations as they are, then every instruction, renumbering indices.
        const localsStart = skipLeb(g.bytes, body.entryOffset);
        out.bytes(g.bytes.subarray(localsStart, body.codeStart));
        let p = body.codeStart;
        while (p < body.codeEnd) {
          const at = p;
          p = nextInstr(g.bytes, p, op);
          const code = op[0]!;
          if (code === 0x10) out.u8(0x10).u32(fn(readLeb(g.bytes, at + 1)));
          else if (code === 0x11)
            out
              .u8(0x11)
              .u32(typeMap[readLeb(g.bytes, at + 1)]!)
              .u32(0);
          else if (code === 0x23 || code === 0x24) out.u8(code).u32(globalBase + readLeb(g.bytes, at + 1));
          else if ((code === 0x02 || code === 0x03 || code === 0x04) && (g.bytes[at + 1]! & 0xc0) !== 0x40) {
            out.u8(code).s32(typeMap[readLeb(g.bytes, at + 1)]!); // a block type that is a type index
          } else out.bytes(g.bytes.subarray(at, p));
        }
        bodies.push({ encoded: out.finish() });
        funcTypeIndices.push(typeMap[g.funcTypeIndices[d]!]!);
        size += body.codeEnd - body.entryOffset;
      }
      if (size >= targetBytes) break;
    }
  }
  const n = imports.length + funcTypeIndices.length;
  const m: EncodableModule = {
    bytes: new Uint8Array(0),
    types,
    imports,
    funcTypeIndices,
    tables: [{ elemType: FUNCREF, limits: { min: n, max: n, shared: false } }],
    memories: [{ limits: { min: 256, max: undefined, shared: false } }],
    globals,
    exports: [{ name: '_start', kind: 0, index: imports.length, offset: -1 }],
    startFunction: undefined,
    elements: [],
    dataCount: undefined,
    datas: [],
    customSections: [],
    codes: bodies,
  };
  return encodeModule(m).bytes;
}

/** Where {@link spliceHostCall} calls the spliced import. */
export interface SpliceOptions {
  /** Also at every loop head (after `loop`). */
  readonly loops?: boolean;
  /**
   * Only when an appended mutable i32 global (0, never set) is non-zero: the call is never made,
   * but every function now calls an import, as far as a static analysis can tell.
   */
  readonly guarded?: boolean;
}

/**
 * `bytes` with an import `h.tick: () → ()` spliced in as function 0 (every other function index
 * moves up by one) and called at the entry of every defined function (and where `options` say).
 * Custom sections are dropped (their function indices would be stale).
 */
export function spliceHostCall(bytes: Uint8Array, options: SpliceOptions = {}): Uint8Array {
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
  const guard = m.globalSpace.length;
  const tick = (w: ByteWriter): void => {
    if (options.guarded === true) w.globalGet(guard).if(-64).call(0).end();
    else w.call(0);
  };
  const op = new Int32Array(1);
  const codes: EncodableBody[] = m.codes.map((b) => {
    const w = new ByteWriter(b.codeEnd - b.entryOffset + 16);
    w.bytes(m.bytes.subarray(skipLeb(m.bytes, b.entryOffset), b.codeStart));
    tick(w);
    for (let p = b.codeStart; p < b.codeEnd;) {
      const at = p;
      p = nextInstr(m.bytes, p, op);
      const code = op[0]!;
      if (code === 0x10 || code === 0x12 || code === 0xd2) {
        w.u8(code).u32(readLeb(m.bytes, at + 1) + 1);
      } else {
        w.bytes(m.bytes.subarray(at, p));
        if (code === 0x03 && options.loops === true) tick(w);
      }
    }
    return { encoded: w.finish() };
  });
  const exports: Export[] = m.exports.map((e) => (e.kind === 0 ? { ...e, index: e.index + 1 } : e));
  const globals: Global[] = m.globals.map((g) => ({ ...g, init: shiftExpr(g.init) }));
  if (options.guarded === true) {
    globals.push({ type: { valType: I32, mutable: true }, init: { instrs: [{ op: 'i32.const', value: 0 }], offset: -1 }, offset: -1 });
  }
  return encodeModule({
    ...m,
    types,
    imports,
    exports,
    codes,
    globals,
    startFunction: m.startFunction === undefined ? undefined : m.startFunction + 1,
    elements: m.elements.map((s) => ({ ...s, init: s.init.map(shiftExpr) })),
    customSections: [],
  }).bytes;
}

/**
 * A WASI guest of about `size` bytes (the CLI cold-start witness): `_start` writes "hello\n" to
 * stdout with `fd_write` and returns; a passive data segment pads the module to the size.
 */
export function wasiHello(size = 1024): Uint8Array {
  const w = new ByteWriter(size + 64).preamble();
  const types = new ByteWriter().u32(2);
  encodeFuncType(types, { params: [I32, I32, I32, I32], results: [I32] });
  encodeFuncType(types, { params: [], results: [] });
  w.section(SectionId.Type, types);
  w.section(SectionId.Import, new ByteWriter().u32(1).name('wasi_snapshot_preview1').name('fd_write').u8(0).u32(0));
  w.section(SectionId.Function, new ByteWriter().u32(1).u32(1));
  w.section(SectionId.Memory, new ByteWriter().u32(1).u8(0).u32(1));
  w.section(SectionId.Export, new ByteWriter().u32(2).name('memory').u8(2).u32(0).name('_start').u8(0).u32(1));
  w.section(SectionId.DataCount, new ByteWriter().u32(2));
  // iovec at 0: { buf = 16, len = 6 }; the text at 16; fd_write(1, iovs = 0, 1, nwritten = 8).
  const body = new ByteWriter(32).u32(0);
  body.i32Const(0).i32Const(16).i32Store(2, 0).i32Const(4).i32Const(6).i32Store(2, 0);
  body.i32Const(1).i32Const(0).i32Const(1).i32Const(8).call(0).op(0x1a).end();
  w.section(SectionId.Code, new ByteWriter().u32(1).sized(body));
  const text = new TextEncoder().encode('hello\n');
  const data = new ByteWriter(size).u32(2).u8(0).i32Const(16).end().u32(text.length).bytes(text);
  const pad = Math.max(0, size - w.len - data.len - 8);
  data.u8(1).u32(pad).bytes(new Uint8Array(pad));
  w.section(SectionId.Data, data);
  return w.finish();
}
