/**
 * The interpreter's run loop.
 *
 * Design (see ARCHITECTURE.md §2): one function with one big `switch` over the numeric opcodes of
 * the lowered code (ir.ts). Case labels are numeric literals because V8's bytecode generator only
 * emits a jump table for literal `case`s; run.test.ts checks them against ir.ts. Everything the
 * loop touches per instruction lives in JS locals (code, pc, fp, typed-array views over the value
 * stack, the memory's DataView). wasm→wasm calls push onto an explicit frame stack (plain typed
 * arrays + one array of functions), never onto the JS stack, so deep guests hit our own
 * `stack overflow` trap and the whole state stays plain data (checkpoint/restore later).
 *
 * Value stack: 8-byte slots in one ArrayBuffer; operands are word offsets (2 × slot) relative to
 * `fp`. i32/f32 live in the low word, i64 is (lo, hi) words, f64 one Float64Array element, v128
 * four words. Every move goes through Int32Array words so NaN payloads survive bit for bit.
 *
 * Interrupts (closeOnContextDone): lower.ts emits CHECK at function entries and loop heads only
 * when the instance was created with interrupts on; CHECK decrements `m.ticks` and looks at the
 * context (deadline vs `performance.now()`, `signal.aborted`) every CHECK_INTERVAL checks
 * (machine.ts). Off, there is no CHECK anywhere: zero cost.
 *
 * Listeners (listen.ts): only listened functions carry instrumentation, chosen at lowering:
 * LISTEN_BEFORE at pc 0 (entries through call_indirect, tail calls or the host), CALLL for direct
 * calls of a listened wasm function (fires before and enters at pc 1: no extra dispatch), RETL
 * for every return (fires after, then returns), LISTEN_AFTER with no results before a tail call.
 * Unlistened functions and calls run exactly the code they ran before listeners existed.
 *
 * Superinstructions (ir.ts FUSED_PAIRS): the 17 most frequent adjacent pairs of the guests are
 * fused in place after lowering; only the first opcode word changes, so branch targets, trap
 * offsets and the second instruction (still reachable by branches) stay valid. i64 shifts and
 * i32 rotates by constants have immediate forms; `i32.eqz` of a compare negates the compare (so
 * `br_if (i32.eqz (i32.eq …))` is one BR_NE). Rare instructions run out of line (rare.ts,
 * through `default`) to keep this function, TurboFan's compile unit, smaller.
 *
 * Traps set `m.curFn/curPc/depth` before throwing so the engine can build the wasm stack trace.
 *
 * Block compilation (jit.ts): a function whose lowered code has a compiled form runs it from its
 * entry, after each return into it and on resume; the compiled form returns the pc of the next call
 * or return, which runs here. Its text is generated from this file's case bodies (jit-ops.ts), so a
 * change to a case here must be followed by `UPDATE_JIT_OPS=1` (jit-ops.test.ts checks).
 *
 * Measured 2026-11 (shared 2-core machine, noisy ±15%): `npm run bench -- interpreter` geomean
 * 45.7x before superinstructions, 41.4x after, 44.4–47.2x after the immediates and rare.ts on a
 * busier machine (CPU ms vs V8 best of 3: 45–47x before, 43.4–48x after; matmul
 * 118→~100x, nbody 66→~55x, sieve 60→~45x, i64 ~90→~75x with shift immediates, sha256 ~70x:
 * pure i32 ALU chains). Listener overhead (no-op listener on every
 * function, CPU best of 7, (listened − plain) / calls): calls.tiny 14–45 ns/call, fib.tiny
 * 38–48 ns/call depending on machine load; a WAT loop calling a 2-param function 27–36 ns/call. History: 370–400 ns with a DataView rebuild
 * after each callback, 130/55 after, 66/57 with WeakMap-free buffers, 41/41 with straight-line
 * copies per signature shape and fused CALLL/RETL. On this machine a 2-iteration typed-array copy loop
 * alone costs ~5 ns and one dispatch ~10 ns, which is why the 10 ns goal is not reached.
 *
 * Earlier (before listeners, nowasi tiny guests, CPU time, V8 best of 3): cold single run geomean ~37x,
 * warm (second run in the same process) ~24x. The gap is V8 tiering: a guest is usually one long
 * call, so TurboFan compiles this loop by OSR while most cases lack type feedback; reaching a new
 * case later deoptimizes and recompiles (35–110 ms each). Tried: a warm-up that runs every simple
 * case once per process before any guest. Steady state got ~13% faster, but TurboFan then compiles
 * every case of this function (300–700 ms CPU, once per process), which made cold ~1 s runs ~35%
 * slower; removed. Cases that are rare in real guests should move to helpers to keep this
 * function small (compile time and register pressure both grow with it).
 */
import { Trap, WasmRuntimeError } from '../api/errors.js';
import { lowerFunction } from './lower.js';
import type { Machine } from './machine.js';
import { atomicOp, checkInterrupt, growStack, memGrow, miscOp, simdMemOp, simdOp, truncSat } from './machine.js';
import { listenAfter, listenBefore } from './listen.js';
import { rareOp } from './rare.js';
import { compileJit, type JitFn } from './jit.js';
import { listensExits } from '../store/hooks.js';
import { divS64, divU64, mulhu, out64, remS64, remU64, rotl64, rotr64, shl64, shrS64, shrU64 } from './numeric.js';
import type { FuncInst, GlobalInst, Instance, Lowered, TableInst } from './objects.js';

/**
 * A trap at `pc` of `fn` with `depth` frames in use: records where (the engine builds the wasm
 * stack trace from it) and returns the error to throw. Out of line, so the run loop's cases stay
 * small.
 */
function trapAt(m: Machine, fn: FuncInst, pc: number, depth: number, trap: Trap): WasmRuntimeError {
  m.curFn = fn;
  m.curPc = pc;
  m.depth = depth;
  return new WasmRuntimeError(trap);
}

/** Maximum call depth (frames) before `stack overflow`. */
export const MAX_CALL_DEPTH = 100_000;

const EMPTY_DV = new DataView(new ArrayBuffer(0));
const EMPTY_U8 = new Uint8Array(0);

/**
 * Compiled forms by module and function (jit.ts): every instance of a module lowers its functions
 * again, and a fresh `new Function` per instance would start V8's optimization over each time.
 */
const jits = new WeakMap<object, Map<number, { code: Int32Array; jit: JitFn | null }>>();

function jitOf(module: object, codeIndex: number, code: Int32Array): JitFn | null {
  let byIndex = jits.get(module);
  if (byIndex === undefined) {
    byIndex = new Map();
    jits.set(module, byIndex);
  }
  const hit = byIndex.get(codeIndex);
  if (hit !== undefined && hit.code.length === code.length && hit.code.every((w, i) => w === code[i])) return hit.jit;
  const jit = compileJit(code, trapAt);
  byIndex.set(codeIndex, { code, jit });
  return jit;
}

