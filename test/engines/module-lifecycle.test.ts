/**
 * Close notifiers and memory allocators (wasmscope/experimental): ONE table of cases per feature,
 * run on every engine.
 *
 * Semantics fixed here:
 * - `withCloseNotifier` on the instantiation context: `closeNotify(ctx, exitCode)` runs exactly once
 *   per module, before its resources are released (its memory and files are still there), whatever
 *   closes it — `Module.close`/`closeWithExitCode`, `Runtime.close`, `proc_exit`, a context deadline
 *   or cancel under `withCloseOnContextDone`, a failing start function.
 * - `withMemoryAllocator` on the instantiation context: on the interpreter, each defined memory is
 *   `allocate(capBytes, maxBytes)` then `reallocate(minBytes)`; `memory.grow` (guest or host)
 *   reallocates, a refusal fails the grow (-1), the bytes live in the allocator's buffer, `free()`
 *   runs once at close; a shared memory never moves. The compiler engine refuses it (V8 allocates
 *   compiled code's memory) and frees what was allocated.
 */
import { describe, expect, it } from 'vitest';
import { CoreFeaturesThreads, CoreFeaturesV2, type Module } from '../../src/api.js';
import { Context, ExitError, newModuleConfig, type Runtime } from '../../src/index.js';
import { closeNotifyFunc, memoryAllocatorFunc, withCloseNotifier, withMemoryAllocator, type LinearMemory } from '../../src/experimental.js';
import * as wasi from '../../src/wasi.js';
import { engines, runtimeFor, thrown, wat, type EngineCase } from '../helpers.js';

