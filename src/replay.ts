/**
 * Record/replay of host calls (internal entry for the CLI and tests; users import these from
 * `wasmscope/wazerotest` or `wasmscope/vitest`).
 * @packageDocumentation
 */
export { decodeHostCallLog, formatHostCallLog, formatHostCallRecord, HOST_CALL_LOG_VERSION, HostCallLogError } from './replay/format.js';
export type { HostCallFunction, HostCallLog, HostCallOutcome, HostCallRecord, HostCallWrite } from './replay/format.js';
export { newHostCallLogBuffer, withHostCallRecorder } from './replay/recorder.js';
export type { HostCallLogBuffer, HostCallRecorderOptions } from './replay/recorder.js';
export { HostCallDivergenceError, replayHostCalls } from './replay/replay.js';
export type { HostCallDivergence, HostCallReplay } from './replay/replay.js';
