/**
 * The interpreter's machine state (one per engine): the value stack, the frame stack and the
 * bookkeeping traps need, plus the slow paths of the run loop that are not worth inlining there
 * (stack growth, interrupt checks, bulk memory and table operations, atomics, SIMD dispatch). Host
 * calls leave the run loop: the engine makes them (engine.ts).
 */
import { Context } from '../api/context.js';
import type { EventRing } from '../store/event-ring.js';
import type { Module as ApiModule } from '../api/module.js';
import { Trap, WasmRuntimeError } from '../api/errors.js';
import { OPS } from '../binary/opcodes.js';
import type { HandleTable } from '../store/handles.js';
import { contextCanBeDone, contextDoneExitCode, ListenerStack, stopForContextDone } from '../store/hooks.js';
import { out64, truncSatI32S, truncSatI32U, truncSatToI64 } from './numeric.js';
import type { FuncInst, Instance, MemInst, Ref } from './objects.js';
import { simdExec, simdMem, type SimdViews } from './simd.js';

/** Maximum value-stack size in slots (8 bytes each): 128 MiB. */
export const MAX_STACK_SLOTS = 1 << 24;
const INITIAL_SLOTS = 1 << 14;

export class Machine {
  /** The event ring of `withFunctionEventSink` (made with the first recorded instance). */
  ring: EventRing | null = null;
  buf: ArrayBuffer;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
  u64: BigUint64Array;
  simd: SimdViews;
  capSlots: number;
  readonly refs: Array<Ref | undefined> = [];
  readonly frFn: Array<FuncInst | null> = [];
  readonly frPc: Int32Array;
  readonly frFp: Int32Array;
  /** Frames in use. */
  depth = 0;
  /** First free slot for a call entering from the host. */
  top = 0;
  /** Function and pc of the innermost frame when a trap or host call happened. */
  curFn: FuncInst | null = null;
  curPc = 0;
  /** Bumped on every memory.grow so run loops refresh their memory views. */
  memEpoch = 0;
  ctx: Context = Context.background();
  /** Depth of the outermost frame of the innermost engine invocation (stack iterators stop there). */
  baseDepth = 0;
  /** The host function an error came out of (its frame is innermost), and its caller module. */
  errHost: FuncInst | null = null;
  errHostCaller: ApiModule | null = null;
  /** Interrupt checks left before the clock is read (CHECK, see {@link checkInterrupt}). */
  ticks = 0;
  /** The stack iterator handed to before callbacks (listen.ts), created on first use. */
  iter: { busy: boolean } | null = null;
  /** The module whose exported function this engine invocation runs (closed on a timeout). */
  entryOwner: ApiModule | null = null;
  /** Frame pointer (word offset) of `curFn` when a host call left the run loop. */
  curFp = 0;
  /**
   * A host call the run loop left for its driver to make (engine.ts): the host function, the word
   * offset of its params (and results), and the pc to resume at in `curFn` (-1: a tail call, whose
   * results are the caller frame's).
   */
  hostFn: FuncInst | null = null;
  hostFp = 0;
  hostNext = 0;
  /** The engine's funcref handles (the raw form of a funcref at the API), shared by its machines. */
  readonly handles: HandleTable;
  /**
   * Time slicing of an async call: the slice length in ms (0: off) and when the current slice ends
   * (`performance.now()` time). A CHECK past the end makes the run loop yield (EXEC_YIELD).
   */
  sliceMs = 0;
  sliceEnd = 0;
  /** Open listened frames (shared listener protocol, store/hooks.ts). */
  readonly listeners = new ListenerStack();

  constructor(maxDepth: number, handles: HandleTable) {
    this.handles = handles;
    this.capSlots = INITIAL_SLOTS;
    this.buf = new ArrayBuffer(INITIAL_SLOTS * 8);
    this.i32 = new Int32Array(this.buf);
    this.f32 = new Float32Array(this.buf);
    this.f64 = new Float64Array(this.buf);
    this.u64 = new BigUint64Array(this.buf);
    this.simd = { u8: new Uint8Array(this.buf), i32: this.i32, f32: this.f32, f64: this.f64, dv: new DataView(this.buf) };
    this.frPc = new Int32Array(maxDepth + 1);
    this.frFp = new Int32Array(maxDepth + 1);
  }
}

