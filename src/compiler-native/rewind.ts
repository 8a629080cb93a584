/**
 * The rewind pass: an Asyncify-style transformation (the technique of binaryen's Asyncify, written
 * here over our own walker and encoder) that lets the compiler engine take and restore snapshots
 * (store/snapshots.ts) although V8 cannot copy a wasm call stack. It runs only for modules compiled
 * with `withSnapshotter(ctx)` on the compile context; other modules never see it.
 *
 * Every function that can be on the stack during a host call (it calls an import, calls through a
 * table, or calls or tail-calls such a function) is rewritten so that it can
 * - *unwind*: after each call that may unwind (a *site*), when the module's appended `$state`
 *   global says "unwinding", the function pushes its locals, the site's number, its own function
 *   index and the module's tag to the engine's rewind stack (rewind-stack.ts) and returns at once; the
 *   innermost site first pushes the results of the call it made (the host call's, a *results
 *   record*, tag 0);
 * - *rewind*: when `$state` says "rewinding", its prologue pops the record back into the locals and
 *   execution skips forward to the saved site: code between sites runs only when `$state` is 0,
 *   and the blocks, loops and ifs on the way to the site are entered (an `if` takes the arm its
 *   saved condition chose). At the site the call is made again (the callee rewinds in turn), or,
 *   when the top of the stack is the results record, the record's values become the call's
 *   results and the engine resets `$state` everywhere: execution goes on normally.
 *
 * To make that possible with structured control flow, the operand stack is empty (relative to the
 * innermost frame) at every site and at the entry of every block that holds one (*points*): the
 * operands live across them are spilled to locals first and reloaded after (V8's register allocator
 * sees through these locals). Locals are what a record saves, so records need no operand-stack part.
 * Normal execution pays one `$state` test per site (merged with the guard of the code after it) and
 * one per entry of a block holding sites (see {@link transformBody}).
 *
 * Tail calls: a `return_call` of an import becomes `call` + `return` (the frame stays, so the host
 * call has a caller to resume). Another tail call replaces the frame, so the caller re-issuing its
 * call during a rewind reaches a function whose record is not on top: a function that makes tail
 * calls first checks the record's function and, if it is another function of this module, tail-calls
 * that function's *trampoline* (appended: it calls the function with zero arguments, which its
 * prologue then replaces with the saved locals). Records of other modules there are refused
 * (`fail`).
 *
 * Exception handling (the exnref encoding): a `try_table` is a block whose catch clauses branch to
 * enclosing labels. It is planned and guarded like a block (a rewind to a site inside enters it
 * again, so its handler is active after a restore), and its catch clauses' labels move past the
 * labels the pass inserts, like a `br`'s. Unwinds and rewinds only return and skip, so nothing
 * throws while frames unwind or rewind; a restore crosses guest frames as an uncatchable trap
 * (exceptions.ts), so no `catch_all` stops it. An exnref cannot be saved (JS never sees one): a
 * transformed function with an exnref local or an exnref live across a point is refused, as are
 * modules using the legacy encoding (`try`/`catch`/`delegate`/`rethrow`).
 *
 * The engine's helpers (push/pop per value type, peek, stack pointer, done, fail) and the trampolines
 * are reached through an appended funcref table (`call_indirect`), and `$state` is an appended
 * global: nothing is imported, so no index of the original module moves. The result is a new
 * module that the usual rewrite (rewrite.ts) then takes as its input; offsets map back to the
 * original through {@link Asyncified.originalOffset}.
 */
import type { CoreFeatures } from '../runtime/api/features.js';
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../runtime/api/value-type.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import { BLOCK_EMPTY, ByteWriter, blockResult, encodeModule, type BlockType, type EncodableBody } from '../runtime/binary/encoder.js';
import { nextInstr, readLeb, skipLeb } from '../runtime/binary/instr.js';
import type { CustomSection, ElementSegment, FuncType, Global, Module, TableType, ValType } from '../runtime/binary/module.js';
import { CodeValidator } from '../runtime/validate/code.js';
import { mapInstrumentedOffset, type InstrumentedBody } from './instrument.js';

/** Value types in the order of the push/pop helper slots. */
export const REWIND_TYPES: readonly ValType[] = [I32, I64, F32, F64, V128, FUNCREF, EXTERNREF];

/** Helper slots of the appended table: push (value) → () per type, then pop () → value per type. */
export const SLOT_PUSH = 0;
export const SLOT_POP = REWIND_TYPES.length;
/** `peek(byte offset below the top) → i32`. */
export const SLOT_PEEK = 2 * REWIND_TYPES.length;
/** `sp() → i32`: the rewind stack's size in bytes (0: empty). */
export const SLOT_SP = SLOT_PEEK + 1;
/** `done()`: the rewind reached its end (the engine resets every `$state`). */
export const SLOT_DONE = SLOT_PEEK + 2;
/** `fail(code)`: throws the error `code` names (see {@link REWIND_FAILURES}). */
export const SLOT_FAIL = SLOT_PEEK + 3;
/** First trampoline slot: trampoline of defined function `i` at `SLOT_TRAMPOLINES + i`. */
export const SLOT_TRAMPOLINES = SLOT_PEEK + 4;

