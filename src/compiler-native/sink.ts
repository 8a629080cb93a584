/**
 * Batched function events on the compiler engine (`withFunctionEventSink`): the instrumented body
 * of a recorded function writes one record per event into the engine's event ring
 * (store/event-ring.ts, its layout), a wasm memory. No JS runs per record; JS runs when the ring
 * is full or its owner changes (a *cold* call: the ring's `claim`), and when an invocation ends (the
 * engine flushes, and on an error writes the `Abort` records from the shadow stack).
 *
 * Two ways to write a record, one code ({@link emitRecord}):
 * - *inline* (V8 with multi-memory: Node 24): the ring's memory is imported by the guest as one
 *   more memory (after its own, and after the dirty-page marks), and the records are written by
 *   code inlined in the body. The instance's owner id (shifted, `id << 32`) is an appended mutable
 *   i64 global starting at a value no ring header matches, so the first record of an instance takes
 *   the cold path, whose function (slot `sinkCold` of the hook table) claims the ring for it and
 *   returns the value, which the body stores in the global. No global has to be set from JS, so
 *   records written by a start function are fine;
 * - *calls* (Node 20, no multi-memory): the body calls, through its hook table, a *recorder*: a wasm
 *   function of a small helper module over the ring's memory, one instance per recorded guest
 *   instance (its owner id is an immutable global), so the guest passes only the function index.
 *
 * A record (both ways): one i64 load of the ring header (`owner << 32 | position`) minus the
 * instance's `id << 32`, compared with the capacity (another owner and a full ring both fail it);
 * then the function index and the kind are stored, the position bumped, and the shadow stack pushed
 * (Enter) or popped. Counters are not written: the ring fills them in on delivery.
 */
import { FunctionEventKind } from '../runtime/api/event-sink.js';
import { BLOCK_EMPTY, ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId } from '../runtime/binary/module.js';
import { CODE_FD } from '../runtime/binary/opcodes.js';
import { ExternKind, I32, I64 } from '../runtime/api/value-type.js';
import {
  EventRing,
  RING_CAPACITY,
  RING_COUNTER,
  RING_COUNTERS,
  RING_FUNCS,
  RING_KINDS,
  RING_PAGES,
  RING_POS,
  RING_SP,
  RING_STACK,
  RING_STACK_BASE,
} from '../runtime/store/event-ring.js';

/** The engine's ring, over a wasm memory the recorders (or the guests) import. */
export class CompilerEventRing extends EventRing {
  /** The recorder module's counter filler over this ring (SIMD: a JS loop costs ~0.3 ns a record). */
  readonly #fill: (n: number) => void;
  constructor(readonly memory: WebAssembly.Memory) {
    super(memory.buffer);
    this.#fill = instantiateRecorder(memory, 0, () => {}).exports['n'] as (n: number) => void;
  }

  protected override fillCounters(n: number): void {
    this.#fill(n);
  }
}

/** A new engine ring. */
export function newCompilerEventRing(): CompilerEventRing {
  return new CompilerEventRing(new WebAssembly.Memory({ initial: RING_PAGES, maximum: RING_PAGES }));
}

/** The recorders of one instance, in hook-table order of kinds, and its cold function. */
export interface Recorders {
  readonly enter: unknown;
  readonly exit: unknown;
  readonly tail: unknown;
  readonly abort: unknown;
  /** `() → i64`: claims the ring for the instance; returns `id << 32` (the inline records' cold path). */
  readonly cold: unknown;
}

let recorderModule: WebAssembly.Module | undefined;

function instantiateRecorder(memory: WebAssembly.Memory, id: number, claim: () => void): WebAssembly.Instance {
  recorderModule ??= new WebAssembly.Module(buildRecorder());
  return new WebAssembly.Instance(recorderModule, {
    s: { m: memory, id: new WebAssembly.Global({ value: 'i32', mutable: false }, id), w: claim },
  });
}

/** Instantiates the recorders of owner `id` of `ring`. */
export function recordersFor(ring: CompilerEventRing, id: number): Recorders {
  const e = instantiateRecorder(ring.memory, id, () => ring.claim(id)).exports;
  return { enter: e['e'], exit: e['x'], tail: e['t'], abort: e['a'], cold: e['c'] };
}

