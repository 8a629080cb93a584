import { beforeAll, describe, expect, it } from 'vitest';
import { wat } from '../../test/helpers.js';
import { newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../index.js';
import { Context } from '../runtime/api/context.js';
import { encodeF32, encodeF64 } from '../runtime/api/encoding.js';
import type { FunctionListener, FunctionListenerFactory } from '../runtime/api/listener.js';
import type { Function as ApiFunction, FunctionDefinition, Module } from '../runtime/api/module.js';
import { newFunctionDefinition } from '../runtime/store/definition.js';
import {
  LogScopeAll,
  LogScopeClock,
  LogScopeFilesystem,
  LogScopeMemory,
  LogScopeNone,
  LogScopeProc,
  LogScopeRandom,
  LogScopeSock,
  logScopesString,
  newHostLoggingListenerFactory,
  newLoggingListenerFactory,
  parseLogScopes,
  type LogWriter,
} from './logging.js';
import { newStackIterator } from './stack.js';
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../runtime/api/value-type.js';

/** A writer that records each write call as one chunk. */
class Lines implements LogWriter {
  chunks: Array<string | Uint8Array> = [];
  write(chunk: string | Uint8Array): void {
    this.chunks.push(chunk);
  }
  get text(): string {
    return this.chunks.map((c) => (typeof c === 'string' ? c : new TextDecoder().decode(c))).join('');
  }
}

interface DefSpec {
  module?: string;
  name?: string;
  params?: number[];
  results?: number[];
  paramNames?: string[];
  resultNames?: string[];
  host?: boolean;
  exported?: boolean;
  exportName?: string;
}

function def(s: DefSpec = {}): FunctionDefinition {
  const name = s.name ?? 'fn';
  return newFunctionDefinition({
    moduleName: s.module ?? 'test',
    index: 0,
    importName: undefined,
    exportNames: s.exported === false ? [] : [s.exportName ?? name],
    name,
    type: { params: s.params ?? [], results: s.results ?? [] },
    paramNames: s.paramNames ?? [],
    resultNames: s.resultNames ?? [],
    hostFunction: s.host === true ? () => {} : undefined,
  });
}

function fnOf(d: FunctionDefinition): ApiFunction {
  const unsupported = (): never => {
    throw new Error('not supported: calling a synthetic stack frame');
  };
  return {
    definition: () => d,
    call: unsupported,
    callWithContext: unsupported,
    callWithStack: unsupported,
    callAsync: unsupported,
    callWithContextAsync: unsupported,
    callWithStackAsync: unsupported,
  };
}

const ctx = Context.background();
let mod: Module;

beforeAll(async () => {
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
  mod = await r.instantiate(await wat('(module (memory (export "memory") 1))'));
});

function listen(f: FunctionListenerFactory, d: FunctionDefinition): FunctionListener {
  const l = f.newFunctionListener(d);
  if (l === undefined) throw new Error(`${d.debugName()} not listened`);
  return l;
}

/** One call: before then after (or abort when `results` is an Error). */
function call(l: FunctionListener, d: FunctionDefinition, params: bigint[], results: bigint[] | Error): void {
  l.before(ctx, mod, d, BigUint64Array.from(params), newStackIterator({ function: fnOf(d), params, results: [], pc: 0, sourceOffset: 0 }));
  if (results instanceof Error) l.abort(ctx, mod, d, results);
  else l.after(ctx, mod, d, BigUint64Array.from(results));
}

const MAX_U32 = 0xffffffffn;
const MAX_U64 = 0xffffffffffffffffn;
const MAX_F32 = encodeF32(3.4028234663852886e38);
const MAX_F64 = encodeF64(Number.MAX_VALUE);

describe('newLoggingListenerFactory line format (wazero Test_loggingListener)', () => {
  const cases: Array<{ name: string; d: DefSpec; params?: bigint[]; results?: bigint[]; expected: string }> = [
    { name: 'v_v', d: {}, expected: '--> test.fn()\n<--\n' },
    { name: 'host', d: { host: true }, expected: '==> test.fn()\n<==\n' },
    { name: 'i32', d: { params: [I32] }, params: [MAX_U32], expected: '--> test.fn(-1)\n<--\n' },
    { name: 'i32 named', d: { params: [I32], paramNames: ['x'] }, params: [MAX_U32], expected: '--> test.fn(x=-1)\n<--\n' },
    { name: 'i64', d: { params: [I64] }, params: [MAX_U64], expected: '--> test.fn(-1)\n<--\n' },
    { name: 'i64 named', d: { params: [I64], paramNames: ['x'] }, params: [MAX_U64], expected: '--> test.fn(x=-1)\n<--\n' },
    { name: 'f32', d: { params: [F32] }, params: [MAX_F32], expected: '--> test.fn(3.4028235e+38)\n<--\n' },
    { name: 'f32 named', d: { params: [F32], paramNames: ['x'] }, params: [MAX_F32], expected: '--> test.fn(x=3.4028235e+38)\n<--\n' },
    { name: 'f64', d: { params: [F64] }, params: [MAX_F64], expected: '--> test.fn(1.7976931348623157e+308)\n<--\n' },
    { name: 'externref', d: { params: [EXTERNREF] }, params: [0n], expected: '--> test.fn(0000000000000000)\n<--\n' },
    {
      name: 'externref named',
      d: { params: [EXTERNREF], paramNames: ['x'] },
      params: [0n],
      expected: '--> test.fn(x=0000000000000000)\n<--\n',
    },
    { name: 'funcref', d: { params: [FUNCREF] }, params: [0xabcn], expected: '--> test.fn(0000000000000abc)\n<--\n' },
    { name: 'v128 (lo, hi)', d: { params: [V128] }, params: [0n, 1n], expected: '--> test.fn(00000000000000000000000000000001)\n<--\n' },
    {
      name: 'v128 named',
      d: { params: [V128], paramNames: ['x'] },
      params: [0xan, 0xbn],
      expected: '--> test.fn(x=000000000000000a000000000000000b)\n<--\n',
    },
    {
      name: 'a v128 takes two slots, so the next value is read after it',
      d: { params: [V128, I32] },
      params: [1n, 2n, 7n],
      expected: '--> test.fn(00000000000000010000000000000002,7)\n<--\n',
    },
    { name: 'no params, one result', d: { results: [I32] }, results: [MAX_U32], expected: '--> test.fn()\n<-- -1\n' },
    {
      name: 'one param, one result',
      d: { params: [I32], results: [F32] },
      params: [MAX_U32],
      results: [MAX_F32],
      expected: '--> test.fn(-1)\n<-- 3.4028235e+38\n',
    },
    {
      name: 'two params, two results',
      d: { params: [I32, I64], results: [F32, F64] },
      params: [MAX_U32, MAX_U64],
      results: [MAX_F32, MAX_F64],
      expected: '--> test.fn(-1,-1)\n<-- (3.4028235e+38,1.7976931348623157e+308)\n',
    },
    {
      name: 'two params, two results named',
      d: { params: [I32, I64], results: [F32, F64], paramNames: ['x', 'y'], resultNames: ['a', 'b'] },
      params: [MAX_U32, MAX_U64],
      results: [MAX_F32, MAX_F64],
      expected: '--> test.fn(x=-1,y=-1)\n<-- (a=3.4028235e+38,b=1.7976931348623157e+308)\n',
    },
    { name: 'host with a result', d: { host: true, results: [I64] }, results: [5n], expected: '==> test.fn()\n<== 5\n' },
    { name: 'debug name of an unnamed function', d: { name: '' }, expected: '--> test.$0()\n<--\n' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = new Lines();
      const d = def(c.d);
      call(listen(newLoggingListenerFactory(out), d), d, c.params ?? [], c.results ?? []);
      expect(out.text).toBe(c.expected);
      expect(out.chunks).toHaveLength(2); // one write per line
    });
  }

  it('prints floats like Go %g: shortest, Inf/NaN, exponent with at least two digits', () => {
    const out = new Lines();
    const d = def({ params: [F64, F64, F64, F64, F64, F64, F64, F64], results: [F32, F32, F32, F32, F32, F32] });
    const f64s = [Infinity, -Infinity, NaN, 1e21, 1e-7, 123456, 1234567, -0].map(encodeF64);
    const f32s = [0.1, 1e-7, 16777216, 1.401298464324817e-45, 100, NaN].map(encodeF32);
    call(listen(newLoggingListenerFactory(out), d), d, f64s, f32s);
    expect(out.text).toBe('--> test.fn(+Inf,-Inf,NaN,1e+21,1e-07,123456,1.234567e+06,-0)\n<-- (0.1,1e-07,1.6777216e+07,1e-45,100,NaN)\n');
  });

  it('indents nested calls by a tab per open frame, host calls included', () => {
    const out = new Lines();
    const f = newLoggingListenerFactory(out);
    const d1 = def({ name: 'fn1' });
    const d2 = def({ name: 'fn2', params: [I32], paramNames: ['x'] });
    const h = def({ module: 'host', name: 'h', host: true, results: [I32] });
    const [l1, l2, lh] = [listen(f, d1), listen(f, d2), listen(f, h)];
    const it = newStackIterator();
    l1.before(ctx, mod, d1, new BigUint64Array(0), it);
    l2.before(ctx, mod, d2, BigUint64Array.of(1n), it);
    lh.before(ctx, mod, h, new BigUint64Array(0), it);
    lh.after(ctx, mod, h, BigUint64Array.of(3n));
    l2.after(ctx, mod, d2, new BigUint64Array(0));
    l2.before(ctx, mod, d2, BigUint64Array.of(2n), it);
    l2.after(ctx, mod, d2, new BigUint64Array(0));
    l1.after(ctx, mod, d1, new BigUint64Array(0));
    expect(out.text).toBe('--> test.fn1()\n\t--> test.fn2(x=1)\n\t\t==> host.h()\n\t\t<== 3\n\t<--\n\t--> test.fn2(x=2)\n\t<--\n<--\n');
  });

  it('abort only pops: a trapped call leaves its --> line without a return line', () => {
    const out = new Lines();
    const f = newLoggingListenerFactory(out);
    const d1 = def({ name: 'fn1' });
    const d2 = def({ name: 'fn2' });
    const [l1, l2] = [listen(f, d1), listen(f, d2)];
    const it = newStackIterator();
    l1.before(ctx, mod, d1, new BigUint64Array(0), it);
    l2.before(ctx, mod, d2, new BigUint64Array(0), it);
    l2.abort(ctx, mod, d2, new Error('trap'));
    l1.abort(ctx, mod, d1, new Error('trap'));
    // The next call starts at depth 0 again.
    call(l1, d1, [], []);
    expect(out.text).toBe('--> test.fn1()\n\t--> test.fn2()\n--> test.fn1()\n<--\n');
  });

  it('keeps one stack per factory', () => {
    const out = new Lines();
    const d1 = def({ name: 'fn1' });
    const d2 = def({ name: 'fn2' });
    const l1 = listen(newLoggingListenerFactory(out), d1);
    const l2 = listen(newLoggingListenerFactory(out), d2);
    const it = newStackIterator();
    l1.before(ctx, mod, d1, new BigUint64Array(0), it);
    l2.before(ctx, mod, d2, new BigUint64Array(0), it);
    l2.after(ctx, mod, d2, new BigUint64Array(0));
    l1.after(ctx, mod, d1, new BigUint64Array(0));
    expect(out.text).toBe('--> test.fn1()\n--> test.fn2()\n<--\n<--\n');
  });
});