/** Grows the value stack to hold `slots` slots, or traps with stack overflow. */
export function growStack(m: Machine, slots: number): void {
  if (slots <= m.capSlots) return;
  if (slots > MAX_STACK_SLOTS) throw new WasmRuntimeError(Trap.StackOverflow);
  let cap = m.capSlots;
  while (cap < slots) cap *= 2;
  if (cap > MAX_STACK_SLOTS) cap = MAX_STACK_SLOTS;
  const buf = new ArrayBuffer(cap * 8);
  new Int32Array(buf).set(m.i32);
  m.buf = buf;
  m.capSlots = cap;
  m.i32 = new Int32Array(buf);
  m.f32 = new Float32Array(buf);
  m.f64 = new Float64Array(buf);
  m.u64 = new BigUint64Array(buf);
  m.simd = { u8: new Uint8Array(buf), i32: m.i32, f32: m.f32, f64: m.f64, dv: new DataView(buf) };
}

/** Raw (bigint) form of a reference. */
export function refToRaw(m: Machine, r: Ref | undefined): bigint {
  if (r === null || r === undefined) return 0n;
  if (typeof r === 'bigint') return r;
  return m.handles.handleOf(r);
}

/** Reference from its raw form, for a value of type `t`. */
export function rawToRef(m: Machine, t: number, v: bigint): Ref {
  if (v === 0n) return null;
  if (t === 0x6f) return v;
  return (m.handles.valueOf(v) as FuncInst | undefined) ?? null;
}

/** Copies raw values into the value stack at word offset `fp` by type. */
export function writeRaw(m: Machine, types: readonly number[], fp: number, stack: BigUint64Array): void {
  let s = fp >> 1;
  let j = 0;
  for (const t of types) {
    if (t === 0x70 || t === 0x6f) {
      m.refs[s] = rawToRef(m, t, stack[j]!);
      s++;
      j++;
    } else if (t === 0x7b) {
      m.u64[s] = stack[j]!;
      m.u64[s + 1] = stack[j + 1]!;
      s += 2;
      j += 2;
    } else {
      m.u64[s] = stack[j]!;
      s++;
      j++;
    }
  }
}

/** Copies typed values from the value stack at word offset `fp` into raw form. */
export function readRaw(m: Machine, types: readonly number[], fp: number, stack: BigUint64Array): void {
  let s = fp >> 1;
  let j = 0;
  for (const t of types) {
    if (t === 0x70 || t === 0x6f) {
      stack[j] = refToRaw(m, m.refs[s]);
      s++;
      j++;
    } else if (t === 0x7b) {
      stack[j] = m.u64[s]!;
      stack[j + 1] = m.u64[s + 1]!;
      s += 2;
      j += 2;
    } else if (t === 0x7f || t === 0x7d) {
      stack[j] = BigInt(m.i32[2 * s]! >>> 0);
      s++;
      j++;
    } else {
      stack[j] = m.u64[s]!;
      s++;
      j++;
    }
  }
}

/**
 * CHECKs between two looks at the context. A synchronous guest call blocks the event loop, so
 * neither a timer nor `AbortSignal.timeout` can fire during it: the deadline is compared with
 * `performance.now()` (about 50 ns) every this many loop iterations or calls, and `signal.aborted`
 * only changes if the guest's own host functions abort it.
 */
export const CHECK_INTERVAL = 1024;

/**
 * The slow path of CHECK (`m.curFn` is the checking function): when the invocation's context is
 * done and its module was made with `withCloseOnContextDone`, closes the called module and throws
 * `ExitError` (the shared decision, store/hooks.ts); returns whether the current time slice of an
 * async call has ended (the run loop then yields).
 */
export function checkInterrupt(m: Machine): boolean {
  const ctx = m.ctx;
  const stops = m.curFn!.inst!.interrupt && contextCanBeDone(ctx);
  if (!stops && m.sliceMs === 0) {
    // Nothing can ever end or pause this invocation: stop looking (the driver resets the count).
    m.ticks = 0x3fffffff;
    return false;
  }
  m.ticks = CHECK_INTERVAL;
  if (stops) {
    const code = contextDoneExitCode(ctx);
    if (code !== 0) throw stopForContextDone(m.entryOwner ?? undefined, code, ctx);
  }
  if (m.sliceMs > 0) {
    const now = performance.now();
    if (now >= m.sliceEnd) {
      m.sliceEnd = now + m.sliceMs;
      return true;
    }
  }
  return false;
}

