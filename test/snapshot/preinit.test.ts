/**
 * Pre-initialisation (`preinitialize`, Wizer parity): the output starts in the state the init
 * export left (globals, memory size and bytes, funcref tables), without its start section and init
 * export; it is the same whichever engine ran the initialisation; data segments are the non-zero
 * runs (gaps of at most 4 bytes merged, at most 10,000); refusals name the cause.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  newFSConfig,
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type RuntimeConfig,
} from '../../src/index.js';
import type { Module } from '../../src/api.js';
import { decodeModule } from '../../src/runtime/binary/decoder.js';
import { CoreFeaturesV2 } from '../../src/runtime/api/features.js';
import { newMemFS } from '../../src/sys.js';
import * as wasi from '../../src/wasi.js';
import { CheckpointError, MAX_DATA_SEGMENTS, preinitialize } from '../../src/snapshot.js';
import { dataRuns } from '../../src/snapshot/preinit.js';
import { engines, wat } from '../helpers.js';

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/snapshot/${name}`, import.meta.url))));

async function instantiate(bytes: Uint8Array, config: RuntimeConfig = newRuntimeConfigCompiler(), withWasi = false): Promise<Module> {
  const r = newRuntimeWithConfig(config);
  if (withWasi) await wasi.instantiate(r);
  return r.instantiateWithConfig(bytes, newModuleConfig().withName(''));
}

const call = (m: Module, name: string, ...args: Array<number | bigint>): bigint[] => m.exportedFunction(name)!.call(...args);

/** A module whose init fills a funcref table and globals of every type, and drops a passive segment. */
const STATE = `(module
  (memory (export "memory") 1 100)
  (table $t (export "table") 1 1000 funcref)
  (global $i32 (mut i32) (i32.const 0))
  (global $i64 (mut i64) (i64.const 0))
  (global $f32 (mut f32) (f32.const 0))
  (global $f64 (mut f64) (f64.const 0))
  (global $v (mut v128) (v128.const i64x2 0 0))
  (global $fn (mut funcref) (ref.null func))
  (global $imm i32 (i32.const 42))
  (data $once "consumed by init")
  (data $later "still here")
  (func $a (result i32) (i32.const 1))
  (func $b (result i32) (i32.const 2))
  (elem declare func $a $b)
  (start $start)
  (func $start (global.set $i32 (i32.const 100)))
  (func (export "wizer.initialize")
    (drop (table.grow $t (ref.null func) (i32.const 9)))
    (table.set $t (i32.const 2) (ref.func $a))
    (table.set $t (i32.const 3) (ref.func $b))
    (table.set $t (i32.const 7) (ref.func $b))
    (global.set $i32 (i32.add (global.get $i32) (i32.const 1)))
    (global.set $i64 (i64.const -5))
    (global.set $f32 (f32.reinterpret_i32 (i32.const 0x7fa00001)))
    (global.set $f64 (f64.const 2.5))
    (global.set $v (v128.const i32x4 1 2 3 4))
    (global.set $fn (ref.func $b))
    (drop (memory.grow (i32.const 2)))
    (memory.init $once (i32.const 70000) (i32.const 0) (i32.const 16))
    (data.drop $once)
    (i32.store (i32.const 3) (i32.const 0x01000001)))
  (func (export "resume") (result i32) (global.get $i32))
  (func (export "callAt") (param i32) (result i32) (call_indirect $t (result i32) (local.get 0)))
  (func (export "globals") (result i32 i64 i32 f64 i32 i32 i32)
    (global.get $i32) (global.get $i64) (i32.reinterpret_f32 (global.get $f32)) (global.get $f64)
    (i32x4.extract_lane 3 (global.get $v)) (call $call_ref_null) (global.get $imm))
  (func $call_ref_null (result i32) (if (result i32) (ref.is_null (global.get $fn)) (then (i32.const -1)) (else (i32.const 1))))
  (func (export "initLater") (memory.init $later (i32.const 0) (i32.const 0) (i32.const 10)))
  (func (export "initOnce") (memory.init $once (i32.const 0) (i32.const 0) (i32.const 1)))
)`;

