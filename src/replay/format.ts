/**
 * The host-call log format: a compact binary stream of records, written as calls happen (so a crash
 * loses at most the call in progress) and read back whole.
 *
 * ```
 * log     = magic "WSHC" (57 53 48 43), version 01, record*
 * record  = tag:u8 fields
 * 01 FUNC    id, module:str, name:str, nparams, type:u8 × nparams, nresults, type:u8 × nresults
 * 02 CALL    id, slot × (param slots of the function)          a call begins (calls nest)
 * 03 WRITE   offset, length, byte × length                       memory the innermost open call wrote
 * 04 GROW    pages                                               its memory's size after the call
 * 05 RETURN  slot × (result slots of the function)               the innermost open call returned
 * 06 EXIT    code                                                it ended with ExitError(code)
 * 07 ERROR   kind:u8 (0 trap, 1 other), message:str             it threw (trap text, or the message)
 * ```
 * Integers (ids, offsets, lengths, pages, codes and raw uint64 slots) are unsigned LEB128; `str` is a
 * LEB128 byte length then UTF-8. Types are the binary value-type bytes (0x7f i32 …); a v128 takes
 * two slots. FUNC records come first for every function of a recorded host module (at its compile),
 * so a replay can provide functions the run never called.
 */
import { slotsOfTypes, valueTypeName } from '../runtime/api/value-type.js';

const MAGIC = [0x57, 0x53, 0x48, 0x43];
/** The format version this code writes and reads. */
export const HOST_CALL_LOG_VERSION = 1;

/** Record tags. */
export const Tag = { Func: 1, Call: 2, Write: 3, Grow: 4, Return: 5, Exit: 6, Error: 7 } as const;

/** A host function declared in a log. */
export interface HostCallFunction {
  /** Its id in CALL records. */
  readonly id: number;
  /** The import module name (the host module's name). */
  readonly module: string;
  /** The import name (the function's export name). */
  readonly name: string;
  /** Parameter types (`ValueType` bytes). */
  readonly params: readonly number[];
  /** Result types. */
  readonly results: readonly number[];
}

/** A range of memory a host call wrote, with its bytes after the call. */
export interface HostCallWrite {
  /** Where the range starts in the caller's memory. */
  readonly offset: number;
  /** Its bytes after the call. */
  readonly bytes: Uint8Array;
}

/** How a recorded call ended. */
export type HostCallOutcome =
  | {
      /** The call returned. */
      readonly kind: 'returned';
      /** Its raw result slots. */
      readonly results: readonly bigint[];
    }
  | {
      /** The call exited the module (`proc_exit`, a closed context). */
      readonly kind: 'exited';
      /** The exit code. */
      readonly exitCode: number;
    }
  | {
      /** The call trapped. */
      readonly kind: 'trapped';
      /** The trap text. */
      readonly trap: string;
    }
  | {
      /** The host function threw. */
      readonly kind: 'threw';
      /** The message of what it threw. */
      readonly message: string;
    }
  | {
      /** The log ends inside the call (the process died during it). */
      readonly kind: 'unfinished';
    };

/** One recorded host call. */
export interface HostCallRecord {
  /** Position among all calls, in the order they began (0-based). */
  readonly index: number;
  /** 0 for a call from the guest; more for a call made while another host call was running. */
  readonly depth: number;
  /** The host function called. */
  readonly function: HostCallFunction;
  /** Raw param slots. */
  readonly params: readonly bigint[];
  /** Memory written during the call (by the host, or by guest code it called), in address order. */
  readonly writes: readonly HostCallWrite[];
  /** The memory's size in pages after the call, when the call changed it. */
  readonly grownToPages: number | undefined;
  /** How the call ended. */
  readonly outcome: HostCallOutcome;
}

/** A decoded log. */
export interface HostCallLog {
  /** Every function of the recorded host modules. */
  readonly functions: readonly HostCallFunction[];
  /** Every call, in the order they began. */
  readonly calls: readonly HostCallRecord[];
}

