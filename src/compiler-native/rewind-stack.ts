/**
 * The compiler engine's rewind stack (see rewind.ts and snapshots.ts): where transformed guests
 * push their frames when they unwind and pop them when they rewind. A small wasm instance per
 * engine: its memory holds the values (it grows as needed), its two tables the references. It also
 * keeps the `$state` global of every transformed instance, which only JS changes.
 */
import { EXTERNREF, ExternKind, F32, F64, FUNCREF, I32, I64, V128 } from '../runtime/api/value-type.js';
import { ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId, type FuncType, type ValType } from '../runtime/binary/module.js';
import type { Boundary } from './boundary.js';
import { REWIND_FAILURES, REWIND_TYPES, SLOT_DONE, SLOT_FAIL, SLOT_TRAMPOLINES, STATE_NORMAL, helperType } from './rewind.js';

/** What the engine state knows of a snapshot-enabled invocation (snapshots.ts has the class). */
export interface InvocationSnapshots {
  /** The type of the host function being called by this invocation's guest code, if any. */
  hostType: FuncType | undefined;
}

/** A copy of the rewind stack: its bytes and the references pushed to its tables. */
export interface RewindImage {
  readonly bytes: Uint8Array;
  readonly funcs: readonly unknown[];
  readonly externs: readonly unknown[];
}

/** Byte size of a value type on the rewind stack (references: 0, they go to the tables). */
export function sizeOf(t: ValType): number {
  switch (t) {
    case I32:
    case F32:
      return 4;
    case I64:
    case F64:
      return 8;
    case V128:
      return 16;
    default:
      return 0;
  }
}

/** The engine's rewind stack and the `$state` globals of every transformed instance. */
export class RewindStack {
  /** The helper functions of slots 0..SLOT_TRAMPOLINES-1 (transformed guests' helper tables). */
  readonly helpers: unknown[] = [];
  /**
   * What `done` throws when the rewind reaches its end (V8's exception of a tag): the exception a
   * host call threw after taking a snapshot, thrown again where the call was made.
   */
  thrown: unknown = undefined;
  /** Mirror of every `$state` (only JS changes them): listener hooks skip unwinds and rewinds. */
  mode = STATE_NORMAL;
  readonly #states = new Set<WebAssembly.Global>();
  readonly #memory: WebAssembly.Memory;
  readonly #funcs: WebAssembly.Table;
  readonly #externs: WebAssembly.Table;
  readonly #sp: WebAssembly.Global;
  readonly #fp: WebAssembly.Global;
  readonly #ep: WebAssembly.Global;

  /**
   * @param b - the engine's boundary (the adapters of `done` and `fail`).
   * @param toGuest - what an error becomes as it enters guest frames (exceptions.ts): `fail`'s
   *   error must pass every guest `catch_all` on its way out.
   */
  constructor(b: Boundary, toGuest: (e: unknown) => unknown) {
    const ex = new WebAssembly.Instance((stackModule ??= new WebAssembly.Module(buildStackModule()))).exports;
    this.#memory = ex['m'] as WebAssembly.Memory;
    this.#funcs = ex['f'] as WebAssembly.Table;
    this.#externs = ex['e'] as WebAssembly.Table;
    this.#sp = ex['sp'] as WebAssembly.Global;
    this.#fp = ex['fp'] as WebAssembly.Global;
    this.#ep = ex['ep'] as WebAssembly.Global;
    for (let s = 0; s < SLOT_DONE; s++) this.helpers.push(ex[`s${s}`]);
    this.helpers.push(
      b.adapterFor(helperType(SLOT_DONE), () => {
        this.setAll(STATE_NORMAL);
        const e = this.thrown;
        if (e !== undefined) {
          this.thrown = undefined;
          throw e;
        }
      }),
    );
    this.helpers.push(
      b.adapterFor(helperType(SLOT_FAIL), () => {
        throw toGuest(new Error(`not supported: snapshot restore: ${REWIND_FAILURES[b.u32[0]!] ?? 'unknown failure'}`));
      }),
    );
  }

