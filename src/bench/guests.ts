/**
 * The benchmark guest corpus: C programs compiled to wasm (test/fixtures/guests, from the team's
 * shared corpus). `nowasi/<name>[.tiny].wasm` import nothing and export `run() -> i64`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Directory of the guest corpus (override with WASMSCOPE_GUESTS_DIR). */
export function guestsDir(): string {
  return process.env['WASMSCOPE_GUESTS_DIR'] ?? fileURLToPath(new URL('../../test/fixtures/guests', import.meta.url));
}

export const GUEST_NAMES = ['fib', 'calls', 'sha256', 'matmul', 'nbody', 'sieve', 'qsort', 'hashmap', 'i64'] as const;
export type GuestName = (typeof GUEST_NAMES)[number];
export type GuestSize = 'tiny' | 'default';

export interface NowasiGuest {
  readonly name: GuestName;
  readonly size: GuestSize;
  readonly bytes: Uint8Array;
  /** The checksum `run()` returns (unsigned, as the guests' expected outputs print it). */
  readonly checksum: bigint;
}

/** Reads the expected checksum from expected/<name>.<size>.txt (`checksum = N`, or `x=N` for calls). */
export function expectedChecksum(name: GuestName, size: GuestSize): bigint {
  const text = readFileSync(join(guestsDir(), 'expected', `${name}.${size}.txt`), 'utf8');
  const m = /checksum = (\d+)/.exec(text) ?? / x=(\d+)/.exec(text);
  if (m === null) throw new Error(`no checksum in expected/${name}.${size}.txt`);
  return BigInt(m[1]!);
}

export function loadNowasiGuest(name: GuestName, size: GuestSize): NowasiGuest {
  const file = join(guestsDir(), 'nowasi', size === 'tiny' ? `${name}.tiny.wasm` : `${name}.wasm`);
  return { name, size, bytes: new Uint8Array(readFileSync(file)), checksum: expectedChecksum(name, size) };
}

export function guestsAvailable(): boolean {
  return existsSync(join(guestsDir(), 'nowasi'));
}