/** memory.grow: the old size in pages, or -1. */
export function memGrow(m: Machine, inst: Instance, n: number): number {
  const mem = inst.mem;
  if (mem === null) return -1;
  const r = mem.api.grow(n);
  m.memEpoch++;
  return r === undefined ? -1 : r;
}

export function truncSat(m: Machine, sub: number, d: number, a: number): void {
  const i32 = m.i32;
  const x = sub === 0 || sub === 1 || sub === 4 || sub === 5 ? m.f32[a]! : m.f64[a >> 1]!;
  switch (sub) {
    case 0:
    case 2:
      i32[d] = truncSatI32S(x);
      return;
    case 1:
    case 3:
      i32[d] = truncSatI32U(x);
      return;
    default:
      truncSatToI64(x, sub === 4 || sub === 6);
      i32[d] = out64[0]!;
      i32[d + 1] = out64[1]!;
  }
}

function oobMem(): WasmRuntimeError {
  return new WasmRuntimeError(Trap.OutOfBoundsMemoryAccess);
}

function oobTable(): WasmRuntimeError {
  return new WasmRuntimeError(Trap.InvalidTableAccess);
}

/** The 0xFC bulk memory and table operations (operands are absolute word offsets). */
export function miscOp(m: Machine, inst: Instance, sub: number, k1: number, k2: number, d: number, a: number, b: number, c: number): void {
  const i32 = m.i32;
  switch (sub) {
    case 0x08: {
      // memory.init
      const dst = i32[a]! >>> 0;
      const src = i32[b]! >>> 0;
      const n = i32[c]! >>> 0;
      const data = inst.datas[k1] ?? EMPTY;
      const mem = inst.mem!.api.u8;
      if (src + n > data.length || dst + n > mem.length) throw oobMem();
      mem.set(data.subarray(src, src + n), dst);
      inst.mem!.api.dirty?.mark(dst, n);
      return;
    }
    case 0x09:
      inst.datas[k1] = null;
      return;
    case 0x0a: {
      // memory.copy
      const dst = i32[a]! >>> 0;
      const src = i32[b]! >>> 0;
      const n = i32[c]! >>> 0;
      const mem = inst.mem!.api.u8;
      if (src + n > mem.length || dst + n > mem.length) throw oobMem();
      mem.copyWithin(dst, src, src + n);
      inst.mem!.api.dirty?.mark(dst, n);
      return;
    }
    case 0x0b: {
      // memory.fill
      const dst = i32[a]! >>> 0;
      const v = i32[b]! & 0xff;
      const n = i32[c]! >>> 0;
      const mem = inst.mem!.api.u8;
      if (dst + n > mem.length) throw oobMem();
      mem.fill(v, dst, dst + n);
      inst.mem!.api.dirty?.mark(dst, n);
      return;
    }
    case 0x0c: {
      // table.init
      const dst = i32[a]! >>> 0;
      const src = i32[b]! >>> 0;
      const n = i32[c]! >>> 0;
      const seg = inst.elems[k1] ?? EMPTY_REFS;
      const tab = inst.tables[k2]!.elems;
      if (src + n > seg.length || dst + n > tab.length) throw oobTable();
      for (let j = 0; j < n; j++) tab[dst + j] = seg[src + j]!;
      return;
    }
    case 0x0d:
      inst.elems[k1] = null;
      return;
    case 0x0e: {
      // table.copy
      const dst = i32[a]! >>> 0;
      const src = i32[b]! >>> 0;
      const n = i32[c]! >>> 0;
      const td = inst.tables[k1]!.elems;
      const ts = inst.tables[k2]!.elems;
      if (src + n > ts.length || dst + n > td.length) throw oobTable();
      if (td === ts) td.copyWithin(dst, src, src + n);
      else for (let j = 0; j < n; j++) td[dst + j] = ts[src + j]!;
      return;
    }
    case 0x0f: {
      // table.grow
      const init = m.refs[a >> 1] ?? null;
      const n = i32[b]! >>> 0;
      m.i32[d] = inst.tables[k1]!.grow(n, init);
      return;
    }
    case 0x10:
      i32[d] = inst.tables[k1]!.elems.length;
      return;
    case 0x11: {
      // table.fill
      const dst = i32[a]! >>> 0;
      const v = m.refs[b >> 1] ?? null;
      const n = i32[c]! >>> 0;
      const tab = inst.tables[k1]!.elems;
      if (dst + n > tab.length) throw oobTable();
      for (let j = 0; j < n; j++) tab[dst + j] = v;
      return;
    }
    default:
      throw new Error(`interpreter: bad 0xFC op ${sub}`);
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_REFS: Ref[] = [];

/**
 * Whether an atomic access that is both misaligned and out of bounds traps as misaligned. The
 * threads reference interpreter and Node 24's V8 (13.6) check alignment first, Node 20's V8 (11.3)
 * bounds first; the compiler engine inherits the order of the V8 it runs on, so the interpreter
 * asks that V8 once (an `i32.atomic.load` at 65535 in a one-page memory) and follows it.
 */
const ALIGNMENT_FIRST = ((): boolean => {
  // prettier-ignore
  const probe = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type () -> i32
    0x03, 0x02, 0x01, 0x00, // func 0
    0x05, 0x03, 0x01, 0x00, 0x01, // memory 1
    0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f"
    0x0a, 0x0c, 0x01, 0x0a, 0x00, 0x41, 0xff, 0xff, 0x03, 0xfe, 0x10, 0x02, 0x00, 0x0b, // i32.atomic.load (i32.const 65535)
  ]);
  try {
    (new WebAssembly.Instance(new WebAssembly.Module(probe)).exports['f'] as () => number)();
  } catch (e) {
    return e instanceof Error && e.message.includes('unaligned');
  }
  return true;
})();

