/**
 * `wasmscope/otel`: not implemented yet (see the README's limits). Importing it throws a clear error
 * rather than offering a partial API.
 * @packageDocumentation
 */
throw new Error('not supported: wasmscope/otel is not implemented yet');

export {};
