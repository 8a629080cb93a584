/**
 * What the command line names: input files (read, or one `error: cannot read …` line) and mounts
 * (`--mount host[:guest][:ro]`, or recorded in a checkpoint) as a filesystem config.
 */
import { readFileSync, statSync } from 'node:fs';
import type { FSConfig } from '../runtime/store/config.js';
import { newFSConfig } from '../runtime/store/factories.js';

/** One host directory mounted at a guest path. */
export interface CliMount {
  readonly host: string;
  readonly guest: string;
  readonly readOnly: boolean;
}

/** Why a mount cannot be made: its host path does not exist, or is not a directory. */
export type MountProblem = 'missing' | 'not a directory';

/**
 * The filesystem config of `mounts`, or the error line `describe` words for the first mount whose
 * host path is missing or not a directory.
 */
export function mountConfig(
  mounts: readonly CliMount[],
  describe: (host: string, problem: MountProblem) => string,
): { readonly fs: FSConfig } | { readonly error: string } {
  let fs = newFSConfig();
  for (const m of mounts) {
    let isDir: boolean;
    try {
      isDir = statSync(m.host).isDirectory();
    } catch {
      return { error: describe(m.host, 'missing') };
    }
    if (!isDir) return { error: describe(m.host, 'not a directory') };
    fs = m.readOnly ? fs.withReadOnlyDirMount(m.host, m.guest) : fs.withDirMount(m.host, m.guest);
  }
  return { fs };
}

/** The usual wording: `error: invalid mount: <host> does not exist` (or `is not a directory`). */
export function invalidMount(host: string, problem: MountProblem): string {
  return `error: invalid mount: ${host} ${problem === 'missing' ? 'does not exist' : 'is not a directory'}\n`;
}

/** The `error: cannot read <path>: <code>` line of a failed read of `path`. */
export function cannotRead(path: string, e: unknown): string {
  return `error: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`;
}

/** The bytes of `path`, or undefined after writing {@link cannotRead}'s line to `err`. */
export function readInput(path: string, err: (s: string) => void): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    err(cannotRead(path, e));
    return undefined;
  }
}