  /** Fills slots 0..SLOT_TRAMPOLINES-1 of a transformed instance's helper table. */
  fill(table: WebAssembly.Table): void {
    for (let s = 0; s < SLOT_TRAMPOLINES; s++) table.set(s, this.helpers[s]);
  }

  /** Adds a transformed instance's `$state` (set to the current mode). */
  register(g: WebAssembly.Global): void {
    this.#states.add(g);
    g.value = this.mode;
  }

  /** Forgets a closed instance's `$state`. */
  unregister(g: WebAssembly.Global): void {
    this.#states.delete(g);
  }

  /** Sets every `$state` (and the mirror) to `v` (rewind.ts `STATE_*`). */
  setAll(v: number): void {
    this.mode = v;
    for (const g of this.#states) g.value = v;
  }

  /** A copy of the stack's contents. */
  capture(): RewindImage {
    const sp = this.#sp.value as number;
    const fp = this.#fp.value as number;
    const ep = this.#ep.value as number;
    const funcs: unknown[] = [];
    for (let i = 0; i < fp; i++) funcs.push(this.#funcs.get(i));
    const externs: unknown[] = [];
    for (let i = 0; i < ep; i++) externs.push(this.#externs.get(i));
    return { bytes: new Uint8Array(this.#memory.buffer, 0, sp).slice(), funcs, externs };
  }

  /** Makes `img` the stack's contents. */
  load(img: RewindImage): void {
    const need = img.bytes.length;
    const have = this.#memory.buffer.byteLength;
    if (need > have) this.#memory.grow(Math.ceil((need - have) / 65536));
    new Uint8Array(this.#memory.buffer).set(img.bytes);
    this.#sp.value = need;
    if (this.#funcs.length < img.funcs.length) this.#funcs.grow(img.funcs.length - this.#funcs.length);
    img.funcs.forEach((f, i) => this.#funcs.set(i, f));
    this.#fp.value = img.funcs.length;
    if (this.#externs.length < img.externs.length) this.#externs.grow(img.externs.length - this.#externs.length, null);
    img.externs.forEach((e, i) => this.#externs.set(i, e));
    this.#ep.value = img.externs.length;
  }

  /** Empties the stack and sets every `$state` to normal (after an error). */
  reset(): void {
    this.#sp.value = 0;
    this.#fp.value = 0;
    this.#ep.value = 0;
    this.thrown = undefined;
    this.setAll(STATE_NORMAL);
  }
}

let stackModule: WebAssembly.Module | undefined;

// ---- the rewind stack module ----

/** Store and load opcodes by value type. */
const STORE: Readonly<Record<number, (w: ByteWriter) => void>> = {
  [I32]: (w) => void w.i32Store(0, 0),
  [I64]: (w) => void w.i64Store(0, 0),
  [F32]: (w) => void w.f32Store(0, 0),
  [F64]: (w) => void w.f64Store(0, 0),
  [V128]: (w) => void w.v128Store(0, 0),
};
const LOAD: Readonly<Record<number, (w: ByteWriter) => void>> = {
  [I32]: (w) => void w.i32Load(0, 0),
  [I64]: (w) => void w.i64Load(0, 0),
  [F32]: (w) => void w.f32Load(0, 0),
  [F64]: (w) => void w.f64Load(0, 0),
  [V128]: (w) => void w.v128Load(0, 0),
};

/**
 * The rewind stack: memory 0 holds values (global 0 its size), tables 0 and 1 the funcref and
 * externref values (globals 1 and 2 their counts). Function 0 grows the memory; functions 1..16 are
 * helper slots 0..15 (push and pop per type, peek, sp), exported as `s<slot>`.
 */
function buildStackModule(): Uint8Array {
  const w = new ByteWriter(2048).preamble();
  const types: FuncType[] = [{ params: [I32], results: [] }];
  for (let s = 0; s < SLOT_DONE; s++) types.push(helperType(s));
  const tw = new ByteWriter(256).u32(types.length);
  for (const t of types) encodeFuncType(tw, t);
  w.section(SectionId.Type, tw);
  const fw = new ByteWriter(32).u32(types.length);
  for (let i = 0; i < types.length; i++) fw.u32(i);
  w.section(SectionId.Function, fw);
  const tables = new ByteWriter(16).u32(2).u8(FUNCREF).u8(0).u32(16).u8(EXTERNREF).u8(0).u32(16);
  w.section(SectionId.Table, tables);
  w.section(SectionId.Memory, new ByteWriter(8).u32(1).u8(0).u32(1));
  const gw = new ByteWriter(32).u32(3);
  for (let g = 0; g < 3; g++) gw.u8(I32).u8(1).i32Const(0).end();
  w.section(SectionId.Global, gw);
  const ex = new ByteWriter(256).u32(6 + SLOT_DONE);
  ex.name('m').u8(ExternKind.Memory).u32(0);
  ex.name('f').u8(ExternKind.Table).u32(0);
  ex.name('e').u8(ExternKind.Table).u32(1);
  ex.name('sp').u8(ExternKind.Global).u32(0);
  ex.name('fp').u8(ExternKind.Global).u32(1);
  ex.name('ep').u8(ExternKind.Global).u32(2);
  for (let s = 0; s < SLOT_DONE; s++)
    ex.name(`s${s}`)
      .u8(ExternKind.Func)
      .u32(s + 1);
  w.section(SectionId.Export, ex);
  const code = new ByteWriter(1024).u32(types.length);
  const body = (c: ByteWriter): void => void code.sized(new ByteWriter(c.len + 4).u32(0).bytes(c.written()).end());
  // 0: ensure(n): grow until sp + n fits.
  body(
    new ByteWriter(64)
      .block(-64)
      .loop(-64)
      .globalGet(0)
      .localGet(0)
      .i32Add()
      .u8(0x3f)
      .u8(0) // memory.size
      .i32Const(16)
      .u8(0x74) // i32.shl
      .u8(0x4d) // i32.le_u
      .brIf(1)
      .i32Const(1)
      .u8(0x40)
      .u8(0) // memory.grow
      .u8(0x1a)
      .br(0)
      .end()
      .end(),
  );
  REWIND_TYPES.forEach((t, k) => {
    const c = new ByteWriter(64);
    const size = sizeOf(t);
    if (size > 0) {
      c.i32Const(size).call(0).globalGet(0).localGet(0);
      STORE[t]!(c);
      c.globalGet(0).i32Const(size).i32Add().globalSet(0);
    } else {
      const table = t === FUNCREF ? 0 : 1;
      const g = 1 + table;
      c.globalGet(g).op(0x110).u32(table).u8(0x4f).if(-64); // table.size, i32.ge_u
      c.refNull(t).i32Const(16).op(0x10f).u32(table).u8(0x1a).end(); // table.grow, drop
      c.globalGet(g).localGet(0).u8(0x26).u32(table); // table.set
      c.globalGet(g).i32Const(1).i32Add().globalSet(g);
    }
    void k;
    body(c);
  });
  REWIND_TYPES.forEach((t) => {
    const c = new ByteWriter(64);
    const size = sizeOf(t);
    if (size > 0) {
      c.globalGet(0).i32Const(size).i32Sub().globalSet(0).globalGet(0);
      LOAD[t]!(c);
    } else {
      const table = t === FUNCREF ? 0 : 1;
      const g = 1 + table;
      c.globalGet(g).i32Const(1).i32Sub().globalSet(g).globalGet(g).u8(0x25).u32(table); // table.get
    }
    body(c);
  });
  // peek(o): the i32 at sp - 4 - o.
  body(new ByteWriter(32).globalGet(0).i32Const(4).i32Sub().localGet(0).i32Sub().i32Load(0, 0));
  // sp()
  body(new ByteWriter(8).globalGet(0));
  w.section(SectionId.Code, code);
  return w.finish();
}
