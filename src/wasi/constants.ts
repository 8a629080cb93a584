/**
 * wasi_snapshot_preview1 constants: errno numbers and names, flags, rights, layouts. Names are the
 * spec's; the flag tables double as the data the logging listener prints flags with (`A|B`).
 */
import * as sys from '../sys/errno.js';

/** WASI errno numbers (wasi_snapshot_preview1 `errno`). */
export const ERRNO = {
  /** No error occurred. */
  SUCCESS: 0,
  /** Argument list too long. */
  '2BIG': 1,
  /** Permission denied. */
  ACCES: 2,
  /** Address in use. */
  ADDRINUSE: 3,
  /** Address not available. */
  ADDRNOTAVAIL: 4,
  /** Address family not supported. */
  AFNOSUPPORT: 5,
  /** Resource unavailable, or operation would block. */
  AGAIN: 6,
  /** Connection already in progress. */
  ALREADY: 7,
  /** Bad file descriptor. */
  BADF: 8,
  /** Bad message. */
  BADMSG: 9,
  /** Device or resource busy. */
  BUSY: 10,
  /** Operation canceled. */
  CANCELED: 11,
  /** No child processes. */
  CHILD: 12,
  /** Connection aborted. */
  CONNABORTED: 13,
  /** Connection refused. */
  CONNREFUSED: 14,
  /** Connection reset. */
  CONNRESET: 15,
  /** Resource deadlock would occur. */
  DEADLK: 16,
  /** Destination address required. */
  DESTADDRREQ: 17,
  /** Mathematics argument out of domain of function. */
  DOM: 18,
  /** Reserved. */
  DQUOT: 19,
  /** File exists. */
  EXIST: 20,
  /** Bad address. */
  FAULT: 21,
  /** File too large. */
  FBIG: 22,
  /** Host is unreachable. */
  HOSTUNREACH: 23,
  /** Identifier removed. */
  IDRM: 24,
  /** Illegal byte sequence. */
  ILSEQ: 25,
  /** Operation in progress. */
  INPROGRESS: 26,
  /** Interrupted function. */
  INTR: 27,
  /** Invalid argument. */
  INVAL: 28,
  /** I/O error. */
  IO: 29,
  /** Socket is connected. */
  ISCONN: 30,
  /** Is a directory. */
  ISDIR: 31,
  /** Too many levels of symbolic links. */
  LOOP: 32,
  /** File descriptor value too large. */
  MFILE: 33,
  /** Too many links. */
  MLINK: 34,
  /** Message too large. */
  MSGSIZE: 35,
  /** Reserved. */
  MULTIHOP: 36,
  /** Filename too long. */
  NAMETOOLONG: 37,
  /** Network is down. */
  NETDOWN: 38,
  /** Connection aborted by network. */
  NETRESET: 39,
  /** Network unreachable. */
  NETUNREACH: 40,
  /** Too many files open in system. */
  NFILE: 41,
  /** No buffer space available. */
  NOBUFS: 42,
  /** No such device. */
  NODEV: 43,
  /** No such file or directory. */
  NOENT: 44,
  /** Executable file format error. */
  NOEXEC: 45,
  /** No locks available. */
  NOLCK: 46,
  /** Reserved. */
  NOLINK: 47,
  /** Not enough space. */
  NOMEM: 48,
  /** No message of the desired type. */
  NOMSG: 49,
  /** Protocol not available. */
  NOPROTOOPT: 50,
  /** No space left on device. */
  NOSPC: 51,
  /** Function not supported. */
  NOSYS: 52,
  /** The socket is not connected. */
  NOTCONN: 53,
  /** Not a directory or a symbolic link to a directory. */
  NOTDIR: 54,
  /** Directory not empty. */
  NOTEMPTY: 55,
  /** State not recoverable. */
  NOTRECOVERABLE: 56,
  /** Not a socket. */
  NOTSOCK: 57,
  /** Not supported, or operation not supported on socket. */
  NOTSUP: 58,
  /** Inappropriate I/O control operation. */
  NOTTY: 59,
  /** No such device or address. */
  NXIO: 60,
  /** Value too large to be stored in data type. */
  OVERFLOW: 61,
  /** Previous owner died. */
  OWNERDEAD: 62,
  /** Operation not permitted. */
  PERM: 63,
  /** Broken pipe. */
  PIPE: 64,
  /** Protocol error. */
  PROTO: 65,
  /** Protocol not supported. */
  PROTONOSUPPORT: 66,
  /** Protocol wrong type for socket. */
  PROTOTYPE: 67,
  /** Result too large. */
  RANGE: 68,
  /** Read-only file system. */
  ROFS: 69,
  /** Invalid seek. */
  SPIPE: 70,
  /** No such process. */
  SRCH: 71,
  /** Reserved. */
  STALE: 72,
  /** Connection timed out. */
  TIMEDOUT: 73,
  /** Text file busy. */
  TXTBSY: 74,
  /** Cross-device link. */
  XDEV: 75,
  /** Extension: capabilities insufficient. */
  NOTCAPABLE: 76,
} as const;

