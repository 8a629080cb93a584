/**
 * Errno values of the filesystem layer (wazero's `experimental/sys.Errno`): a small closed set, 0 means
 * success. The WASI layer maps them to `wasi_snapshot_preview1` errno numbers.
 */

/** An error number; 0 is success. */
export type Errno = number;

/** Success (0). */
export const ESUCCESS = 0;
/** Permission denied. */
export const EACCES = 1;
/** Resource unavailable; try again. */
export const EAGAIN = 2;
/** Bad file descriptor (or not open for the operation). */
export const EBADF = 3;
/** File exists. */
export const EEXIST = 4;
/** Bad address. */
export const EFAULT = 5;
/** Interrupted. */
export const EINTR = 6;
/** Invalid argument. */
export const EINVAL = 7;
/** I/O error. */
export const EIO = 8;
/** Is a directory. */
export const EISDIR = 9;
/** Too many levels of symbolic links. */
export const ELOOP = 10;
/** Filename too long. */
export const ENAMETOOLONG = 11;
/** No such file or directory. */
export const ENOENT = 12;
/** Function not implemented. */
export const ENOSYS = 13;
/** Not a directory. */
export const ENOTDIR = 14;
/** Result too large. */
export const ERANGE = 15;
/** Directory not empty. */
export const ENOTEMPTY = 16;
/** Not a socket. */
export const ENOTSOCK = 17;
/** Not supported. */
export const ENOTSUP = 18;
/** Operation not permitted. */
export const EPERM = 19;
/** Read-only file system. */
export const EROFS = 20;
/** The descriptor lacks a WASI right the operation needs (WASI's `notcapable`). */
export const ENOTCAPABLE = 21;
/** A socket's peer reset the connection. */
export const ECONNRESET = 22;
/** A write to a socket whose peer is gone or whose writing side was shut down. */
export const EPIPE = 23;
/** A socket that is not connected. */
export const ENOTCONN = 24;

const NAMES = [
  'ESUCCESS',
  'EACCES',
  'EAGAIN',
  'EBADF',
  'EEXIST',
  'EFAULT',
  'EINTR',
  'EINVAL',
  'EIO',
  'EISDIR',
  'ELOOP',
  'ENAMETOOLONG',
  'ENOENT',
  'ENOSYS',
  'ENOTDIR',
  'ERANGE',
  'ENOTEMPTY',
  'ENOTSOCK',
  'ENOTSUP',
  'EPERM',
  'EROFS',
  'ENOTCAPABLE',
  'ECONNRESET',
  'EPIPE',
  'ENOTCONN',
] as const;

/** How many errno values there are (they are numbered `0 .. ERRNO_COUNT - 1`). */
export const ERRNO_COUNT = NAMES.length;

/** The constant's name, e.g. `ENOENT`; unknown numbers print as `errno(N)`. */
export function errnoName(e: Errno): string {
  return NAMES[e] ?? `errno(${e})`;
}

const FROM_NODE_CODE: Readonly<Record<string, Errno>> = {
  EACCES,
  EAGAIN,
  EWOULDBLOCK: EAGAIN,
  EBADF,
  EEXIST,
  EFAULT,
  EINTR,
  EINVAL,
  EIO,
  EISDIR,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOSYS,
  ENOTDIR,
  ERANGE,
  ENOTEMPTY,
  ENOTSOCK,
  ENOTSUP,
  EOPNOTSUPP: ENOTSUP,
  EPERM,
  EROFS,
  ECONNRESET,
  EPIPE,
  ENOTCONN,
  ECONNABORTED: ECONNRESET,
  // Not in the closed set: the nearest meaning a guest can act on.
  EXDEV: ENOSYS,
  EMLINK: EIO,
  ENXIO: ENOENT,
};

/**
 * Maps an error thrown by `node:fs` (its `code`) to an {@link Errno}; anything unknown is `EIO`.
 */
export function errnoFromError(err: unknown): Errno {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return FROM_NODE_CODE[code] ?? EIO;
  }
  return EIO;
}
