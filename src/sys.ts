/**
 * System-level types (wazero's `sys` and `experimental/sys` packages): exit errors, the
 * errno-returning filesystem interfaces and their implementations.
 * @packageDocumentation
 */
import { DirFS } from './sys/dirfs.js';
import type { FS } from './sys/fs.js';
import { MemFS, type MemFSInit } from './sys/memfs.js';
import { ReadFS } from './sys/readfs.js';

export { ExitError, EXIT_CODE_CONTEXT_CANCELED, EXIT_CODE_DEADLINE_EXCEEDED } from './sys/exit.js';
export {
  EACCES,
  EAGAIN,
  EBADF,
  ECONNRESET,
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
  ENOTEMPTY,
  ENOTSOCK,
  ENOTCAPABLE,
  ENOTCONN,
  ENOTSUP,
  EPERM,
  EPIPE,
  ERANGE,
  EROFS,
  ESUCCESS,
  errnoName,
  errnoFromError,
} from './sys/errno.js';
export type { Errno } from './sys/errno.js';
export { FileType, Oflag, O_ACCMODE, UTIME_OMIT, Whence } from './sys/fs.js';
export type { Dirent, File, FS, Stat } from './sys/fs.js';
export type { MemFSInit } from './sys/memfs.js';
export type { Reader, Writer } from './sys/io.js';
export { hostFdWriter } from './sys/stdio.js';
export { cryptoRandom, newSeededRandom, SysConfigError } from './sys/context.js';
export { unimplementedFile, unimplementedFS } from './sys/userfs.js';

/** A filesystem rooted at a host directory (wazero's `sysfs.DirFS`); paths can never leave it. */
export function newDirFS(hostDir: string): FS {
  return new DirFS(hostDir);
}

/** An in-memory filesystem, optionally with initial files (`{ 'a/b.txt': 'content' }`). */
export function newMemFS(init?: MemFSInit): FS {
  return new MemFS(init);
}

/** A read-only view of `fs` (writes fail with EROFS, or EBADF on open files). */
export function newReadFS(fs: FS): FS {
  return new ReadFS(fs);
}
