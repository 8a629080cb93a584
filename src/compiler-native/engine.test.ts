/**
 * The compiler engine through the Engine interface: raw bits across the JS boundary, traps and
 * their texts, stack overflow recovery, cross-module sharing and host functions.
 */
import { describe, expect, it } from 'vitest';
import { WasmRuntimeError } from '../runtime/api/errors.js';
import { newCompilerEngine } from './engine.js';
import wabtInit from 'wabt';
import { Context } from '../runtime/api/context.js';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV2, type CoreFeatures } from '../runtime/api/features.js';
import type { Module as ApiModule } from '../runtime/api/module.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import type { FuncType } from '../runtime/binary/module.js';
import { newFunctionDefinition } from '../runtime/store/definition.js';
import type { CompiledCode, Engine, EngineInstance, ExternValue, HostFunctionSpec, RawHostFunction } from '../runtime/store/engine.js';
import { validateModule } from '../runtime/validate/validate.js';

const ALL_FEATURES: CoreFeatures = CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall;

const wabt = await wabtInit();

function wat(text: string): Uint8Array {
  const m = wabt.parseWat('test.wat', text, {
    simd: true,
    threads: true,
    tail_call: true,
    reference_types: true,
    bulk_memory: true,
    multi_value: true,
  });
  try {
    return new Uint8Array(m.toBinary({ write_debug_names: true }).buffer);
  } finally {
    m.destroy();
  }
}

async function compile(engine: Engine, bytes: Uint8Array, features = ALL_FEATURES): Promise<CompiledCode> {
  const m = decodeModule(bytes, features);
  validateModule(m, features);
  return engine.compile(m, { features, debugInfo: false, listeners: undefined });
}

/** A stand-in for the store's public module (host functions receive it as the caller). */
function fakeApi(name: string): ApiModule {
  return { name: () => name } as unknown as ApiModule;
}

function instantiate(
  engine: Engine,
  code: CompiledCode,
  imports: readonly ExternValue[] = [],
  opts: { memoryLimitPages?: number; name?: string } = {},
): EngineInstance {
  return engine.instantiate(
    code,
    imports,
    { api: fakeApi(opts.name ?? 'test') },
    {
      features: ALL_FEATURES,
      memoryLimitPages: opts.memoryLimitPages ?? 65536,
      memoryCapacityFromMax: false,
      ctx: Context.background(),
    },
  );
}

/** Index of export `name` of kind `kind` in `code`'s module. */
function exportIndex(code: CompiledCode, name: string, kind: 0 | 1 | 2 | 3 = 0): number {
  const e = code.module.exports.find((x) => x.name === name && x.kind === kind);
  if (e === undefined) throw new Error(`no export ${name}`);
  return e.index;
}

function slots(types: readonly number[]): number {
  let n = 0;
  for (const t of types) n += t === 0x7b ? 2 : 1;
  return n;
}

/** Calls export `name` with raw params; returns the raw results. */
function call(inst: EngineInstance, code: CompiledCode, name: string, ...params: bigint[]): bigint[] {
  const idx = exportIndex(code, name);
  const f = inst.functions[idx]!;
  const n = Math.max(slots(f.type.params), slots(f.type.results), params.length, 1);
  const stack = new BigUint64Array(n);
  params.forEach((p, i) => (stack[i] = BigInt.asUintN(64, p)));
  inst.call(idx, stack, Context.background());
  return [...stack.subarray(0, slots(f.type.results))];
}

function hostSpec(name: string, type: FuncType, fn: RawHostFunction, index = 0): HostFunctionSpec {
  return {
    type,
    fn,
    definition: newFunctionDefinition({
      moduleName: 'host',
      index,
      importName: undefined,
      exportNames: [name],
      name,
      type,
      paramNames: [],
      resultNames: [],
      hostFunction: fn,
    }),
  };
}

