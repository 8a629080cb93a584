/**
 * Batched function events on the compiler engine (`withFunctionEventSink`): the instrumented body
 * of a recorded function calls, through its hook table, a *recorder*: a wasm function of a small
 * helper module that writes the record into the engine's event ring (store/event-ring.ts, its
 * layout) in a wasm memory of its own. No JS runs per record; JS runs when the ring is full or its
 * owner changes (the helper calls the ring's `flush`/`switchTo`), and when an invocation ends (the
 * engine flushes, and on an error writes the `Abort` records from the shadow stack).
 *
 * One helper instance per recorded guest instance: its owner id is an immutable global, so the
 * guest passes only the function index. The helper is a separate module because the guest cannot
 * address a second memory without multi-memory (Node 20's V8 has none).
 */
import { FunctionEventKind } from '../runtime/api/event-sink.js';
import { BLOCK_EMPTY, ByteWriter, encodeFuncType } from '../runtime/binary/encoder.js';
import { SectionId } from '../runtime/binary/module.js';
import { ExternKind, I32 } from '../runtime/api/value-type.js';
import {
  EventRing,
  RING_CAPACITY,
  RING_COUNTER,
  RING_COUNTERS,
  RING_FUNCS,
  RING_KINDS,
  RING_OWNER,
  RING_PAGES,
  RING_POS,
  RING_SP,
  RING_STACK,
  RING_STACK_FUNCS,
  RING_STACK_OWNERS,
} from '../runtime/store/event-ring.js';

/** The engine's ring, over a wasm memory the recorders import. */
export class CompilerEventRing extends EventRing {
  constructor(readonly memory: WebAssembly.Memory) {
    super(memory.buffer);
  }
}

/** A new engine ring. */
export function newCompilerEventRing(): CompilerEventRing {
  return new CompilerEventRing(new WebAssembly.Memory({ initial: RING_PAGES, maximum: RING_PAGES }));
}

/** The recorders of one instance, in hook-table order of kinds. */
export interface Recorders {
  readonly enter: unknown;
  readonly exit: unknown;
  readonly tail: unknown;
  readonly abort: unknown;
}

let recorderModule: WebAssembly.Module | undefined;

/** Instantiates the recorders of owner `id` of `ring`. */
export function recordersFor(ring: CompilerEventRing, id: number): Recorders {
  recorderModule ??= new WebAssembly.Module(buildRecorder());
  const inst = new WebAssembly.Instance(recorderModule, {
    s: {
      m: ring.memory,
      id: new WebAssembly.Global({ value: 'i32', mutable: false }, id),
      f: () => ring.flush(),
      w: () => ring.switchTo(id),
    },
  });
  const e = inst.exports;
  return { enter: e['e'], exit: e['x'], tail: e['t'], abort: e['a'] };
}

const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_SHL = 0x74;
const I32_NE = 0x47;
const I32_EQ = 0x46;
const I32_LT_U = 0x49;
const F64_ADD = 0xa0;
const F64 = 0x7c;
const ONE = 0x3ff0000000000000n;

/** `e`/`x`/`t`/`a` `(fi: i32) → ()`: one record of kind Enter/Exit/Tail/Abort (event-ring.ts). */
function buildRecorder(): Uint8Array {
  const w = new ByteWriter(512).preamble();
  const types = new ByteWriter(16).u32(2);
  encodeFuncType(types, { params: [I32], results: [] });
  encodeFuncType(types, { params: [], results: [] });
  w.section(SectionId.Type, types);
  const imp = new ByteWriter(64).u32(4);
  imp.name('s').name('m').u8(ExternKind.Memory).u8(0x01).u32(RING_PAGES).u32(RING_PAGES);
  imp.name('s').name('id').u8(ExternKind.Global).u8(I32).u8(0);
  imp.name('s').name('f').u8(ExternKind.Func).u32(1); // func 0: flush
  imp.name('s').name('w').u8(ExternKind.Func).u32(1); // func 1: switch owner
  w.section(SectionId.Import, imp);
  w.section(SectionId.Function, new ByteWriter(8).u32(4).u32(0).u32(0).u32(0).u32(0));
  const ex = new ByteWriter(32).u32(4);
  ['e', 'x', 't', 'a'].forEach((n, k) =>
    ex
      .name(n)
      .u8(ExternKind.Func)
      .u32(2 + k),
  );
  w.section(SectionId.Export, ex);
  const code = new ByteWriter(1024).u32(4);
  for (const kind of [FunctionEventKind.Enter, FunctionEventKind.Exit, FunctionEventKind.Tail, FunctionEventKind.Abort]) {
    // locals: 1 p (i32), 2 q (i32), 3 s (i32), 4 c (f64)
    const c = new ByteWriter(256);
    c.i32Const(0).i32Load(2, RING_OWNER).globalGet(0).op(I32_NE).if(BLOCK_EMPTY).call(1).end();
    c.i32Const(0).i32Load(2, RING_POS).localTee(1).i32Const(2).op(I32_SHL).localTee(2);
    c.localGet(0).i32Store(2, RING_FUNCS);
    c.localGet(2).i32Const(kind).i32Store(2, RING_KINDS);
    c.localGet(1).i32Const(3).op(I32_SHL);
    c.i32Const(0).f64Load(3, RING_COUNTER).f64Const(ONE).op(F64_ADD).localTee(4);
    c.f64Store(3, RING_COUNTERS);
    c.i32Const(0).localGet(4).f64Store(3, RING_COUNTER);
    c.i32Const(0).i32Load(2, RING_SP).localSet(3);
    if (kind === FunctionEventKind.Enter) {
      c.localGet(3).i32Const(RING_STACK).op(I32_LT_U).if(BLOCK_EMPTY);
      c.localGet(3).i32Const(2).op(I32_SHL).localTee(2).globalGet(0).i32Store(2, RING_STACK_OWNERS);
      c.localGet(2).localGet(0).i32Store(2, RING_STACK_FUNCS);
      c.end();
      c.i32Const(0).localGet(3).i32Const(1).op(I32_ADD).i32Store(2, RING_SP);
    } else {
      c.localGet(3).if(BLOCK_EMPTY).i32Const(0).localGet(3).i32Const(1).op(I32_SUB).i32Store(2, RING_SP).end();
    }
    c.i32Const(0).localGet(1).i32Const(1).op(I32_ADD).localTee(1).i32Store(2, RING_POS);
    c.localGet(1).i32Const(RING_CAPACITY).op(I32_EQ).if(BLOCK_EMPTY).call(0).end();
    const b = new ByteWriter(300);
    b.u32(2).u32(3).u8(I32).u32(1).u8(F64);
    b.bytes(c.written()).end();
    code.sized(b);
  }
  w.section(SectionId.Code, code);
  return w.finish();
}
