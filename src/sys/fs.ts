/**
 * The errno-returning filesystem interfaces (wazero's `experimental/sys` FS and File).
 *
 * Conventions, chosen so the hot paths (`read`, `write`) allocate nothing:
 * - a method that only succeeds or fails returns an {@link Errno} (0 = success);
 * - a method that returns a count or offset returns a `number` that is `>= 0` on success and
 *   `-errno` on failure;
 * - a method that returns an object returns it, or an {@link Errno} (a number) on failure.
 *
 * Paths given to an {@link FS} are relative to its root, use `/` separators and may contain `..`;
 * every implementation here refuses to resolve outside its root (see `resolve.ts`). A path ending in
 * `/` must name a directory (POSIX): ENOTDIR for an existing non-directory, ENOENT when creating a
 * link or symlink there.
 *
 * Times are nanoseconds since the Unix epoch and are kept exactly where the host can hold them.
 */
import type { Errno } from './errno.js';

/** File types, numbered as WASI's `filetype`. */
export const FileType = {
  UNKNOWN: 0,
  BLOCK_DEVICE: 1,
  CHARACTER_DEVICE: 2,
  DIRECTORY: 3,
  REGULAR_FILE: 4,
  SOCKET_DGRAM: 5,
  SOCKET_STREAM: 6,
  SYMBOLIC_LINK: 7,
} as const;
export type FileType = (typeof FileType)[keyof typeof FileType];

/** Open flags (wazero's `sys.Oflag`): the access mode in the low two bits, then independent bits. */
export const Oflag = {
  RDONLY: 0,
  RDWR: 1,
  WRONLY: 2,
  APPEND: 1 << 3,
  CREAT: 1 << 4,
  DIRECTORY: 1 << 5,
  DSYNC: 1 << 6,
  EXCL: 1 << 7,
  NOFOLLOW: 1 << 8,
  NONBLOCK: 1 << 9,
  RSYNC: 1 << 10,
  SYNC: 1 << 11,
  TRUNC: 1 << 12,
} as const;
/** Mask of the access mode bits of an {@link Oflag} value. */
export const O_ACCMODE = 3;

/** `utimens` time that leaves the timestamp unchanged. */
export const UTIME_OMIT = -1n;

/** File metadata; times are nanoseconds since the Unix epoch. */
export interface Stat {
  dev: bigint;
  ino: bigint;
  type: FileType;
  /** Permission bits (e.g. 0o644). */
  mode: number;
  nlink: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

/** One directory entry. */
export interface Dirent {
  name: string;
  ino: bigint;
  type: FileType;
}

/** Seek origins, numbered as WASI's `whence`. */
export const Whence = { SET: 0, CUR: 1, END: 2 } as const;

/** An open file or directory. */
export interface File {
  /** Whether this is a directory. */
  isDir(): boolean;
  /** Whether writes go to the end of the file (`O_APPEND`). */
  isAppend(): boolean;
  /** Turns `O_APPEND` on or off; later writes (and the host's descriptor) follow it. */
  setAppend(on: boolean): Errno;
  stat(): Stat | Errno;
  /** Reads at the current offset: bytes read (0 at EOF) or `-errno`. */
  read(buf: Uint8Array): number;
  /** Reads at `offset` without moving the current offset. */
  pread(buf: Uint8Array, offset: number): number;
  /** Moves the offset: the new offset or `-errno`. */
  seek(offset: number, whence: number): number;
  /** All entries of a directory, without `.` and `..`, in a stable order. */
  readdir(): Dirent[] | Errno;
  /** Writes at the current offset (at the end when appending): bytes written or `-errno`. */
  write(buf: Uint8Array): number;
  pwrite(buf: Uint8Array, offset: number): number;
  truncate(size: number): Errno;
  sync(): Errno;
  datasync(): Errno;
  /** Sets access/modification times in ns ({@link UTIME_OMIT} keeps one). */
  utimens(atim: bigint, mtim: bigint): Errno;
  /**
   * Whether a read would not block, waiting at most `timeoutMs` (0 = just check). Files that are
   * always ready omit it.
   */
  pollRead?(timeoutMs: number): boolean | Errno;
  /**
   * Async WASI: {@link read} without blocking the event loop (streams that can block: host pipes,
   * terminals). Files that never block omit it.
   */
  readAsync?(buf: Uint8Array): Promise<number>;
  /**
   * Async WASI: {@link pollRead} without blocking the event loop; `timeoutMs` undefined waits until
   * the stream is ready.
   */
  pollReadAsync?(timeoutMs: number | undefined): Promise<boolean | Errno>;
  /**
   * Turns `FDFLAGS_NONBLOCK` on or off for streams that can block (sockets): reads and writes then
   * return EAGAIN instead of waiting. Files that never block omit it.
   */
  setNonblock?(on: boolean): Errno;
  close(): Errno;
}

/** A filesystem rooted somewhere; paths are relative to that root and can never leave it. */
export interface FS {
  openFile(path: string, flag: number, perm: number): File | Errno;
  lstat(path: string): Stat | Errno;
  stat(path: string): Stat | Errno;
  mkdir(path: string, perm: number): Errno;
  chmod(path: string, perm: number): Errno;
  rename(from: string, to: string): Errno;
  rmdir(path: string): Errno;
  unlink(path: string): Errno;
  /** Creates a hard link `newPath` to `oldPath`. */
  link(oldPath: string, newPath: string): Errno;
  /** Creates a symbolic link at `linkPath` whose content is `target` (not resolved). */
  symlink(target: string, linkPath: string): Errno;
  readlink(path: string): string | Errno;
  /** Sets times in ns ({@link UTIME_OMIT} keeps one), following a final symlink. */
  utimens(path: string, atim: bigint, mtim: bigint): Errno;
  /** Sets times like {@link FS.utimens}, but of a final symlink itself (`lutimes`). */
  lutimens(path: string, atim: bigint, mtim: bigint): Errno;
}
