/**
 * The Snapshotter (wazero's `experimental.Snapshotter`): setjmp/longjmp for guest calls. A host
 * function takes `getSnapshotter(ctx)!.snapshot()`; `snapshot.restore(results)` never returns:
 * execution resumes right after the host call that took the snapshot, which now returns `results`.
 * Only execution state (frames, locals, operand stacks, program counters) rolls back; memory,
 * globals, tables and host state do not.
 *
 * What both engines share lives here: enabling (a context key read by the engine when a call
 * starts), the invocation a snapshot belongs to, the restore signal that unwinds to that
 * invocation, and the listener rule: every frame a restore discards gets `abort` with the
 * {@link SnapshotRestore} signal, innermost first, so listeners stay balanced. Unlike wazero's, a
 * snapshot can be restored any number of times while its call runs, and restoring one whose call
 * finished (or of another call) is a {@link SnapshotError}, never a crash.
 */
import type { Context } from '../api/context.js';
import { SnapshotError } from '../api/errors.js';

/** Takes snapshots of the call in progress. @experimental */
export interface Snapshotter {
  /** Captures the execution state of the call in progress, to resume right after this host call. */
  snapshot(): Snapshot;
}

/** A captured execution state. @experimental */
export interface Snapshot {
  /**
   * Resumes execution right after the host call that took this snapshot, which then returns
   * `results` (raw values, one per result slot). Never returns.
   * @throws SnapshotError when the call that took the snapshot has finished.
   */
  restore(results: readonly bigint[]): never;
}

const enabledKey = Symbol('wasmscope.snapshotterEnabled');
const snapshotterKey = Symbol('wasmscope.snapshotter');

/**
 * A context whose calls can take snapshots: host functions called during a call made with it find a
 * {@link Snapshotter} with {@link getSnapshotter}. @experimental
 */
export function withSnapshotter(ctx: Context): Context {
  return ctx.withValue(enabledKey, true);
}

/** Whether calls made with `ctx` can take snapshots (engines read it when a call starts). */
export function snapshotsEnabled(ctx: Context): boolean {
  return ctx.value<boolean>(enabledKey) === true;
}

/**
 * The snapshotter of the call in progress, for a host function's `ctx`; `undefined` when the call
 * was not made with {@link withSnapshotter} (never a crash). @experimental
 */
export function getSnapshotter(ctx: Context): Snapshotter | undefined {
  return ctx.value<Snapshotter>(snapshotterKey);
}

/** The context host functions of an invocation see: `ctx` carrying the invocation's snapshotter. */
export function withInvocationSnapshotter(ctx: Context, s: Snapshotter): Context {
  return ctx.withValue(snapshotterKey, s);
}

/** One engine invocation (a call from the host into the guest) that snapshots can belong to. */
export class Invocation {
  /** False once the invocation has returned or failed. */
  live = true;
}

/**
 * The signal a restore throws: it unwinds (running host `finally` blocks) to the engine
 * invocation that took the snapshot, which resumes it. Listeners see it as the `abort` reason of
 * every frame it discards.
 */
export class SnapshotRestore extends Error {
  override readonly name = 'SnapshotRestore';
  constructor(
    /** The invocation that took the snapshot. */
    readonly invocation: Invocation,
    /** Engine-specific captured state. */
    readonly state: unknown,
    /** The results the snapshotting host call returns. */
    readonly results: readonly bigint[],
  ) {
    super('snapshot restore');
  }
}

/**
 * A snapshot over engine-specific state `state` of `invocation`, taken in a host function with
 * `resultSlots` result slots.
 */
export function newSnapshot(invocation: Invocation, state: unknown, resultSlots: number): Snapshot {
  return {
    restore(results: readonly bigint[]): never {
      if (!invocation.live) throw new SnapshotError('snapshot restore: the call that took the snapshot has finished');
      if (!Array.isArray(results) || results.length !== resultSlots || results.some((r) => typeof r !== 'bigint')) {
        throw new TypeError(
          `snapshot restore: results must be ${resultSlots} bigint(s), one per result slot of the snapshotting host call`,
        );
      }
      throw new SnapshotRestore(invocation, state, results.slice());
    },
  };
}

/**
 * What an engine invocation does with a restore signal that reached it and is not its own: when
 * its owner is still running further out, it goes on unwinding to it; otherwise it becomes a
 * SnapshotError.
 */
export function foreignRestore(r: SnapshotRestore): Error {
  return r.invocation.live ? r : new SnapshotError('snapshot restore: the snapshot belongs to another call');
}