const GUEST = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1 4)
  (data (i32.const 0) "kept")
  (func (export "exit") (param i32) (call $exit (local.get 0)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))`;

/** ES2024's resizable ArrayBuffer and growable SharedArrayBuffer (Node >= 20; the project's lib is ES2022). */
const ResizableBuffer = ArrayBuffer as unknown as new (
  n: number,
  o: { maxByteLength: number },
) => ArrayBuffer & { resize(n: number): void };
const GrowableShared = SharedArrayBuffer as unknown as new (
  n: number,
  o: { maxByteLength: number },
) => SharedArrayBuffer & { grow(n: number): void };

interface Notified {
  readonly code: number;
  /** The module's memory as the notifier saw it (still readable: not released yet). */
  readonly memory: string | undefined;
}

interface NotifierCase {
  readonly name: string;
  readonly closeOnContextDone?: boolean;
  readonly close: (m: Module, r: Runtime) => Promise<void>;
  readonly code: number;
}

const notifierCases: NotifierCase[] = [
  { name: 'Module.close', close: (m) => m.close(), code: 0 },
  { name: 'Module.closeWithExitCode', close: (m) => m.closeWithExitCode(7), code: 7 },
  { name: 'Runtime.closeWithExitCode', close: (_m, r) => r.closeWithExitCode(3), code: 3 },
  {
    name: 'proc_exit',
    close: (m) => {
      expect(thrown(() => m.exportedFunction('exit')!.call(42))).toBeInstanceOf(ExitError);
      return Promise.resolve();
    },
    code: 42,
  },
  {
    name: 'a context deadline under withCloseOnContextDone',
    closeOnContextDone: true,
    close: (m) => {
      expect(thrown(() => m.exportedFunction('spin')!.callWithContext(Context.background().withTimeout(20)))).toBeInstanceOf(ExitError);
      return Promise.resolve();
    },
    code: 0xefffffff,
  },
  {
    name: 'a canceled context under withCloseOnContextDone',
    closeOnContextDone: true,
    close: (m) => {
      const ac = new AbortController();
      ac.abort();
      expect(thrown(() => m.exportedFunction('spin')!.callWithContext(Context.background().withSignal(ac.signal)))).toBeInstanceOf(
        ExitError,
      );
      return Promise.resolve();
    },
    code: 0xffffffff,
  },
];

async function notifiedModule(e: EngineCase, closeOnContextDone: boolean, seen: Notified[], start: string[] = []) {
  const r = runtimeFor(e, (c) => c.withCloseOnContextDone(closeOnContextDone));
  await wasi.instantiate(r);
  let mod: Module | undefined;
  const ctx = withCloseNotifier(
    Context.background(),
    closeNotifyFunc((_ctx, code) => {
      const bytes = mod?.memory()?.read(0, 4);
      seen.push({ code, memory: bytes === undefined ? undefined : new TextDecoder().decode(bytes) });
    }),
  );
  const compiled = await r.compileModule(await wat(GUEST));
  const m = r.instantiateModule(compiled, newModuleConfig().withStartFunctions(...start), ctx);
  mod = await m.catch(() => undefined);
  return { r, mod, instantiated: m };
}

/** An allocator over resizable ArrayBuffers, recording its calls. */
function recordingAllocator(log: string[], opts: { refuseAbove?: number } = {}) {
  return memoryAllocatorFunc((cap, max): LinearMemory => {
    log.push(`allocate(${cap},${max})`);
    let buf: InstanceType<typeof ResizableBuffer> | undefined;
    return {
      reallocate(size) {
        log.push(`reallocate(${size})`);
        if (opts.refuseAbove !== undefined && size > opts.refuseAbove) return undefined;
        if (buf === undefined) {
          buf = new ResizableBuffer(size, { maxByteLength: max });
        } else {
          buf.resize(size);
        }
        return new Uint8Array(buf);
      },
      free() {
        log.push('free');
      },
    };
  });
}

describe.each(engines)('close notifier on the $name engine', (engine) => {
  it.each(notifierCases)('is called once, before release, on $name', async ({ close, code, closeOnContextDone }) => {
    const seen: Notified[] = [];
    const { r, mod } = await notifiedModule(engine, closeOnContextDone === true, seen);
    await close(mod!, r);
    expect(mod!.isClosed()).toBe(true);
    await mod!.close();
    await r.close();
    expect(seen).toEqual([{ code, memory: 'kept' }]);
  });

  it('is called when a start function fails, and not for a module that failed to instantiate earlier', async () => {
    const seen: Notified[] = [];
    const { r, instantiated } = await notifiedModule(engine, false, seen, ['exit']);
    await expect(instantiated).rejects.toThrow();
    expect(seen.map((s) => s.code)).toEqual([0]);
    const ctx = withCloseNotifier(
      Context.background(),
      closeNotifyFunc(() => seen.push({ code: -1, memory: undefined })),
    );
    await expect(r.instantiateWithConfig(await wat('(module (import "nope" "f" (func)))'), newModuleConfig(), ctx)).rejects.toThrow(
      'module[nope] not instantiated',
    );
    await r.close();
    expect(seen.map((s) => s.code)).toEqual([0]);
  });
});

describe.each(engines)('memory allocator on the $name engine', (engine) => {
  const allocated = async (log: string[], opts?: Parameters<typeof recordingAllocator>[1], text = GUEST) => {
    const r = runtimeFor(engine);
    await wasi.instantiate(r);
    const ctx = withMemoryAllocator(Context.background(), recordingAllocator(log, opts));
    return { r, mod: r.instantiateWithConfig(await wat(text), newModuleConfig(), ctx) };
  };

  if (engine.name === 'compiler') {
    it('is refused clearly, and what was allocated is freed', async () => {
      const log: string[] = [];
      const { r, mod } = await allocated(log);
      await expect(mod).rejects.toThrow('not supported: withMemoryAllocator on the compiler engine');
      expect(log).toEqual(['allocate(65536,262144)', 'reallocate(65536)', 'free']);
      await r.close();
    });
    return;
  }

  it('allocates, reallocates on every grow (guest and host), keeps the bytes in its buffer and frees at close', async () => {
    const log: string[] = [];
    const { r, mod: p } = await allocated(log);
    const mod = await p;
    expect(log).toEqual(['allocate(65536,262144)', 'reallocate(65536)']);
    mod.exportedFunction('store')!.call(100, 1234);
    expect(mod.exportedFunction('grow')!.call(1)).toEqual([1n]);
    expect(mod.memory()!.grow(1)).toBe(2);
    expect(mod.memory()!.size()).toBe(3 * 65536);
    mod.exportedFunction('store')!.call(3 * 65536 - 4, 77);
    expect(mod.exportedFunction('load')!.call(100)).toEqual([1234n]);
    expect(mod.memory()!.readUint32Le(3 * 65536 - 4)).toBe(77);
    expect(mod.exportedFunction('grow')!.call(2)).toEqual([0xffffffffn]);
    expect(log.slice(2)).toEqual(['reallocate(131072)', 'reallocate(196608)']);
    await mod.close();
    await mod.close();
    expect(log.filter((l) => l === 'free')).toHaveLength(1);
    await r.close();
  });

  it('a refused reallocate fails the grow and leaves the memory as it was', async () => {
    const log: string[] = [];
    const { r, mod: p } = await allocated(log, { refuseAbove: 2 * 65536 });
    const mod = await p;
    expect(mod.exportedFunction('grow')!.call(1)).toEqual([1n]);
    expect(mod.exportedFunction('grow')!.call(1)).toEqual([0xffffffffn]);
    expect(mod.memory()!.grow(1)).toBeUndefined();
    expect(mod.memory()!.size()).toBe(2 * 65536);
    await r.close();
    expect(log.at(-1)).toBe('free');
  });

  it('a shared memory grows in place; an allocator that moves it is an error', async () => {
    const shared = `(module (memory (export "memory") 1 3 shared)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`;
    const sharedAllocator = (log: string[], move: boolean) =>
      memoryAllocatorFunc((cap, max) => {
        log.push(`allocate(${cap},${max})`);
        const sab = new GrowableShared(cap, { maxByteLength: max });
        return {
          reallocate(size) {
            if (move && size > sab.byteLength) return new Uint8Array(new SharedArrayBuffer(size));
            sab.grow(size);
            return new Uint8Array(sab);
          },
          free: () => log.push('free'),
        };
      });
    const log: string[] = [];
    const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV2 | CoreFeaturesThreads));
    const mod = await r.instantiateWithConfig(
      await wat(shared),
      newModuleConfig(),
      withMemoryAllocator(Context.background(), sharedAllocator(log, false)),
    );
    const before = mod.memory()!.read(0, 1)!.buffer;
    expect(mod.exportedFunction('grow')!.call(1)).toEqual([1n]);
    expect(mod.memory()!.read(0, 1)!.buffer).toBe(before);
    const moving = await r.instantiateWithConfig(
      await wat(shared),
      newModuleConfig(),
      withMemoryAllocator(Context.background(), sharedAllocator(log, true)),
    );
    expect(() => moving.memory()!.grow(1)).toThrow('shared memory cannot move, this is a bug in the memory allocator');
    await r.close();
    expect(log).toEqual(['allocate(65536,196608)', 'allocate(65536,196608)', 'free', 'free']);
  });

  it('a view that does not span its buffer is refused at instantiation, naming the memory', async () => {
    const r = runtimeFor(engine);
    const log: string[] = [];
    const bad = memoryAllocatorFunc(() => ({
      reallocate: (size) => new Uint8Array(size * 2).subarray(0, size),
      free: () => log.push('free'),
    }));
    await expect(
      r.instantiateWithConfig(await wat('(module (memory 1))'), newModuleConfig(), withMemoryAllocator(Context.background(), bad)),
    ).rejects.toThrow(
      'memory[0]: memory allocator: reallocate(65536) must return a Uint8Array of 65536 bytes spanning its whole ArrayBuffer',
    );
    expect(log).toEqual(['free']);
    await r.close();
  });
});
