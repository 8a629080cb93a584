/**
 * TypeScript declarations of the matchers on Vitest's `Assertion` (module augmentation): importing
 * `wasmscope/vitest` anywhere in a project types `expect(x).toTrap(…)` and the others.
 */
import 'vitest';

/** The matchers `wasmscope/vitest` adds to `expect(…)`. */
export interface WasmMatchers<R = unknown> {
  /**
   * Calls the received function and passes when it traps with `trap` (exact trap text such as
   * `'integer divide by zero'`, or a RegExp tested on the trap text and the whole message); any
   * trap when omitted. With `.rejects`, checks the rejection instead.
   */
  toTrap(trap?: string | RegExp): R;
  /**
   * Passes when the received function throws `ExitError(code)`, the received error is one (with
   * `.rejects`), or the received module was closed with `code`.
   */
  toExitWith(code: number): R;
  /** Passes when the received module's (or memory's) bytes at `offset` are `expected` (a string compares as UTF-8). */
  toHaveMemory(offset: number, expected: Uint8Array | readonly number[] | string): R;
  /** Passes when the received module called the import `name` (`'env.log'`), with `args` (natural values) when given. */
  toHaveCalledImport(name: string, ...args: unknown[]): R;
  /** Matches the received module's call trace against the snapshot (`hint` names it among several). */
  toMatchCallTrace(hint?: string): R;
}

declare module 'vitest' {
  // The type parameter must repeat Vitest's own declaration exactly.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars
  interface Assertion<T = any> extends WasmMatchers<void> {}
}
