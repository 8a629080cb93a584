/**
 * One fuzz case per seed: a module from a source (binaryen's translate-to-fuzz or our generator),
 * a call plan, and the three-way run (harness.ts). Deterministic in the seed.
 */
import type { FuncType } from '../../src/runtime/binary/module.js';
import { prng } from '../helpers.js';
import type { Augmented } from './augment.js';
import { ttfModule } from './binaryen.js';
import { generateModule } from './generator.js';
import { runCase, VARIANTS, type Call, type CaseResult, type Variant } from './harness.js';
import { formatSlots, randomArgs, type Rnd } from './values.js';

export type Source = 'binaryen' | 'own';
export const SOURCES: readonly Source[] = ['binaryen', 'own'];

/** Each original function export once, in export order, then a few more at random. */
export function planCalls(rnd: Rnd): (aug: Augmented, types: ReadonlyMap<string, FuncType>) => Call[] {
  return (aug, types) => {
    const calls: Call[] = [];
    const add = (name: string): void => {
      const t = types.get(name)!;
      const args = formatSlots(t.params, randomArgs(rnd, t.params), (s) => s === 0n);
      calls.push({ name, args });
    };
    for (const name of aug.funcExports.slice(0, 40)) add(name);
    const extra = Math.min(aug.funcExports.length, 4);
    for (let i = 0; i < extra; i++) add(aug.funcExports[Math.floor(rnd() * aug.funcExports.length)]!);
    return calls;
  };
}

export interface FuzzCase {
  readonly seed: number;
  readonly source: Source;
  readonly bytes: Uint8Array;
  /** Seed of the call plan (`planCalls(prng(planSeed))`). */
  readonly planSeed: number;
  /** How our engines run it. */
  readonly variant: Variant;
}

/** The module and plan of `seed` for `source`. */
export async function makeCase(seed: number, source: Source): Promise<FuzzCase> {
  const rnd = prng(seed * 2654435761);
  let bytes: Uint8Array;
  if (source === 'binaryen') {
    const size = 256 + Math.floor(rnd() * rnd() * 24000);
    bytes = await ttfModule(rnd, size, { simd: rnd() < 0.8, tailCall: rnd() < 0.7, threads: rnd() < 0.5 });
  } else {
    bytes = await generateModule(rnd);
  }
  const planSeed = Math.floor(rnd() * 0x7fffffff) + 1;
  return { seed, source, bytes, planSeed, variant: VARIANTS[Math.floor(rnd() * VARIANTS.length)]! };
}

export async function runFuzzCase(c: FuzzCase, options: Parameters<typeof runCase>[2] = {}): Promise<CaseResult> {
  return runCase(c.bytes, planCalls(prng(c.planSeed)), { variant: c.variant, ...options });
}

export interface FuzzResult {
  /** `nan`: the sides differ only in NaN bits the spec leaves open (nan.ts). */
  readonly status: CaseResult['status'] | 'nan';
  readonly calls: number;
  /** The run to reduce when `status` is `mismatch` (canonical NaNs when that run still differs). */
  readonly result: CaseResult;
  readonly canonicalNaN: boolean;
}

/** Runs a case bit for bit; when the sides differ, again with canonical NaNs to tell allowed differences apart. */
export async function fuzzCase(c: FuzzCase): Promise<FuzzResult> {
  const strict = await runFuzzCase(c);
  if (strict.status !== 'mismatch') return { status: strict.status, calls: strict.calls, result: strict, canonicalNaN: false };
  const canonical = await runFuzzCase(c, { canonicalNaN: true });
  if (canonical.status === 'ok' || canonical.status === 'exhausted')
    return { status: 'nan', calls: strict.calls, result: strict, canonicalNaN: false };
  if (canonical.status !== 'mismatch') return { status: 'mismatch', calls: strict.calls, result: strict, canonicalNaN: false };
  return { status: 'mismatch', calls: canonical.calls, result: canonical, canonicalNaN: true };
}
