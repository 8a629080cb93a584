/**
 * wazero's `sys.ExitError`: how a module's exit (WASI `proc_exit`, a context deadline or
 * cancellation) reaches the caller. It lives with the system layer, as in wazero; the runtime's
 * error module re-exports it.
 */

/** Exit code used when a module is closed because its context was canceled. */
export const EXIT_CODE_CONTEXT_CANCELED = 0xffffffff;
/** Exit code used when a module is closed because its context deadline passed. */
export const EXIT_CODE_DEADLINE_EXCEEDED = 0xefffffff;

/**
 * An exit: the module was closed (e.g. by WASI `proc_exit` or a context deadline) with `exitCode`.
 * Exported from `wasmscope/sys`.
 */
export class ExitError extends Error {
  /** Always `'ExitError'`. */
  override readonly name = 'ExitError';
  /** The exit code (uint32): `proc_exit`'s, or `EXIT_CODE_CONTEXT_CANCELED`/`EXIT_CODE_DEADLINE_EXCEEDED`. */
  readonly exitCode: number;

  constructor(exitCode: number) {
    super(exitErrorMessage(exitCode >>> 0));
    this.exitCode = exitCode >>> 0;
  }
}

function exitErrorMessage(code: number): string {
  if (code === EXIT_CODE_CONTEXT_CANCELED) return 'module closed with context canceled';
  if (code === EXIT_CODE_DEADLINE_EXCEEDED) return 'module closed with context deadline exceeded';
  return `module closed with exit_code(${code})`;
}