/** The value an instance's owner global starts at: no ring header minus it is below the capacity. */
export const OWNER_UNSET = -(1n << 63n);

/** What {@link emitRecord} needs of the code it writes into. */
export interface RecordSite {
  /** The ring's memory index. */
  readonly memory: number;
  /** Scratch locals: an i64 and an i32. */
  readonly t64: number;
  readonly x32: number;
  /** Pushes the instance's `id << 32` (i64). */
  base(w: ByteWriter): void;
  /** Pushes the function index (i32). */
  fi(w: ByteWriter): void;
  /** The cold path (stack-neutral): claims the ring for the instance (and keeps its `id << 32`). */
  cold(w: ByteWriter): void;
}

const I32_LOAD = 0x28;
const I64_LOAD = 0x29;
const I32_STORE = 0x36;
const I64_STORE = 0x37;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_SHL = 0x74;

/** A memory instruction on the ring's memory (a memarg with a memory index past memory 0). */
function ringOp(w: ByteWriter, memory: number, code: number, align: number, offset: number): void {
  if (memory === 0) w.op(code).u32(align).u32(offset);
  else
    w.op(code)
      .u32(align | 0x40)
      .u32(memory)
      .u32(offset);
}

/** Writes the code of one record of kind `kind` (stack-neutral; module comment). */
export function emitRecord(w: ByteWriter, kind: number, site: RecordSite): void {
  const { memory: r, t64: h, x32 } = site;
  // h = header; h - (id << 32) >= CAPACITY: another owner, or full (the cold path claims the ring;
  // h is read again). Otherwise the header's low half is the position.
  w.i32Const(0);
  ringOp(w, r, I64_LOAD, 3, RING_POS);
  w.localTee(h);
  site.base(w);
  w.i64Sub().i64Const(BigInt(RING_CAPACITY)).i64GeU().if(BLOCK_EMPTY);
  site.cold(w);
  w.i32Const(0);
  ringOp(w, r, I64_LOAD, 3, RING_POS);
  w.localSet(h).end();
  // header = h + 1, stored whole: a narrower store would make the next record's i64 load wait for
  // it (no store-to-load forwarding from a part of a store); funcs[pos] = fi; kinds[pos] = kind
  w.i32Const(0).localGet(h).i64Const(1n).i64Add();
  ringOp(w, r, I64_STORE, 3, RING_POS);
  w.localGet(h).i32WrapI64().i32Const(2).op(I32_SHL).localTee(x32);
  site.fi(w);
  ringOp(w, r, I32_STORE, 2, RING_FUNCS);
  w.localGet(x32).i32Const(kind);
  ringOp(w, r, I32_STORE, 2, RING_KINDS);
  if (kind === FunctionEventKind.Enter) {
    // s = depth; if s < STACK: stack[s] = (id << 32) | fi; depth = s + 1
    w.i32Const(0);
    ringOp(w, r, I32_LOAD, 2, RING_SP);
    w.localTee(x32).i32Const(RING_STACK).i32LtU().if(BLOCK_EMPTY);
    w.localGet(x32).i32Const(3).op(I32_SHL);
    site.base(w);
    site.fi(w);
    w.i64ExtendI32U().i64Or();
    ringOp(w, r, I64_STORE, 3, RING_STACK_BASE);
    w.end();
    w.i32Const(0).localGet(x32).i32Const(1).op(I32_ADD);
    ringOp(w, r, I32_STORE, 2, RING_SP);
  } else {
    // depth -= 1 (an exit always has its frame's enter below it)
    w.i32Const(0).i32Const(0);
    ringOp(w, r, I32_LOAD, 2, RING_SP);
    w.i32Const(1).op(I32_SUB);
    ringOp(w, r, I32_STORE, 2, RING_SP);
  }
}

/**
 * The recorder module: `e`/`x`/`t`/`a` `(fi: i32) → ()` write one record of kind
 * Enter/Exit/Tail/Abort; `c` `() → i64` claims the ring and returns `id << 32`; `n` `(n: i32) → ()`
 * fills the counters of the first n records (the last counter plus 1, 2, …) and advances it.
 */
