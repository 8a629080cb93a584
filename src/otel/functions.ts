/**
 * What the tracing and metrics listeners know about one function: which functions are selected,
 * the attributes their spans and measurements carry (built once per function and module instance,
 * so a call allocates nothing for them), params as attribute values, and how an error reads.
 */
import { diag, type Attributes, type AttributeValue, type Span } from '@opentelemetry/api';
import { ExitError, HostFunctionError, WasmRuntimeError } from '../runtime/api/errors.js';
import { decodeF32, decodeF64 } from '../runtime/api/encoding.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { SnapshotRestore } from '../runtime/store/snapshots.js';
import { functionSourceLine } from '../runtime/store/trace.js';

/**
 * Which functions get spans (or measurements): `'exported'` — guest functions with an export name,
 * and every host function; `'all'` — every function; or a predicate on the function's definition.
 */
export type FunctionSelector = 'exported' | 'all' | ((def: FunctionDefinition) => boolean);

/** Receives what telemetry could not do (a tracer that threw, a predicate that threw); never rethrown. */
export type DiagnosticHandler = (error: unknown) => void;

/** The attribute names the listeners set. */
export const ATTR = {
  functionName: 'code.function.name',
  filePath: 'code.file.path',
  lineNumber: 'code.line.number',
  columnNumber: 'code.column.number',
  moduleName: 'wasm.module.name',
  functionIndex: 'wasm.function.index',
  callKind: 'wasm.call.kind',
  params: 'wasm.params',
  exitCode: 'wasm.exit_code',
  spansDropped: 'wasm.spans.dropped',
  errorType: 'error.type',
} as const;

/** The default diagnostic handler: OpenTelemetry's own diagnostic logger. */
export function diagError(error: unknown): void {
  diag.error('wasmscope/otel: telemetry failed', error);
}

/** `handler` (default {@link diagError}) made safe: a handler that throws is ignored. */
export function safeHandler(handler: DiagnosticHandler | undefined): DiagnosticHandler {
  const h = handler ?? diagError;
  return (error) => {
    try {
      h(error);
    } catch {
      // Nowhere left to report to: telemetry never throws into the guest.
    }
  };
}

/** Whether `def` is a host function (a function written in JS). */
export function isHost(def: FunctionDefinition): boolean {
  return def.hostFunction() !== undefined;
}

/**
 * The predicate for `selector`, never throwing: a user predicate that throws selects nothing and
 * reports to `report`.
 * @throws TypeError when `selector` is none of the accepted forms (a configuration error).
 */
export function selectorOf(selector: FunctionSelector | undefined, report: DiagnosticHandler): (def: FunctionDefinition) => boolean {
  if (selector === undefined || selector === 'exported') return (def) => isHost(def) || def.exportNames().length > 0;
  if (selector === 'all') return () => true;
  if (typeof selector !== 'function') throw new TypeError(`functions: expected 'exported', 'all' or a predicate, got ${String(selector)}`);
  return (def) => {
    try {
      return selector(def) === true;
    } catch (e) {
      report(e);
      return false;
    }
  };
}

/**
 * One selected function: its name, kind and the attributes every span or measurement of it
 * carries. Guest attributes depend on the module instance (`wasm.module.name` is the instance's
 * name), so they are rebuilt when a call comes from another instance than the last one.
 */
export class FunctionInfo {
  /** The span name: the function's debug name (`module.function`). */
  readonly name: string;
  readonly host: boolean;
  readonly def: FunctionDefinition;
  /** Calls seen, for 1-in-N sampling of nested calls. */
  calls = 0;
  readonly #paramTypes: readonly number[];
  #attributes: Attributes | undefined;
  #attributesOf: Module | undefined;
  /** `#attributes` as parallel arrays, for setting them one by one. */
  #keys: string[] = [];
  #values: AttributeValue[] = [];
  #source: Attributes | undefined;

  constructor(def: FunctionDefinition) {
    this.def = def;
    this.name = def.debugName();
    this.host = isHost(def);
    this.#paramTypes = def.paramTypes();
  }