/** Lowers a function on its first call. */
export function loweredOf(f: FuncInst): Lowered {
  let l = f.lowered;
  if (l === null) {
    const inst = f.inst;
    if (inst === null || inst.module === null) throw new Error('interpreter: lowering a host function');
    const funcs = inst.functions;
    l = lowerFunction(inst.module, f.codeIndex, {
      // An event sink's records ride on the listener cases (listen.ts).
      listened: f.listener !== undefined || f.sinkId >= 0,
      listenExits: (f.listener !== undefined && listensExits(f.listener)) || f.sinkId >= 0,
      interrupt: inst.interrupt,
      entryCheck: inst.entryChecked === null || inst.entryChecked[f.codeIndex] === 1,
      dirtyPages: inst.dirtyPages,
      listenedCallee: inst.anyListened
        ? (i) => funcs[i] !== undefined && (funcs[i].listener !== undefined || funcs[i].sinkId >= 0) && funcs[i].host === null
        : undefined,
      coverage:
        inst.coverage === null
          ? undefined
          : { starts: inst.coverage.starts, first: inst.coverage.funcFirst[f.codeIndex]!, end: inst.coverage.funcFirst[f.codeIndex + 1]! },
    });
    l.jit = jitOf(inst.module, f.codeIndex, l.code);
    f.lowered = l;
  }
  return l;
}

/** {@link execute} returned because the invocation's outermost frame returned. */
export const EXEC_DONE = 0;
/** {@link execute} returned to have its driver make the host call in `m.hostFn` (driver.ts). */
export const EXEC_HOST_CALL = 1;
/**
 * {@link execute} returned at a CHECK because an async call's time slice ended: the driver yields
 * to the event loop and resumes at `m.curFn`/`m.curPc`/`m.curFp`/`m.depth`.
 */
export const EXEC_YIELD = 2;

/**
 * Runs wasm code from function `entry` at `pc0` with its frame at word offset `entryFp` and
 * `depth0` frames in use, until the frame at `baseDepth` returns (its results are then at its
 * frame's base) or a host function is called. A host call leaves the loop (EXEC_HOST_CALL, with
 * `m.curFn/curPc/curFp/depth` and `m.hostFn/hostFp/hostNext` set): the driver calls it and
 * resumes here after the call. The run loop's large frame is thus never on the JS stack while a
 * host function runs, so guest→host→guest re-entry nests only small frames.
 *
 * `pc0 === 0` enters `entry` afresh (its locals are zeroed here); any other pc resumes.
 */