/** Extern value of export `name` of `inst`. */
function externOf(inst: EngineInstance, code: CompiledCode, name: string, kind: 0 | 1 | 2 | 3): ExternValue {
  const i = exportIndex(code, name, kind);
  switch (kind) {
    case 0:
      return { kind, value: inst.functions[i]! };
    case 1:
      return { kind, value: inst.tables[i]! };
    case 2:
      return { kind, value: inst.memories[i]! };
    case 3:
      return { kind, value: inst.globals[i]! };
  }
}

const engine = newCompilerEngine();

async function load(text: string, imports: readonly ExternValue[] = [], opts: { memoryLimitPages?: number } = {}) {
  const code = await compile(engine, wat(text));
  const inst = instantiate(engine, code, imports, opts);
  return { code, inst, call: (name: string, ...p: bigint[]) => call(inst, code, name, ...p) };
}

function trapOf(fn: () => unknown): WasmRuntimeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof WasmRuntimeError) return e;
    throw e;
  }
  throw new Error('no trap');
}

const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const EXTERNREF = 0x6f;

describe('compiler engine: raw bits across the boundary', () => {
  it('keeps f32 and f64 NaN payloads (signaling too) in params and results', async () => {
    const m = await load(`(module
      (func (export "f32") (param f32) (result f32) local.get 0)
      (func (export "f64") (param f64) (result f64) local.get 0)
      (func (export "mkf32") (result f32) (f32.reinterpret_i32 (i32.const 0x7f812345)))
      (func (export "bits") (param f64) (result i64) (i64.reinterpret_f64 (local.get 0))))`);
    expect(m.call('f32', 0x7fa00001n)).toEqual([0x7fa00001n]);
    expect(m.call('f32', 0xffc00123n)).toEqual([0xffc00123n]);
    expect(m.call('f64', 0x7ff0000000000001n)).toEqual([0x7ff0000000000001n]);
    expect(m.call('f64', 0xfff8000000000abcn)).toEqual([0xfff8000000000abcn]);
    expect(m.call('mkf32')).toEqual([0x7f812345n]);
    expect(m.call('bits', 0x7ff4000000000001n)).toEqual([0x7ff4000000000001n]);
  });

  it('passes i64 extremes and zero-extends i32 results', async () => {
    const m = await load(`(module
      (func (export "add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
      (func (export "neg") (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0))))`);
    expect(m.call('add', 0x7fffffffffffffffn, 1n)).toEqual([0x8000000000000000n]);
    expect(m.call('add', 0xffffffffffffffffn, 0xffffffffffffffffn)).toEqual([0xfffffffffffffffen]);
    expect(m.call('add', 0x8000000000000000n, 0n)).toEqual([0x8000000000000000n]);
    expect(m.call('neg', 1n)).toEqual([0xffffffffn]);
  });

  it('passes v128 as two slots and mixes them with other values in multi-value results', async () => {
    const m = await load(`(module
      (func (export "swap") (param v128) (result v128)
        (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get 0) (local.get 0)))
      (func (export "multi") (param i32 v128 f32) (result f32 v128 i64 i32)
        local.get 2 local.get 1 (i64.const -1) local.get 0))`);
    expect(m.call('swap', 0x0123456789abcdefn, 0xfedcba9876543210n)).toEqual([0xfedcba9876543210n, 0x0123456789abcdefn]);
    expect(m.call('multi', 7n, 1n, 2n, 0x7fa00000n)).toEqual([0x7fa00000n, 1n, 2n, 0xffffffffffffffffn, 7n]);
  });

  it('passes externref handles through and returns funcref handles that map back', async () => {
    const m = await load(`(module
      (table $t 1 funcref)
      (func $f (export "f") (result i32) (i32.const 42))
      (elem declare func $f)
      (func (export "ext") (param externref) (result externref) local.get 0)
      (func (export "isnull") (param externref) (result i32) (ref.is_null (local.get 0)))
      (func (export "fref") (result funcref) (ref.func $f))
      (func (export "callref") (param funcref) (result i32)
        (table.set $t (i32.const 0) (local.get 0))
        (call_indirect (result i32) (i32.const 0))))`);
    expect(m.call('ext', 42n)).toEqual([42n]);
    expect(m.call('ext', 0n)).toEqual([0n]);
    expect(m.call('isnull', 0n)).toEqual([1n]);
    expect(m.call('isnull', 5n)).toEqual([0n]);
    const [h] = m.call('fref');
    expect(h).not.toBe(0n);
    expect(m.call('fref')).toEqual([h]);
    expect(m.call('callref', h!)).toEqual([42n]);
  });
});