const WASI_ERRNO_NAMES: string[] = [];
for (const [k, v] of Object.entries(ERRNO)) WASI_ERRNO_NAMES[v] = `E${k}`;
WASI_ERRNO_NAMES[0] = 'ESUCCESS';

/** The name of a WASI errno, e.g. `ESUCCESS`, `EBADF`. */
export function wasiErrnoName(errno: number): string {
  return WASI_ERRNO_NAMES[errno] ?? `errno(${errno})`;
}

/** sys errno (wasmscope/sys) → WASI errno; unknown values become EIO. */
const FROM_SYS: number[] = [];
FROM_SYS[0] = ERRNO.SUCCESS;
FROM_SYS[sys.EACCES] = ERRNO.ACCES;
FROM_SYS[sys.EAGAIN] = ERRNO.AGAIN;
FROM_SYS[sys.EBADF] = ERRNO.BADF;
FROM_SYS[sys.EEXIST] = ERRNO.EXIST;
FROM_SYS[sys.EFAULT] = ERRNO.FAULT;
FROM_SYS[sys.EINTR] = ERRNO.INTR;
FROM_SYS[sys.EINVAL] = ERRNO.INVAL;
FROM_SYS[sys.EIO] = ERRNO.IO;
FROM_SYS[sys.EISDIR] = ERRNO.ISDIR;
FROM_SYS[sys.ELOOP] = ERRNO.LOOP;
FROM_SYS[sys.ENAMETOOLONG] = ERRNO.NAMETOOLONG;
FROM_SYS[sys.ENOENT] = ERRNO.NOENT;
FROM_SYS[sys.ENOSYS] = ERRNO.NOSYS;
FROM_SYS[sys.ENOTDIR] = ERRNO.NOTDIR;
FROM_SYS[sys.ERANGE] = ERRNO.RANGE;
FROM_SYS[sys.ENOTEMPTY] = ERRNO.NOTEMPTY;
FROM_SYS[sys.ENOTSOCK] = ERRNO.NOTSOCK;
FROM_SYS[sys.ENOTSUP] = ERRNO.NOTSUP;
FROM_SYS[sys.EPERM] = ERRNO.PERM;
FROM_SYS[sys.EROFS] = ERRNO.ROFS;
FROM_SYS[sys.ENOTCAPABLE] = ERRNO.NOTCAPABLE;
FROM_SYS[sys.ECONNRESET] = ERRNO.CONNRESET;
FROM_SYS[sys.EPIPE] = ERRNO.PIPE;
FROM_SYS[sys.ENOTCONN] = ERRNO.NOTCONN;

/** Maps a sys errno to the WASI errno number. */
export function toWasiErrno(e: sys.Errno): number {
  return FROM_SYS[e] ?? ERRNO.IO;
}

export const CLOCKID_REALTIME = 0;
export const CLOCKID_MONOTONIC = 1;

export const WHENCE_SET = 0;
export const WHENCE_CUR = 1;
export const WHENCE_END = 2;

/** `fdflags` bits. */
export const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
/** `oflags` bits. */
export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
/** `lookupflags` bits. */
export const LOOKUPFLAGS = { SYMLINK_FOLLOW: 1 } as const;
/** `fstflags` bits. */
export const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;
/** `riflags`, `roflags`, `siflags` and `sdflags` (sock_shutdown's `how`) bits. */
export const RIFLAGS = { RECV_PEEK: 1, RECV_WAITALL: 2 } as const;
export const ROFLAGS = { RECV_DATA_TRUNCATED: 1 } as const;
export const SDFLAGS = { RD: 1, WR: 2 } as const;
/** `subclockflags` bits. */
export const SUBCLOCKFLAGS = { SUBSCRIPTION_CLOCK_ABSTIME: 1 } as const;
/** `eventtype` values. */
export const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;

export { DIR_RIGHTS_BASE, DIR_RIGHTS_INHERITING, FILE_RIGHTS_BASE, RIGHTS, RIGHTS_ALL, STREAM_RIGHTS_BASE } from '../sys/rights.js';

/** `filetype` names, indexed by value. */
export const FILETYPE_NAMES = [
  'UNKNOWN',
  'BLOCK_DEVICE',
  'CHARACTER_DEVICE',
  'DIRECTORY',
  'REGULAR_FILE',
  'SOCKET_DGRAM',
  'SOCKET_STREAM',
  'SYMBOLIC_LINK',
] as const;

/** Byte sizes of WASI structs. */
export const SIZE = { FDSTAT: 24, FILESTAT: 64, DIRENT: 24, SUBSCRIPTION: 48, EVENT: 32, IOVEC: 8 } as const;

/** Formats flag bits as `A|B` from a name table (empty for 0; unknown bits as hex). */
export function formatFlags(table: Readonly<Record<string, number>>, value: number): string {
  const out: string[] = [];
  let rest = value >>> 0;
  for (const [name, bit] of Object.entries(table)) {
    if ((rest & bit) !== 0) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out.join('|');
}
