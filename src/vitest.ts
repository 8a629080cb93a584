/**
 * `wasmscope/vitest`: unit-testing wasm guests with Vitest — matchers (`expect.extend(matchers)`),
 * the `wasmTest` fixture, mocked imports, call-trace snapshots, guest-memory helpers and record/replay
 * of host calls. Vitest (≥ 4.1) is a peer dependency, loaded only by this entry point.
 * @packageDocumentation
 */
import './vitest/types.js';

export type { WasmMatchers } from './vitest/types.js';
export { matchers } from './vitest/matchers.js';
export type { WasmMatcherResult } from './vitest/matchers.js';
export { newCapturedOutput, wasmTest } from './vitest/fixture.js';
export type { CapturedOutput, WasmTestEngine, WasmTestFixtures } from './vitest/fixture.js';
export { mockImports } from './vitest/mock-imports.js';
export type { MockedImports } from './vitest/mock-imports.js';
export { currentImportCall } from './runtime/store/import-object.js';
export type { ImportCallContext, ImportImplementation, ImportImplementations } from './runtime/store/import-object.js';
export { clearImportCalls, importCallsOf, withImportTracking } from './vitest/import-calls.js';
export type { ImportCall } from './vitest/import-calls.js';
export { callTraceOf, clearCallTrace, withCallTrace } from './vitest/call-trace.js';
export type { CallTraceOptions } from './vitest/call-trace.js';
export {
  readAssemblyScriptString,
  readCString,
  readString,
  readTypedArray,
  readUtf16String,
  writeCString,
  writeTypedArray,
  writeUtf16String,
} from './vitest/memory.js';
export type { GuestMemory, GuestTypedArray, TypedArrayConstructor } from './vitest/memory.js';
export {
  decodeHostCallLog,
  formatHostCallLog,
  formatHostCallRecord,
  HOST_CALL_LOG_VERSION,
  HostCallDivergenceError,
  HostCallLogError,
  newHostCallLogBuffer,
  replayHostCalls,
  withHostCallRecorder,
} from './replay.js';
export type {
  HostCallDivergence,
  HostCallFunction,
  HostCallLog,
  HostCallLogBuffer,
  HostCallOutcome,
  HostCallRecord,
  HostCallRecorderOptions,
  HostCallReplay,
  HostCallWrite,
} from './replay.js';
