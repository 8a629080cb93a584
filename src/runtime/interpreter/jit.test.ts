/**
 * Block compilation's regions (jit.ts): a function longer than a region runs as several generated
 * functions. With regions of a few words every loop, branch and fall-through crosses regions; the
 * guests must still compute their checksums, and a trap must still carry its exact pc.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newModuleConfig, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../../index.js';
import { guestsAvailable, loadNowasiGuest, type GuestName } from '../../bench/guests.js';
import { setJitEnabled, setJitRegionWords } from './jit.js';
import { trapOf, wasmOffsetsOf, wat } from '../../../test/helpers.js';

const GUESTS: GuestName[] = ['sieve', 'hashmap', 'qsort', 'sha256', 'fib', 'i64'];

describe('block compilation regions', () => {
  afterEach(() => {
    setJitEnabled(true);
    setJitRegionWords(undefined);
  });

  it.skipIf(!guestsAvailable()).each([8, 40, 300])(
    'runs the guests with regions of %i words',
    async (words) => {
      setJitRegionWords(words);
      for (const name of GUESTS) {
        const g = loadNowasiGuest(name, 'tiny');
        const runtime = newRuntimeWithConfig(newRuntimeConfigInterpreter());
        try {
          const m = await runtime.instantiateWithConfig(g.bytes, newModuleConfig().withName(''));
          expect(BigInt.asUintN(64, m.exportedFunction('run')!.call()[0]!), name).toBe(g.checksum);
        } finally {
          await runtime.close();
        }
      }
    },
    120_000,
  );

  it('traps at the exact instruction inside a region', async () => {
    const bytes = await wat(`(module (memory 1)
      (func (export "f") (param i32) (result i32)
        (loop $l
          (local.set 0 (i32.add (local.get 0) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get 0) (i32.const 5))))
        (i32.load (i32.mul (local.get 0) (i32.const 65536)))))`);
    const offsets = async (): Promise<readonly number[]> => {
      const runtime = newRuntimeWithConfig(newRuntimeConfigInterpreter());
      try {
        const m = await runtime.instantiateWithConfig(bytes, newModuleConfig().withName(''));
        return wasmOffsetsOf(trapOf(() => m.exportedFunction('f')!.call(0)));
      } finally {
        await runtime.close();
      }
    };
    setJitEnabled(false);
    const interpreted = await offsets();
    setJitEnabled(true);
    setJitRegionWords(4);
    expect(await offsets()).toEqual(interpreted);
    expect(interpreted.length).toBeGreaterThan(0);
  });

  it('moves NaN payloads through i64 and f64 loads and stores bit for bit, hot', async () => {
    // An 8-byte load whose value an f64 instruction reads next goes through getFloat64 and the
    // Float64Array view in generated code (jit.ts f64Next): V8 must not quiet or canonicalize any
    // pattern there, on any tier; the run loop moves int32 words.
    const bytes = await wat(`(module (memory (export "mem") 1)
      (func (export "copy") (param $n i32) (local $i i32) (local $a i32) (local $x i64) (local $y f64) (local $z f64)
        (loop $l
          (local.set $a (i32.and (i32.shl (local.get $i) (i32.const 3)) (i32.const 56)))
          (local.set $x (i64.load (local.get $a)))
          (i64.store offset=64 (local.get $a) (local.get $x))
          (local.set $y (f64.load (local.get $a)))
          (f64.store offset=128 (local.get $a) (local.get $y))
          (f64.store offset=192 (local.get $a) (f64.load (local.get $a)))
          (local.set $y (f64.load (local.get $a)))
          (local.set $z (f64.add (local.get $y) (local.get $y)))
          (f64.store offset=256 (local.get $a) (local.get $y))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`);
    const patterns = [
      0x7ff0000000000001n,
      0xfff0000000000001n,
      0x7ff4000000000000n,
      0xfff7fffffff7ffffn,
      0x7ff8000000000001n,
      0xffffffffffffffffn,
      0x7ff7ffffffffffffn,
      0x0000000000000001n,
    ];
    const src = new Uint8Array(64);
    const view = new DataView(src.buffer);
    patterns.forEach((p, i) => view.setBigUint64(8 * i, p, true));
    for (const jit of [false, true]) {
      setJitEnabled(jit);
      const runtime = newRuntimeWithConfig(newRuntimeConfigInterpreter());
      try {
        const m = await runtime.instantiateWithConfig(bytes, newModuleConfig().withName(''));
        const mem = m.memory()!;
        mem.write(0, src);
        for (const n of [8, 9, 200_000, 200_000]) {
          m.exportedFunction('copy')!.call(n);
          for (const at of [64, 128, 192, 256]) expect(mem.read(at, 64), `jit ${jit}, n ${n}, at ${at}`).toEqual(src);
        }
      } finally {
        await runtime.close();
      }
    }
  }, 60_000);
});