/** What `fail(code)` reports. */
export const REWIND_FAILURES: Readonly<Record<number, string>> = {
  1: 'the rewind found the frame of another module on top (a tail call across modules)',
  2: 'the rewind reached a different function than the one that saved the frame (a table entry changed since the snapshot)',
};

/** The type of helper slot `slot` (below {@link SLOT_TRAMPOLINES}). */
export function helperType(slot: number): FuncType {
  if (slot < SLOT_POP) return { params: [REWIND_TYPES[slot]!], results: [] };
  if (slot < SLOT_PEEK) return { params: [], results: [REWIND_TYPES[slot - SLOT_POP]!] };
  if (slot === SLOT_PEEK) return { params: [I32], results: [I32] };
  if (slot === SLOT_SP) return { params: [], results: [I32] };
  if (slot === SLOT_DONE) return { params: [], results: [] };
  return { params: [I32], results: [] };
}

/** States of the appended `$state` global. */
export const STATE_NORMAL = 0;
export const STATE_UNWINDING = 1;
export const STATE_REWINDING = 2;

/** The rewind pass's output: the module the rewrite takes instead of the original. */
export interface Asyncified {
  /** The transformed module (decoded: the rewrite walks its bytes). */
  readonly module: Module;
  /** Per defined function of the original: 1 when it was transformed. */
  readonly instrumented: Uint8Array;
  /** The appended `$state` global (index in the transformed module). */
  readonly stateGlobal: number;
  /** The appended helper table (index in the transformed module) and its size. */
  readonly helperTable: number;
  readonly helperTableSize: number;
  /** The tag in this module's records (never 0: the results record's tag). */
  readonly tag: number;
  /** Original absolute offset of absolute offset `offset` in defined function `defIndex` of {@link module}. */
  originalOffset(defIndex: number, offset: number): number;
}

const ALL_FEATURES: CoreFeatures = 0x1ff;

/** The legacy exception-handling instructions (try, catch, rethrow, delegate, catch_all). */
const LEGACY_EXCEPTION_OPS = new Set([0x06, 0x07, 0x09, 0x18, 0x19]);

/**
 * The pass transforms the exnref encoding (`try_table`, `throw`, `throw_ref`), not the legacy one:
 * a module using `try`/`catch`/`delegate`/`rethrow` is refused before anything is made.
 */
function refuseLegacyExceptions(m: Module): void {
  const op = new Int32Array(1);
  for (const body of m.codes) {
    for (let p = body.codeStart; p < body.codeEnd;) {
      p = nextInstr(m.bytes, p, op);
      if (LEGACY_EXCEPTION_OPS.has(op[0]!)) {
        throw new Error(
          'not supported: snapshots on the compiler engine in a module using the legacy exception-handling encoding ' +
            '(try/catch/delegate/rethrow): use try_table, or the interpreter',
        );
      }
    }
  }
}

/**
 * The refusal of an exnref a record would have to hold (a local, or a value live across a point):
 * V8 never hands an exnref to JS, so no copy of the rewind stack could keep it.
 */
function unsaveable(defIndex: number, nImp: number): Error {
  return new Error(
    `not supported: snapshots on the compiler engine: function ${nImp + defIndex} keeps an exnref (catch_ref, catch_all_ref) ` +
      'in a local or across a call that may take a snapshot (use the interpreter)',
  );
}
const OP_BLOCK = 0x02;
const OP_LOOP = 0x03;
const OP_IF = 0x04;
const OP_ELSE = 0x05;
const OP_END = 0x0b;
const OP_BR = 0x0c;
const OP_BR_IF = 0x0d;
const OP_BR_TABLE = 0x0e;
const OP_TRY_TABLE = 0x1f;
const OP_CALL = 0x10;
const OP_CALL_INDIRECT = 0x11;
const OP_RETURN_CALL = 0x12;
const OP_RETURN_CALL_INDIRECT = 0x13;

/**
 * Per defined function: 1 when it can be on the stack during a host call, i.e. it calls an import,
 * calls through a table, or calls (or tail-calls) such a function.
 */
export function rewindCandidates(m: Module): Uint8Array {
  const n = m.codes.length;
  const nImp = m.numImportedFuncs;
  const out = new Uint8Array(n);
  const callers: number[][] = [];
  for (let i = 0; i < n; i++) callers.push([]);
  const op = new Int32Array(1);
  const bytes = m.bytes;
  const queue: number[] = [];
  for (let i = 0; i < n; i++) {
    const body = m.codes[i]!;
    let p = body.codeStart;
    while (p < body.codeEnd) {
      const at = p;
      p = nextInstr(bytes, p, op);
      const code = op[0]!;
      if (code === OP_CALL || code === OP_RETURN_CALL) {
        const target = readLeb(bytes, at + 1);
        if (target < nImp) out[i] = 1;
        else callers[target - nImp]!.push(i);
      } else if (code === OP_CALL_INDIRECT || code === OP_RETURN_CALL_INDIRECT) {
        out[i] = 1;
      }
    }
    if (out[i] === 1) queue.push(i);
  }
  while (queue.length > 0) {
    const j = queue.pop()!;
    for (const c of callers[j]!) {
      if (out[c] === 0) {
        out[c] = 1;
        queue.push(c);
      }
    }
  }
  return out;
}

