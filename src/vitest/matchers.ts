/**
 * The matchers of `wasmscope/vitest`, for `expect.extend(matchers)`. Each failure says what was
 * expected and what happened, with the wasm stack trace (DWARF source lines where the guest has
 * them) and the import involved, in plain text (no colours, so messages read the same everywhere).
 */
import { Snapshots, type MatcherState } from 'vitest';
import { ExitError, WasmRuntimeError } from '../runtime/api/errors.js';
import type { Memory, Module } from '../runtime/api/module.js';
import { ModuleInstance } from '../runtime/store/module-instance.js';
import { callTraceOf } from './call-trace.js';
import { importCallsOf, isTracked, type ImportCall } from './import-calls.js';

/** What a matcher returns to Vitest. */
export interface WasmMatcherResult {
  /** Whether the assertion holds (before `.not`). */
  readonly pass: boolean;
  /** The failure message. */
  readonly message: () => string;
  /** The actual value, for Vitest's diff. */
  readonly actual?: unknown;
  /** The expected value, for Vitest's diff. */
  readonly expected?: unknown;
}

/** A plain-text rendering of a value (bigints with `n`, strings quoted, arrays and errors readable). */
export function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `bytes [${hex(v)}]`;
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (typeof v === 'function') return v.name === '' ? 'a function' : `function ${v.name}`;
  if (v !== null && typeof v === 'object' && 'asymmetricMatch' in v && typeof (v as { toString(): string }).toString === 'function') {
    return (v as { toString(): string }).toString();
  }
  if (v !== null && typeof v === 'object') {
    try {
      return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
    } catch {
      return String(v);
    }
  }
  return String(v);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

const indent = (s: string): string =>
  s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/** The outcome of running a `toTrap`/`toExitWith` subject. */
type Outcome = { kind: 'returned'; value: unknown } | { kind: 'threw'; error: unknown } | { kind: 'invalid'; why: string };

function run(received: unknown, matcher: string): Outcome {
  if (typeof received === 'function') {
    let value: unknown;
    try {
      value = (received as () => unknown)();
    } catch (e) {
      return { kind: 'threw', error: e };
    }
    if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
      return {
        kind: 'invalid',
        why: `${matcher} got a function that returned a Promise: use \`await expect(promise).rejects.${matcher}(…)\` for asynchronous calls`,
      };
    }
    return { kind: 'returned', value };
  }
  if (received instanceof Error) return { kind: 'threw', error: received };
  return { kind: 'invalid', why: `${matcher} expects a function to call (or an error, with \`.rejects\`), got ${show(received)}` };
}

/** `err` or the first error in its `cause` chain that is a `T`. */
function find<T>(err: unknown, type: new (...a: never[]) => T): T | undefined {
  let e: unknown = err;
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    if (e instanceof type) return e;
    e = e instanceof Error ? e.cause : undefined;
  }
  return undefined;
}

function describeOutcome(o: Outcome): string {
  if (o.kind === 'returned') return `it returned ${show(o.value)}`;
  if (o.kind === 'invalid') return o.why;
  const trap = find(o.error, WasmRuntimeError);
  if (trap !== undefined) return `it trapped:\n${indent(trap.message)}`;
  const exit = find(o.error, ExitError);
  if (exit !== undefined) return `it exited with code ${exit.exitCode}`;
  return `it threw ${o.error instanceof Error ? `${o.error.name}: ${o.error.message}` : show(o.error)}`;
}

function trapMatches(trap: WasmRuntimeError, expected: string | RegExp | undefined): boolean {
  if (expected === undefined) return true;
  if (typeof expected === 'string') return trap.trap === expected;
  return expected.test(trap.trap) || expected.test(trap.message);
}

/**
 * Passes when calling the received function traps (a `WasmRuntimeError`, also as the `cause` of a
 * start-function failure) with trap text `expected` (string: the exact trap text such as
 * `'integer divide by zero'`; RegExp: tested on the trap text and on the whole message, stack trace
 * included); any trap when `expected` is omitted.
 */
