/**
 * The pieces of a logging listener: the line being built, per-value loggers and wazero's generic
 * per-type configuration (`internal/logging.Config`).
 */
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { slotsOf } from '../runtime/api/value-type.js';
import { f32OfRaw, f64OfRaw, formatF32, formatF64, formatI32, formatI64, hex16 } from './logging-format.js';

/** The destination of a line (see `LogWriter`). */
export interface LineWriter {
  write(chunk: string | Uint8Array): unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * One log line. Text accumulates in a string; guest bytes that are not valid UTF-8 switch the line
 * to bytes, so memory contents are written exactly as wazero writes them.
 */
export class LogLine {
  #s = '';
  #bytes: Uint8Array[] | undefined;

  start(depth: number, prefix: string): void {
    this.#bytes = undefined;
    this.#s = depth === 0 ? prefix : '\t'.repeat(depth) + prefix;
  }
  str(s: string): void {
    if (this.#bytes === undefined) this.#s += s;
    else this.#bytes.push(encoder.encode(s));
  }
  /** Raw bytes from guest memory (copied: memory views are live). */
  bytes(b: Uint8Array): void {
    if (this.#bytes === undefined) {
      try {
        this.#s += utf8.decode(b);
        return;
      } catch {
        this.#bytes = [encoder.encode(this.#s)];
        this.#s = '';
      }
    }
    this.#bytes.push(b.slice());
  }
  writeTo(w: LineWriter): void {
    if (this.#bytes === undefined) {
      w.write(this.#s + '\n');
      return;
    }
    this.#bytes.push(encoder.encode('\n'));
    let n = 0;
    for (const b of this.#bytes) n += b.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const b of this.#bytes) {
      out.set(b, o);
      o += b.length;
    }
    this.#bytes = undefined;
    w.write(out);
  }
}

/** Logs a parameter (or several: a path and its length print as one). */
export type ParamLogger = (out: LogLine, mod: Module, params: BigUint64Array) => void;
/** Logs a result; `params` are the call's params (out-param pointers). */
export type ResultLogger = (out: LogLine, mod: Module, params: BigUint64Array, results: BigUint64Array) => void;
/** Whether a call is logged at all. */
export type ParamSampler = (mod: Module, params: BigUint64Array) => boolean;

/** How one function's calls print. */
export interface LogConfig {
  readonly params: readonly ParamLogger[];
  readonly results: readonly ResultLogger[];
  /** `false` means this call is not logged (wazero's ParamSampler). */
  readonly sampler: ParamSampler | undefined;
  /** Result loggers read params (out-param pointers) after the call. */
  readonly resultsNeedParams: boolean;
}

/** Slot index of each value: a v128 takes two slots (low word first). */
function slotIndexes(types: readonly number[]): number[] {
  const out: number[] = [];
  let slot = 0;
  for (const t of types) {
    out.push(slot);
    slot += slotsOf(t);
  }
  return out;
}

/** Writes the value of type `t` at `slot` of `vals`. */
export function valueWriter(t: number, slot: number): (out: LogLine, vals: BigUint64Array) => void {
  switch (t) {
    case 0x7f:
      return (out, vals) => out.str(formatI32(vals[slot] ?? 0n));
    case 0x7e:
      return (out, vals) => out.str(formatI64(vals[slot] ?? 0n));
    case 0x7d:
      return (out, vals) => out.str(formatF32(f32OfRaw(vals[slot] ?? 0n)));
    case 0x7c:
      return (out, vals) => out.str(formatF64(f64OfRaw(vals[slot] ?? 0n)));
    case 0x7b:
      return (out, vals) => out.str(hex16(vals[slot] ?? 0n) + hex16(vals[slot + 1] ?? 0n));
    case 0x70:
    case 0x6f:
      return (out, vals) => out.str(hex16(vals[slot] ?? 0n));
    default:
      throw new Error(`not supported: logging a value of type 0x${t.toString(16)}`);
  }
}

/** wazero's `logging.Config`: every param and result by type, `name=` when the function has names. */
export function genericConfig(def: FunctionDefinition): LogConfig {
  const pTypes = def.paramTypes();
  const pNames = def.paramNames();
  const pSlots = slotIndexes(pTypes);
  const params: ParamLogger[] = pTypes.map((t, i) => {
    const write = valueWriter(t, pSlots[i]!);
    const name = pNames.length > 0 ? pNames[i] : undefined;
    if (name === undefined) return (out, _mod, vals) => write(out, vals);
    const prefix = name + '=';
    return (out, _mod, vals) => {
      out.str(prefix);
      write(out, vals);
    };
  });
  const rTypes = def.resultTypes();
  const rNames = def.resultNames();
  const rSlots = slotIndexes(rTypes);
  const results: ResultLogger[] = rTypes.map((t, i) => {
    const write = valueWriter(t, rSlots[i]!);
    const name = rNames.length > 0 ? rNames[i] : undefined;
    if (name === undefined) return (out, _mod, _params, vals) => write(out, vals);
    const prefix = name + '=';
    return (out, _mod, _params, vals) => {
      out.str(prefix);
      write(out, vals);
    };
  });
  return { params, results, sampler: undefined, resultsNeedParams: false };
}