/** A point of a level: a site (`k` its number) or a block holding sites (`k` 0), at offset `at`. */
interface Point {
  readonly k: number;
  readonly at: number;
}

/** Operand types before a block/loop/if/call instruction, from the validator. */
interface Operands {
  readonly types: Uint8Array;
  readonly unreachable: boolean;
}

/** What the structure walk found in a body. */
interface BodyPlan {
  /** Site number (from 1) of each site instruction, by offset. */
  readonly sites: Map<number, number>;
  /** Site range of each block/loop/if holding sites, by offset. */
  readonly ranges: Map<number, readonly [number, number]>;
  /**
   * Points (sites, and blocks holding sites) per level in order, keyed by the level's opening
   * offset (-1: the function; the `else` offset for an else arm).
   */
  readonly points: Map<number, Point[]>;
  /** Whether the body makes tail calls that can leave another function's record on top. */
  readonly tail: boolean;
  readonly operands: Map<number, Operands>;
}

/** Per-module context of the transformation. */
interface Ctx {
  readonly m: Module;
  readonly candidates: Uint8Array;
  readonly stateGlobal: number;
  readonly helperTable: number;
  readonly tag: number;
  readonly typeIndex: (t: FuncType) => number;
  /** Type index of each helper slot's type. */
  readonly helperTypes: readonly number[];
  readonly validator: CodeValidator;
  readonly features: CoreFeatures;
  readonly declaredRefs: Uint8Array;
}

function planBody(c: Ctx, defIndex: number): BodyPlan {
  const m = c.m;
  const operands = new Map<number, Operands>();
  c.validator.observer = (at, _code, vals, from, to, unreachable) => {
    operands.set(at, { types: vals.slice(from, to), unreachable });
  };
  try {
    c.validator.validate({ module: m, features: c.features, declaredRefs: c.declaredRefs }, defIndex);
  } finally {
    c.validator.observer = undefined;
  }
  const body = m.codes[defIndex]!;
  const bytes = m.bytes;
  const nImp = m.numImportedFuncs;
  const sites = new Map<number, number>();
  const ranges = new Map<number, readonly [number, number]>();
  const points = new Map<number, Point[]>();
  let tail = false;
  let next = 1;
  // Levels: key, the structure's offset, whether live (its code can run), first site number.
  const keys: number[] = [-1];
  const structs: number[] = [-1];
  const live: boolean[] = [true];
  const first: number[] = [1];
  const addPoint = (key: number, point: Point): void => {
    const list = points.get(key);
    if (list === undefined) points.set(key, [point]);
    else list.push(point);
  };
  const op = new Int32Array(1);
  let p = body.codeStart;
  while (p < body.codeEnd) {
    const at = p;
    p = nextInstr(bytes, p, op);
    const code = op[0]!;
    const top = keys.length - 1;
    switch (code) {
      case OP_BLOCK:
      case OP_LOOP:
      case OP_IF:
      case OP_TRY_TABLE: {
        const o = operands.get(at);
        keys.push(at);
        structs.push(at);
        live.push(live[top]! && o !== undefined && !o.unreachable);
        first.push(next);
        break;
      }
      case OP_ELSE:
        keys[top] = at;
        break;
      case OP_END: {
        const s = structs.pop()!;
        keys.pop();
        live.pop();
        const f = first.pop()!;
        if (s >= 0 && next > f) {
          ranges.set(s, [f, next - 1]);
          addPoint(keys[keys.length - 1]!, { k: 0, at: s });
        }
        break;
      }
      case OP_CALL:
      case OP_CALL_INDIRECT:
      case OP_RETURN_CALL:
      case OP_RETURN_CALL_INDIRECT: {
        const o = operands.get(at);
        if (!live[top]! || o === undefined || o.unreachable) break;
        let site = code === OP_CALL_INDIRECT;
        if (code === OP_CALL || code === OP_RETURN_CALL) {
          const target = readLeb(bytes, at + 1);
          if (target < nImp) site = true;
          else if (c.candidates[target - nImp] === 1) {
            if (code === OP_CALL) site = true;
            else tail = true;
          }
        } else if (code === OP_RETURN_CALL_INDIRECT) {
          tail = true;
        }
        if (site) {
          addPoint(keys[top]!, { k: next, at });
          sites.set(at, next++);
        }
        break;
      }
    }
  }
  return { sites, ranges, points, tail, operands };
}

