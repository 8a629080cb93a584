/**
 * Logging function listeners (wazero's `experimental/logging`): `newLoggingListenerFactory` logs every
 * call, `newHostLoggingListenerFactory` only host interactions, filtered by {@link LogScopes}.
 * @experimental
 * @packageDocumentation
 */
export {
  LogScopeAll,
  LogScopeClock,
  LogScopeFilesystem,
  LogScopeMemory,
  LogScopeNone,
  LogScopePoll,
  LogScopeProc,
  LogScopeRandom,
  LogScopeSock,
  logScopesEnabled,
  logScopesString,
  newHostLoggingListenerFactory,
  newLoggingListenerFactory,
  parseLogScopes,
} from './listeners/logging.js';
export type { LogScopes, LogWriter } from './listeners/logging.js';
