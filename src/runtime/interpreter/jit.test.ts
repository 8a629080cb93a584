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
});