describe('compiler engine: traps', () => {
  const text = `(module $m
    (type $v (func))
    (type $r (func (result i32)))
    (memory 1)
    (table $t 3 funcref)
    (table $full 1 funcref)
    (func $one (result i32) (i32.const 1))
    (func $nop)
    (elem (table $t) (i32.const 0) func $one)
    (elem (table $full) (i32.const 0) func $nop)
    (func $unr (export "unreachable") unreachable)
    (func (export "nested") (call $unr))
    (func (export "oob") (drop (i32.load (i32.const 65535))))
    (func (export "div") (drop (i32.div_s (i32.const 1) (i32.const 0))))
    (func (export "rem") (drop (i64.rem_u (i64.const 1) (i64.const 0))))
    (func (export "ovf") (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))
    (func (export "trunc") (drop (i32.trunc_f64_s (f64.const 1e100))))
    (func (export "tableoob") (drop (call_indirect $t (type $r) (i32.const 7))))
    (func (export "null") (drop (call_indirect $t (type $r) (i32.const 2))))
    (func (export "mismatch") (drop (call_indirect $full (type $r) (i32.const 0))))
    (func (export "tableget") (drop (table.get $t (i32.const 3))))
    (func (export "meminit") (memory.fill (i32.const 65000) (i32.const 0) (i32.const 1000)))
    (func $rec (export "rec") (call $rec))
    (func (export "ok") (result i32) (i32.const 9)))`;

  it.each([
    ['unreachable', 'unreachable'],
    ['oob', 'out of bounds memory access'],
    ['div', 'integer divide by zero'],
    ['rem', 'integer divide by zero'],
    ['ovf', 'integer overflow'],
    ['trunc', 'integer overflow'],
    ['tableoob', 'invalid table access'],
    ['null', 'invalid table access'],
    ['mismatch', 'indirect call type mismatch'],
    ['tableget', 'invalid table access'],
    ['meminit', 'out of bounds memory access'],
  ])('%s traps with "%s"', async (name, expected) => {
    const m = await load(text);
    const err = trapOf(() => m.call(name));
    expect(err.trap).toBe(expected);
    expect(err.message.startsWith(`wasm error: ${expected}\nwasm stack trace:\n\t`)).toBe(true);
  });

  it('rebuilds the wasm stack trace with original names and offsets', async () => {
    const m = await load(text);
    const err = trapOf(() => m.call('nested')) as WasmRuntimeError & { wasmOffsets: number[] };
    expect(err.message).toBe('wasm error: unreachable\nwasm stack trace:\n\tm.unr()\n\tm.$3()');
    const mod = m.code.module;
    const body = mod.codes[2]!; // $unr
    expect(err.wasmOffsets[1]).toBe(mod.codes[3]!.codeStart);
    expect(mod.bytes[err.wasmOffsets[1]!]).toBe(0x10); // the call in $3
    expect(err.wasmOffsets[0]).toBe(body.codeStart);
    expect(mod.bytes[err.wasmOffsets[0]!]).toBe(0x00);
  });

  it('turns stack exhaustion into "stack overflow" and stays usable', async () => {
    const m = await load(text);
    const err = trapOf(() => m.call('rec'));
    expect(err.trap).toBe('stack overflow');
    expect(err.stackFrames.length).toBe(31);
    expect(err.stackFrames[0]).toBe('m.rec()');
    expect(err.stackFrames[30]).toBe('... maybe followed by omitted frames');
    expect(m.call('ok')).toEqual([9n]);
    expect(trapOf(() => m.call('rec')).trap).toBe('stack overflow');
    expect(m.call('ok')).toEqual([9n]);
  });

  it('reports unaligned atomics and waits on unshared memory', async () => {
    const m = await load(`(module (memory 1)
      (func (export "una") (drop (i32.atomic.load (i32.const 1))))
      (func (export "wait") (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))))`);
    expect(trapOf(() => m.call('una')).trap).toBe('unaligned atomic');
    expect(trapOf(() => m.call('wait')).trap).toBe('expected shared memory');
  });

  it('maps segment and start-function failures at instantiation', async () => {
    const data = await compile(engine, wat('(module (memory 1) (data (i32.const 65535) "ab"))'));
    expect(trapOf(() => instantiate(engine, data)).trap).toBe('out of bounds memory access');
    const elem = await compile(engine, wat('(module (table 1 funcref) (func) (elem (i32.const 1) func 0))'));
    expect(trapOf(() => instantiate(engine, elem)).trap).toBe('invalid table access');
    const start = await compile(engine, wat('(module $s (func $boom unreachable) (start $boom))'));
    const err = trapOf(() => instantiate(engine, start));
    expect(err.message).toBe('wasm error: unreachable\nwasm stack trace:\n\ts.boom()');
  });
});

