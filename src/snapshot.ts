/**
 * `wasmscope/snapshot`: checkpoints of a module instance's whole state (memories, tables, globals,
 * dropped segments), full or incremental, restored into the same or a fresh instance on either
 * engine; a documented, versioned file format; dirty-page tracking for cheap incremental
 * checkpoints; and pre-initialisation of a module into a new .wasm (as Wizer). See the README's
 * "Snapshots" for the format, the guarantees and the limits.
 * @packageDocumentation
 */
export { Checkpoint, checkpoint } from './snapshot/checkpoint.js';
export type { CheckpointOptions, FromBytesOptions } from './snapshot/checkpoint.js';
export { restore } from './snapshot/restore.js';
export type { RestoreOptions } from './snapshot/restore.js';
export { readCheckpoint, writeCheckpoint } from './snapshot/file.js';
export { CheckpointError } from './snapshot/errors.js';
export type { CheckpointErrorReason } from './snapshot/errors.js';
export type { ReferenceCodec } from './snapshot/model.js';
export type { ImportSelection } from './snapshot/target.js';
export { CHECKPOINT_FORMAT_VERSION } from './snapshot/format.js';
export { withDirtyPageTracking } from './runtime/store/dirty-pages.js';
export { MAX_DATA_GAP, MAX_DATA_SEGMENTS, preinitialize } from './snapshot/preinit.js';
export type { PreinitializeOptions } from './snapshot/preinit.js';
export { resumeCall } from './snapshot/call.js';
export type { ResumeCallOptions } from './snapshot/call.js';