export function execute(m: Machine, entry: FuncInst, pc0: number, entryFp: number, depth0: number, baseDepth: number): number {
  let depth = depth0;
  const frFn = m.frFn;
  const frPc = m.frPc;
  const frFp = m.frFp;
  let fn = entry;
  let lw = loweredOf(fn);
  let code = lw.code;
  let pc = pc0;
  let fp = entryFp;
  if ((fp >> 1) + lw.maxSlots > m.capSlots) {
    // pc -1: the function has not started (no before ran); traces show its entry.
    m.curFn = fn;
    m.curPc = pc0 === 0 ? -1 : pc0;
    m.depth = depth;
    growStack(m, (fp >> 1) + lw.maxSlots);
  }
  let i32 = m.i32;
  let f32 = m.f32;
  let f64 = m.f64;
  const refs = m.refs;
  if (pc0 === 0) {
    for (let w = fp + 2 * lw.paramSlots, e = fp + 2 * lw.localSlots; w < e; w++) i32[w] = 0;
    for (let j = 0, b = fp + 2 * lw.localSlots, k = lw.consts; j < k.length; j++) i32[b + j] = k[j]!;
    for (let j = 0; j < lw.refLocals.length; j++) refs[(fp >> 1) + lw.refLocals[j]!] = null;
  }

  let inst: Instance = fn.inst!;
  let funcs: FuncInst[] = inst.functions;
  let globals: GlobalInst[] = inst.globals;
  let tables: TableInst[] = inst.tables;
  let epoch = m.memEpoch;
  let memBuf: ArrayBufferLike | null = inst.mem === null ? null : inst.mem.api.wasm.buffer;
  let dv = memBuf === null ? EMPTY_DV : new DataView(memBuf);
  let u8 = memBuf === null ? EMPTY_U8 : new Uint8Array(memBuf);
  let memLen = u8.length;
  if (lw.jit !== null) pc = lw.jit(m, fn, depth, i32, f32, f64, fp, pc, dv, u8, memLen, globals);

  for (;;) {
    switch (code[pc]!) {
      case 0: {
        // UNREACHABLE
        throw trapAt(m, fn, pc, depth, Trap.Unreachable);
      }
      case 1: {
        // BR
        pc = code[pc + 1]!;
        break;
      }
      case 2: {
        // BR_IF
        pc = i32[fp + code[pc + 1]!]! !== 0 ? code[pc + 2]! : pc + 3;
        break;
      }
      case 3: {
        // BR_IFZ
        pc = i32[fp + code[pc + 1]!]! === 0 ? code[pc + 2]! : pc + 3;
        break;
      }
      case 4: {
        // BR_TABLE
        const x = i32[fp + code[pc + 1]!]! >>> 0;
        const n = code[pc + 2]!;
        pc = code[pc + 3 + (x < n ? x : n)]!;
        break;
      }
      case 5:
      case 6:
      case 7: {
        // RET0, RET1, RETN
        const op = code[pc]!;
        if (op === 6) {
          const s = fp + code[pc + 1]!;
          i32[fp] = i32[s]!;
          i32[fp + 1] = i32[s + 1]!;
        } else if (op === 7) {
          const s = fp + code[pc + 1]!;
          const n = code[pc + 2]!;
          if (s !== fp) {
            for (let j = 0; j < 2 * n; j++) i32[fp + j] = i32[s + j]!;
            for (let j = 0; j < n; j++) refs[(fp >> 1) + j] = refs[(s >> 1) + j]!;
          }
        }
        if (depth === baseDepth) {
          m.depth = baseDepth;
          return EXEC_DONE;
        }
        depth--;
        fn = frFn[depth]!;
        pc = frPc[depth]!;
        fp = frFp[depth]!;
        frFn[depth] = null;
        const rl = fn.lowered!;
        code = rl.code;
        if (fn.inst !== inst) {
          inst = fn.inst!;
          funcs = inst.functions;
          globals = inst.globals;
          tables = inst.tables;
          memBuf = null;
          epoch = -1;
        }
        if (epoch !== m.memEpoch) {
          epoch = m.memEpoch;
          const b = inst.mem === null ? null : inst.mem.api.wasm.buffer;
          if (b !== memBuf || (b !== null && b.byteLength !== memLen)) {
            memBuf = b;
            dv = b === null ? EMPTY_DV : new DataView(b);
            u8 = b === null ? EMPTY_U8 : new Uint8Array(b);
            memLen = u8.length;
          }
        }
        if (rl.jit !== null) pc = rl.jit(m, fn, depth, i32, f32, f64, fp, pc, dv, u8, memLen, globals);
        break;
      }
      case 8:
      case 9:
      case 10:
      case 11: {
        // CALL, CALL_INDIRECT, RCALL, RCALL_INDIRECT
        const op = code[pc]!;
        let callee: FuncInst;
        let nfp: number;
        let next: number;
        if (op === 8 || op === 10) {
          callee = funcs[code[pc + 1]!]!;
          nfp = fp + code[pc + 2]!;
          next = pc + (op === 8 ? 3 : 4);
        } else {
          const tab = tables[code[pc + 2]!]!;
          const ix = i32[fp + code[pc + 4]!]! >>> 0;
          const el = ix < tab.elems.length ? tab.elems[ix]! : null;
          if (el === null) {
            throw trapAt(m, fn, pc, depth, Trap.InvalidTableAccess);
          }
          callee = el as FuncInst;
          if (callee.typeId !== code[pc + 1]!) {
            throw trapAt(m, fn, pc, depth, Trap.IndirectCallTypeMismatch);
          }
          nfp = fp + code[pc + 3]!;
          next = pc + (op === 9 ? 5 : 6);
        }
        if (op >= 10) {
          // Tail call: move the arguments to the frame base, then call in place of this frame.
          const n = code[next - 1]!;
          if (nfp !== fp) {
            for (let j = 0; j < 2 * n; j++) i32[fp + j] = i32[nfp + j]!;
            for (let j = 0; j < n; j++) refs[(fp >> 1) + j] = refs[(nfp >> 1) + j]!;
          }
          nfp = fp;
        }
        if (callee.host !== null) {
          // Leave the loop for the driver to make the host call (see execute's comment).
          m.curFn = fn;
          m.curPc = pc;
          m.curFp = fp;
          m.depth = depth;
          m.top = (fp >> 1) + fn.lowered!.maxSlots + callee.paramSlots + callee.resultSlots;
          m.hostFn = callee;
          m.hostFp = nfp;
          m.hostNext = op >= 10 ? -1 : next;
          return EXEC_HOST_CALL;
        }
        let cl = callee.lowered;
        if (cl === null) {
          m.curFn = fn;
          m.curPc = pc;
          m.depth = depth;
          cl = loweredOf(callee);
        }
        if (op < 10) {
          if (depth >= MAX_CALL_DEPTH) {
            throw trapAt(m, fn, pc, depth, Trap.StackOverflow);
          }
          frFn[depth] = fn;
          frPc[depth] = next;
          frFp[depth] = fp;
          depth++;
        }
        if ((nfp >> 1) + cl.maxSlots > m.capSlots) {
          m.curFn = fn;
          m.curPc = pc;
          m.depth = depth - (op < 10 ? 1 : 0);
          growStack(m, (nfp >> 1) + cl.maxSlots);
          i32 = m.i32;
          f32 = m.f32;
          f64 = m.f64;
        }
        fn = callee;
        code = cl.code;
        pc = 0;
        fp = nfp;
        for (let w = fp + 2 * cl.paramSlots, e = fp + 2 * cl.localSlots; w < e; w++) i32[w] = 0;
        const kw = cl.consts;
        for (let j = 0, b = fp + 2 * cl.localSlots; j < kw.length; j++) i32[b + j] = kw[j]!;
        const rl = cl.refLocals;
        for (let j = 0; j < rl.length; j++) refs[(fp >> 1) + rl[j]!] = null;
        if (callee.inst !== inst) {
          inst = callee.inst!;
          funcs = inst.functions;
          globals = inst.globals;
          tables = inst.tables;
          epoch = m.memEpoch;
          const b = inst.mem === null ? null : inst.mem.api.wasm.buffer;
          memBuf = b;
          dv = b === null ? EMPTY_DV : new DataView(b);
          u8 = b === null ? EMPTY_U8 : new Uint8Array(b);
          memLen = u8.length;
        }
        if (cl.jit !== null) pc = cl.jit(m, fn, depth, i32, f32, f64, fp, 0, dv, u8, memLen, globals);
        break;
      }
      case 12: {
        // COPY
        const d = fp + code[pc + 1]!;
        const s = fp + code[pc + 2]!;
        i32[d] = i32[s]!;
        i32[d + 1] = i32[s + 1]!;
        pc += 3;
        break;
      }
      case 15: {
        // CONST32
        i32[fp + code[pc + 1]!] = code[pc + 2]!;
        pc += 3;
        break;
      }
      case 16: {
        // CONST64
        const d = fp + code[pc + 1]!;
        i32[d] = code[pc + 2]!;
        i32[d + 1] = code[pc + 3]!;
        pc += 4;
        break;
      }
      case 18: {
        // SELECT
        const d = fp + code[pc + 1]!;
        const s = i32[fp + code[pc + 4]!]! !== 0 ? fp + code[pc + 2]! : fp + code[pc + 3]!;
        i32[d] = i32[s]!;
        i32[d + 1] = i32[s + 1]!;
        pc += 5;
        break;
      }
      case 21: {
        // GLOBAL_GET
        const d = fp + code[pc + 1]!;
        const g = globals[code[pc + 2]!]!.bits;
        i32[d] = g[0]!;
        i32[d + 1] = g[1]!;
        pc += 3;
        break;
      }
      case 22: {
        // GLOBAL_SET
        const s = fp + code[pc + 2]!;
        const g = globals[code[pc + 1]!]!.bits;
        g[0] = i32[s]!;
        g[1] = i32[s + 1]!;
        pc += 3;
        break;
      }
      case 30: {
        // MEMORY_GROW
        const d = fp + code[pc + 1]!;
        const n = i32[fp + code[pc + 2]!]! >>> 0;
        i32[d] = memGrow(m, inst, n);
        epoch = m.memEpoch;
        const b = inst.mem === null ? null : inst.mem.api.wasm.buffer;
        memBuf = b;
        dv = b === null ? EMPTY_DV : new DataView(b);
        u8 = b === null ? EMPTY_U8 : new Uint8Array(b);
        memLen = u8.length;
        pc += 3;
        break;
      }
      case 34: {
        // MISC
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        miscOp(
          m,
          inst,
          code[pc + 1]!,
          code[pc + 2]!,
          code[pc + 3]!,
          fp + code[pc + 4]!,
          fp + code[pc + 5]!,
          fp + code[pc + 6]!,
          fp + code[pc + 7]!,
        );
        pc += 8;
        break;
      }
      case 35: {
        // ATOMIC
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        atomicOp(
          m,
          inst,
          code[pc + 1]!,
          fp + code[pc + 2]!,
          fp + code[pc + 3]!,
          fp + code[pc + 4]!,
          fp + code[pc + 5]!,
          code[pc + 6]! >>> 0,
        );
        pc += 7;
        break;
      }
      case 36: {
        // SIMD
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        const li = code[pc + 7]!;
        simdOp(
          m,
          code[pc + 1]!,
          fp + code[pc + 2]!,
          fp + code[pc + 3]!,
          fp + code[pc + 4]!,
          fp + code[pc + 5]!,
          code[pc + 6]!,
          li < 0 ? undefined : fn.lowered!.lanes[li],
        );
        pc += 8;
        break;
      }
      case 37: {
        // SIMD_MEM
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        simdMemOp(m, inst, code[pc + 1]!, fp + code[pc + 2]!, fp + code[pc + 3]!, fp + code[pc + 4]!, code[pc + 5]! >>> 0, code[pc + 6]!);
        pc += 7;
        break;
      }
      case 38: {
        // NOP
        pc += 1;
        break;
      }
      case 39:
      case 56: {
        // LISTEN_BEFORE, LISTEN_AFTER
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        m.top = (fp >> 1) + fn.lowered!.maxSlots;
        const mem = inst.mem;
        const grows = mem === null ? 0 : mem.api.grows;
        if (code[pc]! === 39) {
          listenBefore(m, fn, fp, depth);
          pc += 1;
        } else {
          const s = code[pc + 1]!;
          listenAfter(m, fn, s < 0 ? -1 : fp + s);
          pc += 2;
        }
        // A listener may have called into the runtime (stack growth) or grown the memory.
        i32 = m.i32;
        f32 = m.f32;
        f64 = m.f64;
        if (mem !== null && mem.api.grows !== grows) {
          epoch = m.memEpoch;
          const b = mem.api.wasm.buffer;
          memBuf = b;
          dv = new DataView(b);
          u8 = new Uint8Array(b);
          memLen = u8.length;
        }
        break;
      }
      case 58: {
        // CALLL
        const callee = funcs[code[pc + 1]!]!;
        const nfp = fp + code[pc + 2]!;
        let cl = callee.lowered;
        if (cl === null) {
          m.curFn = fn;
          m.curPc = pc;
          m.depth = depth;
          cl = loweredOf(callee);
        }
        if (depth >= MAX_CALL_DEPTH) {
          throw trapAt(m, fn, pc, depth, Trap.StackOverflow);
        }
        frFn[depth] = fn;
        frPc[depth] = pc + 3;
        frFp[depth] = fp;
        depth++;
        if ((nfp >> 1) + cl.maxSlots > m.capSlots) {
          m.curFn = fn;
          m.curPc = pc;
          m.depth = depth - 1;
          growStack(m, (nfp >> 1) + cl.maxSlots);
          i32 = m.i32;
          f32 = m.f32;
          f64 = m.f64;
        }
        fn = callee;
        code = cl.code;
        fp = nfp;
        for (let w = fp + 2 * cl.paramSlots, e = fp + 2 * cl.localSlots; w < e; w++) i32[w] = 0;
        const kw = cl.consts;
        for (let j = 0, b = fp + 2 * cl.localSlots; j < kw.length; j++) i32[b + j] = kw[j]!;
        const rl = cl.refLocals;
        for (let j = 0; j < rl.length; j++) refs[(fp >> 1) + rl[j]!] = null;
        if (callee.inst !== inst) {
          inst = callee.inst!;
          funcs = inst.functions;
          globals = inst.globals;
          tables = inst.tables;
          epoch = m.memEpoch;
          const b = inst.mem === null ? null : inst.mem.api.wasm.buffer;
          memBuf = b;
          dv = b === null ? EMPTY_DV : new DataView(b);
          u8 = b === null ? EMPTY_U8 : new Uint8Array(b);
          memLen = u8.length;
        }
        // The callee's LISTEN_BEFORE, done here to save a dispatch: enter at pc 1.
        m.curFn = fn;
        m.curPc = 0;
        m.depth = depth;
        m.top = (fp >> 1) + cl.maxSlots;
        const mem = inst.mem;
        const grows = mem === null ? 0 : mem.api.grows;
        listenBefore(m, fn, fp, depth);
        i32 = m.i32;
        f32 = m.f32;
        f64 = m.f64;
        if (mem !== null && mem.api.grows !== grows) {
          epoch = m.memEpoch;
          const b = mem.api.wasm.buffer;
          memBuf = b;
          dv = new DataView(b);
          u8 = new Uint8Array(b);
          memLen = u8.length;
        }
        pc = 1;
        break;
      }
      case 59: {
        // RETL
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        m.top = (fp >> 1) + fn.lowered!.maxSlots;
        const s = fp + code[pc + 1]!;
        const n = code[pc + 2]!;
        const mem = inst.mem;
        const grows = mem === null ? 0 : mem.api.grows;
        listenAfter(m, fn, s);
        i32 = m.i32;
        f32 = m.f32;
        f64 = m.f64;
        if (s !== fp) {
          if (n === 1 && code[pc + 3]! === 0) {
            i32[fp] = i32[s]!;
            i32[fp + 1] = i32[s + 1]!;
          } else {
            for (let j = 0; j < 2 * n; j++) i32[fp + j] = i32[s + j]!;
            if (code[pc + 3]! !== 0) for (let j = 0; j < n; j++) refs[(fp >> 1) + j] = refs[(s >> 1) + j]!;
          }
        }
        if (depth === baseDepth) {
          m.depth = baseDepth;
          return EXEC_DONE;
        }
        depth--;
        fn = frFn[depth]!;
        pc = frPc[depth]!;
        fp = frFp[depth]!;
        frFn[depth] = null;
        code = fn.lowered!.code;
        if (fn.inst !== inst) {
          inst = fn.inst!;
          funcs = inst.functions;
          globals = inst.globals;
          tables = inst.tables;
          memBuf = null;
          epoch = -1;
        }
        // The callee or the listener may have grown the memory.
        if (epoch !== m.memEpoch || (mem !== null && mem.api.grows !== grows)) {
          epoch = m.memEpoch;
          const b = inst.mem === null ? null : inst.mem.api.wasm.buffer;
          if (b !== memBuf || (b !== null && b.byteLength !== memLen)) {
            memBuf = b;
            dv = b === null ? EMPTY_DV : new DataView(b);
            u8 = b === null ? EMPTY_U8 : new Uint8Array(b);
            memLen = u8.length;
          }
        }
        break;
      }
      case 230: {
        // I32_ADDI__I32_ADDI
        i32[fp + code[pc + 1]!] = (i32[fp + code[pc + 2]!]! + code[pc + 3]!) | 0;
        i32[fp + code[pc + 4 + 1]!] = (i32[fp + code[pc + 4 + 2]!]! + code[pc + 4 + 3]!) | 0;
        pc += 8;
        break;
      }
      case 231: {
        // I32_ADD__I32_ADD
        i32[fp + code[pc + 1]!] = (i32[fp + code[pc + 2]!]! + i32[fp + code[pc + 3]!]!) | 0;
        i32[fp + code[pc + 4 + 1]!] = (i32[fp + code[pc + 4 + 2]!]! + i32[fp + code[pc + 4 + 3]!]!) | 0;
        pc += 8;
        break;
      }
      case 232: {
        // COPY__COPY
        {
          const d = fp + code[pc + 1]!;
          const s = fp + code[pc + 2]!;
          i32[d] = i32[s]!;
          i32[d + 1] = i32[s + 1]!;
        }
        {
          const d = fp + code[pc + 3 + 1]!;
          const s = fp + code[pc + 3 + 2]!;
          i32[d] = i32[s]!;
          i32[d + 1] = i32[s + 1]!;
        }
        pc += 6;
        break;
      }
      case 233: {
        // I64_LOAD__F64_MUL
        {
          const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
          if (ea > memLen - 8) {
            throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const d = fp + code[pc + 1]!;
          i32[d] = dv.getInt32(ea, true);
          i32[d + 1] = dv.getInt32(ea + 4, true);
        }
        f64[(fp + code[pc + 4 + 1]!) >> 1] = f64[(fp + code[pc + 4 + 2]!) >> 1]! * f64[(fp + code[pc + 4 + 3]!) >> 1]!;
        pc += 8;
        break;
      }
      case 234: {
        // I64_LOAD__F64_ADD
        {
          const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
          if (ea > memLen - 8) {
            throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const d = fp + code[pc + 1]!;
          i32[d] = dv.getInt32(ea, true);
          i32[d + 1] = dv.getInt32(ea + 4, true);
        }
        f64[(fp + code[pc + 4 + 1]!) >> 1] = f64[(fp + code[pc + 4 + 2]!) >> 1]! + f64[(fp + code[pc + 4 + 3]!) >> 1]!;
        pc += 8;
        break;
      }
      case 235: {
        // F64_ADD__I64_STORE
        f64[(fp + code[pc + 1]!) >> 1] = f64[(fp + code[pc + 2]!) >> 1]! + f64[(fp + code[pc + 3]!) >> 1]!;
        {
          const ea = (i32[fp + code[pc + 4 + 1]!]! >>> 0) + (code[pc + 4 + 3]! >>> 0);
          if (ea > memLen - 8) {
            throw trapAt(m, fn, pc + 4, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const v = fp + code[pc + 4 + 2]!;
          dv.setInt32(ea, i32[v]!, true);
          dv.setInt32(ea + 4, i32[v + 1]!, true);
        }
        pc += 8;
        break;
      }
      case 236: {
        // I64_STORE__I32_ADDI
        {
          const ea = (i32[fp + code[pc + 1]!]! >>> 0) + (code[pc + 3]! >>> 0);
          if (ea > memLen - 8) {
            throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const v = fp + code[pc + 2]!;
          dv.setInt32(ea, i32[v]!, true);
          dv.setInt32(ea + 4, i32[v + 1]!, true);
        }
        i32[fp + code[pc + 4 + 1]!] = (i32[fp + code[pc + 4 + 2]!]! + code[pc + 4 + 3]!) | 0;
        pc += 8;
        break;
      }
      case 237: {
        // I32_ADDI__I64_LOAD
        i32[fp + code[pc + 1]!] = (i32[fp + code[pc + 2]!]! + code[pc + 3]!) | 0;
        {
          const ea = (i32[fp + code[pc + 4 + 2]!]! >>> 0) + (code[pc + 4 + 3]! >>> 0);
          if (ea > memLen - 8) {
            throw trapAt(m, fn, pc + 4, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const d = fp + code[pc + 4 + 1]!;
          i32[d] = dv.getInt32(ea, true);
          i32[d + 1] = dv.getInt32(ea + 4, true);
        }
        pc += 8;
        break;
      }
      case 238: {
        // I32_ADDI__I32_LOAD
        i32[fp + code[pc + 1]!] = (i32[fp + code[pc + 2]!]! + code[pc + 3]!) | 0;
        {
          const ea = (i32[fp + code[pc + 4 + 2]!]! >>> 0) + (code[pc + 4 + 3]! >>> 0);
          if (ea > memLen - 4) {
            throw trapAt(m, fn, pc + 4, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const d = fp + code[pc + 4 + 1]!;
          i32[d] = dv.getInt32(ea, true);
        }
        pc += 8;
        break;
      }
      case 239: {
        // I32_ROTLI__I32_XOR
        {
          const x = i32[fp + code[pc + 2]!]!;
          const y = code[pc + 3]!;
          i32[fp + code[pc + 1]!] = (x << y) | (x >>> (32 - y));
        }
        i32[fp + code[pc + 4 + 1]!] = i32[fp + code[pc + 4 + 2]!]! ^ i32[fp + code[pc + 4 + 3]!]!;
        pc += 8;
        break;
      }
      case 240: {
        // F64_MUL__F64_MUL
        f64[(fp + code[pc + 1]!) >> 1] = f64[(fp + code[pc + 2]!) >> 1]! * f64[(fp + code[pc + 3]!) >> 1]!;
        f64[(fp + code[pc + 4 + 1]!) >> 1] = f64[(fp + code[pc + 4 + 2]!) >> 1]! * f64[(fp + code[pc + 4 + 3]!) >> 1]!;
        pc += 8;
        break;
      }
      case 241: {
        // I32_ADDI__BR_NE
        i32[fp + code[pc + 1]!] = (i32[fp + code[pc + 2]!]! + code[pc + 3]!) | 0;
        pc = i32[fp + code[pc + 4 + 1]!]! !== i32[fp + code[pc + 4 + 2]!]! ? code[pc + 4 + 3]! : pc + 8;
        break;
      }
      case 242: {
        // I32_ADD__BR_LE_U
        i32[fp + code[pc + 1]!] = (i32[fp + code[pc + 2]!]! + i32[fp + code[pc + 3]!]!) | 0;
        pc = i32[fp + code[pc + 4 + 1]!]! >>> 0 <= i32[fp + code[pc + 4 + 2]!]! >>> 0 ? code[pc + 4 + 3]! : pc + 8;
        break;
      }
      case 243: {
        // I32_STORE8__I32_ADD
        {
          const ea = (i32[fp + code[pc + 1]!]! >>> 0) + (code[pc + 3]! >>> 0);
          if (ea > memLen - 1) {
            throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const v = fp + code[pc + 2]!;
          u8[ea] = i32[v]!;
        }
        i32[fp + code[pc + 4 + 1]!] = (i32[fp + code[pc + 4 + 2]!]! + i32[fp + code[pc + 4 + 3]!]!) | 0;
        pc += 8;
        break;
      }
      case 244: {
        // BR_LT_S__I32_ADDI
        if (i32[fp + code[pc + 1]!]! < i32[fp + code[pc + 2]!]!) {
          pc = code[pc + 3]!;
          break;
        }
        i32[fp + code[pc + 4 + 1]!] = (i32[fp + code[pc + 4 + 2]!]! + code[pc + 4 + 3]!) | 0;
        pc += 8;
        break;
      }
      case 245: {
        // I64_LOAD__I64_ADD
        {
          const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
          if (ea > memLen - 8) {
            throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const d = fp + code[pc + 1]!;
          i32[d] = dv.getInt32(ea, true);
          i32[d + 1] = dv.getInt32(ea + 4, true);
        }
        {
          const a = fp + code[pc + 4 + 2]!;
          const b = fp + code[pc + 4 + 3]!;
          const d = fp + code[pc + 4 + 1]!;
          const alo = i32[a]!;
          const lo = (alo + i32[b]!) | 0;
          i32[d + 1] = (i32[a + 1]! + i32[b + 1]! + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
          i32[d] = lo;
        }
        pc += 8;
        break;
      }
      case 246: {
        // I64_ADD__I64_STORE
        {
          const a = fp + code[pc + 2]!;
          const b = fp + code[pc + 3]!;
          const d = fp + code[pc + 1]!;
          const alo = i32[a]!;
          const lo = (alo + i32[b]!) | 0;
          i32[d + 1] = (i32[a + 1]! + i32[b + 1]! + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
          i32[d] = lo;
        }
        {
          const ea = (i32[fp + code[pc + 4 + 1]!]! >>> 0) + (code[pc + 4 + 3]! >>> 0);
          if (ea > memLen - 8) {
            throw trapAt(m, fn, pc + 4, depth, Trap.OutOfBoundsMemoryAccess);
          }
          const v = fp + code[pc + 4 + 2]!;
          dv.setInt32(ea, i32[v]!, true);
          dv.setInt32(ea + 4, i32[v + 1]!, true);
        }
        pc += 8;
        break;
      }
      case 168: {
        // COVER
        inst.coverCounts![code[pc + 1]!]!++;
        pc += 2;
        break;
      }
      case 57: {
        // CHECK
        if (--m.ticks < 0) {
          m.curFn = fn;
          m.curPc = pc;
          m.depth = depth;
          if (checkInterrupt(m)) {
            // The time slice ended: leave for the driver to yield, resuming after this CHECK.
            m.curPc = pc + 1;
            m.curFp = fp;
            return EXEC_YIELD;
          }
        }
        pc += 1;
        break;
      }
      case 63:
      case 65: {
        // I32_DIV_S, I32_REM_S
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        if (y === 0 || (code[pc]! === 63 && x === -0x80000000 && y === -1)) {
          throw trapAt(m, fn, pc, depth, y === 0 ? Trap.IntegerDivideByZero : Trap.IntegerOverflow);
        }
        i32[fp + code[pc + 1]!] = code[pc]! === 63 ? (x / y) | 0 : (x % y) | 0;
        pc += 4;
        break;
      }
      case 64:
      case 66: {
        // I32_DIV_U, I32_REM_U
        const x = i32[fp + code[pc + 2]!]! >>> 0;
        const y = i32[fp + code[pc + 3]!]! >>> 0;
        if (y === 0) {
          throw trapAt(m, fn, pc, depth, Trap.IntegerDivideByZero);
        }
        i32[fp + code[pc + 1]!] = code[pc]! === 64 ? (x / y) >>> 0 : x % y;
        pc += 4;
        break;
      }
      case 228: {
        // TRUNC_SAT
        truncSat(m, code[pc + 1]!, fp + code[pc + 2]!, fp + code[pc + 3]!);
        pc += 4;
        break;
      }
      case 60: {
        // I32_ADD
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = (x + y) | 0;
        pc += 4;
        break;
      }
      case 85: {
        // I32_ADDI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = (x + y) | 0;
        pc += 4;
        break;
      }
      case 61: {
        // I32_SUB
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = (x - y) | 0;
        pc += 4;
        break;
      }
      case 62: {
        // I32_MUL
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = Math.imul(x, y);
        pc += 4;
        break;
      }
      case 86: {
        // I32_MULI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = Math.imul(x, y);
        pc += 4;
        break;
      }
      case 67: {
        // I32_AND
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x & y;
        pc += 4;
        break;
      }
      case 87: {
        // I32_ANDI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x & y;
        pc += 4;
        break;
      }
      case 68: {
        // I32_OR
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x | y;
        pc += 4;
        break;
      }
      case 88: {
        // I32_ORI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x | y;
        pc += 4;
        break;
      }
      case 69: {
        // I32_XOR
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x ^ y;
        pc += 4;
        break;
      }
      case 89: {
        // I32_XORI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x ^ y;
        pc += 4;
        break;
      }
      case 70: {
        // I32_SHL
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x << y;
        pc += 4;
        break;
      }
      case 90: {
        // I32_SHLI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x << y;
        pc += 4;
        break;
      }
      case 71: {
        // I32_SHR_S
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x >> y;
        pc += 4;
        break;
      }
      case 91: {
        // I32_SHR_SI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x >> y;
        pc += 4;
        break;
      }
      case 72: {
        // I32_SHR_U
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x >>> y;
        pc += 4;
        break;
      }
      case 92: {
        // I32_SHR_UI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x >>> y;
        pc += 4;
        break;
      }
      case 109: {
        // I32_ROTLI
        const x = i32[fp + code[pc + 2]!]!;
        const k = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = (x << k) | (x >>> (32 - k));
        pc += 4;
        break;
      }
      case 75: {
        // I32_EQ
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x === y ? 1 : 0;
        pc += 4;
        break;
      }
      case 93: {
        // I32_EQI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x === y ? 1 : 0;
        pc += 4;
        break;
      }
      case 76: {
        // I32_NE
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x !== y ? 1 : 0;
        pc += 4;
        break;
      }
      case 94: {
        // I32_NEI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x !== y ? 1 : 0;
        pc += 4;
        break;
      }
      case 77: {
        // I32_LT_S
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x < y ? 1 : 0;
        pc += 4;
        break;
      }
      case 95: {
        // I32_LT_SI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x < y ? 1 : 0;
        pc += 4;
        break;
      }
      case 78: {
        // I32_LT_U
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x >>> 0 < y >>> 0 ? 1 : 0;
        pc += 4;
        break;
      }
      case 96: {
        // I32_LT_UI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x >>> 0 < y >>> 0 ? 1 : 0;
        pc += 4;
        break;
      }
      case 79: {
        // I32_GT_S
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x > y ? 1 : 0;
        pc += 4;
        break;
      }
      case 97: {
        // I32_GT_SI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x > y ? 1 : 0;
        pc += 4;
        break;
      }
      case 80: {
        // I32_GT_U
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x >>> 0 > y >>> 0 ? 1 : 0;
        pc += 4;
        break;
      }
      case 98: {
        // I32_GT_UI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x >>> 0 > y >>> 0 ? 1 : 0;
        pc += 4;
        break;
      }
      case 81: {
        // I32_LE_S
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x <= y ? 1 : 0;
        pc += 4;
        break;
      }
      case 99: {
        // I32_LE_SI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x <= y ? 1 : 0;
        pc += 4;
        break;
      }
      case 82: {
        // I32_LE_U
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x >>> 0 <= y >>> 0 ? 1 : 0;
        pc += 4;
        break;
      }
      case 100: {
        // I32_LE_UI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x >>> 0 <= y >>> 0 ? 1 : 0;
        pc += 4;
        break;
      }
      case 83: {
        // I32_GE_S
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x >= y ? 1 : 0;
        pc += 4;
        break;
      }
      case 101: {
        // I32_GE_SI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x >= y ? 1 : 0;
        pc += 4;
        break;
      }
      case 84: {
        // I32_GE_U
        const x = i32[fp + code[pc + 2]!]!;
        const y = i32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x >>> 0 >= y >>> 0 ? 1 : 0;
        pc += 4;
        break;
      }
      case 102: {
        // I32_GE_UI
        const x = i32[fp + code[pc + 2]!]!;
        const y = code[pc + 3]!;
        i32[fp + code[pc + 1]!] = x >>> 0 >= y >>> 0 ? 1 : 0;
        pc += 4;
        break;
      }
      case 110: {
        // BR_EQ
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x === y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 120: {
        // BR_EQI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x === y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 111: {
        // BR_NE
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x !== y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 121: {
        // BR_NEI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x !== y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 112: {
        // BR_LT_S
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x < y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 122: {
        // BR_LT_SI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x < y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 113: {
        // BR_LT_U
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x >>> 0 < y >>> 0 ? code[pc + 3]! : pc + 4;
        break;
      }
      case 123: {
        // BR_LT_UI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x >>> 0 < y >>> 0 ? code[pc + 3]! : pc + 4;
        break;
      }
      case 114: {
        // BR_GT_S
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x > y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 124: {
        // BR_GT_SI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x > y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 115: {
        // BR_GT_U
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x >>> 0 > y >>> 0 ? code[pc + 3]! : pc + 4;
        break;
      }
      case 125: {
        // BR_GT_UI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x >>> 0 > y >>> 0 ? code[pc + 3]! : pc + 4;
        break;
      }
      case 116: {
        // BR_LE_S
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x <= y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 126: {
        // BR_LE_SI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x <= y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 117: {
        // BR_LE_U
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x >>> 0 <= y >>> 0 ? code[pc + 3]! : pc + 4;
        break;
      }
      case 127: {
        // BR_LE_UI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x >>> 0 <= y >>> 0 ? code[pc + 3]! : pc + 4;
        break;
      }
      case 118: {
        // BR_GE_S
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x >= y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 128: {
        // BR_GE_SI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x >= y ? code[pc + 3]! : pc + 4;
        break;
      }
      case 119: {
        // BR_GE_U
        const x = i32[fp + code[pc + 1]!]!;
        const y = i32[fp + code[pc + 2]!]!;
        pc = x >>> 0 >= y >>> 0 ? code[pc + 3]! : pc + 4;
        break;
      }
      case 129: {
        // BR_GE_UI
        const x = i32[fp + code[pc + 1]!]!;
        const y = code[pc + 2]!;
        pc = x >>> 0 >= y >>> 0 ? code[pc + 3]! : pc + 4;
        break;
      }
      case 103: {
        // I32_EQZ
        const x = i32[fp + code[pc + 2]!]!;
        i32[fp + code[pc + 1]!] = x === 0 ? 1 : 0;
        pc += 3;
        break;
      }
      case 130: {
        // I64_ADD
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        const lo = (alo + blo) | 0;
        const hi = (ahi + bhi + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
        i32[d] = lo;
        i32[d + 1] = hi;
        pc += 4;
        break;
      }
      case 131: {
        // I64_SUB
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        const lo = (alo - blo) | 0;
        const hi = (ahi - bhi - (alo >>> 0 < blo >>> 0 ? 1 : 0)) | 0;
        i32[d] = lo;
        i32[d + 1] = hi;
        pc += 4;
        break;
      }
      case 132: {
        // I64_MUL
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        const lo = Math.imul(alo, blo);
        const hi = (mulhu(alo, blo) + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
        i32[d] = lo;
        i32[d + 1] = hi;
        pc += 4;
        break;
      }
      case 137: {
        // I64_AND
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        const lo = alo & blo;
        const hi = ahi & bhi;
        i32[d] = lo;
        i32[d + 1] = hi;
        pc += 4;
        break;
      }
      case 138: {
        // I64_OR
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        const lo = alo | blo;
        const hi = ahi | bhi;
        i32[d] = lo;
        i32[d + 1] = hi;
        pc += 4;
        break;
      }
      case 139: {
        // I64_XOR
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        const lo = alo ^ blo;
        const hi = ahi ^ bhi;
        i32[d] = lo;
        i32[d + 1] = hi;
        pc += 4;
        break;
      }
      case 140: {
        // I64_SHL
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        shl64(alo, ahi, blo);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 141: {
        // I64_SHR_S
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        shrS64(alo, ahi, blo);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 142: {
        // I64_SHR_U
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        shrU64(alo, ahi, blo);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 162: {
        // I64_SHLI
        const a = fp + code[pc + 2]!;
        const d = fp + code[pc + 1]!;
        const k = code[pc + 3]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        if (k < 32) {
          i32[d + 1] = (ahi << k) | (alo >>> (32 - k));
          i32[d] = alo << k;
        } else {
          i32[d + 1] = alo << (k - 32);
          i32[d] = 0;
        }
        pc += 4;
        break;
      }
      case 166: {
        // I64_SHR_SI
        const a = fp + code[pc + 2]!;
        const d = fp + code[pc + 1]!;
        const k = code[pc + 3]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        if (k < 32) {
          i32[d] = (alo >>> k) | (ahi << (32 - k));
          i32[d + 1] = ahi >> k;
        } else {
          i32[d] = ahi >> (k - 32);
          i32[d + 1] = ahi >> 31;
        }
        pc += 4;
        break;
      }
      case 167: {
        // I64_SHR_UI
        const a = fp + code[pc + 2]!;
        const d = fp + code[pc + 1]!;
        const k = code[pc + 3]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        if (k < 32) {
          i32[d] = (alo >>> k) | (ahi << (32 - k));
          i32[d + 1] = ahi >>> k;
        } else {
          i32[d] = ahi >>> (k - 32);
          i32[d + 1] = 0;
        }
        pc += 4;
        break;
      }
      case 143: {
        // I64_ROTL
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        rotl64(alo, ahi, blo);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 144: {
        // I64_ROTR
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        rotr64(alo, ahi, blo);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 133: {
        // I64_DIV_S
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        divS64(alo, ahi, blo, bhi);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 134: {
        // I64_DIV_U
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        divU64(alo, ahi, blo, bhi);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 135: {
        // I64_REM_S
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        remS64(alo, ahi, blo, bhi);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 136: {
        // I64_REM_U
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        remU64(alo, ahi, blo, bhi);
        i32[d] = out64[0]!;
        i32[d + 1] = out64[1]!;
        pc += 4;
        break;
      }
      case 145: {
        // I64_EQ
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = alo === blo && ahi === bhi ? 1 : 0;
        pc += 4;
        break;
      }
      case 146: {
        // I64_NE
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = alo !== blo || ahi !== bhi ? 1 : 0;
        pc += 4;
        break;
      }
      case 147: {
        // I64_LT_S
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = ahi < bhi || (ahi === bhi && alo >>> 0 < blo >>> 0) ? 1 : 0;
        pc += 4;
        break;
      }
      case 148: {
        // I64_LT_U
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = ahi >>> 0 < bhi >>> 0 || (ahi === bhi && alo >>> 0 < blo >>> 0) ? 1 : 0;
        pc += 4;
        break;
      }
      case 149: {
        // I64_GT_S
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = ahi > bhi || (ahi === bhi && alo >>> 0 > blo >>> 0) ? 1 : 0;
        pc += 4;
        break;
      }
      case 150: {
        // I64_GT_U
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = ahi >>> 0 > bhi >>> 0 || (ahi === bhi && alo >>> 0 > blo >>> 0) ? 1 : 0;
        pc += 4;
        break;
      }
      case 151: {
        // I64_LE_S
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = ahi < bhi || (ahi === bhi && alo >>> 0 <= blo >>> 0) ? 1 : 0;
        pc += 4;
        break;
      }
      case 152: {
        // I64_LE_U
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = ahi >>> 0 < bhi >>> 0 || (ahi === bhi && alo >>> 0 <= blo >>> 0) ? 1 : 0;
        pc += 4;
        break;
      }
      case 153: {
        // I64_GE_S
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = ahi > bhi || (ahi === bhi && alo >>> 0 >= blo >>> 0) ? 1 : 0;
        pc += 4;
        break;
      }
      case 154: {
        // I64_GE_U
        const a = fp + code[pc + 2]!;
        const b = fp + code[pc + 3]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const ahi = i32[a + 1]!;
        const blo = i32[b]!;
        const bhi = i32[b + 1]!;
        i32[d] = ahi >>> 0 > bhi >>> 0 || (ahi === bhi && alo >>> 0 >= blo >>> 0) ? 1 : 0;
        pc += 4;
        break;
      }
      case 155: {
        // I64_EQZ
        const a = fp + code[pc + 2]!;
        const d = fp + code[pc + 1]!;
        const lo = i32[a]!;
        const hi = i32[a + 1]!;
        i32[d] = (lo | hi) === 0 ? 1 : 0;
        pc += 3;
        break;
      }
      case 163: {
        // I64_EXTEND_I32_S
        const a = fp + code[pc + 2]!;
        const d = fp + code[pc + 1]!;
        const lo = i32[a]!;
        i32[d] = lo;
        i32[d + 1] = lo >> 31;
        pc += 3;
        break;
      }
      case 164: {
        // I64_EXTEND_I32_U
        const a = fp + code[pc + 2]!;
        const d = fp + code[pc + 1]!;
        const lo = i32[a]!;
        i32[d] = lo;
        i32[d + 1] = 0;
        pc += 3;
        break;
      }
      case 165: {
        // I64_ADDI
        const a = fp + code[pc + 2]!;
        const d = fp + code[pc + 1]!;
        const alo = i32[a]!;
        const k = code[pc + 3]!;
        const lo = (alo + k) | 0;
        i32[d + 1] = (i32[a + 1]! + (k >> 31) + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
        i32[d] = lo;
        pc += 4;
        break;
      }
      case 170: {
        // F32_ADD
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        f32[fp + code[pc + 1]!] = x + y;
        pc += 4;
        break;
      }
      case 171: {
        // F32_SUB
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        f32[fp + code[pc + 1]!] = x - y;
        pc += 4;
        break;
      }
      case 172: {
        // F32_MUL
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        f32[fp + code[pc + 1]!] = x * y;
        pc += 4;
        break;
      }
      case 173: {
        // F32_DIV
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        f32[fp + code[pc + 1]!] = x / y;
        pc += 4;
        break;
      }
      case 177: {
        // F32_EQ
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x === y ? 1 : 0;
        pc += 4;
        break;
      }
      case 178: {
        // F32_NE
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x !== y ? 1 : 0;
        pc += 4;
        break;
      }
      case 179: {
        // F32_LT
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x < y ? 1 : 0;
        pc += 4;
        break;
      }
      case 180: {
        // F32_GT
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x > y ? 1 : 0;
        pc += 4;
        break;
      }
      case 181: {
        // F32_LE
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x <= y ? 1 : 0;
        pc += 4;
        break;
      }
      case 182: {
        // F32_GE
        const x = f32[fp + code[pc + 2]!]!;
        const y = f32[fp + code[pc + 3]!]!;
        i32[fp + code[pc + 1]!] = x >= y ? 1 : 0;
        pc += 4;
        break;
      }
      case 189: {
        // F32_SQRT
        const x = f32[fp + code[pc + 2]!]!;
        f32[fp + code[pc + 1]!] = Math.sqrt(x);
        pc += 3;
        break;
      }
      case 190: {
        // F64_ADD
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        f64[(fp + code[pc + 1]!) >> 1] = x + y;
        pc += 4;
        break;
      }
      case 191: {
        // F64_SUB
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        f64[(fp + code[pc + 1]!) >> 1] = x - y;
        pc += 4;
        break;
      }
      case 192: {
        // F64_MUL
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        f64[(fp + code[pc + 1]!) >> 1] = x * y;
        pc += 4;
        break;
      }
      case 193: {
        // F64_DIV
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        f64[(fp + code[pc + 1]!) >> 1] = x / y;
        pc += 4;
        break;
      }
      case 197: {
        // F64_EQ
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        i32[fp + code[pc + 1]!] = x === y ? 1 : 0;
        pc += 4;
        break;
      }
      case 198: {
        // F64_NE
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        i32[fp + code[pc + 1]!] = x !== y ? 1 : 0;
        pc += 4;
        break;
      }
      case 199: {
        // F64_LT
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        i32[fp + code[pc + 1]!] = x < y ? 1 : 0;
        pc += 4;
        break;
      }
      case 200: {
        // F64_GT
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        i32[fp + code[pc + 1]!] = x > y ? 1 : 0;
        pc += 4;
        break;
      }
      case 201: {
        // F64_LE
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        i32[fp + code[pc + 1]!] = x <= y ? 1 : 0;
        pc += 4;
        break;
      }
      case 202: {
        // F64_GE
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        const y = f64[(fp + code[pc + 3]!) >> 1]!;
        i32[fp + code[pc + 1]!] = x >= y ? 1 : 0;
        pc += 4;
        break;
      }
      case 209: {
        // F64_SQRT
        const x = f64[(fp + code[pc + 2]!) >> 1]!;
        f64[(fp + code[pc + 1]!) >> 1] = Math.sqrt(x);
        pc += 3;
        break;
      }
      case 222: {
        // F32_DEMOTE_F64
        f32[fp + code[pc + 1]!] = f64[(fp + code[pc + 2]!) >> 1]!;
        pc += 3;
        break;
      }
      case 223: {
        // F64_CONVERT_I32_S
        f64[(fp + code[pc + 1]!) >> 1] = i32[fp + code[pc + 2]!]!;
        pc += 3;
        break;
      }
      case 224: {
        // F64_CONVERT_I32_U
        f64[(fp + code[pc + 1]!) >> 1] = i32[fp + code[pc + 2]!]! >>> 0;
        pc += 3;
        break;
      }
      case 227: {
        // F64_PROMOTE_F32
        f64[(fp + code[pc + 1]!) >> 1] = f32[fp + code[pc + 2]!]!;
        pc += 3;
        break;
      }
      case 40: {
        // I32_LOAD
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 4) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = dv.getInt32(ea, true);
        pc += 4;
        break;
      }
      case 41: {
        // I64_LOAD
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 8) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = dv.getInt32(ea, true);
        i32[d + 1] = dv.getInt32(ea + 4, true);
        pc += 4;
        break;
      }
      case 42: {
        // I32_LOAD8_S
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 1) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = (u8[ea]! << 24) >> 24;
        pc += 4;
        break;
      }
      case 43: {
        // I32_LOAD8_U
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 1) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = u8[ea]!;
        pc += 4;
        break;
      }
      case 44: {
        // I32_LOAD16_S
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 2) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = dv.getInt16(ea, true);
        pc += 4;
        break;
      }
      case 45: {
        // I32_LOAD16_U
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 2) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = dv.getUint16(ea, true);
        pc += 4;
        break;
      }
      case 46: {
        // I64_LOAD8_S
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 1) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        const v = (u8[ea]! << 24) >> 24;
        i32[d] = v;
        i32[d + 1] = v >> 31;
        pc += 4;
        break;
      }
      case 47: {
        // I64_LOAD8_U
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 1) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = u8[ea]!;
        i32[d + 1] = 0;
        pc += 4;
        break;
      }
      case 48: {
        // I64_LOAD16_S
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 2) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        const v = dv.getInt16(ea, true);
        i32[d] = v;
        i32[d + 1] = v >> 31;
        pc += 4;
        break;
      }
      case 49: {
        // I64_LOAD16_U
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 2) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = dv.getUint16(ea, true);
        i32[d + 1] = 0;
        pc += 4;
        break;
      }
      case 50: {
        // I64_LOAD32_S
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 4) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        const v = dv.getInt32(ea, true);
        i32[d] = v;
        i32[d + 1] = v >> 31;
        pc += 4;
        break;
      }
      case 51: {
        // I64_LOAD32_U
        const ea = (i32[fp + code[pc + 2]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 4) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const d = fp + code[pc + 1]!;
        i32[d] = dv.getInt32(ea, true);
        i32[d + 1] = 0;
        pc += 4;
        break;
      }
      case 52: {
        // I32_STORE
        const ea = (i32[fp + code[pc + 1]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 4) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const v = fp + code[pc + 2]!;
        dv.setInt32(ea, i32[v]!, true);
        pc += 4;
        break;
      }
      case 53: {
        // I64_STORE
        const ea = (i32[fp + code[pc + 1]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 8) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const v = fp + code[pc + 2]!;
        dv.setInt32(ea, i32[v]!, true);
        dv.setInt32(ea + 4, i32[v + 1]!, true);
        pc += 4;
        break;
      }
      case 54: {
        // I32_STORE8
        const ea = (i32[fp + code[pc + 1]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 1) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const v = fp + code[pc + 2]!;
        u8[ea] = i32[v]!;
        pc += 4;
        break;
      }
      case 55: {
        // I32_STORE16
        const ea = (i32[fp + code[pc + 1]!]! >>> 0) + (code[pc + 3]! >>> 0);
        if (ea > memLen - 2) {
          throw trapAt(m, fn, pc, depth, Trap.OutOfBoundsMemoryAccess);
        }
        const v = fp + code[pc + 2]!;
        dv.setInt16(ea, i32[v]!, true);
        pc += 4;
        break;
      }
      case 255: {
        // DIRTY
        const dirty = inst.mem!.api.dirty;
        if (dirty !== undefined) dirty.mark((i32[fp + code[pc + 1]!]! >>> 0) + (code[pc + 2]! >>> 0), code[pc + 3]!);
        pc += 4;
        break;
      }
      default:
        // Rare instructions (rare.ts).
        m.curFn = fn;
        m.curPc = pc;
        m.depth = depth;
        pc = rareOp(m, fn, code, pc, fp);
        break;
    }
  }
}
