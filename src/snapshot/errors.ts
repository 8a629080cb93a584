/** The error of wasmscope/snapshot: a checkpoint, restore or pre-initialisation refused. */

/** Why a checkpoint, restore or pre-initialisation was refused. */
export type CheckpointErrorReason =
  /** The checkpoint belongs to another module (its sha256 differs). */
  | 'module-mismatch'
  /** Bytes that are not a checkpoint, of an unknown version, truncated or corrupted. */
  | 'corrupt'
  /** A delta whose base is missing or is not the one it was taken against. */
  | 'base'
  /** Imported state (memory, table, global) not named in the options. */
  | 'import'
  /** A host reference (externref, or a function of another module) without a codec. */
  | 'reference'
  /** The target cannot take the state (a memory or table that cannot shrink or grow, a dropped segment, an immutable global). */
  | 'incompatible'
  /** The module or its state is not supported (a host module, a closed module, pre-initialisation limits). */
  | 'unsupported';

/**
 * A refused checkpoint, restore or pre-initialisation. Refusals happen before anything changes: a
 * restore that throws this has written nothing.
 */
export class CheckpointError extends Error {
  /** Why it was refused. */
  readonly reason: CheckpointErrorReason;

  /**
   * @param reason - why it was refused.
   * @param message - what is wrong and where.
   */
  constructor(reason: CheckpointErrorReason, message: string) {
    super(message);
    this.name = 'CheckpointError';
    this.reason = reason;
  }
}
