/**
 * Turning V8's wasm errors into wazero's: trap texts and `wasm stack trace:` frames rebuilt from
 * `Error.stack`.
 *
 * V8 words traps its own way (and one text can cover two wazero traps); frames look like
 * `at name (wasm://wasm/<module name>-<hash>:wasm-function[<index>]:0x<offset>)`, where the module
 * name of a rewritten guest carries its compiled-module id (see rewrite.ts) and the offset is in the
 * rewritten binary.
 */
import { Trap, WasmRuntimeError } from '../runtime/api/errors.js';
import type { FunctionDefinition } from '../runtime/api/module.js';
import type { Module as IrModule } from '../runtime/binary/module.js';
import { appendTrace, hostFunctionError, isStackOverflow, isTracedError, type TracedError } from '../runtime/store/hooks.js';
import type { TraceFrame } from '../runtime/store/trace.js';
import { HELPER_ENTRY_NAME } from './boundary.js';

/** What the trap mapper needs to know about a compiled guest. */
export interface FrameSource {
  readonly defs: readonly FunctionDefinition[];
  readonly numImportedFuncs: number;
  /** Original offset of V8 offset `offset` in defined function `funcIndex`. */
  originalOffset(funcIndex: number, offset: number): number;
  /** Refines an ambiguous `call_indirect` trap at an original offset (see engine.ts). */
  refineIndirect(funcIndex: number, offset: number): Trap;
  /** The trap an appended precise-trap function stands for (instrument.ts), else undefined. */
  trapOfFunction(funcIndex: number): Trap | undefined;
  /** The original module (DWARF lines of its frames). */
  readonly module: IrModule;
  /** Whether its frames get DWARF source lines (`withDebugInfoEnabled`). */
  readonly debugInfo: boolean;
}

/** Frames V8 must capture so that the 30 guest frames wazero prints survive helper and JS frames. */
export const STACK_TRACE_LIMIT = 64;

/**
 * V8's trap texts (Node 20's V8 11.3 and Node 24's V8 13.x; older wordings kept where they
 * differ) → wazero's. `undefined` entries need the frame to decide.
 */
const TRAP_TEXTS: ReadonlyArray<readonly [string, Trap | undefined]> = [
  ['unreachable', Trap.Unreachable],
  ['memory access out of bounds', Trap.OutOfBoundsMemoryAccess],
  // `data segment out of bounds`, `data segment 0 is out of bounds (offset …)`, `… has been dropped`.
  ['data segment', Trap.OutOfBoundsMemoryAccess],
  ['divide by zero', Trap.IntegerDivideByZero],
  ['remainder by zero', Trap.IntegerDivideByZero],
  ['divide result unrepresentable', Trap.IntegerOverflow],
  // V8 uses one text for NaN and out-of-range operands; wazero says "invalid conversion to
  // integer" for NaN. Without precise traps (instrument.ts) the likelier trap in real programs is
  // chosen; with them a NaN traps in `$nanTrap` first.
  ['float unrepresentable in integer range', Trap.IntegerOverflow],
  ['integer result unrepresentable', Trap.IntegerOverflow],
  ['table index is out of bounds', Trap.InvalidTableAccess],
  ['element segment', Trap.InvalidTableAccess],
  ['table access out of bounds', Trap.InvalidTableAccess],
  ['null function or function signature mismatch', undefined],
  ['function signature mismatch', Trap.IndirectCallTypeMismatch],
  ['null function', Trap.InvalidTableAccess],
  ['operation does not support unaligned accesses', Trap.UnalignedAtomic],
  ['Atomics.wait cannot be called in this context', Trap.ExpectedSharedMemory],
  ['rethrowing null value', Trap.NullExceptionReference],
];

function trapOfMessage(message: string): Trap | undefined | 'ambiguous' {
  // Instantiation errors carry a `WebAssembly.Instance(): ` prefix.
  const text = message.replace(/^WebAssembly\.[A-Za-z]+\(\): /, '');
  for (const [t, trap] of TRAP_TEXTS) if (text === t || text.startsWith(t)) return trap ?? 'ambiguous';
  return undefined;
}

const FRAME_RE = /wasm:\/\/wasm\/([^:)\s]*):wasm-function\[(\d+)\]:0x([0-9a-f]+)/;

/** The compiled guests of one engine, found by the module name in a V8 frame URL. */
export interface FrameSources {
  /** The guest a frame URL (`<module name>-<hash>`) belongs to, if it is one of this engine's. */
  sourceOf(url: string): FrameSource | undefined;
}

/** Where the next invocation's frames start in a trap's V8 stack text. */
interface TraceState {
  readonly lines: readonly string[];
  /** Index in `lines` after the last entry-helper frame consumed. */
  cursor: number;
  /** Whether the error left through a host function since the last invocation's frames. */
  viaHost: boolean;
}

const traces = new WeakMap<TracedError, TraceState>();

function frameOf(src: FrameSource, funcIndex: number, offset: number): TraceFrame {
  return { definition: src.defs[funcIndex]!, module: src.debugInfo ? src.module : undefined, offset };
}

/**
 * Maps a thrown value to a {@link WasmRuntimeError} when it is a V8 trap or stack overflow;
 * anything else (ExitError, errors of host functions called from the API) is returned unchanged. The frames attached
 * ({@link appendTrace}) are the guest frames of the innermost invocation (up to its entry helper);
 * when an already mapped trap passes a host function ({@link hostFrameError}) and reaches an outer
 * invocation, that invocation's frames are appended, as the interpreter does.
 *
 * @param sources - the compiled guest of each module id of this engine seen in frame URLs.
 */
