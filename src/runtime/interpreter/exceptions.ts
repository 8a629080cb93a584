/**
 * Exception handling in the interpreter: handlers are data, not state. Lowering (lower.ts) gives
 * every function a table of its try ranges, innermost first, each with its catch clauses; nothing
 * runs when a `try` or `try_table` is entered (one NOP) and nothing is copied. A throw leaves the run
 * loop (a {@link ThrowSignal}); the driver searches the tables from the throwing frame outwards over
 * the explicit frame stack and resumes the loop at the handler, or lets the exception leave the
 * invocation as a {@link WasmException}.
 *
 * Handler-table entries (Int32 words): `start end kind n ...`, covering pcs `[start, end)`:
 * - kind 0, `try_table`: n clauses of `catchKind tag target dest` (catch, catch_ref, catch_all,
 *   catch_all_ref; `dest` the word offset the label's values go to);
 * - kind 1, legacy `try` with handlers: the exception's slot word (for `rethrow`), then n clauses of
 *   `catchKind tag target dest` (catch or catch_all: kinds 0 and 2);
 * - kind 2, legacy `delegate`: one word, a pc of the delegate's target block that only the tries
 *   around that block cover (-1: the function's label, i.e. the caller) — the search goes on from it.
 *
 * Listened frames an exception unwinds past get `abort` (with the exception as a WasmException), the
 * frame that catches it does not.
 */
import { WasmException, type Tag } from '../api/tag.js';
import { opensFrames } from '../store/hooks.js';
import type { TagInst } from '../store/tags.js';
import { rawToRef, refToRaw, type Machine } from './machine.js';
import { ExnInst, type FuncInst, type Ref } from './objects.js';

/** Thrown out of the run loop by THROW, THROW_REF and RETHROW (not an Error: no stack is captured). */
export class ThrowSignal {
  constructor(readonly exn: ExnInst) {}
}

/** The handler-table entry kinds (lower.ts writes them; 0 is a try_table). */
const H_CATCH = 1;
const H_DELEGATE = 2;

/** The exception the WasmException `e` carries, when the interpreter made it. */
const exnOfApi = new WeakMap<WasmException, ExnInst>();

/** Where a search resumes the loop (the driver's cursor). */
export interface Cursor {
  fn: FuncInst;
  pc: number;
  fp: number;
  depth: number;
}

/** A new exception of `tag` with the payload at word offset `w` of the value stack. */
export function newExn(m: Machine, tag: TagInst, w: number): ExnInst {
  const params = tag.type.params;
  let slots = 0;
  for (const t of params) slots += t === 0x7b ? 2 : 1;
  const words = m.i32.slice(w, w + 2 * slots);
  const refs: Array<Ref | undefined> = [];
  let s = 0;
  for (const t of params) {
    if (t === 0x70 || t === 0x6f || t === 0x69) refs[s] = m.refs[(w >> 1) + s];
    s += t === 0x7b ? 2 : 1;
  }
  return new ExnInst(tag, words, refs);
}

/** Writes `exn`'s payload at word offset `w`. */
function writePayload(m: Machine, exn: ExnInst, w: number): void {
  const words = exn.words;
  const i32 = m.i32;
  for (let j = 0; j < words.length; j++) i32[w + j] = words[j]!;
  const refs = exn.refs;
  for (let j = 0; j < refs.length; j++) if (refs[j] !== undefined) m.refs[(w >> 1) + j] = refs[j]!;
}

/**
 * The handler of `fn` (its instance's tags) at `pc` for `exn`, searched in `fn`'s table: writes the
 * payload (and the exception where the clause asks for it) into the frame at `fp` and returns the
 * handler's pc, or -1 when no try of `fn` catches it.
 */
function handlerIn(m: Machine, fn: FuncInst, pc: number, fp: number, exn: ExnInst): number {
  const h = fn.lowered!.handlers;
  const tags = fn.inst!.tags;
  let i = 0;
  while (i < h.length) {
    const start = h[i]!;
    const end = h[i + 1]!;
    const kind = h[i + 2]!;
    const n = h[i + 3]!;
    const covered = pc >= start && pc < end;
    if (kind === H_DELEGATE) {
      if (covered) {
        pc = n;
        if (pc < 0) return -1;
        i = 0;
        continue;
      }
      i += 4;
      continue;
    }
    const first = kind === H_CATCH ? i + 5 : i + 4;
    if (covered) {
      for (let j = 0; j < n; j++) {
        const q = first + 4 * j;
        const ck = h[q]!;
        if (ck < 2 && tags[h[q + 1]!] !== exn.tag) continue;
        const dest = fp + h[q + 3]!;
        if (ck < 2) writePayload(m, exn, dest);
        if (ck === 1) m.refs[(dest >> 1) + exn.words.length / 2] = exn;
        else if (ck === 3) m.refs[dest >> 1] = exn;
        if (kind === H_CATCH) m.refs[(fp + h[i + 4]!) >> 1] = exn;
        return h[q + 2]!;
      }
    }
    i = first + 4 * n;
  }
  return -1;
}

