/**
 * The byte streams a module's system view is built from (Go's `io.Reader` and `io.Writer`): stdin,
 * stdout and stderr given to `ModuleConfig`, and the random source.
 */

/** Where bytes read by the guest come from (`read` returns the number of bytes read, 0 at EOF). */
export interface Reader {
  read(into: Uint8Array): number;
}

/** Where bytes written by the guest go. */
export interface Writer {
  write(chunk: Uint8Array): unknown;
}