/** Threads: 0xFE atomic operations on memory 0 (operands are absolute word offsets). */
export function atomicOp(m: Machine, inst: Instance, sub: number, d: number, a: number, b: number, c: number, off: number): void {
  if (sub === 0x03) return; // atomic.fence
  const mem = inst.mem;
  if (mem === null) throw oobMem();
  atomicAt(m, mem, sub, d, b, c, (m.i32[a]! >>> 0) + off);
}

/** An atomic operation (0xFE sub-opcode `sub`) at effective address `ea` of `mem`. */
export function atomicAt(m: Machine, mem: MemInst, sub: number, d: number, b: number, c: number, ea: number): void {
  const i32 = m.i32;
  const info = OPS[0x300 + sub]!;
  const size = info.memBytes;
  const buf = mem.api.wasm.buffer;
  const misaligned = ea % size !== 0;
  if (misaligned && ALIGNMENT_FIRST) throw new WasmRuntimeError(Trap.UnalignedAtomic);
  if (ea + size > buf.byteLength) throw oobMem();
  if (misaligned) throw new WasmRuntimeError(Trap.UnalignedAtomic);
  if (sub === 0x00) {
    // memory.atomic.notify
    const count = i32[b]! >>> 0;
    if (!mem.shared) {
      i32[d] = 0;
      return;
    }
    i32[d] = Atomics.notify(new Int32Array(buf), ea >> 2, count);
    return;
  }
  if (sub === 0x01 || sub === 0x02) {
    if (!mem.shared) throw new WasmRuntimeError(Trap.ExpectedSharedMemory);
    const tlo = i32[c]!;
    const thi = i32[c + 1]!;
    const ns = thi * 4294967296 + (tlo >>> 0);
    const ms = ns < 0 ? Infinity : ns / 1e6;
    let r: string;
    if (sub === 0x01) r = Atomics.wait(new Int32Array(buf), ea >> 2, i32[b]!, ms);
    else r = Atomics.wait(new BigInt64Array(buf), ea >> 3, BigInt.asIntN(64, (BigInt(i32[b + 1]!) << 32n) | BigInt(i32[b]! >>> 0)), ms);
    i32[d] = r === 'ok' ? 0 : r === 'not-equal' ? 1 : 2;
    return;
  }
  const is64 = (info.results !== undefined && info.results[0] === 0x7e) || (info.params !== undefined && info.params[1] === 0x7e);
  // Loads and stores.
  if (sub >= 0x10 && sub <= 0x16) {
    const v = atomicLoad(buf, ea, size);
    writeResult(i32, d, v, is64);
    return;
  }
  mem.api.dirty?.mark(ea, size);
  if (sub >= 0x17 && sub <= 0x1d) {
    atomicStore(buf, ea, size, readVal(i32, b, is64, size));
    return;
  }
  // Read-modify-write: 0x1e + 7*op + shape.
  const k = sub - 0x1e;
  const op = Math.floor(k / 7);
  const val = readVal(i32, b, is64, size);
  // Each width writes its own result: Node 20's TurboFan aborts the process on a merge of the two
  // (`RepresentationChangerError: Phi of kRepTagged (UnsignedBigInt64)`) once this is optimized.
  if (size === 8) {
    let old: bigint;
    const v = new BigInt64Array(buf);
    const ix = ea >> 3;
    const x = BigInt.asIntN(64, val);
    switch (op) {
      case 0:
        old = Atomics.add(v, ix, x);
        break;
      case 1:
        old = Atomics.sub(v, ix, x);
        break;
      case 2:
        old = Atomics.and(v, ix, x);
        break;
      case 3:
        old = Atomics.or(v, ix, x);
        break;
      case 4:
        old = Atomics.xor(v, ix, x);
        break;
      case 5:
        old = Atomics.exchange(v, ix, x);
        break;
      default:
        old = Atomics.compareExchange(v, ix, x, BigInt.asIntN(64, readVal(i32, c, is64, size)));
    }
    writeResult(i32, d, old, true);
  } else {
    const v = size === 4 ? new Uint32Array(buf) : size === 2 ? new Uint16Array(buf) : new Uint8Array(buf);
    const ix = size === 4 ? ea >> 2 : size === 2 ? ea >> 1 : ea;
    const x = Number(val);
    let o: number;
    switch (op) {
      case 0:
        o = Atomics.add(v, ix, x);
        break;
      case 1:
        o = Atomics.sub(v, ix, x);
        break;
      case 2:
        o = Atomics.and(v, ix, x);
        break;
      case 3:
        o = Atomics.or(v, ix, x);
        break;
      case 4:
        o = Atomics.xor(v, ix, x);
        break;
      case 5:
        o = Atomics.exchange(v, ix, x);
        break;
      default:
        o = Atomics.compareExchange(v, ix, x, Number(readVal(i32, c, is64, size)));
    }
    i32[d] = o;
    if (is64) i32[d + 1] = 0;
  }
}

