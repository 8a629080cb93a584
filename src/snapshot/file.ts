/** Checkpoints in files: written atomically, read with every check of `Checkpoint.fromBytes`. */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkpointFromBytes, type Checkpoint, type FromBytesOptions } from './checkpoint.js';

/**
 * Writes `cp` to `path` atomically: to a temporary file beside it, flushed to disk (fsync), then
 * renamed over `path`, so `path` holds either its old contents or the whole checkpoint, never a part.
 * @param path - the file to write (replaced when it exists).
 * @param cp - the checkpoint (a delta's file does not include its base).
 */
export async function writeCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  const bytes = cp.toBytes();
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(tmp, 'wx');
  try {
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  // The rename itself reaches the disk once the directory is flushed.
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

/**
 * Reads a checkpoint written by {@link writeCheckpoint}.
 * @param options - the base, to read a delta.
 * @throws CheckpointError `corrupt` for a file that is not a whole, valid checkpoint.
 */
export async function readCheckpoint(path: string, options?: FromBytesOptions): Promise<Checkpoint> {
  const bytes = await readFile(path);
  return checkpointFromBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), options);
}
