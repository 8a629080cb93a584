/**
 * Data for WASI-aware logging (wazero's `internal/wasip1/logging`), kept here beside the functions so
 * the host logging listener (api/listener.ts) can print WASI calls the way wazero does:
 * `errno=ESUCCESS` results, out-params moved to the results and read only after success, flags as
 * `A|B`, clock ids by name, paths as strings, and fd_read/fd_write on stdio not logged.
 */
import { FDFLAGS, FSTFLAGS, LOOKUPFLAGS, OFLAGS, RIFLAGS, RIGHTS, SDFLAGS } from './constants.js';
import { WASI_FUNCTIONS } from './functions.js';

/** Logging scopes, with wazero's bit values. */
export const LOG_SCOPE = { clock: 2, proc: 4, filesystem: 8, memory: 16, poll: 32, random: 64, sock: 128, all: 0xffffffff } as const;
export type LogScopeName = keyof typeof LOG_SCOPE;

/** The scope a WASI function needs to be logged (anything unlisted needs `all`). */
export function wasiScope(name: string): number {
  if (name.startsWith('clock_')) return LOG_SCOPE.clock;
  if (name === 'proc_exit') return LOG_SCOPE.proc;
  if (name.startsWith('fd_') || name.startsWith('path_')) return LOG_SCOPE.filesystem;
  if (name === 'poll_oneoff') return LOG_SCOPE.poll;
  if (name === 'random_get') return LOG_SCOPE.random;
  if (name.startsWith('sock_')) return LOG_SCOPE.sock;
  return LOG_SCOPE.all;
}

/** How a parameter prints. */
export type ParamFormat =
  | { kind: 'i32' }
  | { kind: 'i64' }
  /** `name=<string>` read from memory at this param and the length in `lenIndex` (which is not printed). */
  | { kind: 'string'; lenIndex: number }
  | { kind: 'flags'; table: Readonly<Record<string, number>> }
  | { kind: 'clockid' };

/**
 * How an out-param prints in the results (read from memory only when errno is ESUCCESS). `string`:
 * the bytes at this pointer with the length in the next param (fd_prestat_dir_name's `path`).
 */
export type OutFormat = 'u32' | 'u64' | 'filestat' | 'fdstat' | 'prestat' | 'string';

export interface WasiLogSpec {
  readonly name: string;
  /** Printed parameters: index into the call's params, printed name, format. */
  readonly params: ReadonlyArray<{ index: number; name: string; format: ParamFormat }>;
  /** Out-params printed before `errno`: index of the pointer param, printed name, format. */
  readonly results: ReadonlyArray<{ index: number; name: string; format: OutFormat }>;
  /** proc_exit has no result logger. */
  readonly noResult: boolean;
  /** fd_read/fd_write: not logged when fd (param 0) is 0, 1 or 2. */
  readonly skipStdio: boolean;
}

const OUT_U32 = new Set([
  'nread',
  'nwritten',
  'opened_fd',
  'nevents',
  'bufused',
  'resolution',
  'ro_datalen',
  'ro_flags',
  'so_datalen',
  'fd',
]);
const OUT_U64 = new Set(['newoffset', 'timestamp']);
const OUT_STRUCT: Readonly<Record<string, OutFormat>> = { filestat: 'filestat', stat: 'fdstat', prestat: 'prestat' };

const RIGHTS_TABLE: Record<string, number> = RIGHTS;

function flagTable(fn: string, param: string): Readonly<Record<string, number>> | undefined {
  switch (param) {
    case 'dirflags':
    case 'old_flags':
      return LOOKUPFLAGS;
    case 'fdflags':
      return FDFLAGS;
    case 'oflags':
      return OFLAGS;
    case 'fst_flags':
      return FSTFLAGS;
    case 'fs_rights_base':
    case 'fs_rights_inheriting':
      return RIGHTS_TABLE;
    case 'ri_flags':
      return RIFLAGS;
    case 'si_flags':
      return {};
    case 'how':
      return SDFLAGS;
    case 'flags':
      if (fn === 'fd_fdstat_set_flags') return FDFLAGS;
      if (fn === 'path_filestat_get' || fn === 'path_filestat_set_times') return LOOKUPFLAGS;
      if (fn === 'sock_accept') return FDFLAGS;
      return undefined;
    default:
      return undefined;
  }
}

function specOf(w: (typeof WASI_FUNCTIONS)[number]): WasiLogSpec {
  const params: Array<{ index: number; name: string; format: ParamFormat }> = [];
  const results: Array<{ index: number; name: string; format: OutFormat }> = [];
  const names = w.paramNames;
  const lenIndexes = new Set<number>();
  names.forEach((n, i) => {
    if (n.includes('path') && !n.endsWith('_len') && names[i + 1] === `${n}_len`) lenIndexes.add(i + 1);
  });
  names.forEach((n, i) => {
    if (lenIndexes.has(i)) return;
    if (n.startsWith('result.')) {
      const short = n.slice('result.'.length);
      if (lenIndexes.has(i + 1)) results.push({ index: i, name: short, format: 'string' });
      else if (OUT_U32.has(short)) results.push({ index: i, name: short, format: 'u32' });
      else if (OUT_U64.has(short)) results.push({ index: i, name: short, format: 'u64' });
      else if (OUT_STRUCT[short] !== undefined) results.push({ index: i, name: short, format: OUT_STRUCT[short] });
      else params.push({ index: i, name: n, format: { kind: w.params[i] === 0x7e ? 'i64' : 'i32' } });
      return;
    }
    if (lenIndexes.has(i + 1)) {
      params.push({ index: i, name: n, format: { kind: 'string', lenIndex: i + 1 } });
      return;
    }
    if (n === 'id' && w.name.startsWith('clock_')) {
      params.push({ index: i, name: n, format: { kind: 'clockid' } });
      return;
    }
    const table = flagTable(w.name, n);
    if (table !== undefined) params.push({ index: i, name: n, format: { kind: 'flags', table } });
    else params.push({ index: i, name: n, format: { kind: w.params[i] === 0x7e ? 'i64' : 'i32' } });
  });
  return {
    name: w.name,
    params,
    results,
    noResult: w.results.length === 0,
    skipStdio: w.name === 'fd_read' || w.name === 'fd_write',
  };
}

/** Logging specs of all 46 functions, by name. */
export const WASI_LOG_SPECS: ReadonlyMap<string, WasiLogSpec> = new Map(WASI_FUNCTIONS.map((w) => [w.name, specOf(w)]));

/** `realtime`, `monotonic` or the number. */
export function clockIdName(id: number): string {
  return id === 0 ? 'realtime' : id === 1 ? 'monotonic' : String(id);
}
