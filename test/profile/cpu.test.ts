/**
 * The CPU profiler's arithmetic with a clock that ticks once per read, on every engine: self time
 * is a call's time less its timed children's, host time is left out unless asked, sampled counts
 * are scaled by the rate (times are not), and aborted calls close their frames.
 */
import { describe, expect, it } from 'vitest';
import { withFunctionListenerFactory } from '../../src/experimental.js';
import { Context, newModuleConfig, type Runtime } from '../../src/index.js';
import { newCpuProfiler, type CpuProfilerOptions, type StackProfile } from '../../src/profile.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const WAT = `(module
  (import "env" "h" (func $h))
  (func $b (call $h))
  (func $a (export "a") (call $b) (call $b)))`;

/** Runs a() once (twice when `twice`) under a profiler with a tick-per-read clock; returns `stack self count` rows. */
async function profile(r: Runtime, options: CpuProfilerOptions, hostThrows = false): Promise<string[]> {
  let t = 0;
  const cpu = newCpuProfiler({ ...options, now: () => ++t });
  const ctx = withFunctionListenerFactory(Context.background(), cpu);
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc(
      () => {
        if (hostThrows) throw new Error('host failed');
      },
      [],
      [],
    )
    .export('h')
    .instantiate(ctx);
  const m = await r.instantiateWithConfig(await wat(WAT), newModuleConfig(), ctx);
  if (hostThrows) expect(() => m.exportedFunction('a')!.call()).toThrow('host failed');
  else m.exportedFunction('a')!.call();
  return rows(cpu.stop());
}

function rows(p: StackProfile): string[] {
  return p.samples.map((s) => `${s.stack.map((f) => f.function).join('<')} self=${s.values[1]} count=${s.values[0]}`).sort();
}

for (const e of engines) {
  describe(`CPU profiler arithmetic on the ${e.name}`, () => {
    it('subtracts child time from the parent and leaves host time out', async () => {
      // a: 1..10 (9), b: 2..5 and 6..9 (3 each), h inside each b (1 each).
      expect(await profile(runtimeFor(e), {})).toEqual(['a self=3 count=1', 'b<a self=4 count=2']);
    });

    it('records host time when asked', async () => {
      expect(await profile(runtimeFor(e), { hostTime: true })).toEqual(['a self=3 count=1', 'b<a self=4 count=2', 'h<b<a self=2 count=2']);
    });

    it('samples per function, scales counts, not times: an unsampled call stays in its caller', async () => {
      // a: 1..8; b's first call 2..5 (h 3..4); b's second call untimed, its h (6..7) left out of a.
      expect(await profile(runtimeFor(e), { sampleEvery: 2 })).toEqual(['a self=3 count=2', 'b<a self=2 count=2']);
    });

    it('closes aborted calls (a host error), innermost first', async () => {
      // a: 1..6, b: 2..5 (h 3..4, aborted).
      expect(await profile(runtimeFor(e), {}, true)).toEqual(['a self=2 count=1', 'b<a self=2 count=1']);
    });
  });
}

describe('newCpuProfiler', () => {
  it('rejects a sampleEvery that is not a positive integer', () => {
    expect(() => newCpuProfiler({ sampleEvery: 0 })).toThrow('sampleEvery must be a positive integer, got 0');
    expect(() => newCpuProfiler({ sampleEvery: 1.5 })).toThrow(RangeError);
  });
});