/** A growable byte buffer for one record at a time (internal). */
export class RecordWriter {
  #buf = new Uint8Array(256);
  #n = 0;
  #ensure(extra: number): void {
    if (this.#n + extra <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#n + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#n));
    this.#buf = next;
  }
  byte(b: number): this {
    this.#ensure(1);
    this.#buf[this.#n++] = b;
    return this;
  }
  /** Unsigned LEB128 of a non-negative integer below 2^53. */
  u(v: number): this {
    this.#ensure(8);
    let x = v;
    while (x >= 0x80) {
      this.#buf[this.#n++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.#buf[this.#n++] = x;
    return this;
  }
  /** Unsigned LEB128 of a raw uint64. */
  u64(v: bigint): this {
    if (v < 0x1_0000_0000n) return this.u(Number(v));
    this.#ensure(10);
    let x = v;
    while (x >= 0x80n) {
      this.#buf[this.#n++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.#buf[this.#n++] = Number(x);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#n);
    this.#n += b.length;
    return this;
  }
  str(s: string): this {
    const b = utf8.encode(s);
    return this.u(b.length).bytes(b);
  }
  /** A copy of what was written since the last take, and a reset. */
  take(): Uint8Array {
    const out = this.#buf.slice(0, this.#n);
    this.#n = 0;
    return out;
  }
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** The header every log starts with. */
export function logHeader(): Uint8Array {
  return Uint8Array.from([...MAGIC, HOST_CALL_LOG_VERSION]);
}

/** A malformed host-call log (bad magic, unknown version or tag, truncated record). */
export class HostCallLogError extends Error {
  /** Always `'HostCallLogError'`. */
  override readonly name = 'HostCallLogError';
}

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  #fail(what: string): never {
    throw new HostCallLogError(`host-call log: ${what} at byte ${this.pos}`);
  }
  byte(): number {
    if (this.pos >= this.b.length) this.#fail('unexpected end');
    return this.b[this.pos++]!;
  }
  u(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 0x80;
    }
    return this.#fail('integer too long');
  }
  u64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    return this.#fail('integer too long');
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.b.length) this.#fail(`record of ${n} bytes past the end`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  str(): string {
    return utf8Decoder.decode(this.take(this.u()));
  }
  fail(what: string): never {
    return this.#fail(what);
  }
}

interface OpenCall {
  index: number;
  depth: number;
  fn: HostCallFunction;
  params: bigint[];
  writes: HostCallWrite[];
  grownToPages: number | undefined;
}

/**
 * Decodes a whole log.
 * @throws HostCallLogError when the bytes are not a log of this version, or a record is malformed.
 */
export function decodeHostCallLog(bytes: Uint8Array): HostCallLog {
  const r: Reader = new Reader(bytes);
  for (const m of MAGIC) if (r.byte() !== m) r.fail('not a wasmscope host-call log (bad magic)');
  const version = r.byte();
  if (version !== HOST_CALL_LOG_VERSION) r.fail(`unsupported version ${version}`);
  const functions: HostCallFunction[] = [];
  const byId = new Map<number, HostCallFunction>();
  const calls: Array<HostCallRecord | undefined> = [];
  const open: OpenCall[] = [];
  const finish = (outcome: HostCallOutcome): void => {
    const c = open.pop();
    if (c === undefined) r.fail('call end without a call');
    calls[c.index] = {
      index: c.index,
      depth: c.depth,
      function: c.fn,
      params: c.params,
      writes: c.writes,
      grownToPages: c.grownToPages,
      outcome,
    };
  };
  while (r.pos < bytes.length) {
    const tag = r.byte();
    switch (tag) {
      case Tag.Func: {
        const id = r.u();
        const module = r.str();
        const name = r.str();
        const params = Array.from(r.take(r.u()));
        const results = Array.from(r.take(r.u()));
        const fn: HostCallFunction = { id, module, name, params, results };
        functions.push(fn);
        byId.set(id, fn);
        break;
      }
      case Tag.Call: {
        const id = r.u();
        const fn = byId.get(id);
        if (fn === undefined) r.fail(`call of undeclared function ${id}`);
        const params: bigint[] = [];
        for (let i = slotsOfTypes(fn.params); i > 0; i--) params.push(r.u64());
        open.push({ index: calls.length, depth: open.length, fn, params, writes: [], grownToPages: undefined });
        calls.push(undefined);
        break;
      }
      case Tag.Write: {
        const c = open[open.length - 1];
        if (c === undefined) r.fail('memory write outside a call');
        const offset = r.u();
        c.writes.push({ offset, bytes: r.take(r.u()).slice() });
        break;
      }
      case Tag.Grow: {
        const c = open[open.length - 1];
        if (c === undefined) r.fail('memory grow outside a call');
        c.grownToPages = r.u();
        break;
      }
      case Tag.Return: {
        const c = open[open.length - 1];
        if (c === undefined) r.fail('return outside a call');
        const results: bigint[] = [];
        for (let i = slotsOfTypes(c.fn.results); i > 0; i--) results.push(r.u64());
        finish({ kind: 'returned', results });
        break;
      }
      case Tag.Exit:
        finish({ kind: 'exited', exitCode: r.u() });
        break;
      case Tag.Error: {
        const kind = r.byte();
        const message = r.str();
        finish(kind === 0 ? { kind: 'trapped', trap: message } : { kind: 'threw', message });
        break;
      }
      default:
        r.fail(`unknown record tag 0x${tag.toString(16)}`);
    }
  }
  while (open.length > 0) finish({ kind: 'unfinished' });
  return { functions, calls: calls as HostCallRecord[] };
}