function buildRecorder(): Uint8Array {
  const w = new ByteWriter(1024).preamble();
  const types = new ByteWriter(16).u32(3);
  encodeFuncType(types, { params: [I32], results: [] });
  encodeFuncType(types, { params: [], results: [] });
  encodeFuncType(types, { params: [], results: [I64] });
  w.section(SectionId.Type, types);
  const imp = new ByteWriter(64).u32(3);
  imp.name('s').name('m').u8(ExternKind.Memory).u8(0x01).u32(RING_PAGES).u32(RING_PAGES);
  imp.name('s').name('id').u8(ExternKind.Global).u8(I32).u8(0);
  imp.name('s').name('w').u8(ExternKind.Func).u32(1); // func 0: claim
  w.section(SectionId.Import, imp);
  w.section(SectionId.Function, new ByteWriter(8).u32(6).u32(0).u32(0).u32(0).u32(0).u32(2).u32(0));
  const ex = new ByteWriter(32).u32(6);
  ['e', 'x', 't', 'a', 'c', 'n'].forEach((n, k) =>
    ex
      .name(n)
      .u8(ExternKind.Func)
      .u32(1 + k),
  );
  w.section(SectionId.Export, ex);
  const code = new ByteWriter(1024).u32(6);
  const base = (c: ByteWriter): void => void c.globalGet(0).i64ExtendI32U().i64Const(32n).i64Shl();
  for (const kind of [FunctionEventKind.Enter, FunctionEventKind.Exit, FunctionEventKind.Tail, FunctionEventKind.Abort]) {
    // locals: 1 t (i64), 2 x (i32)
    const c = new ByteWriter(256);
    emitRecord(c, kind, {
      memory: 0,
      t64: 1,
      x32: 2,
      base,
      fi: (b) => void b.localGet(0),
      cold: (b) => void b.call(0),
    });
    const b = new ByteWriter(300);
    b.u32(2).u32(1).u8(I64).u32(1).u8(I32);
    b.bytes(c.written()).end();
    code.sized(b);
  }
  const c = new ByteWriter(32).u32(0).call(0);
  base(c);
  code.sized(c.end());
  code.sized(fillBody());
  w.section(SectionId.Code, code);
  return w.finish();
}

const F64 = 0x7c;
const F64_ADD = 0xa0;
const I32_GE_U = 0x4f;
const V128 = 0x7b;
const F64X2_SPLAT = CODE_FD + 0x14;
const F64X2_ADD = CODE_FD + 0xf0;

/** A v128 of two f64 lanes. */
function f64x2(a: number, b: number): Uint8Array {
  return new Uint8Array(new Float64Array([a, b]).buffer);
}

/**
 * `n(count)`: counters[i] = last + 1 + i for i < count (two lanes a store: the one past an odd
 * count is inside the ring and unused), last += count. Locals: 1 last (f64), 2 v (v128), 3 p (i32).
 */
function fillBody(): ByteWriter {
  const c = new ByteWriter(128).u32(3).u32(1).u8(F64).u32(1).u8(V128).u32(1).u8(I32);
  c.i32Const(0).f64Load(3, RING_COUNTER).localTee(1).op(F64X2_SPLAT).v128Const(f64x2(1, 2)).op(F64X2_ADD).localSet(2);
  c.block(BLOCK_EMPTY).loop(BLOCK_EMPTY);
  c.localGet(3).localGet(0).i32Const(3).op(I32_SHL).op(I32_GE_U).brIf(1);
  c.localGet(3).localGet(2).v128Store(3, RING_COUNTERS);
  c.localGet(2).v128Const(f64x2(2, 2)).op(F64X2_ADD).localSet(2);
  c.localGet(3).i32Const(16).op(I32_ADD).localSet(3);
  c.br(0).end().end();
  c.i32Const(0).localGet(1).localGet(0).f64ConvertI32S().op(F64_ADD).f64Store(3, RING_COUNTER);
  return c.end();
}
