/**
 * The compiler engine's `preciseTraps` option, through the Engine interface. On (the default), the
 * rewrite adds checks that tell a NaN conversion from an overflow and a null table entry from a
 * type mismatch, and maps trap frames back to the original instructions' offsets; off, bodies are
 * left as they are and V8's wording stands (a NaN conversion is an overflow). What the engine
 * computes is engine-neutral and lives in test/engines/ (values, instructions, traces, host
 * functions, linking, limits, listeners, timeouts, re-entry, differential).
 */
import { describe, expect, it } from 'vitest';
import { WasmRuntimeError } from '../runtime/api/errors.js';
import { newCompilerEngine } from './engine.js';
import wabtInit from 'wabt';
import { Context } from '../runtime/api/context.js';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV2, type CoreFeatures } from '../runtime/api/features.js';
import type { Module as ApiModule } from '../runtime/api/module.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import type { CompiledCode, Engine, EngineInstance, ExternValue } from '../runtime/store/engine.js';
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

function trapOf(fn: () => unknown): WasmRuntimeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof WasmRuntimeError) return e;
    throw e;
  }
  throw new Error('no trap');
}

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