function toTrap(this: MatcherState, received: unknown, expected?: string | RegExp): WasmMatcherResult {
  const o = run(received, 'toTrap');
  const trap = o.kind === 'threw' ? find(o.error, WasmRuntimeError) : undefined;
  const pass = o.kind !== 'invalid' && trap !== undefined && trapMatches(trap, expected);
  const want =
    expected === undefined ? 'a trap' : typeof expected === 'string' ? `the trap "${expected}"` : `a trap matching ${String(expected)}`;
  return {
    pass,
    message: () =>
      o.kind === 'invalid'
        ? o.why
        : this.isNot && pass
          ? `expected no ${want.replace(/^(a|the) /, '')}, but it trapped:\n${indent(trap!.message)}`
          : `expected ${want}, but ${describeOutcome(o)}`,
    actual: trap?.trap,
    expected: typeof expected === 'string' ? expected : undefined,
  };
}

function exitCodeOf(o: Outcome): number | undefined {
  if (o.kind === 'threw') return find(o.error, ExitError)?.exitCode;
  if (o.kind === 'returned' && o.value instanceof ModuleInstance && o.value.isClosed()) return o.value.exitCode();
  return undefined;
}

/**
 * Passes when the received subject exited with `code`: a function that throws `ExitError(code)`
 * (directly or as a `cause`), an `ExitError` (with `.rejects`), or a module closed with `code` (a
 * WASI command whose `_start` called `proc_exit(0)` resolves to its closed module).
 */
function toExitWith(this: MatcherState, received: unknown, code: number): WasmMatcherResult {
  const o: Outcome = received instanceof ModuleInstance ? { kind: 'returned', value: received } : run(received, 'toExitWith');
  const actual = exitCodeOf(o);
  const pass = actual === code >>> 0;
  return {
    pass,
    message: () =>
      o.kind === 'invalid'
        ? o.why
        : this.isNot && pass
          ? `expected no exit with code ${code}, but it exited with code ${actual}`
          : o.kind === 'returned' && o.value instanceof ModuleInstance
            ? `expected exit code ${code}, but module[${o.value.name()}] ${o.value.isClosed() ? `was closed with exit code ${o.value.exitCode()}` : 'is still open (its start function returned)'}`
            : `expected exit code ${code}, but ${describeOutcome(o)}`,
    actual,
    expected: code >>> 0,
  };
}

function memoryOf(received: unknown): Memory | undefined {
  if (received !== null && typeof received === 'object') {
    if ('readByte' in received) return received as Memory;
    if ('memory' in received && typeof (received as Module).memory === 'function') return (received as Module).memory();
  }
  return undefined;
}

const utf8 = new TextEncoder();

/**
 * Passes when the received module's memory (or the received memory) holds `expected` at `offset`:
 * bytes, an array of byte values, or a string compared as its UTF-8 bytes.
 */
function toHaveMemory(
  this: MatcherState,
  received: unknown,
  offset: number,
  expected: Uint8Array | readonly number[] | string,
): WasmMatcherResult {
  const mem = memoryOf(received);
  const want = typeof expected === 'string' ? utf8.encode(expected) : Uint8Array.from(expected);
  const where = `[${offset}, ${offset + want.length}) (0x${offset.toString(16)})`;
  if (mem === undefined) {
    return { pass: false, message: () => `toHaveMemory expects a module with a memory, or a memory; got ${show(received)}` };
  }
  const got = mem.read(offset, want.length);
  if (got === undefined) {
    return {
      pass: false,
      message: () => `expected memory ${where} to hold ${show(want)}, but it is outside memory of ${mem.size()} bytes`,
    };
  }
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      first = i;
      break;
    }
  }
  const pass = first < 0;
  const asText = (b: Uint8Array): string =>
    typeof expected === 'string' ? ` (as text: ${JSON.stringify(new TextDecoder().decode(b))})` : '';
  const copy = got.slice();
  return {
    pass,
    message: () =>
      pass
        ? `expected memory ${where} not to hold ${show(want)}${asText(want)}, but it does`
        : `expected memory ${where} to hold\n  ${hex(want)}${asText(want)}\nbut it holds\n  ${hex(copy)}${asText(copy)}\nfirst difference at ${offset + first} (0x${(offset + first).toString(16)}): expected 0x${want[first]!.toString(16).padStart(2, '0')}, got 0x${copy[first]!.toString(16).padStart(2, '0')}`,
    actual: hex(copy),
    expected: hex(want),
  };
}

function showCall(c: ImportCall, i: number): string {
  const end =
    c.outcome.kind === 'returned' ? (c.outcome.value === undefined ? '' : ` → ${show(c.outcome.value)}`) : ` ✗ ${show(c.outcome.error)}`;
  return `#${i + 1} ${c.import}(${c.args.map(show).join(', ')})${end}`;
}

