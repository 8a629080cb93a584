/**
 * A delta reducer for mismatches: shrinks the call plan and the module while the same mismatch
 * (the same two sides disagreeing on the same kind of observation) persists.
 *
 * Steps, repeated while anything shrinks: drop calls (keeping the failing one); drop unused exports;
 * binaryen passes (dead code, unused module elements, optimisation levels); replace whole function
 * bodies by `unreachable`; cut function bodies short (the rest becomes `unreachable`, every open
 * block closed, so the body stays valid). A candidate that turns invalid simply fails the check.
 */
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { ByteWriter, encodeModule, type EncodableBody } from '../../src/runtime/binary/encoder.js';
import type { FunctionBody, Module } from '../../src/runtime/binary/module.js';
import { optimize, type TtfFeatures } from './binaryen.js';
import { runCase, type Call, type CaseOptions, type CaseResult } from './harness.js';
import { instructionStarts } from './walk.js';

const ALL_FEATURES = 0x1ff;
const BINARYEN_FEATURES: TtfFeatures = { simd: true, tailCall: true, threads: true };
const PASSES: readonly (readonly string[])[] = [
  ['--remove-unused-module-elements'],
  ['-O1'],
  ['--dce', '--vacuum'],
  ['-O3'],
  ['--simplify-locals', '--vacuum'],
  ['--precompute', '--vacuum'],
  ['--merge-blocks', '--remove-unused-brs', '--vacuum'],
  ['--coalesce-locals', '--reorder-locals'],
  ['-Oz'],
];

/** What identifies a mismatch across reductions: the sides and the kind of observation. */
export function mismatchKey(r: CaseResult): string | undefined {
  if (r.status !== 'mismatch' || r.mismatch === undefined) return undefined;
  return `${r.mismatch.sides.join('/')} ${r.mismatch.detail.split(/[ :]/)[0]}`;
}

export interface Reduced {
  readonly bytes: Uint8Array;
  readonly calls: readonly Call[];
  readonly tries: number;
}

/** A check of a candidate: whether it still shows the failure being reduced. */
export type Check = (bytes: Uint8Array, calls: readonly Call[]) => Promise<boolean>;

/** The check that `original`'s mismatch persists (same sides, same kind of observation). */
export function sameMismatch(original: CaseResult, options: CaseOptions): Check {
  const key = mismatchKey(original);
  if (key === undefined) throw new Error('reduce: not a mismatch');
  return async (b, c) => {
    try {
      return mismatchKey(await runCase(b, () => c, options)) === key;
    } catch {
      return false;
    }
  };
}

/**
 * Reduces `bytes` + `calls` while `check` holds. `step` is the index of the failing call (calls
 * after it are dropped first), or undefined when unknown.
 */