describe('newHostLoggingListenerFactory filtering', () => {
  const listened = (scopes: number, s: DefSpec): boolean =>
    newHostLoggingListenerFactory(new Lines(), scopes).newFunctionListener(def(s)) !== undefined;

  it('skips guest functions that are not exported', () => {
    expect(listened(LogScopeAll, { exported: false })).toBe(false);
    expect(listened(LogScopeAll, { exported: true })).toBe(true);
    expect(listened(LogScopeAll, { host: true, exported: true })).toBe(true);
    expect(newLoggingListenerFactory(new Lines()).newFunctionListener(def({ exported: false }))).toBeDefined();
  });

  it('logs modules other than WASI and env only for all scopes, so _start is not printed for filesystem', () => {
    expect(listened(LogScopeFilesystem, { name: '_start' })).toBe(false);
    expect(listened(LogScopeAll, { name: '_start' })).toBe(true);
    expect(listened(LogScopeFilesystem, { module: 'host', host: true })).toBe(false);
  });

  it('chooses WASI functions by scope', () => {
    const wasi = (name: string, scopes: number, module = 'wasi_snapshot_preview1'): boolean =>
      listened(scopes, { module, name, host: true, params: [I32], results: [I32] });
    expect(wasi('clock_time_get', LogScopeClock)).toBe(true);
    expect(wasi('clock_time_get', LogScopeFilesystem)).toBe(false);
    expect(wasi('path_open', LogScopeFilesystem)).toBe(true);
    expect(wasi('fd_write', LogScopeFilesystem | LogScopeClock)).toBe(true);
    expect(wasi('proc_exit', LogScopeProc)).toBe(true);
    expect(wasi('poll_oneoff', LogScopeClock)).toBe(false);
    expect(wasi('random_get', LogScopeRandom)).toBe(true);
    expect(wasi('sock_accept', LogScopeSock)).toBe(true);
    expect(wasi('args_get', LogScopeFilesystem | LogScopeClock | LogScopeProc)).toBe(false);
    expect(wasi('args_get', LogScopeAll)).toBe(true);
    expect(wasi('random_get', LogScopeRandom, 'wasi_unstable')).toBe(true);
    expect(wasi('random_get', LogScopeNone)).toBe(false);
  });

  it('applies env rules: abort needs proc, seed random, emscripten_notify_memory_growth memory, others all', () => {
    const env = (name: string, exportName: string, scopes: number): boolean =>
      listened(scopes, { module: 'env', name, exportName, host: true });
    expect(env('~lib/builtins/abort', 'abort', LogScopeProc)).toBe(true);
    expect(env('~lib/builtins/abort', 'abort', LogScopeRandom)).toBe(false);
    expect(env('~lib/builtins/seed', 'seed', LogScopeRandom)).toBe(true);
    expect(env('emscripten_notify_memory_growth', 'emscripten_notify_memory_growth', LogScopeMemory)).toBe(true);
    expect(env('emscripten_notify_memory_growth', 'emscripten_notify_memory_growth', LogScopeProc)).toBe(false);
    expect(env('~lib/builtins/trace', 'trace', LogScopeProc | LogScopeRandom | LogScopeMemory)).toBe(false);
    expect(env('~lib/builtins/trace', 'trace', LogScopeAll)).toBe(true);
  });
});

describe('LogScopes', () => {
  it('have wazero bit values and String()', () => {
    expect([LogScopeClock, LogScopeProc, LogScopeFilesystem, LogScopeMemory, LogScopeRandom, LogScopeSock]).toEqual([2, 4, 8, 16, 64, 128]);
    expect(logScopesString(LogScopeAll)).toBe('all');
    expect(logScopesString(LogScopeNone)).toBe('');
    expect(logScopesString(LogScopeFilesystem | LogScopeClock)).toBe('clock|filesystem');
    expect(logScopesString(1)).toBe('<unknown=1>');
  });

  it('parse the CLI form', () => {
    expect(parseLogScopes('filesystem,clock')).toBe(LogScopeFilesystem | LogScopeClock);
    expect(parseLogScopes('all')).toBe(LogScopeAll);
    expect(parseLogScopes('proc,all')).toBe(LogScopeAll);
    expect(parseLogScopes('')).toBe(LogScopeNone);
    expect(parseLogScopes(' poll , random,')).toBe(parseLogScopes('random,poll'));
    expect(() => parseLogScopes('files')).toThrow(/invalid log scope "files"/);
  });
});