/** Raw slots of `types` printed as natural values (`i32` signed, `i64` with `n`, floats by bits). */
export function formatSlots(types: readonly number[], raw: readonly bigint[]): string {
  const out: string[] = [];
  let s = 0;
  for (const t of types) {
    const v = raw[s++] ?? 0n;
    switch (t) {
      case 0x7f:
        out.push(String(Number(BigInt.asIntN(32, v))));
        break;
      case 0x7e:
        out.push(`${BigInt.asIntN(64, v)}n`);
        break;
      case 0x7d:
      case 0x7c: {
        const dv = new DataView(new ArrayBuffer(8));
        if (t === 0x7d) {
          dv.setUint32(0, Number(v & 0xffffffffn));
          out.push(String(dv.getFloat32(0)));
        } else {
          dv.setBigUint64(0, v);
          out.push(String(dv.getFloat64(0)));
        }
        break;
      }
      case 0x7b:
        out.push(`v128(0x${(raw[s++] ?? 0n).toString(16).padStart(16, '0')}${v.toString(16).padStart(16, '0')})`);
        break;
      default:
        out.push(`${valueTypeName(t)}(${v === 0n ? 'null' : 'ref'})`);
    }
  }
  return out.join(', ');
}

/** One call as `module.name(params)`. */
export function formatCallHead(fn: HostCallFunction, params: readonly bigint[]): string {
  return `${fn.module}.${fn.name}(${formatSlots(fn.params, params)})`;
}

function hex(b: Uint8Array, max: number): string {
  const parts: string[] = [];
  for (let i = 0; i < Math.min(b.length, max); i++) parts.push(b[i]!.toString(16).padStart(2, '0'));
  return parts.join(' ') + (b.length > max ? ` … (${b.length} bytes)` : '');
}

/** One recorded call as readable text: head, outcome, then its memory writes (first 32 bytes each). */
export function formatHostCallRecord(c: HostCallRecord): string {
  const o = c.outcome;
  const end =
    o.kind === 'returned'
      ? `→ (${formatSlots(c.function.results, o.results)})`
      : o.kind === 'exited'
        ? `→ exit(${o.exitCode})`
        : o.kind === 'trapped'
          ? `→ trap: ${o.trap}`
          : o.kind === 'threw'
            ? `→ threw: ${o.message}`
            : '→ (unfinished)';
  const lines = [`#${c.index} ${'  '.repeat(c.depth)}${formatCallHead(c.function, c.params)} ${end}`];
  if (c.grownToPages !== undefined) lines.push(`    memory grown to ${c.grownToPages} pages`);
  for (const w of c.writes) lines.push(`    wrote [0x${w.offset.toString(16)}, +${w.bytes.length}): ${hex(w.bytes, 32)}`);
  return lines.join('\n');
}

/** A whole log as readable text, one call per line (plus its writes). */
export function formatHostCallLog(log: HostCallLog): string {
  return log.calls.map(formatHostCallRecord).join('\n');
}
