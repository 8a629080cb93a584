/**
 * Experimental features, enabled through Context keys (wazero's `experimental` package).
 * @experimental
 * @packageDocumentation
 */
export {
  CoreFeaturesThreads,
  CoreFeaturesTailCall,
  CoreFeaturesExceptionHandling,
  CoreFeaturesExtendedConst,
  CoreFeaturesMultiMemory,
  CoreFeaturesMemory64,
  CoreFeaturesRelaxedSIMD,
  CoreFeaturesV3,
} from './runtime/api/features.js';
export type { InternalModule } from './runtime/api/module.js';
export {
  closeNotifyFunc,
  memoryAllocatorFunc,
  withCloseNotifier,
  withImportResolver,
  withInterruptFlag,
  withMemoryAllocator,
  withTimeSlicing,
} from './runtime/store/context-keys.js';
export type { CloseNotifier, ImportResolver, LinearMemory, MemoryAllocator } from './runtime/store/context-keys.js';
export {
  functionListenerAfterFunc,
  functionListenerFactoryFunc,
  functionListenerFunc,
  multiFunctionListenerFactory,
  withFunctionListenerFactory,
} from './runtime/api/listener.js';
export type {
  FunctionListener,
  FunctionListenerFactory,
  HostFunctionCall,
  InternalFunction,
  StackIterator,
} from './runtime/api/listener.js';
export { FUNCTION_EVENT_BATCH_CAPACITY, FunctionEventKind, withFunctionEventSink } from './runtime/api/event-sink.js';
export type { FunctionEventBatch, FunctionEventSink } from './runtime/api/event-sink.js';
export { benchmarkFunctionListener, newStackIterator } from './listeners/stack.js';
export type { StackFrame } from './listeners/stack.js';
export { getSnapshotter, withSnapshotter } from './runtime/store/snapshots.js';
export { exportedTag, newTag } from './runtime/store/tags.js';
export { WasmException } from './runtime/api/tag.js';
export type { Tag } from './runtime/api/tag.js';
export type { Snapshot, Snapshotter } from './runtime/store/snapshots.js';
export { newSockConfig, tcpListeners, withSockConfig, type TcpListenerInfo } from './runtime/store/sock.js';
export type { SockConfig } from './runtime/store/sock.js';
