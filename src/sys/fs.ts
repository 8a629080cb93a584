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
  /** Unknown type. */
  UNKNOWN: 0,
  /** A block device. */
  BLOCK_DEVICE: 1,
  /** A character device (e.g. a terminal). */
  CHARACTER_DEVICE: 2,
  /** A directory. */
  DIRECTORY: 3,
  /** A regular file. */
  REGULAR_FILE: 4,
  /** A datagram socket. */
  SOCKET_DGRAM: 5,
  /** A stream socket. */
  SOCKET_STREAM: 6,
  /** A symbolic link. */
  SYMBOLIC_LINK: 7,
} as const;
export type FileType = (typeof FileType)[keyof typeof FileType];

/** Open flags (wazero's `sys.Oflag`): the access mode in the low two bits, then independent bits. */
export const Oflag = {
  /** Open for reading only. */
  RDONLY: 0,
  /** Open for reading and writing. */
  RDWR: 1,
  /** Open for writing only. */
  WRONLY: 2,
  /** Writes append at the end of the file. */
  APPEND: 1 << 3,
  /** Create the file if it does not exist. */
  CREAT: 1 << 4,
  /** Fail with ENOTDIR unless the path is a directory. */
  DIRECTORY: 1 << 5,
  /** Writes wait for the data to reach the device. */
  DSYNC: 1 << 6,
  /** With CREAT: fail with EEXIST if the file exists. */
  EXCL: 1 << 7,
  /** Do not follow a symbolic link in the last component. */
  NOFOLLOW: 1 << 8,
  /** Non-blocking reads and writes. */
  NONBLOCK: 1 << 9,
  /** Reads wait for pending writes to reach the device. */
  RSYNC: 1 << 10,
  /** Writes wait for data and metadata to reach the device. */
  SYNC: 1 << 11,
  /** Truncate the file to size 0. */
  TRUNC: 1 << 12,
} as const;
/** Mask of the access mode bits of an {@link Oflag} value. */
export const O_ACCMODE = 3;

/** `utimens` time that leaves the timestamp unchanged. */
export const UTIME_OMIT = -1n;

/** File metadata; times are nanoseconds since the Unix epoch. */
export interface Stat {
  /** Device id. */
  dev: bigint;
  /** Inode number. */
  ino: bigint;
  /** The file type. */
  type: FileType;
  /** Permission bits (e.g. 0o644). */
  mode: number;
  /** Number of hard links. */
  nlink: bigint;
  /** Size in bytes. */
  size: bigint;
  /** Last access time, nanoseconds since the epoch. */
  atim: bigint;
  /** Last modification time, nanoseconds since the epoch. */
  mtim: bigint;
  /** Last status change time, nanoseconds since the epoch. */
  ctim: bigint;
}

/** One directory entry. */
export interface Dirent {
  /** The entry name (no path). */
  name: string;
  /** Inode number (0 when unknown). */
  ino: bigint;
  /** The entry type. */
  type: FileType;
}

/** Seek origins, numbered as WASI's `whence`. */
export const Whence = {
  /** From the start of the file. */
  SET: 0,
  /** From the current position. */
  CUR: 1,
  /** From the end of the file. */
  END: 2,
} as const;

/** An open file or directory. */
export interface File {
  /** Whether this is a directory. */
  isDir(): boolean;
  /** Whether writes go to the end of the file (`O_APPEND`). */
  isAppend(): boolean;
  /** Turns `O_APPEND` on or off; later writes (and the host's descriptor) follow it. */
  setAppend(on: boolean): Errno;
  /** The file's status, or an errno. */
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
  /** Writes `buf` at `offset` without moving the file position; bytes written, or a negated errno. */
  pwrite(buf: Uint8Array, offset: number): number;
  /** Sets the file size to `size`. */
  truncate(size: number): Errno;
  /** Flushes data and metadata to the device. */
  sync(): Errno;
  /** Flushes data to the device. */
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
  /** Closes the file; other calls then fail with EBADF. */
  close(): Errno;
}

/** A filesystem rooted somewhere; paths are relative to that root and can never leave it. */
export interface FS {
  /** Opens `path` with {@link Oflag} flags and permission bits for a created file. */
  openFile(path: string, flag: number, perm: number): File | Errno;
  /** The status of `path`, not following a final symbolic link. */
  lstat(path: string): Stat | Errno;
  /** The status of `path`, following symbolic links. */
  stat(path: string): Stat | Errno;
  /** Creates directory `path` with permission bits `perm`. */
  mkdir(path: string, perm: number): Errno;
  /** Sets the permission bits of `path`. */
  chmod(path: string, perm: number): Errno;
  /** Renames `from` to `to` (replacing `to`, as POSIX rename). */
  rename(from: string, to: string): Errno;
  /** Removes the empty directory `path`. */
  rmdir(path: string): Errno;
  /** Removes the file or symbolic link `path`. */
  unlink(path: string): Errno;
  /** Creates a hard link `newPath` to `oldPath`. */
  link(oldPath: string, newPath: string): Errno;
  /** Creates a symbolic link at `linkPath` whose content is `target` (not resolved). */
  symlink(target: string, linkPath: string): Errno;
  /** The target of symbolic link `path`. */
  readlink(path: string): string | Errno;
  /** Sets times in ns ({@link UTIME_OMIT} keeps one), following a final symlink. */
  utimens(path: string, atim: bigint, mtim: bigint): Errno;
  /** Sets times like {@link FS.utimens}, but of a final symlink itself (`lutimes`). */
  lutimens(path: string, atim: bigint, mtim: bigint): Errno;
}