describe('compiler engine: hidden exports and shared objects', () => {
  it('exposes memory, globals and tables of a module that exports nothing', async () => {
    const m = await load(`(module (memory 2 3) (table 4 externref)
      (global i32 (i32.const -5)) (global (mut f32) (f32.const nan:0x200001)) (global v128 (v128.const i64x2 1 2))
      (global i64 (i64.const -1)) (data (i32.const 10) "hi"))`);
    expect(m.inst.memories[0]!.api.read(10, 2)).toEqual(new Uint8Array([104, 105]));
    expect(m.inst.memories[0]!.pages()).toBe(2);
    expect(m.inst.memories[0]!.api.grow(1)).toBe(2);
    expect(m.inst.memories[0]!.api.grow(1)).toBeUndefined();
    expect(m.inst.tables[0]!.size()).toBe(4);
    const [g0, g1, g2, g3] = m.inst.globals;
    expect(g0!.get()).toBe(0xfffffffbn);
    expect(g1!.get()).toBe(0x7fa00001n);
    g1!.set(0xff800001n);
    expect(g1!.get()).toBe(0xff800001n);
    expect(g2!.getV128!()).toEqual([1n, 2n]);
    expect(g3!.get()).toBe(0xffffffffffffffffn);
  });

  it('caps a defined memory at the runtime page limit', async () => {
    const m = await load(
      `(module (memory (export "mem") 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`,
      [],
      {
        memoryLimitPages: 4,
      },
    );
    expect(m.call('grow', 3n)).toEqual([1n]);
    expect(m.call('grow', 1n)).toEqual([0xffffffffn]);
    expect(m.inst.memories[0]!.pages()).toBe(4);
  });

  it('shares functions, tables, memories and mutable globals across modules', async () => {
    const a = await load(`(module $a
      (memory (export "mem") 1 1 shared)
      (table (export "tab") 2 funcref)
      (global (export "g") (mut f64) (f64.const 0))
      (func $sq (export "sq") (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
      (elem (i32.const 0) func $sq)
      (func (export "peek") (result i32) (i32.load (i32.const 8))))`);
    const bText = `(module $b
      (import "a" "mem" (memory 1 1 shared))
      (import "a" "tab" (table 2 funcref))
      (import "a" "g" (global (mut f64)))
      (import "a" "sq" (func $sq (param i64) (result i64)))
      (type $sig (func (param i64) (result i64)))
      (func (export "run") (param i64) (result i64)
        (i32.store (i32.const 8) (i32.const 77))
        (global.set 0 (f64.reinterpret_i64 (i64.const 0x7ff0000000000bad)))
        (i64.add (call $sq (local.get 0)) (call_indirect (type $sig) (local.get 0) (i32.const 0)))))`;
    const bCode = await compile(engine, wat(bText));
    const b = instantiate(engine, bCode, [
      externOf(a.inst, a.code, 'mem', 2),
      externOf(a.inst, a.code, 'tab', 1),
      externOf(a.inst, a.code, 'g', 3),
      externOf(a.inst, a.code, 'sq', 0),
    ]);
    expect(call(b, bCode, 'run', 5n)).toEqual([50n]);
    expect(a.call('peek')).toEqual([77n]);
    expect(b.memories[0]).toBe(a.inst.memories[0]);
    expect(a.inst.globals[0]!.get()).toBe(0x7ff0000000000badn);
    expect(b.memories[0]!.shared).toBe(true);
  });
});