function showStack(c: ImportCall, which: string): string {
  return c.stack.length === 0 ? '' : `\nwasm stack trace of ${which}:\n${c.stack.map((l) => `\t${l}`).join('\n')}`;
}

/**
 * Passes when the received module called the import `name` (`'env.log'`) — with exactly `args` as
 * natural values when given (asymmetric matchers such as `expect.any(Number)` work). Calls are known
 * for guests instantiated through `mockImports`, and for host modules compiled with
 * `withImportTracking` (the `wasmTest` runtime's WASI, for one).
 */
function toHaveCalledImport(this: MatcherState, received: unknown, name: string, ...args: unknown[]): WasmMatcherResult {
  if (received === null || typeof received !== 'object' || typeof (received as Module).exportedFunction !== 'function') {
    return { pass: false, message: () => `toHaveCalledImport expects a module, got ${show(received)}` };
  }
  const mod = received as Module;
  const all = importCallsOf(mod);
  const calls = all.filter((c) => c.import === name);
  const withArgs = args.length > 0;
  const matching = withArgs ? calls.findIndex((c) => this.equals(c.args, args)) : calls.length > 0 ? 0 : -1;
  const pass = matching >= 0;
  const want = `${name}${withArgs ? `(${args.map(show).join(', ')})` : ''}`;
  const modName = `module[${mod.name()}]`;
  return {
    pass,
    message: () => {
      if (pass) {
        const c = calls[matching]!;
        return `expected ${modName} not to call ${want}, but it did (call ${showCall(c, all.indexOf(c))})${showStack(c, 'that call')}`;
      }
      if (all.length === 0 && !isTracked(mod)) {
        return `expected ${modName} to call ${want}, but no import calls are recorded for it: instantiate it through mockImports(), or compile its host modules with withImportTracking(ctx) (the wasmTest runtime does for WASI)`;
      }
      if (calls.length === 0) {
        const others = [...new Set(all.map((c) => c.import))];
        return `expected ${modName} to call ${want}, but ${name} was never called${others.length > 0 ? ` (it called ${others.join(', ')})` : ' (it called no import)'}`;
      }
      const last = calls[calls.length - 1]!;
      return `expected ${modName} to call ${want}, but ${name} was called ${calls.length} time${calls.length === 1 ? '' : 's'} with other arguments:\n${calls
        .slice(0, 20)
        .map((c) => `  ${showCall(c, all.indexOf(c))}`)
        .join('\n')}${calls.length > 20 ? `\n  … ${calls.length - 20} more` : ''}${showStack(last, 'the last call')}`;
    },
    actual: calls.map((c) => c.args),
    expected: withArgs ? args : undefined,
  };
}

/**
 * Matches the received module's call trace (see `withCallTrace`: guest and host calls as an
 * indented tree with natural values, no timings or addresses, identical on both engines) against
 * the test's snapshot.
 */
function toMatchCallTrace(this: MatcherState, received: unknown, hint?: string): WasmMatcherResult {
  const trace = received !== null && typeof received === 'object' ? callTraceOf(received as Module) : undefined;
  if (trace === undefined) {
    return {
      pass: false,
      message: () =>
        `toMatchCallTrace: no call trace for ${show(received)}: compile the module with withCallTrace(ctx), or run the test with wasmTest.override({ callTrace: true })`,
    };
  }
  return Snapshots.toMatchSnapshot.call(this, trace, hint);
}

/** The matchers, for `expect.extend(matchers)`. */
export const matchers = {
  /** `expect(fn).toTrap(text | RegExp)`: `fn` (or the promise, with `.rejects`) fails with that trap. */
  toTrap,
  /** `expect(fn).toExitWith(code)`: `fn` exits the module with `code` (an `ExitError`). */
  toExitWith,
  /** `expect(mod).toHaveMemory(offset, bytes | string)`: the guest's memory holds those bytes there. */
  toHaveMemory,
  /** `expect(mod).toHaveCalledImport('env.log', ...args)`: the guest called that import with those natural values. */
  toHaveCalledImport,
  /** `expect(mod).toMatchCallTrace(hint?)`: the module's call trace matches its snapshot. */
  toMatchCallTrace,
} as const;
