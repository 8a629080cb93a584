/**
 * Where in a binary a {@link CompileError} was found. Every field is optional because some errors
 * (e.g. a missing section) have no single position.
 */
export interface CompileErrorPosition {
  /** Section name (`type`, `import`, `code`, …, or `custom:<name>`). */
  readonly section?: string;
  /** Function index (imports counted first) for errors inside a function body. */
  readonly functionIndex?: number;
  /** Byte offset in the binary. */
  readonly offset?: number;
}

function formatPosition(p: CompileErrorPosition): string {
  const parts: string[] = [];
  if (p.section !== undefined) parts.push(`section ${p.section}`);
  if (p.functionIndex !== undefined) parts.push(`function[${p.functionIndex}]`);
  if (p.offset !== undefined) parts.push(`offset 0x${p.offset.toString(16)}`);
  return parts.join(', ');
}

/**
 * A module that is malformed (cannot be decoded) or invalid (fails validation).
 * The message names the section, function index and byte offset where known.
 */
export class CompileError extends Error {
  /** Always `'CompileError'`. */
  override readonly name = 'CompileError';
  /** The reason without position, e.g. `type mismatch`. */
  readonly reason: string;
  /** The section of the error (`type`, `code`, `custom:name`, …), when known. */
  readonly section: string | undefined;
  /** The function index (imports counted first), for an error in a function body. */
  readonly functionIndex: number | undefined;
  /** The byte offset in the binary, when known. */
  readonly offset: number | undefined;
  /** `malformed` for decoding errors, `invalid` for validation errors. */
  readonly kind: 'malformed' | 'invalid';

  constructor(reason: string, position: CompileErrorPosition = {}, kind: 'malformed' | 'invalid' = 'malformed') {
    const where = formatPosition(position);
    super(where === '' ? `${kind} module: ${reason}` : `${kind} module: ${reason} (${where})`);
    this.reason = reason;
    this.section = position.section;
    this.functionIndex = position.functionIndex;
    this.offset = position.offset;
    this.kind = kind;
  }
}

/** A missing or mistyped import, reported by instantiation. */
export class LinkError extends Error {
  /** Always `'LinkError'`. */
  override readonly name = 'LinkError';
}

/**
 * The closed set of trap texts, as wazero words them.
 */
export const Trap = {
  /** An `unreachable` instruction ran. */
  Unreachable: 'unreachable',
  /** An integer division or remainder by zero. */
  IntegerDivideByZero: 'integer divide by zero',
  /** An integer overflow (`INT_MIN / -1`, or a float out of range converted to an integer). */
  IntegerOverflow: 'integer overflow',
  /** A NaN converted to an integer. */
  InvalidConversionToInteger: 'invalid conversion to integer',
  /** A memory access (or a data segment) out of bounds. */
  OutOfBoundsMemoryAccess: 'out of bounds memory access',
  /** A table access out of bounds, or a call through a null element. */
  InvalidTableAccess: 'invalid table access',
  /** A `call_indirect` whose element's type differs from the expected one. */
  IndirectCallTypeMismatch: 'indirect call type mismatch',
  /** The call stack is too deep. */
  StackOverflow: 'stack overflow',
  /** An atomic access at an unaligned address. */
  UnalignedAtomic: 'unaligned atomic',
  /** `memory.atomic.wait` on a memory that is not shared. */
  ExpectedSharedMemory: 'expected shared memory',
  /** Too many waiters on one address. */
  TooManyWaiters: 'too many waiters',
  /** `throw_ref` of a null exnref (exception handling). */
  NullExceptionReference: 'null exception reference',
} as const;
export type Trap = (typeof Trap)[keyof typeof Trap];

/**
 * A trap: the guest did something the spec forbids at run time. `trap` is one of {@link Trap};
 * the message is `wasm error: <trap>` followed by `wasm stack trace:` frames, innermost first.
 */