export function toWasmError(e: unknown, sources: FrameSources): unknown {
  if (isTracedError(e)) {
    const st = traces.get(e);
    if (st !== undefined && st.viaHost) {
      st.viaHost = false;
      const frames: TraceFrame[] = [];
      collect(st, frames, sources, undefined);
      appendTrace(e, frames);
    }
    return e;
  }
  let trap: Trap | undefined | 'ambiguous';
  if (e instanceof WebAssembly.RuntimeError) trap = trapOfMessage(e.message);
  else if (isStackOverflow(e)) trap = Trap.StackOverflow;
  if (trap === undefined) return e;
  const st: TraceState = { lines: ((e as Error).stack ?? '').split('\n'), cursor: 0, viaHost: false };
  const frames: TraceFrame[] = [];
  const t0 = trap;
  let first = true;
  trap =
    collect(st, frames, sources, (src, funcIndex, offset) => {
      if (t0 === 'ambiguous' && first) {
        first = false;
        return src.refineIndirect(funcIndex, offset);
      }
      first = false;
      return undefined;
    }) ?? trap;
  if (trap === 'ambiguous') trap = Trap.InvalidTableAccess;
  const err = new WasmRuntimeError(trap);
  appendTrace(err, frames);
  traces.set(err, st);
  return err;
}

/**
 * Appends the guest frames from `st.cursor` to the next entry-helper frame; returns the trap a
 * precise-trap function (innermost) or `onFrame` names, if any.
 */
function collect(
  st: TraceState,
  frames: TraceFrame[],
  sources: FrameSources,
  onFrame: ((src: FrameSource, funcIndex: number, offset: number) => Trap | undefined) | undefined,
): Trap | undefined {
  let named: Trap | undefined;
  const first = frames.length;
  const lines = st.lines;
  let i = st.cursor;
  for (; i < lines.length; i++) {
    const m = FRAME_RE.exec(lines[i]!);
    if (m === null) continue;
    const url = m[1]!;
    if (url.startsWith(HELPER_ENTRY_NAME)) {
      i++;
      break;
    }
    const src = sources.sourceOf(url);
    if (src === undefined) continue;
    const funcIndex = Number(m[2]);
    const precise = src.trapOfFunction(funcIndex);
    if (precise !== undefined) {
      // The innermost frame is a precise-trap function: it names the trap and is not shown.
      if (frames.length === first) named = precise;
      continue;
    }
    if (src.defs[funcIndex] === undefined) continue;
    const offset = src.originalOffset(funcIndex, parseInt(m[3]!, 16));
    frames.push(frameOf(src, funcIndex, offset));
    const t = onFrame?.(src, funcIndex, offset);
    if (t !== undefined && named === undefined) named = t;
  }
  st.cursor = i;
  return named;
}

/**
 * What error `e`, leaving host function `def` (called from a guest), is thrown on as: a host error
 * becomes a {@link hostFunctionError} whose guest frames are those under this host call (a stack
 * captured here); a traced error gets `def`'s frame, and the next invocation boundary it reaches
 * appends its own guest frames.
 */
export function hostFrameError(e: unknown, def: FunctionDefinition): unknown {
  const err = hostFunctionError(e);
  if (!isTracedError(err)) return err;
  let st = traces.get(err);
  if (st === undefined) {
    // A fresh host error (or a trap the host function made itself): the guest frames under this host call are on the JS stack right now.
    st = { lines: (new Error().stack ?? '').split('\n'), cursor: 0, viaHost: false };
    traces.set(err, st);
  }
  appendTrace(err, [{ definition: def, module: undefined, offset: undefined }]);
  st.viaHost = true;
  return err;
}

/** The trap of an instantiation error from V8 (segments), or undefined when it is something else. */
export function instantiationTrap(e: unknown): Trap | undefined {
  if (!(e instanceof WebAssembly.RuntimeError)) return undefined;
  const t = trapOfMessage(e.message);
  return t === 'ambiguous' ? Trap.InvalidTableAccess : t;
}

/**
 * Calls `onFrame` for each guest frame of a V8 `stack` text, innermost first, up to the first entry
 * helper frame (the boundary of the current call from JS), with the original offset of the frame's
 * instruction (a caller's pending call). Returns whether the entry frame was reached.
 */
export function parseGuestFrames(
  stack: string,
  sources: FrameSources,
  onFrame: (src: FrameSource, funcIndex: number, offset: number) => void,
): boolean {
  let from = 0;
  for (;;) {
    const nl = stack.indexOf('\n', from);
    const line = nl < 0 ? stack.slice(from) : stack.slice(from, nl);
    from = nl + 1;
    const m = FRAME_RE.exec(line);
    if (m !== null) {
      const url = m[1]!;
      if (url.startsWith(HELPER_ENTRY_NAME)) return true;
      const src = sources.sourceOf(url);
      if (src !== undefined) {
        const funcIndex = Number(m[2]);
        if (src.trapOfFunction(funcIndex) === undefined && src.defs[funcIndex] !== undefined) {
          onFrame(src, funcIndex, src.originalOffset(funcIndex, parseInt(m[3]!, 16)));
        }
      }
    }
    if (nl < 0) return false;
  }
}
