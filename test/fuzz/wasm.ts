/**
 * Small wasm modules the fuzzer builds around a module under test: a minimal module builder on the
 * project's `ByteWriter`, and the "legal" form of a signature at the JS boundary.
 *
 * Raw V8 converts f32/f64 to JS numbers (a signalling NaN may be quieted) and cannot pass v128 at
 * all, so every value crossing between the fuzzer and raw V8 travels as integers: f32 as its i32
 * bits, f64 as its i64 bits, v128 as two i64 lanes (`legalize`). Adapters (see harness.ts) convert
 * inside wasm, where moves keep every bit.
 */
import { ByteWriter, encodeFuncType } from '../../src/runtime/binary/encoder.js';
import type { FuncType } from '../../src/runtime/binary/module.js';

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export const FUNCREF = 0x70;
export const EXTERNREF = 0x6f;

/** The types a value of type `t` becomes at the JS boundary. */
export function legalTypes(t: number): number[] {
  if (t === F32) return [I32];
  if (t === F64) return [I64];
  if (t === V128) return [I64, I64];
  return [t];
}

export function legalize(ts: readonly number[]): number[] {
  return ts.flatMap(legalTypes);
}

/** Number of raw 64-bit stack slots of `ts` (v128 takes two), as `callWithStack` counts them. */
export function slotCount(ts: readonly number[]): number {
  let n = 0;
  for (const t of ts) n += t === V128 ? 2 : 1;
  return n;
}

/** Code converting the value of type `t` in local `l` to its legal form on the stack. */
export function toLegal(w: ByteWriter, t: number, l: number): void {
  w.u8(0x20).u32(l);
  if (t === F32) w.u8(0xbc);
  else if (t === F64) w.u8(0xbd);
  else if (t === V128) {
    w.u8(0xfd).u32(29).u8(0); // i64x2.extract_lane 0
    w.u8(0x20).u32(l);
    w.u8(0xfd).u32(29).u8(1);
  }
}

/** Code rebuilding a value of type `t` from its legal form in local(s) `l` (and `l + 1` for v128). */
export function fromLegal(w: ByteWriter, t: number, l: number): void {
  w.u8(0x20).u32(l);
  if (t === F32) w.u8(0xbe);
  else if (t === F64) w.u8(0xbf);
  else if (t === V128) {
    w.u8(0xfd).u32(18); // i64x2.splat
    w.u8(0x20).u32(l + 1);
    w.u8(0xfd).u32(30).u8(1); // i64x2.replace_lane 1
  }
}

interface Func {
  readonly type: number;
  readonly locals: readonly number[];
  readonly code: Uint8Array;
}

/** Builds a module of types, function imports, global imports/definitions, functions and exports. */
export class ModuleBuilder {
  readonly #types: FuncType[] = [];
  readonly #typeKeys = new Map<string, number>();
  readonly #imports: Array<{ module: string; name: string; kind: 0 | 3; type: number; mutable?: boolean }> = [];
  readonly #globals: Array<{ type: number; mutable: boolean; init: Uint8Array }> = [];
  readonly #funcs: Func[] = [];
  readonly #exports: Array<{ name: string; kind: number; index: number }> = [];
  #importedFuncs = 0;
  #importedGlobals = 0;

  type(t: FuncType): number {
    const key = `${t.params.join(',')}>${t.results.join(',')}`;
    let i = this.#typeKeys.get(key);
    if (i === undefined) {
      i = this.#types.length;
      this.#types.push(t);
      this.#typeKeys.set(key, i);
    }
    return i;
  }

  /** Imports a function; returns its index. All imports come before any defined function. */
  importFunc(module: string, name: string, t: FuncType): number {
    if (this.#funcs.length > 0) throw new Error('imports first');
    this.#imports.push({ module, name, kind: 0, type: this.type(t) });
    return this.#importedFuncs++;
  }

  importGlobal(module: string, name: string, valType: number, mutable: boolean): number {
    if (this.#globals.length > 0) throw new Error('imports first');
    this.#imports.push({ module, name, kind: 3, type: valType, mutable });
    return this.#importedGlobals++;
  }

  /** Defines a global initialised by the constant expression `init` (without its `end`). */
  global(valType: number, mutable: boolean, init: Uint8Array): number {
    this.#globals.push({ type: valType, mutable, init });
    return this.#importedGlobals + this.#globals.length - 1;
  }

  /** Defines a function; `code` is its instructions without the final `end`. */
  func(t: FuncType, locals: readonly number[], code: Uint8Array): number {
    this.#funcs.push({ type: this.type(t), locals, code });
    return this.#importedFuncs + this.#funcs.length - 1;
  }

  export(name: string, kind: 0 | 3, index: number): void {
    this.#exports.push({ name, kind, index });
  }

  encode(): Uint8Array {
    const out = new ByteWriter(1024);
    out.bytes([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    const section = (id: number, body: (w: ByteWriter) => void): void => {
      const w = new ByteWriter();
      body(w);
      out.u8(id).u32(w.len).bytes(w.buf.subarray(0, w.len));
    };
    section(1, (w) => {
      w.u32(this.#types.length);
      for (const t of this.#types) encodeFuncType(w, t);
    });
    if (this.#imports.length > 0) {
      section(2, (w) => {
        w.u32(this.#imports.length);
        for (const i of this.#imports) {
          w.name(i.module).name(i.name).u8(i.kind);
          if (i.kind === 0) w.u32(i.type);
          else w.u8(i.type).u8(i.mutable === true ? 1 : 0);
        }
      });
    }
    section(3, (w) => {
      w.u32(this.#funcs.length);
      for (const f of this.#funcs) w.u32(f.type);
    });
    if (this.#globals.length > 0) {
      section(6, (w) => {
        w.u32(this.#globals.length);
        for (const g of this.#globals)
          w.u8(g.type)
            .u8(g.mutable ? 1 : 0)
            .bytes(g.init)
            .u8(0x0b);
      });
    }
    section(7, (w) => {
      w.u32(this.#exports.length);
      for (const e of this.#exports) w.name(e.name).u8(e.kind).u32(e.index);
    });
    section(10, (w) => {
      w.u32(this.#funcs.length);
      for (const f of this.#funcs) {
        const b = new ByteWriter();
        b.u32(f.locals.length);
        for (const l of f.locals) b.u32(1).u8(l);
        b.bytes(f.code).u8(0x0b);
        w.u32(b.len).bytes(b.buf.subarray(0, b.len));
      }
    });
    return out.finish();
  }
}

/** The constant expression of a zero (or null) value of type `t`, without its `end`. */
export function zeroConst(t: number): Uint8Array {
  const w = new ByteWriter(20);
  if (t === I32) w.u8(0x41).s32(0);
  else if (t === I64) w.u8(0x42).s64(0n);
  else if (t === F32) w.u8(0x43).u32Fixed(0);
  else if (t === F64) w.u8(0x44).u64Fixed(0n);
  else if (t === V128) w.u8(0xfd).u32(12).bytes(new Uint8Array(16));
  else w.u8(0xd0).u8(t);
  return w.finish();
}
