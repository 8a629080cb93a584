import { describe, expect, it } from 'vitest';
import { FDFLAGS, formatFlags, LOOKUPFLAGS, OFLAGS } from './constants.js';
import { clockIdName, LOG_SCOPE, WASI_LOG_SPECS, wasiScope } from './logging-tables.js';

describe('WASI logging tables', () => {
  it('cover all 46 functions with wazero scopes', () => {
    expect(WASI_LOG_SPECS.size).toBe(46);
    expect(wasiScope('clock_time_get')).toBe(LOG_SCOPE.clock);
    expect(wasiScope('path_open')).toBe(LOG_SCOPE.filesystem);
    expect(wasiScope('proc_exit')).toBe(LOG_SCOPE.proc);
    expect(wasiScope('args_get')).toBe(LOG_SCOPE.all);
  });

  it('move out-params to results, merge paths with their lengths, and type flags', () => {
    const open = WASI_LOG_SPECS.get('path_open')!;
    expect(open.params.map((p) => p.name)).toEqual([
      'fd',
      'dirflags',
      'path',
      'oflags',
      'fs_rights_base',
      'fs_rights_inheriting',
      'fdflags',
    ]);
    expect(open.params[2]!.format).toEqual({ kind: 'string', lenIndex: 3 });
    expect(open.results).toEqual([{ index: 8, name: 'opened_fd', format: 'u32' }]);
    expect(WASI_LOG_SPECS.get('fd_filestat_get')!.results[0]!.format).toBe('filestat');
    expect(WASI_LOG_SPECS.get('fd_fdstat_get')!.results[0]).toEqual({ index: 1, name: 'stat', format: 'fdstat' });
    expect(WASI_LOG_SPECS.get('fd_seek')!.results[0]!.name).toBe('newoffset');
    // Other result.* names stay raw params, as wazero prints args_sizes_get(result.argc=..,result.argv_len=..).
    expect(WASI_LOG_SPECS.get('args_sizes_get')!.params.map((p) => p.name)).toEqual(['result.argc', 'result.argv_len']);
    expect(WASI_LOG_SPECS.get('proc_exit')!.noResult).toBe(true);
    expect(WASI_LOG_SPECS.get('fd_write')!.skipStdio).toBe(true);
    expect(WASI_LOG_SPECS.get('clock_time_get')!.params[0]!.format).toEqual({ kind: 'clockid' });
  });

  it('format flags and clock ids as wazero prints them', () => {
    expect(formatFlags(LOOKUPFLAGS, 1)).toBe('SYMLINK_FOLLOW');
    expect(formatFlags(OFLAGS, 1 | 8)).toBe('CREAT|TRUNC');
    expect(formatFlags(FDFLAGS, 0)).toBe('');
    expect(clockIdName(0)).toBe('realtime');
    expect(clockIdName(1)).toBe('monotonic');
    expect(clockIdName(7)).toBe('7');
  });
});
