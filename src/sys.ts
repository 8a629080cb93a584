/**
 * System-level types (wazero's `sys` package): exit errors.
 * @packageDocumentation
 */
export { ExitError, EXIT_CODE_CONTEXT_CANCELED, EXIT_CODE_DEADLINE_EXCEEDED } from './runtime/api/errors.js';