  /** The attributes of a call of this function in module instance `mod` (the listener's `mod`). */
  attributes(mod: Module): Attributes {
    // A host function's `mod` is its caller, so its attributes never change.
    if (this.#attributes !== undefined && (this.host || mod === this.#attributesOf)) return this.#attributes;
    const a: Attributes = {
      [ATTR.functionName]: this.name,
      [ATTR.moduleName]: this.host ? this.def.moduleName() : mod.name(),
      [ATTR.functionIndex]: this.def.index(),
      [ATTR.callKind]: this.host ? 'host' : 'guest',
      ...this.#sourceAttributes(),
    };
    this.#attributes = a;
    this.#attributesOf = mod;
    this.#keys = Object.keys(a);
    this.#values = this.#keys.map((k) => a[k]!);
    return a;
  }

  /**
   * Sets the attributes of a call in `mod` on a recording span. Set after the span started rather
   * than passed to `startSpan`: the SDK validates start attributes twice and copies them (about
   * twice the cost), and only recording spans pay this way.
   */
  setAttributes(span: Span, mod: Module): void {
    this.attributes(mod);
    const keys = this.#keys;
    const values = this.#values;
    for (let i = 0; i < keys.length; i++) span.setAttribute(keys[i]!, values[i]!);
  }

  /** `code.file.path`, `code.line.number`, `code.column.number` from DWARF, looked up once. */
  #sourceAttributes(): Attributes {
    if (this.#source !== undefined) return this.#source;
    const line = this.host ? undefined : functionSourceLine(this.def);
    const a: Attributes = {};
    if (line !== undefined) {
      a[ATTR.filePath] = line.file;
      a[ATTR.lineNumber] = line.line;
      if (line.column > 0) a[ATTR.columnNumber] = line.column;
    }
    this.#source = a;
    return a;
  }

  /** The params as attribute values: natural values by type, as text (i64 does not fit a double). */
  params(raw: BigUint64Array): string[] {
    const out: string[] = [];
    let s = 0;
    for (const t of this.#paramTypes) {
      const v = raw[s++] ?? 0n;
      switch (t) {
        case 0x7f:
          out.push(String(BigInt.asIntN(32, v)));
          break;
        case 0x7e:
          out.push(String(BigInt.asIntN(64, v)));
          break;
        case 0x7d:
          out.push(String(decodeF32(v)));
          break;
        case 0x7c:
          out.push(String(decodeF64(v)));
          break;
        case 0x7b: {
          const hi = raw[s++] ?? 0n;
          out.push(`0x${hi.toString(16).padStart(16, '0')}${v.toString(16).padStart(16, '0')}`);
          break;
        }
        default:
          out.push(v === 0n ? 'null' : `0x${v.toString(16)}`);
      }
    }
    return out;
  }
}

/** How an error that ended a call reads on a span. */
export interface CallError {
  /** The status message: the error's first line (`wasm error: unreachable`). */
  readonly message: string;
  /** Set for exits (`proc_exit`, a closed context): the exit code. */
  readonly exitCode: number | undefined;
  /** The error's class name (`WasmRuntimeError`, `ExitError`, `Error`, …) for `error.type`. */
  readonly type: string;
  /** Whether the call did not fail but was discarded by a snapshot restore (no exception to record). */
  readonly discarded: boolean;
}

/** Describes `err`, the final error a listener's `abort` receives. */
export function describeError(err: unknown): CallError {
  if (err instanceof ExitError) return { message: err.message, exitCode: err.exitCode, type: 'ExitError', discarded: false };
  if (err instanceof SnapshotRestore) return { message: err.message, exitCode: undefined, type: err.name, discarded: true };
  // A host function's error reads as the error the host code threw.
  if (err instanceof HostFunctionError) return describeError(err.cause);
  if (err instanceof Error) {
    const nl = err.message.indexOf('\n');
    return { message: nl < 0 ? err.message : err.message.slice(0, nl), exitCode: undefined, type: err.name, discarded: false };
  }
  return { message: String(err), exitCode: undefined, type: typeof err, discarded: false };
}

/**
 * `err` as OpenTelemetry's `Exception`: a trap's `stack` is its wasm stack trace (the message, which
 * starts with `wasm error: <trap>` and lists the frames), not the JS stack of the engine; a host
 * function's error is the error the host code threw, its stack the wasm stack trace and the host's
 * JS frames.
 */
export function exceptionOf(err: unknown): { name: string; message: string; stack?: string } | string {
  if (err instanceof WasmRuntimeError) return { name: err.name, message: `wasm error: ${err.trap}`, stack: err.message };
  // A host function's error: the host's own error, with the wasm stack trace (and the host's JS frames) as its stack.
  if (err instanceof HostFunctionError) {
    const c = err.cause;
    return c instanceof Error
      ? { name: c.name, message: c.message, stack: err.stack ?? err.message }
      : { name: typeof c, message: String(c), stack: err.message };
  }
  if (err instanceof Error) return err.stack === undefined ? { name: err.name, message: err.message } : err;
  return String(err);
}
