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

/** The names of the C guests of the corpus. */
export const GUEST_NAMES = ['fib', 'calls', 'sha256', 'matmul', 'nbody', 'sieve', 'qsort', 'hashmap', 'i64'] as const;
/** One of {@link GUEST_NAMES}. */
export type GuestName = (typeof GUEST_NAMES)[number];
/** The input size a guest was built for: `tiny` (interpreter runs) or `default`. */
export type GuestSize = 'tiny' | 'default';

/** A guest of the corpus that imports nothing and exports `run() -> i64`. */
export interface NowasiGuest {
  /** The guest's name. */
  readonly name: GuestName;
  /** The input size it was built for. */
  readonly size: GuestSize;
  /** The wasm binary. */
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

/** Loads guest `name` built for `size`, with the checksum its `run()` must return. */
export function loadNowasiGuest(name: GuestName, size: GuestSize): NowasiGuest {
  const file = join(guestsDir(), 'nowasi', size === 'tiny' ? `${name}.tiny.wasm` : `${name}.wasm`);
  return { name, size, bytes: new Uint8Array(readFileSync(file)), checksum: expectedChecksum(name, size) };
}

export function guestsAvailable(): boolean {
  return existsSync(join(guestsDir(), 'nowasi'));
}