/** Emits a zero value of type `t`. */
function zero(w: ByteWriter, t: ValType): void {
  switch (t) {
    case I32:
      w.i32Const(0);
      return;
    case I64:
      w.i64Const(0n);
      return;
    case F32:
      w.f32Const(0);
      return;
    case F64:
      w.f64Const(0n);
      return;
    case V128:
      w.v128Const(new Uint8Array(16));
      return;
    default:
      w.refNull(t);
  }
}

/** The block type of a structure with params `params` and results `results`. */
function blockTypeOf(c: Ctx, params: readonly ValType[], results: readonly ValType[]): BlockType {
  if (params.length === 0 && results.length === 0) return BLOCK_EMPTY;
  if (params.length === 0 && results.length === 1) return blockResult(results[0]!);
  return c.typeIndex({ params, results });
}

/** Parameter and result types of the block type at `p`. */
function blockTypeAt(m: Module, b: Uint8Array, p: number): FuncType {
  const x = b[p]!;
  if (x === 0x40) return { params: [], results: [] };
  if ((x & 0xc0) === 0x40) return { params: [], results: [x] };
  return m.types[readLeb(b, p)]!;
}

/** A site whose call has returned: its unwind check and the reload of its operands are still to emit. */
interface Pending {
  readonly k: number;
  readonly results: readonly ValType[];
  readonly rTemps: readonly number[];
  readonly lTemps: readonly number[];
}

/** An original control frame during emission. */
interface Frame {
  /** Inserted labels open inside this frame (branches that leave it cross them). */
  extra: number;
  /** The points of the current level, and the index of the next one. */
  points: readonly Point[];
  next: number;
  /** Temps for the results of the next point when it is a site (allocated when its guard opens). */
  nextResults: number[];
  /** The level's params (an else arm starts with them again). */
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  /** The structure is a point: its entry wrapper is open in the parent. */
  readonly point: boolean;
  /** Spilled operands below the structure, reloaded after it. */
  readonly xTemps: readonly number[];
  /** Temps held until the structure's end (its condition, params and X operands). */
  readonly own: readonly number[];
  /**
   * The structure is a point whose results leave its entry wrapper as the wrapper's results (not
   * through temps): with nothing spilled below it, for results a record cannot hold (exnref).
   */
  readonly direct: boolean;
}

/**
 * The transformed body (see the module comment). Normal execution pays one `$state` test per
 * site (after the call: unwinding?) merged with the guard of the code that follows, and one per
 * entry of a block holding sites. Between two points the code runs in the else arm of
 *
 *     block $point
 *       global.get $state
 *       if            ;; unwinding from the previous site, or rewinding
 *         (unwinding: save the frame from the previous site)
 *         (rewinding: skip the next point unless the target is in it; the results record)
 *       else          ;; normal: reload the previous site's operands, the code, spill
 *       end
 *       the next site's call (made again when rewinding to it)
 *     end
 */
