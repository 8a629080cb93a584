/**
 * Context keys for the experimental features that ride on a {@link Context} (as wazero's
 * `experimental` package does with `context.Context`).
 */
import { Context } from '../api/context.js';
import type { Module } from '../api/module.js';
import type { LinearMemory, MemoryAllocator } from './memory-api.js';

export type { LinearMemory, MemoryAllocator };

/**
 * Resolves an import module name to a module before the runtime's registry is consulted.
 * Returning `undefined` falls back to the registry.
 * @experimental
 */
export type ImportResolver = (moduleName: string) => Module | undefined;

/** Called once when a module is closed (by close, proc_exit, runtime close or a context deadline). @experimental */
export interface CloseNotifier {
  /** Called once when the module closes, with its exit code. */
  closeNotify(ctx: Context, exitCode: number): void;
}

const importResolverKey = Symbol('wasmscope.importResolver');
const closeNotifierKey = Symbol('wasmscope.closeNotifier');

/** A context whose `instantiateModule` asks `resolver` first for each import module name. @experimental */
export function withImportResolver(ctx: Context, resolver: ImportResolver): Context {
  return ctx.withValue(importResolverKey, resolver);
}

export function getImportResolver(ctx: Context): ImportResolver | undefined {
  return ctx.value<ImportResolver>(importResolverKey);
}

/** Adapts a function to {@link CloseNotifier}. @experimental */
export function closeNotifyFunc(fn: (ctx: Context, exitCode: number) => void): CloseNotifier {
  return { closeNotify: fn };
}

/** A context whose `instantiateModule` attaches `notifier` to the new module. @experimental */
export function withCloseNotifier(ctx: Context, notifier: CloseNotifier | undefined): Context {
  if (notifier === undefined) return ctx;
  return ctx.withValue(closeNotifierKey, notifier);
}

export function getCloseNotifier(ctx: Context): CloseNotifier | undefined {
  return ctx.value<CloseNotifier>(closeNotifierKey);
}

const interruptFlagKey = Symbol('wasmscope.interruptFlag');

/**
 * A context whose calls (on runtimes with `withCloseOnContextDone(true)`) stop with "context
 * canceled" as soon as another thread stores a non-zero value in `flag[0]` (`Atomics.store(flag, 0,
 * 1)` from a worker): the way to cancel a synchronous call in progress, since no signal or timer of
 * this thread can fire during it. `flag` is an `Int32Array` over a `SharedArrayBuffer`.
 * @experimental
 */
export function withInterruptFlag(ctx: Context, flag: Int32Array): Context {
  return ctx.withValue(interruptFlagKey, flag);
}

export function getInterruptFlag(ctx: Context): Int32Array | undefined {
  return ctx.value<Int32Array>(interruptFlagKey);
}

const timeSliceKey = Symbol('wasmscope.timeSlice');

/**
 * A context whose async calls (`callAsync`, `callWithContextAsync`, `callWithStackAsync`) yield to
 * the event loop every `sliceMs` milliseconds of guest work, so a server keeps answering while a
 * guest computes. The guest yields at its interrupt checks (loop heads and the entries of
 * functions on call cycles), which exist in modules of a runtime made with
 * `withCloseOnContextDone(true)`; an async call with a time slice on other modules is refused.
 * Interpreter only: the compiler engine refuses time slices.
 * @experimental
 */
export function withTimeSlicing(ctx: Context, sliceMs: number): Context {
  if (!(sliceMs > 0) || !Number.isFinite(sliceMs))
    throw new RangeError(`withTimeSlicing: sliceMs must be a positive number of milliseconds, got ${sliceMs}`);
  return ctx.withValue(timeSliceKey, sliceMs);
}

/** The time slice of calls made with `ctx`, in ms, if any. */
export function getTimeSlicing(ctx: Context): number | undefined {
  return ctx.value<number>(timeSliceKey);
}

const memoryAllocatorKey = Symbol('wasmscope.memoryAllocator');

/** Adapts a function to {@link MemoryAllocator}. @experimental */
export function memoryAllocatorFunc(fn: (cap: number, max: number) => LinearMemory): MemoryAllocator {
  return { allocate: fn };
}

/**
 * A context whose `instantiateModule` allocates the memories the module defines with `allocator`
 * (wazero's `experimental.WithMemoryAllocator`): `allocate(capBytes, maxBytes)`, then
 * `reallocate(minBytes)`; each `memory.grow` within the maximum calls `reallocate(newBytes)` (undefined
 * fails the grow); `free()` when the module closes. Interpreter engine only: the compiler engine
 * refuses it, since V8 allocates the memory of compiled code itself. An undefined allocator leaves
 * `ctx` unchanged.
 * @experimental
 */
export function withMemoryAllocator(ctx: Context, allocator: MemoryAllocator | undefined): Context {
  if (allocator === undefined) return ctx;
  return ctx.withValue(memoryAllocatorKey, allocator);
}

/** The memory allocator of an instantiation context, if any. */
export function getMemoryAllocator(ctx: Context): MemoryAllocator | undefined {
  return ctx.value<MemoryAllocator>(memoryAllocatorKey);
}

const checkpointMetaKey = Symbol('wasmscope.checkpointMeta');

/**
 * A context whose async calls write `meta` (application bytes, e.g. the CLI's run options) into
 * their mid-call checkpoints. Internal: the CLI's.
 */
export function withCheckpointMeta(ctx: Context, meta: Uint8Array): Context {
  return ctx.withValue(checkpointMetaKey, meta);
}

/** The application bytes of {@link withCheckpointMeta}, or undefined. */
export function checkpointMetaOf(ctx: Context): Uint8Array | undefined {
  return ctx.value<Uint8Array>(checkpointMetaKey);
}
