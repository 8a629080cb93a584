/**
 * Errno values of the filesystem layer (wazero's `experimental/sys.Errno`): a small closed set, 0 means
 * success. The WASI layer maps them to `wasi_snapshot_preview1` errno numbers.
 */

/** An error number; 0 is success. */
export type Errno = number;

export const ESUCCESS = 0;
export const EACCES = 1;
export const EAGAIN = 2;
export const EBADF = 3;
export const EEXIST = 4;
export const EFAULT = 5;
export const EINTR = 6;
export const EINVAL = 7;
export const EIO = 8;
export const EISDIR = 9;
export const ELOOP = 10;
export const ENAMETOOLONG = 11;
export const ENOENT = 12;
export const ENOSYS = 13;
export const ENOTDIR = 14;
export const ERANGE = 15;
export const ENOTEMPTY = 16;
export const ENOTSOCK = 17;
export const ENOTSUP = 18;
export const EPERM = 19;
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