/**
 * Searches for a handler of `exn` from frame `at` (at its `pc`) outwards, down to the frame at
 * `baseDepth`. When one catches it, moves `at` to the handler, aborts the listened frames unwound
 * past (plus the open frames above `lsTop` — a host function's — first), clears their frame slots
 * and returns true. Otherwise changes nothing and returns false. `skipFirst`: `at` is gone (a host
 * function was tail-called in its place), the search starts in its caller.
 */
export function catchException(m: Machine, exn: ExnInst, at: Cursor, baseDepth: number, lsTop: number, skipFirst = false): boolean {
  let fn = at.fn;
  let pc = at.pc;
  let fp = at.fp;
  let depth = at.depth;
  let aborts = 0;
  let recorded = 0;
  let skip = skipFirst;
  let target: number;
  for (;;) {
    target = skip ? -1 : handlerIn(m, fn, pc, fp, exn);
    if (target >= 0) break;
    if (!skip && fn.listener !== undefined && opensFrames(fn.listener)) aborts++;
    if (!skip && fn.sinkId >= 0) recorded++;
    skip = false;
    if (depth === baseDepth) return false;
    depth--;
    fn = m.frFn[depth]!;
    // The caller's saved pc is past its call instruction; the call itself is one word earlier.
    pc = m.frPc[depth]! - 1;
    fp = m.frFp[depth]!;
  }
  for (let d = depth; d < at.depth; d++) m.frFn[d] = null;
  const ls = m.listeners;
  if (recorded > 0) m.ring!.unwindTo(m.ring!.depth() - recorded);
  if (ls.sp > lsTop - aborts) ls.abortAbove(lsTop - aborts, m.ctx, exceptionToApi(m, exn));
  at.fn = fn;
  at.pc = target;
  at.fp = fp;
  at.depth = depth;
  m.depth = depth;
  return true;
}

/** The WasmException standing for `exn` at the API (made once per exception). */
export function exceptionToApi(m: Machine, exn: ExnInst): WasmException {
  if (exn.api !== undefined) return exn.api;
  const params = exn.tag.params();
  const payload: bigint[] = [];
  let s = 0;
  const w = exn.words;
  for (const t of params) {
    if (t === 0x70 || t === 0x6f || (t as number) === 0x69) {
      payload.push(refToRaw(m, exn.refs[s]));
      s++;
    } else if (t === 0x7b) {
      payload.push(word64(w, 2 * s), word64(w, 2 * s + 2));
      s += 2;
    } else if (t === 0x7f || t === 0x7d) {
      payload.push(BigInt(w[2 * s]! >>> 0));
      s++;
    } else {
      payload.push(word64(w, 2 * s));
      s++;
    }
  }
  const e = new WasmException(exn.tag, payload);
  exn.api = e;
  exnOfApi.set(e, exn);
  return e;
}

function word64(w: Int32Array, i: number): bigint {
  return (BigInt(w[i + 1]! >>> 0) << 32n) | BigInt(w[i]! >>> 0);
}

/** The exception a WasmException thrown by the host stands for (the same one when the interpreter made it). */
export function exceptionFromApi(m: Machine, e: WasmException): ExnInst {
  const known = exnOfApi.get(e);
  if (known !== undefined) return known;
  const tag: Tag = e.tag;
  const params = tag.params();
  let slots = 0;
  for (const t of params) slots += t === 0x7b ? 2 : 1;
  const words = new Int32Array(2 * slots);
  const refs: Array<Ref | undefined> = [];
  let s = 0;
  for (const t of params) {
    const v = e.payload[s] ?? 0n;
    if (t === 0x70 || t === 0x6f || (t as number) === 0x69) {
      refs[s] = rawToRef(m, t, v);
      s++;
      continue;
    }
    words[2 * s] = Number(BigInt.asIntN(32, v));
    words[2 * s + 1] = t === 0x7f || t === 0x7d ? 0 : Number(BigInt.asIntN(32, v >> 32n));
    s++;
    if (t === 0x7b) {
      const hi = e.payload[s] ?? 0n;
      words[2 * s] = Number(BigInt.asIntN(32, hi));
      words[2 * s + 1] = Number(BigInt.asIntN(32, hi >> 32n));
      s++;
    }
  }
  const exn = new ExnInst(tag, words, refs);
  exn.api = e;
  exnOfApi.set(e, exn);
  return exn;
}
