/**
 * WASI preview 1 rights: the capability bits every open descriptor carries (`fs_rights_base` for the
 * descriptor itself, `fs_rights_inheriting` for descriptors opened through it).
 *
 * The model (the one wasi-common and uvwasi enforced, which wasi-testsuite checks):
 * - a pre-opened directory holds every directory right, and every file and directory right to hand on;
 * - `path_open` gives the new descriptor what it asked for, limited to what its directory may hand on,
 *   to what applies to the type opened (a directory has no `fd_read` or `fd_seek`) and to the open
 *   mode (no `fd_write` unless opened for writing, no `fd_read` when write-only);
 * - `fd_fdstat_set_rights` may only drop rights: asking for one not held is `notcapable`;
 * - every call checks the rights it needs first: a missing `fd_read`/`fd_write` is `badf` (the POSIX
 *   answer for a descriptor not open for it), any other missing right `notcapable`.
 */

/** `rights` bits (as numbers: all fit in 30 bits). */
export const RIGHTS = {
  FD_DATASYNC: 1 << 0,
  FD_READ: 1 << 1,
  FD_SEEK: 1 << 2,
  FD_FDSTAT_SET_FLAGS: 1 << 3,
  FD_SYNC: 1 << 4,
  FD_TELL: 1 << 5,
  FD_WRITE: 1 << 6,
  FD_ADVISE: 1 << 7,
  FD_ALLOCATE: 1 << 8,
  PATH_CREATE_DIRECTORY: 1 << 9,
  PATH_CREATE_FILE: 1 << 10,
  PATH_LINK_SOURCE: 1 << 11,
  PATH_LINK_TARGET: 1 << 12,
  PATH_OPEN: 1 << 13,
  FD_READDIR: 1 << 14,
  PATH_READLINK: 1 << 15,
  PATH_RENAME_SOURCE: 1 << 16,
  PATH_RENAME_TARGET: 1 << 17,
  PATH_FILESTAT_GET: 1 << 18,
  PATH_FILESTAT_SET_SIZE: 1 << 19,
  PATH_FILESTAT_SET_TIMES: 1 << 20,
  FD_FILESTAT_GET: 1 << 21,
  FD_FILESTAT_SET_SIZE: 1 << 22,
  FD_FILESTAT_SET_TIMES: 1 << 23,
  PATH_SYMLINK: 1 << 24,
  PATH_REMOVE_DIRECTORY: 1 << 25,
  PATH_UNLINK_FILE: 1 << 26,
  POLL_FD_READWRITE: 1 << 27,
  SOCK_SHUTDOWN: 1 << 28,
  SOCK_ACCEPT: 1 << 29,
} as const;

const R = RIGHTS;

/** Every defined right (bits a guest sets beyond these are ignored). */
export const RIGHTS_ALL = (1 << 30) - 1;

/** The rights that apply to a regular file. */
export const FILE_RIGHTS_BASE =
  R.FD_DATASYNC |
  R.FD_READ |
  R.FD_SEEK |
  R.FD_FDSTAT_SET_FLAGS |
  R.FD_SYNC |
  R.FD_TELL |
  R.FD_WRITE |
  R.FD_ADVISE |
  R.FD_ALLOCATE |
  R.FD_FILESTAT_GET |
  R.FD_FILESTAT_SET_SIZE |
  R.FD_FILESTAT_SET_TIMES |
  R.POLL_FD_READWRITE;

/**
 * The rights that apply to a stream (stdio): a file's without `fd_seek` and `fd_tell`, which is how
 * wasi-libc's `isatty` recognises a terminal.
 */
export const STREAM_RIGHTS_BASE = FILE_RIGHTS_BASE & ~(R.FD_SEEK | R.FD_TELL);

/** The rights that apply to a directory (no `fd_read`, `fd_seek` or `fd_filestat_set_size`). */
export const DIR_RIGHTS_BASE =
  R.FD_DATASYNC |
  R.FD_FDSTAT_SET_FLAGS |
  R.FD_SYNC |
  R.PATH_CREATE_DIRECTORY |
  R.PATH_CREATE_FILE |
  R.PATH_LINK_SOURCE |
  R.PATH_LINK_TARGET |
  R.PATH_OPEN |
  R.FD_READDIR |
  R.PATH_READLINK |
  R.PATH_RENAME_SOURCE |
  R.PATH_RENAME_TARGET |
  R.PATH_FILESTAT_GET |
  R.PATH_FILESTAT_SET_SIZE |
  R.PATH_FILESTAT_SET_TIMES |
  R.FD_FILESTAT_GET |
  R.FD_FILESTAT_SET_TIMES |
  R.PATH_SYMLINK |
  R.PATH_REMOVE_DIRECTORY |
  R.PATH_UNLINK_FILE;

/** What a directory may hand on to what is opened through it: every file and directory right. */
export const DIR_RIGHTS_INHERITING = FILE_RIGHTS_BASE | DIR_RIGHTS_BASE;

/** Rights that need a descriptor open for writing. */
const WRITE_ONLY_RIGHTS = R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE;

/**
 * The base rights that can apply to a descriptor of this kind opened in this mode.
 * @param kind `dir`, `file` (seekable) or `stream`.
 */
export function rightsMask(kind: 'dir' | 'file' | 'stream', readable: boolean, writable: boolean): number {
  if (kind === 'dir') return DIR_RIGHTS_BASE;
  let m = kind === 'file' ? FILE_RIGHTS_BASE : STREAM_RIGHTS_BASE;
  if (!readable) m &= ~R.FD_READ;
  if (!writable) m &= ~WRITE_ONLY_RIGHTS;
  return m;
}

/** The rights of a pre-opened TCP listener: accept, poll, flags and stat (FD_READ: poll for a connection). */
export const SOCKET_LISTENER_RIGHTS = R.SOCK_ACCEPT | R.POLL_FD_READWRITE | R.FD_FDSTAT_SET_FLAGS | R.FD_FILESTAT_GET | R.FD_READ;

/** The rights of an accepted TCP connection. */
export const SOCKET_RIGHTS = R.FD_READ | R.FD_WRITE | R.POLL_FD_READWRITE | R.SOCK_SHUTDOWN | R.FD_FDSTAT_SET_FLAGS | R.FD_FILESTAT_GET;
