/**
 * The byte streams a module's system view is built from (Go's `io.Reader` and `io.Writer`): stdin,
 * stdout and stderr given to `ModuleConfig`, and the random source.
 */

/** Where bytes read by the guest come from (`read` returns the number of bytes read, 0 at EOF). */
export interface Reader {
  /** Fills `into` with up to `into.length` bytes; returns how many (0 at the end). */
  read(into: Uint8Array): number;
}

/** Where bytes written by the guest go. */
export interface Writer {
  /** Takes `chunk`, valid only during the call (copy it to keep it); the return value is ignored. */
  write(chunk: Uint8Array): unknown;
}