describe('compiler engine: host functions', () => {
  it('calls host functions with raw stacks (NaN bits, i64, v128) and the calling module', async () => {
    const seen: bigint[][] = [];
    let callerName = '';
    const host = engine.instantiateHost(
      [
        hostSpec('mix', { params: [I32, I64, F32, F64, V128], results: [F64, I32] }, (_ctx, caller, stack) => {
          callerName = caller.name();
          seen.push([...stack.subarray(0, 6)]);
          stack[0] = 0x7ff0000000000001n;
          stack[1] = 0xffffffffn;
        }),
        hostSpec(
          'ext',
          { params: [EXTERNREF], results: [EXTERNREF] },
          (_ctx, _c, stack) => {
            stack[0] = stack[0]! + 1n;
          },
          1,
        ),
      ],
      { api: fakeApi('host') },
    );
    const code = await compile(
      engine,
      wat(`(module
        (import "host" "mix" (func $mix (param i32 i64 f32 f64 v128) (result f64 i32)))
        (import "host" "ext" (func $ext (param externref) (result externref)))
        (func (export "go") (result i64 i32) (local $r i32)
          (call $mix (i32.const -1) (i64.const -2) (f32.reinterpret_i32 (i32.const 0x7f800001))
            (f64.reinterpret_i64 (i64.const 0xfff0000000000002)) (v128.const i64x2 3 4))
          (local.set $r)
          (i64.reinterpret_f64)
          (local.get $r))
        (func (export "ext") (param externref) (result externref) (call $ext (local.get 0))))`),
    );
    const inst = instantiate(
      engine,
      code,
      [
        { kind: 0, value: host.functions[0]! },
        { kind: 0, value: host.functions[1]! },
      ],
      { name: 'guest' },
    );
    expect(call(inst, code, 'go')).toEqual([0x7ff0000000000001n, 0xffffffffn]);
    expect(seen).toEqual([[0xffffffffn, 0xfffffffffffffffen, 0x7f800001n, 0xfff0000000000002n, 3n, 4n]]);
    expect(callerName).toBe('guest');
    expect(call(inst, code, 'ext', 41n)).toEqual([42n]);
    // Calling the import itself (function index 0) goes through the same adapter.
    const stack = new BigUint64Array(6);
    inst.call(0, stack, Context.background());
    expect(stack[0]).toBe(0x7ff0000000000001n);
  });

  it('lets a host function call back into the guest, and guest traps inside come out as traps', async () => {
    let guest: { inst: EngineInstance; code: CompiledCode } | undefined;
    const host = engine.instantiateHost(
      [
        hostSpec('back', { params: [I32], results: [I32] }, (_ctx, _c, stack) => {
          const n = stack[0]!;
          const r = n === 0n ? 0n : call(guest!.inst, guest!.code, 'sum', n - 1n)[0]!;
          stack[0] = n + r;
        }),
      ],
      { api: fakeApi('host') },
    );
    const code = await compile(
      engine,
      wat(`(module $g
        (import "h" "back" (func $back (param i32) (result i32)))
        (func (export "sum") (param i32) (result i32) (call $back (local.get 0)))
        (func (export "boom") (param i32) (result i32) (drop (call $back (i32.const 3))) unreachable))`),
    );
    const inst = instantiate(engine, code, [{ kind: 0, value: host.functions[0]! }]);
    guest = { inst, code };
    expect(call(inst, code, 'sum', 10n)).toEqual([55n]);
    expect(trapOf(() => call(inst, code, 'boom', 0n)).message).toBe('wasm error: unreachable\nwasm stack trace:\n\tg.$2(i32) i32');
  });

  it('propagates host errors unchanged', async () => {
    const boom = new Error('host failure');
    const host = engine.instantiateHost(
      [
        hostSpec('fail', { params: [], results: [] }, () => {
          throw boom;
        }),
      ],
      { api: fakeApi('host') },
    );
    const m = await load('(module (import "h" "fail" (func $f)) (func (export "go") (call $f)))', [{ kind: 0, value: host.functions[0]! }]);
    expect(() => m.call('go')).toThrow(boom);
  });
});

