/**
 * What the compiler's rewrite touches for listeners and interrupts: nothing when nothing is hooked
 * (bodies copied unchanged), loop heads and listened bodies when asked, and function-entry checks
 * only where a call can recurse or leave the module. What listeners and interrupts do is
 * engine-neutral and lives in test/engines/ (listeners, timeouts, instructions with interrupt checks,
 * differential).
 */
import { describe, expect, it } from 'vitest';
import { CoreFeaturesTailCall, CoreFeaturesV2 } from '../runtime/api/features.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import { wat } from '../../test/helpers.js';
import { rewriteModule } from './rewrite.js';
import { entryCheckedBodies } from '../runtime/store/interrupts.js';

const LOOPS = `(module
  (func $a (export "a") (param i32) (result i32) (local.get 0))
  (func $b (export "b") (param i32) (result i32) (loop $l (br_if $l (i32.eqz (local.get 0)))) (local.get 0))
  (func $spin (export "spin") (loop $l (br $l))))`;

describe('compiler hooks: what the rewrite touches', () => {
  it('copies every body unchanged when nothing is hooked (precise traps off)', async () => {
    const m = decodeModule(await wat(LOOPS), CoreFeaturesV2);
    const rw = rewriteModule(m, 'test1', { preciseTraps: false });
    expect(rw.instrumented.every((b) => b === undefined)).toBe(true);
    expect(rw.hooks).toEqual([]);
  });

  it('instruments only bodies with loops for interrupts, and only listened bodies for listeners', async () => {
    const m = decodeModule(await wat(LOOPS), CoreFeaturesV2);
    const withInterrupts = rewriteModule(m, 'test2', { preciseTraps: true, interrupts: true });
    expect(withInterrupts.instrumented.map((b) => b !== undefined)).toEqual([false, true, true]);
    const listened = rewriteModule(m, 'test3', { preciseTraps: true, listened: [0, 1, 0] });
    expect(listened.instrumented.map((b) => b !== undefined)).toEqual([false, true, false]);
    expect(listened.hooks.map((h) => h.kind)).toEqual(['tail', 'before', 'after']);
  });
});

describe('compiler hooks: entry checks for interrupts', () => {
  it('checks the entries of functions on a call cycle, calling through a table or calling an import, and no others', async () => {
    const m = decodeModule(
      await wat(`(module
        (import "env" "h" (func $h))
        (type $v (func))
        (table 1 funcref)
        (func $leaf (result i32) (i32.const 1))
        (func $helper (result i32) (call $leaf))
        (func $loop (local i32) (loop $l (local.set 0 (call $helper)) (br_if $l (local.get 0))))
        (func $self (call $self))
        (func $ping (call $pong))
        (func $pong (call $ping))
        (func $tail (return_call $tail))
        (func $indirect (call_indirect (type $v) (i32.const 0)))
        (func $host (call $h)))`),
      CoreFeaturesV2 | CoreFeaturesTailCall,
    );
    expect(Array.from(entryCheckedBodies(m))).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });
});