export class WasmRuntimeError extends Error {
  /** Always `'WasmRuntimeError'`. */
  override readonly name = 'WasmRuntimeError';
  /** The trap, one of {@link Trap}. */
  readonly trap: Trap;
  /** Frames, innermost first, as printed under `wasm stack trace:` (without the leading tab). */
  stackFrames: string[];
  readonly #prefix: string;

  /**
   * @param trap - the trap text.
   * @param stackFrames - frames, innermost first.
   * @param options - `prefix` goes before `wasm error:` (wazero's `module[m] function[_start] failed: `);
   *   `cause` is the error this one reports again (e.g. the trap of a start function).
   */
  constructor(trap: Trap, stackFrames: string[] = [], options?: { readonly prefix?: string; readonly cause?: unknown }) {
    const prefix = options?.prefix ?? '';
    super(
      formatTrapMessage(`${prefix}wasm error: ${trap}`, stackFrames),
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.trap = trap;
    this.stackFrames = stackFrames;
    this.#prefix = prefix;
  }

  /** Replaces the frames (used by engines after unwinding) and rebuilds the message. */
  setStackFrames(frames: string[]): void {
    this.stackFrames = frames;
    this.message = formatTrapMessage(`${this.#prefix}wasm error: ${this.trap}`, frames);
  }
}

/**
 * An error thrown by a host function called from a guest, as wazero reports it: the host error's
 * message, then the `wasm stack trace:` of the call — the host function's own frame first, then the
 * guest frames under it. The value the host function threw is the {@link HostFunctionError.cause}.
 *
 * Note: `ExitError`s, traps ({@link WasmRuntimeError}) and errors of a host function called directly
 * (not from a guest) are not wrapped.
 */
export class HostFunctionError extends Error {
  /** Always `'HostFunctionError'`. */
  override readonly name = 'HostFunctionError';
  /** What the host function threw. */
  override readonly cause: unknown;
  /** Frames, innermost first (the host function's frame first), as printed under `wasm stack trace:`. */
  stackFrames: string[];
  readonly #head: string;
  readonly #jsFrames: string;

  /**
   * @param cause - what the host function threw.
   * @param stackFrames - the frames known so far, innermost first.
   * @param options - `prefix` goes before the host error's message (wazero's
   *   `module[m] function[_start] failed: `).
   */
  constructor(cause: unknown, stackFrames: string[] = [], options?: { readonly prefix?: string }) {
    const head = (options?.prefix ?? '') + (cause instanceof Error ? cause.message : String(cause));
    super(formatTrapMessage(head, stackFrames));
    this.cause = cause;
    this.stackFrames = stackFrames;
    this.#head = head;
    // The JS stack worth reading is where the host code threw, not where it was wrapped.
    const original = cause instanceof Error && typeof cause.stack === 'string' ? cause.stack : '';
    const at = original.indexOf('\n    at ');
    this.#jsFrames = at < 0 ? '' : original.slice(at);
    this.#setStack();
  }

  /** Replaces the frames (used by engines as the error leaves guest frames) and rebuilds the message. */
  setStackFrames(frames: string[]): void {
    this.stackFrames = frames;
    this.message = formatTrapMessage(this.#head, frames);
    this.#setStack();
  }

  #setStack(): void {
    Object.defineProperty(this, 'stack', {
      value: `${this.name}: ${this.message}${this.#jsFrames}`,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}

/** Formats `head` plus a `wasm stack trace:` block (nothing when there are no frames). */
export function formatTrapMessage(head: string, frames: readonly string[]): string {
  if (frames.length === 0) return head;
  return `${head}\nwasm stack trace:\n\t${frames.join('\n\t')}`;
}

export { ExitError, EXIT_CODE_CONTEXT_CANCELED, EXIT_CODE_DEADLINE_EXCEEDED } from '../../sys/exit.js';

/**
 * A snapshot restore that cannot happen: the snapshot belongs to another call, or its call has
 * finished (a snapshot is valid only while the call that took it runs). Host frames between the
 * restore and the caller still run their `finally` blocks.
 */
export class SnapshotError extends Error {
  /** Always `'SnapshotError'`. */
  override readonly name = 'SnapshotError';
}