describe('compiler engine: precise traps (on by default)', () => {
  const precise = newCompilerEngine();
  const text = `(module $p
    (type $r (func (result i32)))
    (table 3 funcref)
    (func $one (result i32) (i32.const 1))
    (func $two (param i32) (result i32) (local.get 0))
    (elem (i32.const 0) func $one $two)
    (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
    (func (export "trunc64") (param f64) (result i64) (nop) (i64.trunc_f64_u (local.get 0)))
    (func (export "ind") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))`;

  it('tells a NaN conversion from an overflow and keeps normal results', async () => {
    const code = await compile(precise, wat(text));
    const inst = instantiate(precise, code);
    expect(call(inst, code, 'trunc', 0x40400000n)).toEqual([3n]);
    expect(trapOf(() => call(inst, code, 'trunc', 0x7fc00000n)).trap).toBe('invalid conversion to integer');
    expect(trapOf(() => call(inst, code, 'trunc', 0x7f000000n)).trap).toBe('integer overflow');
    expect(trapOf(() => call(inst, code, 'trunc64', 0xfff8000000000001n)).trap).toBe('invalid conversion to integer');
    expect(trapOf(() => call(inst, code, 'trunc64', 0xc000000000000000n)).trap).toBe('integer overflow');
  });

  it('tells a null entry from a type mismatch in one table, with frames mapped to original offsets', async () => {
    const code = await compile(precise, wat(text));
    const inst = instantiate(precise, code);
    expect(call(inst, code, 'ind', 0n)).toEqual([1n]);
    expect(trapOf(() => call(inst, code, 'ind', 1n)).trap).toBe('indirect call type mismatch');
    const err = trapOf(() => call(inst, code, 'ind', 2n)) as WasmRuntimeError & { wasmOffsets: number[] };
    expect(err.trap).toBe('invalid table access');
    expect(err.message).toBe('wasm error: invalid table access\nwasm stack trace:\n\tp.$4(i32) i32');
    expect(code.module.bytes[err.wasmOffsets[0]!]).toBe(0x11); // the original call_indirect
    expect(trapOf(() => call(inst, code, 'ind', 3n)).trap).toBe('invalid table access');
    const nan = trapOf(() => call(inst, code, 'trunc64', 0x7ff8000000000000n)) as WasmRuntimeError & { wasmOffsets: number[] };
    expect(code.module.bytes[nan.wasmOffsets[0]!]).toBe(0xb1); // i64.trunc_f64_u, after the nop
  });
});

describe('compiler engine: precise traps off', () => {
  it('leaves bodies untouched and words a NaN conversion as V8 does (overflow)', async () => {
    const imprecise = newCompilerEngine({ preciseTraps: false });
    const code = await compile(imprecise, wat(`(module (func (export "t") (param f32) (result i32) (i32.trunc_f32_s (local.get 0))))`));
    const inst = instantiate(imprecise, code);
    expect(trapOf(() => call(inst, code, 't', 0x7fc00000n)).trap).toBe('integer overflow');
  });
});