describe('preinitialize', () => {
  it('the table-building guest starts ready: its tables are data, its init and start are gone', async () => {
    const bytes = fixture('tables.wasm');
    const plain = await instantiate(bytes);
    call(plain, '_initialize');
    call(plain, 'wizer.initialize');
    const out = await preinitialize(bytes);
    const ir = decodeModule(out, CoreFeaturesV2);
    expect(ir.exports.map((e) => e.name)).not.toContain('wizer.initialize');
    expect(ir.exports.map((e) => e.name)).not.toContain('_initialize');
    expect(ir.startFunction).toBeUndefined();
    expect(ir.memories[0]!.limits.min).toBe(plain.memory()!.size() / 65536);
    const offsets = ir.datas.map((d) => (d.offsetExpr!.instrs[0] as { value: number }).value);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    const pre = await instantiate(out);
    expect(call(pre, 'ready')).toEqual([1n]);
    for (const m of [plain, pre]) {
      expect(call(m, 'count_primes', 1_000_000)).toEqual([78498n]);
      expect(call(m, 'lookup', call(m, 'key_of', 1234)[0]!)).toEqual([1234n]);
    }
    expect(call(pre, 'crc32', 100_000)).toEqual(call(plain, 'crc32', 100_000));
    expect(call(pre, 'sine', 16384)).toEqual(call(plain, 'sine', 16384));
    expect(Buffer.compare(pre.memory()!.read(0, pre.memory()!.size())!, plain.memory()!.read(0, plain.memory()!.size())!)).toBe(0);
  });

  it('gives the same bytes whichever engine ran the initialisation', async () => {
    const bytes = fixture('tables.wasm');
    const outs = await Promise.all(engines.map((e) => preinitialize(bytes, { runtimeConfig: e.config() })));
    for (const o of outs) expect(Buffer.compare(o, outs[0]!)).toBe(0);
  });

  for (const e of engines) {
    it(`snapshots funcref tables, globals of every type and dropped segments (${e.name})`, async () => {
      const out = await preinitialize(await wat(STATE), { runtimeConfig: e.config(), renameFuncs: { _start: 'resume' } });
      const ir = decodeModule(out, CoreFeaturesV2);
      expect(ir.startFunction).toBeUndefined();
      expect(ir.exports.map((x) => x.name).sort()).toEqual(['_start', 'callAt', 'globals', 'initLater', 'initOnce', 'memory', 'table']);
      expect(ir.tables[0]!.limits.min).toBe(10);
      const m = await instantiate(out, e.config());
      expect([2, 3, 7].map((i) => call(m, 'callAt', i))).toEqual([[1n], [2n], [2n]]);
      expect(() => call(m, 'callAt', 0)).toThrow(/invalid table access/);
      // i32 counts the start function's 100 and init's 1; the f32 NaN payload survives.
      expect(call(m, 'globals')).toEqual([101n, BigInt.asUintN(64, -5n), 0x7fa00001n, 0x4004000000000000n, 4n, 1n, 42n]);
      expect(call(m, '_start')).toEqual([101n]);
      expect(m.memory()!.size()).toBe(3 * 65536);
      expect(Buffer.from(m.memory()!.read(70000, 16)!).toString()).toBe('consumed by init');
      expect(m.memory()!.readUint32Le(3)).toBe(0x01000001);
      // The dropped segment stays dropped (empty), the other one is still there.
      expect(() => call(m, 'initOnce')).toThrow(/out of bounds memory access/);
      call(m, 'initLater');
      expect(Buffer.from(m.memory()!.read(0, 10)!).toString()).toBe('still here');
    });
  }

  it('keeps the init export with keepInitFunc, and renames exports (dst=src)', async () => {
    const out = await preinitialize(fixture('tables.wasm'), {
      keepInitFunc: true,
      renameFuncs: { primes: 'count_primes', ready: 'key_of' },
    });
    const names = decodeModule(out, CoreFeaturesV2).exports.map((e) => e.name);
    expect(names).toContain('wizer.initialize');
    expect(names).toContain('primes');
    expect(names).not.toContain('count_primes');
    const m = await instantiate(out);
    expect(call(m, 'primes', 100)).toEqual([25n]);
    const plain = await instantiate(fixture('tables.wasm'));
    expect(call(m, 'ready', 7)).toEqual(call(plain, 'key_of', 7));
  });

  it('runs a WASI initialisation with allowWasi (mounts and env through moduleConfig), and refuses it without', async () => {
    const bytes = fixture('words.wasm');
    await expect(preinitialize(bytes)).rejects.toThrow(
      'preinitialize: the module imports wasi_snapshot_preview1.environ_get: pass allowWasi (--allow-wasi) to initialise it with WASI',
    );
    const fs = newMemFS({ 'words.txt': 'apple\nbanana\nfig\nkiwi\n' });
    const out = await preinitialize(bytes, {
      allowWasi: true,
      moduleConfig: newModuleConfig().withEnv('MIN_LENGTH', '4').withFSConfig(newFSConfig().withFSMount(fs, '.')),
    });
    // No file and no environment now: the words are in the module.
    const m = await instantiate(out, newRuntimeConfigInterpreter(), true);
    expect(call(m, 'count')).toEqual([3n]);
    for (const [word, has] of [
      ['banana', 1n],
      ['fig', 0n],
      ['kiwi', 1n],
    ] as const) {
      m.memory()!.writeString(Number(call(m, 'input')[0]), `${word}\0`);
      expect(call(m, 'has')).toEqual([has]);
    }
  });

  it('refuses imports other than WASI functions, a missing init export, a rename of a missing export, and host references', async () => {
    const refusal = async (p: Promise<unknown>): Promise<string> => {
      const err = await p.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(err).toBeInstanceOf(CheckpointError);
      return (err as Error).message;
    };
    expect(await refusal(preinitialize(await wat('(module (import "env" "f" (func)) (func (export "wizer.initialize")))')))).toBe(
      'preinitialize: the module imports env.f: only WASI functions can be provided to the initialisation',
    );
    expect(await refusal(preinitialize(await wat('(module (func (export "init")))')))).toBe(
      'preinitialize: the module has no function export "wizer.initialize" to initialise it',
    );
    expect(await refusal(preinitialize(await wat('(module (func (export "init")))'), { init: 'init', renameFuncs: { a: 'b' } }))).toBe(
      'preinitialize: cannot rename "b" to "a": the module has no export "b"',
    );
    const ext = '(module (table 1 externref) (global (mut externref) (ref.null extern)) (func (export "wizer.initialize")))';
    expect(Buffer.from(await preinitialize(await wat(ext))).length).toBeGreaterThan(8);
    await expect(preinitialize(await wat('(module (func (export "wizer.initialize") unreachable))'))).rejects.toThrow(
      /^preinitialize: wizer.initialize failed: wasm error: unreachable/,
    );
  });
});

