/**
 * Path resolution that can never leave a filesystem's root (the idea of Linux's
 * `openat2(RESOLVE_BENEATH)`): components are walked one at a time, every symlink met on the way is
 * read and expanded in place, and `..` pops only what was walked. Absolute paths and absolute
 * symlink targets are refused, as is any `..` that would climb above the root.
 *
 * Note: the walk and the final operation are separate host calls, so a concurrent host process that
 * swaps a checked directory for a symlink between them could still redirect one operation (a TOCTOU
 * race node:fs gives no way to close). The final component is opened with `O_NOFOLLOW`.
 */
import { EINVAL, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, EPERM, type Errno } from './errno.js';
import { FileType, type FS } from './fs.js';

/** What the resolver needs to know about an already-resolved relative path. */
export interface ResolveLookup {
  /** The kind of the entry at `rel` (not following a final symlink), or an errno such as ENOENT. */
  kind(rel: string): 'dir' | 'link' | 'other' | Errno;
  /** The content of the symlink at `rel`. */
  readlink(rel: string): string | Errno;
}

/** Longest path accepted (Linux's PATH_MAX). */
export const MAX_PATH = 4096;
/** Symlinks followed in one resolution before ELOOP (Linux's limit). */
const MAX_SYMLINKS = 40;

/**
 * Checks a guest-supplied path: no NUL byte (EINVAL), not absolute (EPERM), not empty (ENOENT),
 * not longer than {@link MAX_PATH} (ENAMETOOLONG).
 */
export function checkPath(path: string): Errno {
  if (path.length === 0) return ENOENT;
  if (path.length > MAX_PATH) return ENAMETOOLONG;
  if (path.includes('\0')) return EINVAL;
  if (path.startsWith('/')) return EPERM;
  return 0;
}

/**
 * Resolves `path` beneath the root, or beneath `base` (a resolved directory inside the root, as
 * returned by an earlier resolution): `..` never climbs above `base`, neither in `path` nor in a
 * symlink met on the way, so a directory descriptor confines its lookups as `openat2(RESOLVE_BENEATH)`
 * does.
 *
 * Returns a clean path relative to the root (`.` is the root) whose directory components are real
 * directories; the final component is a non-symlink when `followFinal`, or may not exist (for
 * creation). A path that ends in `/` (or `/.`) must name a directory: its final symlink is followed,
 * an existing non-directory is ENOTDIR, and the result keeps one trailing `/` so the final operation
 * can refuse to create a non-directory there (POSIX: ENOENT for `link`/`symlink`, EISDIR for `open`).
 *
 * Errors: see {@link checkPath}; EPERM for an escape (`..` above the root or `base`, or an absolute
 * symlink target), ELOOP for too many symlinks, ENOENT/ENOTDIR for a bad middle component.
 */
export function resolveBeneath(path: string, followFinal: boolean, lk: ResolveLookup, base: string = '.'): string | Errno {
  const bad = checkPath(path);
  if (bad !== 0) return bad;
  const mustBeDir = path.endsWith('/') || path.endsWith('/.') || path === '.';
  // Work queue of components still to walk, last element first.
  const pending = path.split('/').reverse();
  const stack: string[] = base === '.' ? [] : base.split('/').filter((c) => c !== '');
  const floor = stack.length;
  let links = 0;
  let lastKind: 'dir' | 'link' | 'other' | undefined = 'dir';
  while (pending.length > 0) {
    const c = pending.pop()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === floor) return EPERM;
      stack.pop();
      lastKind = 'dir';
      continue;
    }
    const isLast = pending.every((x) => x === '' || x === '.');
    stack.push(c);
    const rel = stack.join('/');
    const k = lk.kind(rel);
    if (typeof k === 'number') {
      if (isLast && k === ENOENT) {
        lastKind = undefined;
        break;
      }
      return k;
    }
    if (k === 'link' && (!isLast || followFinal || mustBeDir)) {
      if (++links > MAX_SYMLINKS) return ELOOP;
      const target = lk.readlink(rel);
      if (typeof target === 'number') return target;
      if (target.length === 0) return ENOENT;
      if (target.includes('\0')) return EINVAL;
      if (target.startsWith('/')) return EPERM;
      stack.pop();
      const parts = target.split('/');
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
      continue;
    }
    if (k === 'other' && !isLast) return ENOTDIR;
    lastKind = k;
  }
  if (mustBeDir && lastKind === 'other') return ENOTDIR;
  if (stack.length === 0) return '.';
  const rel = stack.join('/');
  return mustBeDir ? `${rel}/` : rel;
}

/** Whether a resolved path carries the trailing `/` of a path that must name a directory. */
export function isDirOnly(rel: string): boolean {
  return rel.length > 1 && rel.endsWith('/');
}

/** A resolved path without its trailing `/` (see {@link resolveBeneath}). */
export function stripDirOnly(rel: string): string {
  return isDirOnly(rel) ? rel.slice(0, -1) : rel;
}

/** Splits a resolved relative path into its parent and final name (`.` parent for top-level names). */
export function splitParent(rel: string): [parent: string, name: string] {
  const i = rel.lastIndexOf('/');
  return i < 0 ? ['.', rel] : [rel.slice(0, i), rel.slice(i + 1)];
}

/**
 * A {@link ResolveLookup} over any {@link FS} (through `lstat` and `readlink`), for resolving beneath
 * a directory inside it with {@link resolveBeneath}.
 */
export function lookupOf(fs: FS): ResolveLookup {
  return {
    kind(rel: string): 'dir' | 'link' | 'other' | Errno {
      const st = fs.lstat(rel);
      if (typeof st === 'number') return st;
      return st.type === FileType.DIRECTORY ? 'dir' : st.type === FileType.SYMBOLIC_LINK ? 'link' : 'other';
    },
    readlink: (rel) => fs.readlink(rel),
  };
}
