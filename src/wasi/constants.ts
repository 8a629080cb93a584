/**
 * wasi_snapshot_preview1 constants: errno numbers and names, flags, rights, layouts. Names are the
 * spec's; the flag tables double as the data the logging listener prints flags with (`A|B`).
 */
import * as sys from '../sys/errno.js';

/** WASI errno numbers (wasi_snapshot_preview1 `errno`). */
export const ERRNO = {
  SUCCESS: 0,
  '2BIG': 1,
  ACCES: 2,
  ADDRINUSE: 3,
  ADDRNOTAVAIL: 4,
  AFNOSUPPORT: 5,
  AGAIN: 6,
  ALREADY: 7,
  BADF: 8,
  BADMSG: 9,
  BUSY: 10,
  CANCELED: 11,
  CHILD: 12,
  CONNABORTED: 13,
  CONNREFUSED: 14,
  CONNRESET: 15,
  DEADLK: 16,
  DESTADDRREQ: 17,
  DOM: 18,
  DQUOT: 19,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  HOSTUNREACH: 23,
  IDRM: 24,
  ILSEQ: 25,
  INPROGRESS: 26,
  INTR: 27,
  INVAL: 28,
  IO: 29,
  ISCONN: 30,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  MLINK: 34,
  MSGSIZE: 35,
  MULTIHOP: 36,
  NAMETOOLONG: 37,
  NETDOWN: 38,
  NETRESET: 39,
  NETUNREACH: 40,
  NFILE: 41,
  NOBUFS: 42,
  NODEV: 43,
  NOENT: 44,
  NOEXEC: 45,
  NOLCK: 46,
  NOLINK: 47,
  NOMEM: 48,
  NOMSG: 49,
  NOPROTOOPT: 50,
  NOSPC: 51,
  NOSYS: 52,
  NOTCONN: 53,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTRECOVERABLE: 56,
  NOTSOCK: 57,
  NOTSUP: 58,
  NOTTY: 59,
  NXIO: 60,
  OVERFLOW: 61,
  OWNERDEAD: 62,
  PERM: 63,
  PIPE: 64,
  PROTO: 65,
  PROTONOSUPPORT: 66,
  PROTOTYPE: 67,
  RANGE: 68,
  ROFS: 69,
  SPIPE: 70,
  SRCH: 71,
  STALE: 72,
  TIMEDOUT: 73,
  TXTBSY: 74,
  XDEV: 75,
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