describe('data segments of a memory', () => {
  it('are the non-zero runs, gaps of at most 4 zero bytes merged', () => {
    const u8 = new Uint8Array(200_000);
    u8.set([1, 1], 10); // [10, 12)
    u8.set([1], 16); // gap of 4: merged → [10, 17)
    u8.set([1], 22); // gap of 5: new run
    u8.set([1, 1, 1], 65534); // across a page boundary
    expect(dataRuns(u8)).toEqual([
      [10, 17],
      [22, 23],
      [65534, 65537],
    ]);
  });

  it(`are at most ${MAX_DATA_SEGMENTS}: the smallest gaps merge first, earliest first among equal ones`, () => {
    const u8 = new Uint8Array(400_000);
    // 12,000 single bytes 30 bytes apart, but every third gap is 10 bytes.
    let at = 0;
    for (let k = 0; k < 12_000; k++) {
      u8[at] = 1;
      at += k % 3 === 0 ? 11 : 31;
    }
    const runs = dataRuns(u8);
    expect(runs.length).toBe(MAX_DATA_SEGMENTS);
    // The 2,000 merges took the first 2,000 of the 4,000 ten-byte gaps (after bytes 0, 73, 146, …).
    expect(runs.slice(0, 3)).toEqual([
      [0, 12],
      [42, 43],
      [73, 85],
    ]);
    expect(runs.at(-1)![1] - runs.at(-1)![0]).toBe(1);
    expect(dataRuns(u8)).toEqual(runs);
  });
});