function transformBody(c: Ctx, defIndex: number, plan: BodyPlan): InstrumentedBody {
  const m = c.m;
  const body = m.codes[defIndex]!;
  const type = m.types[m.funcTypeIndices[defIndex]!]!;
  const bytes = m.bytes;
  const nImp = m.numImportedFuncs;
  const self = nImp + defIndex;
  const out = new ByteWriter(2 * (body.codeEnd - body.codeStart) + 256);
  const newStart: number[] = [];
  const origStart: number[] = [];
  const copied: number[] = [];
  let copyFrom = body.codeStart;
  const flush = (to: number): void => {
    if (to > copyFrom) {
      newStart.push(out.len);
      origStart.push(copyFrom);
      copied.push(1);
      out.bytes(bytes.subarray(copyFrom, to));
    }
    copyFrom = to;
  };
  /** Starts inserted code standing for the original instruction at `at`. */
  const insert = (at: number): void => {
    flush(at);
    newStart.push(out.len);
    origStart.push(at);
    copied.push(0);
  };

  // Locals: params, declared locals, then $site and the temps.
  const localTypes: ValType[] = [...type.params];
  for (const g of body.locals) for (let k = 0; k < g.count; k++) localTypes.push(g.type);
  const base = localTypes.length;
  const extraTypes: ValType[] = [I32];
  const siteLocal = base;
  // Temps per type, reused once free.
  const free = REWIND_TYPES.map(() => [] as number[]);
  for (const t of localTypes) if (!REWIND_TYPES.includes(t)) throw unsaveable(defIndex, nImp);
  const alloc = (t: ValType): number => {
    if (!REWIND_TYPES.includes(t)) throw unsaveable(defIndex, nImp);
    const f = free[REWIND_TYPES.indexOf(t)]!;
    if (f.length > 0) return f.pop()!;
    extraTypes.push(t);
    return base + extraTypes.length - 1;
  };
  const release = (temps: readonly number[]): void => {
    for (const t of temps) free[REWIND_TYPES.indexOf(extraTypes[t - base]!)]!.push(t);
  };
  const helper = (slot: number): void => {
    out.i32Const(slot).callIndirect(c.helperTypes[slot]!, c.helperTable);
  };
  const push = (t: ValType): void => helper(SLOT_PUSH + REWIND_TYPES.indexOf(t));
  const pop = (t: ValType): void => helper(SLOT_POP + REWIND_TYPES.indexOf(t));
  const state = (): void => void out.globalGet(c.stateGlobal);
  /** Spills values of `types` (top last) into fresh temps; returns the temps in order. */
  const spill = (types: ArrayLike<number>): number[] => {
    const temps: number[] = [];
    for (let i = 0; i < types.length; i++) temps.push(alloc(types[i]!));
    for (let i = temps.length - 1; i >= 0; i--) out.localSet(temps[i]!);
    return temps;
  };
  const reload = (temps: readonly number[]): void => {
    for (const t of temps) out.localGet(t);
  };
  const calleeOf = (at: number): FuncType => {
    const code = bytes[at]!;
    const x = readLeb(bytes, at + 1);
    return code === OP_CALL_INDIRECT ? m.types[x]! : m.types[m.funcTypeIndexSpace[x]!]!;
  };

  const frames: Frame[] = [];
  let totalExtra = 0;
  const addExtra = (f: Frame, d: number): void => {
    f.extra += d;
    totalExtra += d;
  };
  /** Labels between the current position (`inner` more) and $unwind. */
  const unwindDepth = (inner: number): number => inner + frames.length + totalExtra;
  const newDepth = (d: number): number => {
    let n = d;
    for (let j = 0; j <= d && j < frames.length; j++) n += frames[frames.length - 1 - j]!.extra;
    return n;
  };
  /** Unwinding after site `p`: save the frame (the innermost first saves the call's results). */
  const unwindCheck = (p: Pending, inner: number): void => {
    state();
    out.i32Const(STATE_UNWINDING).u8(0x46).if(BLOCK_EMPTY); // i32.eq
    helper(SLOT_SP);
    out.i32Eqz().if(BLOCK_EMPTY);
    for (let i = 0; i < p.rTemps.length; i++) {
      out.localGet(p.rTemps[i]!);
      push(p.results[i]!);
    }
    out.i32Const(0);
    push(I32);
    out.end();
    out
      .i32Const(p.k)
      .localSet(siteLocal)
      .br(unwindDepth(inner + 1));
    out.end();
  };
  /**
   * Opens the guard of the code before the next point of `f` (see the function comment); the
   * normal arm starts by reloading `reloads`, which are then free.
   */
  const openGuard = (f: Frame, params: readonly ValType[], pending: Pending | undefined, reloads: readonly number[]): void => {
    const bt = blockTypeOf(c, params, []);
    out.block(bt);
    state();
    out.if(bt);
    addExtra(f, 2);
    for (let i = 0; i < params.length; i++) out.u8(0x1a); // drop
    if (pending !== undefined) unwindCheck(pending, 0);
    const next = f.points[f.next]!;
    if (next.k > 0) {
      const results = calleeOf(next.at).results;
      f.nextResults = results.map(alloc);
      out.localGet(siteLocal).i32Const(next.k).u8(0x47).brIf(1); // not the target: skip the point
      out.i32Const(0);
      helper(SLOT_PEEK);
      out.i32Eqz().if(BLOCK_EMPTY); // the results record: the snapshotting host call returns them
      pop(I32);
      out.u8(0x1a);
      for (let i = results.length - 1; i >= 0; i--) {
        pop(results[i]!);
        out.localSet(f.nextResults[i]!);
      }
      helper(SLOT_DONE);
      out.br(2).end();
    }
    out.else();
    reload(reloads);
    release(reloads);
  };
  const newFrame = (
    points: readonly Point[],
    params: readonly ValType[],
    results: readonly ValType[],
    point: boolean,
    xTemps: readonly number[],
    own: readonly number[],
    direct = false,
  ): Frame => ({
    extra: 0,
    points,
    next: 0,
    nextResults: [],
    params,
    results,
    point,
    xTemps,
    own,
    direct,
  });
  /**
   * Writes the `try_table` header at `at` (ending at `to`) with its catch clauses' labels moved
   * past the labels inserted around it (the labels are resolved outside the try_table, so from the
   * current frame, before the try_table's own is pushed).
   */
  const tryTable = (at: number, to: number): void => {
    let q = at + 1;
    q = skipLeb(bytes, q); // the block type
    out.u8(OP_TRY_TABLE).bytes(bytes.subarray(at + 1, q));
    const n = readLeb(bytes, q);
    q = skipLeb(bytes, q);
    out.u32(n);
    for (let i = 0; i < n; i++) {
      const kind = bytes[q++]!;
      out.u8(kind);
      if (kind < 2) {
        out.u32(readLeb(bytes, q));
        q = skipLeb(bytes, q);
      }
      out.u32(newDepth(readLeb(bytes, q)));
      q = skipLeb(bytes, q);
    }
    if (q !== to) throw new Error('internal error: rewind pass: a try_table header was misread');
  };

  // Prologue: rewinding → pop the record into the locals. (Moving it into the rewinding arm of the
  // function's first guard saves a `$state` test per call but measured slower: fib 2.1× vs 1.7×.)
  let restoreAt = -1; // the pops of the locals are written there once every temp is known
  const prologue = (): void => {
    if (plan.tail) {
      // The record on top is another function's of this module: a tail call replaced this frame.
      out.i32Const(0);
      helper(SLOT_PEEK);
      out.i32Const(c.tag).u8(0x46); // i32.eq
      out.i32Const(4);
      helper(SLOT_PEEK);
      out.i32Const(self).u8(0x47).u8(0x71); // i32.ne, i32.and
      out.if(BLOCK_EMPTY).i32Const(4);
      helper(SLOT_PEEK);
      out.i32Const(SLOT_TRAMPOLINES - nImp).i32Add();
      out
        .u8(OP_RETURN_CALL_INDIRECT)
        .u32(c.typeIndex({ params: [], results: type.results }))
        .u32(c.helperTable);
      out.end();
    }
    pop(I32);
    out.i32Const(c.tag).u8(0x47).if(BLOCK_EMPTY).i32Const(1); // i32.ne
    helper(SLOT_FAIL);
    out.unreachable().end();
    pop(I32);
    out.i32Const(self).u8(0x47).if(BLOCK_EMPTY).i32Const(2);
    helper(SLOT_FAIL);
    out.unreachable().end();
    pop(I32);
    out.localSet(siteLocal);
    restoreAt = out.len;
  };
  insert(body.codeStart);
  const top = newFrame(plan.points.get(-1) ?? [], [], type.results, false, [], []);
  state();
  out.i32Const(STATE_REWINDING).u8(0x46).if(BLOCK_EMPTY); // i32.eq
  prologue();
  out.end();
  out.block(BLOCK_EMPTY); // $unwind
  out.block(blockTypeOf(c, [], type.results)); // $body: the function's own label
  frames.push(top);
  if (top.points.length > 0) openGuard(top, [], undefined, []);

  const op = new Int32Array(1);
  let p = body.codeStart;
  const end = body.codeEnd;
  while (p < end) {
    const at = p;
    p = nextInstr(bytes, p, op);
    const code = op[0]!;
    const f = frames[frames.length - 1]!;
    if (code === OP_BLOCK || code === OP_LOOP || code === OP_IF || code === OP_TRY_TABLE) {
      const bt = blockTypeAt(m, bytes, at + 1);
      const range = plan.ranges.get(at);
      if (range === undefined) {
        if (code === OP_TRY_TABLE && totalExtra > 0) {
          insert(at);
          tryTable(at, p);
          copyFrom = p;
        }
        frames.push(newFrame([], bt.params, bt.results, false, [], []));
        continue;
      }
      // A block holding sites: spill [X, P, (condition)], close the guard, enter when running
      // normally or when rewinding to a site inside.
      const o = plan.operands.get(at)!;
      insert(at);
      const n = o.types.length - (code === OP_IF ? 1 : 0);
      const cond = code === OP_IF ? spill([I32]) : [];
      const pTemps = spill(o.types.subarray(n - bt.params.length, n));
      const xTemps = spill(o.types.subarray(0, n - bt.params.length));
      out.end().end();
      addExtra(f, -2);
      f.next++;
      // Results a record cannot hold leave the wrapper as its results (nothing below them to reload).
      const direct = xTemps.length === 0 && bt.results.some((t) => !REWIND_TYPES.includes(t));
      state();
      out
        .i32Eqz()
        .localGet(siteLocal)
        .i32Const(range[0])
        .i32Sub()
        .i32Const(range[1] - range[0]);
      out
        .u8(0x4d)
        .u8(0x72)
        .if(direct ? blockTypeOf(c, [], bt.results) : BLOCK_EMPTY); // i32.le_u, i32.or
      addExtra(f, 1);
      reload(pTemps);
      reload(cond);
      if (code === OP_TRY_TABLE) {
        tryTable(at, p); // its catch clauses branch past the wrapper
      } else {
        copyFrom = at;
        flush(p); // the original header
      }
      const nf = newFrame(plan.points.get(at) ?? [], bt.params, bt.results, true, xTemps, [...cond, ...pTemps, ...xTemps], direct);
      frames.push(nf);
      insert(at);
      if (nf.points.length > 0) openGuard(nf, bt.params, undefined, []);
      copyFrom = p;
      continue;
    }
    if (code === OP_ELSE) {
      // The then arm's points are done (no guard is open after the last one).
      f.points = plan.points.get(at) ?? [];
      f.next = 0;
      if (f.points.length > 0) {
        flush(p);
        insert(at);
        openGuard(f, f.params, undefined, []);
        copyFrom = p;
      }
      continue;
    }
    if (code === OP_END) {
      if (frames.length === 1) {
        // The function's end: close $body and $unwind; the unwind path saves the frame.
        insert(at);
        out.end().return().end();
        const nLocals = base + extraTypes.length;
        for (let i = 0; i < nLocals; i++) {
          if (i === siteLocal) continue;
          out.localGet(i);
          push(i < base ? localTypes[i]! : extraTypes[i - base]!);
        }
        out.localGet(siteLocal);
        push(I32);
        out.i32Const(self);
        push(I32);
        out.i32Const(c.tag);
        push(I32);
        for (const t of type.results) zero(out, t);
        copyFrom = at; // the original final end
        flush(p);
        frames.pop();
        continue;
      }
      frames.pop();
      if (!f.point) continue;
      flush(p); // the original end
      insert(at);
      const parent = frames[frames.length - 1]!;
      if (f.direct) {
        // Not entered (rewinding to a later point): zeros stand for the results, dropped by the next guard.
        out.else();
        for (const t of f.results) zero(out, t);
        out.end(); // the entry wrapper
        addExtra(parent, -1);
        if (parent.next < parent.points.length) openGuard(parent, f.results, undefined, []);
        release(f.own);
        copyFrom = p;
        continue;
      }
      const rTemps = spill(f.results);
      out.end(); // the entry wrapper
      addExtra(parent, -1);
      if (parent.next < parent.points.length) {
        openGuard(parent, [], undefined, [...f.xTemps, ...rTemps]);
      } else {
        reload(f.xTemps);
        reload(rTemps);
        release(rTemps);
      }
      release(f.own);
      copyFrom = p;
      continue;
    }
    if (totalExtra > 0 && (code === OP_BR || code === OP_BR_IF || code === OP_BR_TABLE)) {
      insert(at);
      if (code === OP_BR_TABLE) {
        let q = at + 1;
        const n = readLeb(bytes, q);
        q = skipLeb(bytes, q);
        const targets: number[] = [];
        for (let i = 0; i < n; i++) {
          targets.push(newDepth(readLeb(bytes, q)));
          q = skipLeb(bytes, q);
        }
        out.brTable(targets, newDepth(readLeb(bytes, q)));
      } else {
        const d = newDepth(readLeb(bytes, at + 1));
        if (code === OP_BR) out.br(d);
        else out.brIf(d);
      }
      copyFrom = p;
      continue;
    }
    const k = plan.sites.get(at);
    if (k === undefined) continue;
    // A site: spill [L, args, (index)], close the guard, the call; the next guard reloads [L, results].
    const indirect = code === OP_CALL_INDIRECT;
    const tailImport = code === OP_RETURN_CALL;
    const callee = calleeOf(at);
    const o = plan.operands.get(at)!;
    insert(at);
    const nArgs = callee.params.length + (indirect ? 1 : 0);
    const n = o.types.length;
    const idx = indirect ? spill([I32]) : [];
    const aTemps = spill(o.types.subarray(n - nArgs, n - (indirect ? 1 : 0)));
    const lTemps = spill(o.types.subarray(0, n - nArgs));
    out.end(); // the guard's if
    reload(aTemps);
    reload(idx);
    if (tailImport) {
      out.call(readLeb(bytes, at + 1));
    } else {
      copyFrom = at;
      flush(p); // the original call: frames of callers point at it
      insert(at);
    }
    const rTemps = f.nextResults;
    for (let i = rTemps.length - 1; i >= 0; i--) out.localSet(rTemps[i]!);
    out.end(); // $point
    addExtra(f, -2);
    release(aTemps);
    release(idx);
    f.next++;
    const pending: Pending = { k, results: callee.results, rTemps, lTemps };
    if (tailImport) {
      unwindCheck(pending, 0);
      reload(rTemps);
      out.return();
      release(lTemps);
      release(rTemps);
    } else if (f.next < f.points.length) {
      openGuard(f, [], pending, [...lTemps, ...rTemps]);
    } else {
      unwindCheck(pending, 0);
      reload(lTemps);
      reload(rTemps);
      release(lTemps);
      release(rTemps);
    }
    copyFrom = p;
  }
  flush(end);
  // The pops of the locals (reverse of the pushes), now that every temp is known.
  const restore = new ByteWriter(64);
  const nLocals = base + extraTypes.length;
  for (let i = nLocals - 1; i >= 0; i--) {
    if (i === siteLocal) continue;
    const slot = SLOT_POP + REWIND_TYPES.indexOf(i < base ? localTypes[i]! : extraTypes[i - base]!);
    restore.i32Const(slot).callIndirect(c.helperTypes[slot]!, c.helperTable).localSet(i);
  }
  const code = out.written();
  const inserted = restore.written();
  const w = new ByteWriter(code.length + inserted.length + 64);
  w.u32(body.locals.length + extraTypes.length);
  for (const g of body.locals) w.u32(g.count).u8(g.type);
  for (const t of extraTypes) w.u32(1).u8(t);
  const localsLength = w.len;
  w.bytes(code.subarray(0, restoreAt)).bytes(inserted).bytes(code.subarray(restoreAt));
  // Segments after the restore code move by its length (the prologue's segment starts at 0).
  const ns = Int32Array.from(newStart, (s) => (s > 0 && s >= restoreAt ? s + inserted.length : s));
  return { encoded: w.finish(), localsLength, newStart: ns, origStart: Int32Array.from(origStart), copied: Uint8Array.from(copied) };
}