function readVal(i32: Int32Array, w: number, is64: boolean, size: number): bigint {
  const v = is64 ? (BigInt(i32[w + 1]! >>> 0) << 32n) | BigInt(i32[w]! >>> 0) : BigInt(i32[w]! >>> 0);
  return size === 8 ? v : BigInt.asUintN(size * 8, v);
}

function writeResult(i32: Int32Array, d: number, v: bigint, is64: boolean): void {
  i32[d] = Number(BigInt.asIntN(32, v));
  if (is64) i32[d + 1] = Number(BigInt.asIntN(32, v >> 32n));
}

function atomicLoad(buf: ArrayBufferLike, ea: number, size: number): bigint {
  switch (size) {
    case 1:
      return BigInt(Atomics.load(new Uint8Array(buf), ea));
    case 2:
      return BigInt(Atomics.load(new Uint16Array(buf), ea >> 1));
    case 4:
      return BigInt(Atomics.load(new Uint32Array(buf), ea >> 2));
    default:
      return BigInt.asUintN(64, Atomics.load(new BigInt64Array(buf), ea >> 3));
  }
}

function atomicStore(buf: ArrayBufferLike, ea: number, size: number, v: bigint): void {
  switch (size) {
    case 1:
      Atomics.store(new Uint8Array(buf), ea, Number(v));
      return;
    case 2:
      Atomics.store(new Uint16Array(buf), ea >> 1, Number(v));
      return;
    case 4:
      Atomics.store(new Uint32Array(buf), ea >> 2, Number(v));
      return;
    default:
      Atomics.store(new BigInt64Array(buf), ea >> 3, BigInt.asIntN(64, v));
  }
}

export function simdOp(
  m: Machine,
  sub: number,
  d: number,
  a: number,
  b: number,
  c: number,
  imm: number,
  lanes: Uint8Array | undefined,
): void {
  simdExec(sub, m.simd, d * 4, a * 4, b * 4, c * 4, imm, lanes);
}

export function simdMemOp(m: Machine, inst: Instance, sub: number, d: number, a: number, v: number, off: number, lane: number): void {
  const mem = inst.mem === null ? EMPTY : inst.mem.api.u8;
  const ea = (m.i32[a]! >>> 0) + off;
  const n = OPS[0x200 + sub]!.memBytes;
  if (ea + n > mem.length) throw oobMem();
  // The SIMD stores: v128.store and the lane stores.
  if (sub === 0x0b || (sub >= 0x58 && sub <= 0x5b)) inst.mem!.api.dirty?.mark(ea, n);
  simdMem(sub, m.simd, mem, ea, d * 4, v * 4, lane);
}