export async function reduce(
  bytes: Uint8Array,
  calls: readonly Call[],
  check: Check,
  options: { readonly step?: number; readonly log?: (s: string) => void } = {},
): Promise<Reduced> {
  const log = options.log ?? ((): void => {});
  let tries = 0;
  let best = { bytes, calls };
  const attempt = async (b: Uint8Array, c: readonly Call[]): Promise<boolean> => {
    tries++;
    if (!(await check(b, c))) return false;
    best = { bytes: b, calls: c };
    return true;
  };

  // The calls: up to the failing one, then without each earlier one.
  const step = options.step ?? -1;
  if (step >= 0 && step + 1 < calls.length) await attempt(bytes, calls.slice(0, step + 1));
  for (let i = best.calls.length - 2; i >= 0; i--) {
    await attempt(
      best.bytes,
      best.calls.filter((_, j) => j !== i),
    );
  }
  log(`calls: ${calls.length} → ${best.calls.length}`);

  for (let round = 0; round < 4; round++) {
    const before = best.bytes.length;
    await dropExports();
    for (const passes of PASSES) {
      let out: Uint8Array;
      try {
        out = await optimize(best.bytes, passes, BINARYEN_FEATURES);
      } catch {
        continue;
      }
      if (out.length < best.bytes.length) await attempt(out, best.calls);
    }
    await stubBodies();
    await truncateBodies();
    log(`round ${round}: ${before} → ${best.bytes.length} bytes (${tries} tries)`);
    if (best.bytes.length >= before) break;
  }
  return { ...best, tries };

  async function dropExports(): Promise<void> {
    const m = decodeModule(best.bytes, ALL_FEATURES);
    const called = new Set(best.calls.map((c) => c.name));
    const unused = m.exports.filter((e) => !called.has(e.name));
    if (unused.length === 0) return;
    const without = (drop: (e: Module['exports'][number]) => boolean): Uint8Array =>
      encodeModule({ ...m, exports: m.exports.filter((e) => !drop(e)) }, m).bytes;
    if (
      await attempt(
        without((e) => !called.has(e.name)),
        best.calls,
      )
    )
      return;
    for (const e of unused) {
      const cur = decodeModule(best.bytes, ALL_FEATURES);
      await attempt(encodeModule({ ...cur, exports: cur.exports.filter((x) => x.name !== e.name) }, cur).bytes, best.calls);
    }
  }

  async function stubBodies(): Promise<void> {
    const n = decodeModule(best.bytes, ALL_FEATURES).codes.length;
    for (let i = n - 1; i >= 0; i--) {
      const m = decodeModule(best.bytes, ALL_FEATURES);
      const body = m.codes[i]!;
      if (body.codeEnd - body.codeStart <= 2) continue;
      await attempt(withBody(m, i, { encoded: new Uint8Array([0, 0x00, 0x0b]) }), best.calls);
    }
  }

  async function truncateBodies(): Promise<void> {
    const n = decodeModule(best.bytes, ALL_FEATURES).codes.length;
    for (let i = 0; i < n; i++) {
      let lo = 0;
      let hi: number;
      try {
        hi = instructionStarts(decodeModule(best.bytes, ALL_FEATURES), i).length;
      } catch {
        continue; // an opcode outside the table
      }
      while (lo < hi && hi > 1) {
        const mid = Math.floor((lo + hi) / 2);
        const m = decodeModule(best.bytes, ALL_FEATURES);
        const starts = instructionStarts(m, i);
        if (mid >= starts.length - 1) break;
        if (await attempt(withBody(m, i, truncated(m, m.codes[i]!, starts, mid)), best.calls)) hi = mid;
        else lo = mid + 1;
      }
    }
  }
}

function withBody(m: Module, i: number, body: EncodableBody): Uint8Array {
  const codes: EncodableBody[] = [...m.codes];
  codes[i] = body;
  return encodeModule({ ...m, codes }, m).bytes;
}

/** Body `body` cut before instruction `cut`: `unreachable`, then every open block closed. */
function truncated(m: Module, body: FunctionBody, starts: readonly number[], cut: number): EncodableBody {
  const b = m.bytes;
  const frames: Array<'block' | 'then' | 'else'> = [];
  for (let k = 0; k < cut; k++) {
    const op = b[starts[k]!]!;
    if (op === 0x02 || op === 0x03) frames.push('block');
    else if (op === 0x04) frames.push('then');
    else if (op === 0x05) frames[frames.length - 1] = 'else';
    else if (op === 0x0b) frames.pop();
  }
  const w = new ByteWriter();
  w.u32(body.locals.length);
  for (const g of body.locals) w.u32(g.count).u8(g.type);
  w.bytes(b.subarray(body.codeStart, starts[cut]!));
  for (let k = frames.length - 1; k >= 0; k--) {
    w.u8(0x00);
    if (frames[k] === 'then') w.u8(0x05).u8(0x00);
    w.u8(0x0b);
  }
  w.u8(0x00).u8(0x0b);
  return { encoded: w.finish() };
}