/**
 * The rewind transformation of `m` (see the module comment); `tag` marks this module's records
 * (non-zero, below 2^31). `features` are the runtime's (the output is decoded with every feature).
 */
export function asyncifyModule(m: Module, tag: number, features: CoreFeatures): Asyncified {
  refuseLegacyExceptions(m);
  const types = [...m.types];
  const key = (t: FuncType): string => `${t.params.join(',')}:${t.results.join(',')}`;
  const known = new Map<string, number>();
  for (let i = types.length - 1; i >= 0; i--) known.set(key(types[i]!), i); // the first of equal types
  const typeIndex = (t: FuncType): number => {
    const k = key(t);
    let i = known.get(k);
    if (i === undefined) {
      i = types.length;
      types.push(t);
      known.set(k, i);
    }
    return i;
  };
  const candidates = rewindCandidates(m);
  const n = m.codes.length;
  const nImp = m.numImportedFuncs;
  const declaredRefs = new Uint8Array(m.funcTypeIndexSpace.length).fill(1);
  const c: Ctx = {
    m,
    candidates,
    stateGlobal: m.globalSpace.length,
    helperTable: m.tableSpace.length,
    tag,
    typeIndex,
    helperTypes: Array.from({ length: SLOT_TRAMPOLINES }, (_, s) => typeIndex(helperType(s))),
    validator: new CodeValidator(),
    features,
    declaredRefs,
  };
  const codes: EncodableBody[] = m.codes.slice();
  const maps: Array<InstrumentedBody | undefined> = new Array<InstrumentedBody | undefined>(n).fill(undefined);
  let anyTail = false;
  const instrumented = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (candidates[i] === 0) continue;
    const plan = planBody(c, i);
    if (plan.tail) anyTail = true;
    const b = transformBody(c, i, plan);
    codes[i] = b;
    maps[i] = b;
    instrumented[i] = 1;
  }
  c.validator.release();
  const funcTypeIndices = [...m.funcTypeIndices];
  const elements: ElementSegment[] = [...m.elements];
  const size = anyTail ? SLOT_TRAMPOLINES + n : SLOT_TRAMPOLINES;
  if (anyTail) {
    // Trampolines: `() → results`, calling the function with zero arguments (its prologue restores them).
    for (let i = 0; i < n; i++) {
      if (instrumented[i] === 0) continue;
      const t = m.types[m.funcTypeIndices[i]!]!;
      const w = new ByteWriter(32).u32(0);
      for (const pt of t.params) zero(w, pt);
      w.u8(OP_RETURN_CALL)
        .u32(nImp + i)
        .end();
      const fi = nImp + codes.length;
      codes.push({ encoded: w.finish() });
      funcTypeIndices.push(typeIndex({ params: [], results: t.results }));
      elements.push({
        mode: 'active',
        tableIndex: c.helperTable,
        offsetExpr: { instrs: [{ op: 'i32.const', value: SLOT_TRAMPOLINES + i }], offset: -1 },
        elemType: FUNCREF,
        init: [{ instrs: [{ op: 'ref.func', funcIndex: fi }], offset: -1 }],
        offset: -1,
      });
    }
  }
  const table: TableType = { elemType: FUNCREF, limits: { min: size, max: size, shared: false } };
  const stateG: Global = {
    type: { valType: I32, mutable: true },
    init: { instrs: [{ op: 'i32.const', value: 0 }], offset: -1 },
    offset: -1,
  };
  const customSections: CustomSection[] = m.customSections.filter((s) => s.name === 'name');
  const enc = encodeModule(
    { ...m, types, funcTypeIndices, tables: [...m.tables, table], globals: [...m.globals, stateG], elements, codes, customSections },
    m,
  );
  const module = decodeModule(enc.bytes, ALL_FEATURES | features);
  const codeStart = new Int32Array(n);
  const delta = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    codeStart[i] = module.codes[i]!.codeStart;
    delta[i] = module.codes[i]!.codeStart - m.codes[i]!.codeStart;
  }
  return {
    module,
    instrumented,
    stateGlobal: c.stateGlobal,
    helperTable: c.helperTable,
    helperTableSize: size,
    tag,
    originalOffset(defIndex: number, offset: number): number {
      const b = maps[defIndex];
      if (b === undefined) return offset - (delta[defIndex] ?? 0);
      return mapInstrumentedOffset(b, offset - codeStart[defIndex]!);
    },
  };
}
