/**
 * `wasmscope/wazerotest`: mocks for unit-testing host functions without a guest (wazero's
 * `experimental/wazerotest`, plus tables, call spies and synthetic stacks), and record/replay of host
 * calls.
 * @packageDocumentation
 */
export { newFunction, newStackFunction } from './wazerotest/function.js';
export type { MockCall, MockFunction, MockFunctionOptions, MockNaturalFunction, MockStackFunction } from './wazerotest/function.js';
export { newGlobal, newTable } from './wazerotest/global.js';
export type { MockGlobal, MockMutableGlobal, MockTable, MockTableElement, MockTableOptions } from './wazerotest/global.js';
export { newFixedMemory, newMemory, PAGE_SIZE } from './wazerotest/memory.js';
export type { MockMemory } from './wazerotest/memory.js';
export { newModule } from './wazerotest/module.js';
export type { MockExtern, MockModule } from './wazerotest/module.js';
export { newStackIterator } from './listeners/stack.js';
export type { StackFrame } from './listeners/stack.js';
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
