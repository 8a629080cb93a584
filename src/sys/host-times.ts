/**
 * Setting the times of host files with nanosecond precision.
 *
 * node:fs takes times as float seconds: libuv then rounds them to microseconds (Node 20), and a
 * double holds a present-day time only to about 240 ns anyway (Node 24), so no node:fs call can set
 * an arbitrary nanosecond time. A time is therefore set through node:fs first and read back; when the
 * host does not hold exactly what was asked, GNU `touch` sets it again with the exact timespec
 * (`touch -d @S.NNNNNNNNN` calls `utimensat`). Where GNU touch (or, for descriptors, `/proc`) is
 * missing, the host keeps what node:fs could give it.
 */
import { createRequire } from 'node:module';
import * as nodefs from 'node:fs';
import { errnoFromError, type Errno } from './errno.js';
import { UTIME_OMIT } from './fs.js';

/** What to set the times of: an open host descriptor, or a host path (following a final symlink or not). */
export type TimesTarget = { readonly fd: number } | { readonly path: string; readonly follow: boolean };

const NS = 1_000_000_000n;

const require = createRequire(import.meta.url);

/** node:child_process's spawnSync, loaded on first use (start-up: most runs never set times exactly). */
function spawnSync(): typeof import('node:child_process').spawnSync {
  return (require('node:child_process') as typeof import('node:child_process')).spawnSync;
}

function statOf(t: TimesTarget): nodefs.BigIntStats {
  if ('fd' in t) return nodefs.fstatSync(t.fd, { bigint: true });
  return t.follow ? nodefs.statSync(t.path, { bigint: true }) : nodefs.lstatSync(t.path, { bigint: true });
}

/**
 * Nanoseconds as node:fs's seconds. A string, because node:fs turns a negative *number* into "now";
 * `s + r / 1e9` rounds once, where `Number(ns) / 1e9` would round twice.
 */
function nodeSeconds(ns: bigint): string {
  return String(Number(ns / NS) + Number(ns % NS) / 1e9);
}

/** `@S.NNNNNNNNN`, the exact form GNU touch's `-d` reads. */
function touchTime(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  return `@${neg ? '-' : ''}${abs / NS}.${String(abs % NS).padStart(9, '0')}`;
}

let touchUsable: boolean | undefined;

/** Whether GNU touch can be run here (probed once per process). */
function canTouch(): boolean {
  if (touchUsable === undefined) {
    const r = spawnSync()('touch', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    touchUsable = r.status === 0 && r.stdout.includes('GNU coreutils');
  }
  return touchUsable;
}

/** The path GNU touch can reach the target by (a descriptor through `/proc`), or undefined. */
function touchPath(t: TimesTarget): string | undefined {
  if (!('fd' in t)) return t.path;
  const p = `/proc/${process.pid}/fd/${t.fd}`;
  return nodefs.existsSync(p) ? p : undefined;
}

/** Sets one time (`-a` access, `-m` modification) exactly with GNU touch. */
function touch(t: TimesTarget, which: '-a' | '-m', ns: bigint): void {
  const p = touchPath(t);
  if (p === undefined || !canTouch()) return;
  const args = [which, '-c', '-d', touchTime(ns)];
  if ('follow' in t && !t.follow) args.push('-h');
  args.push('--', p);
  spawnSync()('touch', args, { stdio: 'ignore', timeout: 10_000 });
}

/**
 * Sets the access and modification times of `t` in ns ({@link UTIME_OMIT} keeps one).
 * @returns 0, or the errno of the failing host call. Note: a host that cannot hold nanoseconds (a
 * filesystem with coarse times, or no GNU touch) keeps the nearest time it can, and this still succeeds.
 */
export function setHostTimes(t: TimesTarget, atim: bigint, mtim: bigint): Errno {
  try {
    let a = atim;
    let m = mtim;
    if (a === UTIME_OMIT || m === UTIME_OMIT) {
      const s = statOf(t);
      if (a === UTIME_OMIT) a = s.atimeNs;
      if (m === UTIME_OMIT) m = s.mtimeNs;
    }
    const as = nodeSeconds(a);
    const ms = nodeSeconds(m);
    if ('fd' in t) nodefs.futimesSync(t.fd, as, ms);
    else if (t.follow) nodefs.utimesSync(t.path, as, ms);
    else nodefs.lutimesSync(t.path, as, ms);
    const got = statOf(t);
    if (got.atimeNs !== a) touch(t, '-a', a);
    if (got.mtimeNs !== m) touch(t, '-m', m);
    return 0;
  } catch (e) {
    return errnoFromError(e);
  }
}
