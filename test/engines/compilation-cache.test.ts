/**
 * Compilation caches (`newCompilationCache`, `newCompilationCacheWithDir`): ONE table of cases, run
 * on every engine, each with a cache in memory and one on disk.
 *
 * Semantics fixed here (both engines): a module compiled through a cache behaves exactly as one
 * compiled without (results, traps and their frames, listeners); another runtime sharing the cache
 * hits it; the key covers the features, the page limit and the listened functions, so a runtime that
 * would reject or instrument a module differently never takes another's entry; invalid modules are
 * never cached; on disk, entries survive the cache object (another process), a corrupt or truncated
 * entry is ignored and rewritten, and entries appear atomically (a reader racing writers in other
 * processes only ever sees whole entries).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CoreFeaturesV1, CoreFeaturesV2 } from '../../src/api.js';
import {
  Context,
  WasmRuntimeError,
  newCompilationCache,
  newCompilationCacheWithDir,
  newModuleConfig,
  type CompilationCache,
  type Runtime,
  type RuntimeConfig,
} from '../../src/index.js';
import { functionListenerFactoryFunc, withFunctionListenerFactory } from '../../src/experimental.js';
import { engines, runtimeFor, thrown, wat, type EngineCase } from '../helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const GUEST = `(module $cached
  (memory 2)
  (func $inner (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
  (func $div (export "div") (param i32) (result i32) (call $inner (local.get 0)))
  (func (export "fill") (param i32) (result i32) (memory.fill (i32.const 0) (i32.const 7) (local.get 0)) (i32.load8_u (i32.const 0))))`;

type CacheKind = 'memory' | 'dir';
let dirs = 0;
const newCache = (kind: CacheKind): Promise<CompilationCache> =>
  kind === 'memory' ? Promise.resolve(newCompilationCache()) : newCompilationCacheWithDir(join(tmp, `c${dirs++}`));

const withCache = (e: EngineCase, cache: CompilationCache, edit?: (c: RuntimeConfig) => RuntimeConfig): Runtime =>
  runtimeFor(e, (c) => (edit === undefined ? c : edit(c)).withCompilationCache(cache));

async function divide(r: Runtime, bytes: Uint8Array, x: number): Promise<bigint[]> {
  const m = await r.instantiateWithConfig(bytes, newModuleConfig().withName(''));
  return m.exportedFunction('div')!.call(x);
}

interface Case {
  readonly name: string;
  readonly run: (e: EngineCase, cache: CompilationCache) => Promise<void>;
}

const cases: Case[] = [
  {
    name: 'compiling again (same runtime, then another) gives modules that run and trap as without a cache',
    async run(e, cache) {
      const bytes = await wat(GUEST);
      const a = withCache(e, cache);
      const b = withCache(e, cache);
      expect(await divide(a, bytes, 4)).toEqual([25n]);
      expect(await divide(a, bytes, 5)).toEqual([20n]);
      expect(await divide(b, bytes, 10)).toEqual([10n]);
      const mod = await b.instantiateWithConfig(bytes, newModuleConfig().withName(''));
      const err = thrown(() => mod.exportedFunction('div')!.call(0));
      expect(err).toBeInstanceOf(WasmRuntimeError);
      expect((err as Error).message).toBe(
        'wasm error: integer divide by zero\nwasm stack trace:\n\tcached.inner(i32) i32\n\tcached.div(i32) i32',
      );
      await a.close();
      await b.close();
    },
  },
  {
    name: 'a runtime with other features or a lower page limit decides for itself',
    async run(e, cache) {
      const bytes = await wat(GUEST);
      const v2 = withCache(e, cache);
      expect(await divide(v2, bytes, 2)).toEqual([50n]);
      const v1 = withCache(e, cache, (c) => c.withCoreFeatures(CoreFeaturesV1));
      await expect(v1.compileModule(bytes)).rejects.toThrow(/bulk|feature|invalid|not enabled/i);
      const small = withCache(e, cache, (c) => c.withMemoryLimitPages(1).withCoreFeatures(CoreFeaturesV2));
      await expect(small.compileModule(bytes)).rejects.toThrow('min 2 pages over limit of 1 pages');
      await v2.close();
    },
  },
  {
    name: 'listeners: a hit with another factory fires that factory, and unlistened runtimes are unaffected',
    async run(e, cache) {
      const bytes = await wat(GUEST);
      const seen: string[] = [];
      const factory = (tag: string) =>
        withFunctionListenerFactory(
          Context.background(),
          functionListenerFactoryFunc((def) => ({
            before: () => seen.push(`${tag}>${def.name()}`),
            after: () => seen.push(`${tag}<${def.name()}`),
            abort: () => seen.push(`${tag}!${def.name()}`),
          })),
        );
      for (const tag of ['one', 'two']) {
        const r = withCache(e, cache);
        const m = await r.instantiateWithConfig(bytes, newModuleConfig(), factory(tag));
        expect(m.exportedFunction('div')!.call(50)).toEqual([2n]);
        await r.close();
      }
      expect(seen).toEqual(['one>div', 'one>inner', 'one<inner', 'one<div', 'two>div', 'two>inner', 'two<inner', 'two<div']);
      const plain = withCache(e, cache);
      expect(await divide(plain, bytes, 25)).toEqual([4n]);
      expect(seen).toHaveLength(8);
      await plain.close();
    },
  },
  {
    name: 'an invalid module is rejected every time and never cached',
    async run(e, cache) {
      // (func (result i32)) whose body is only `end`: nothing on the stack for the result.
      const bad = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b]);
      const r = withCache(e, cache);
      await expect(r.compileModule(bad)).rejects.toThrow();
      await expect(r.compileModule(bad)).rejects.toThrow();
      await r.close();
    },
  },
  {
    name: 'a closed cache is bypassed',
    async run(e, cache) {
      const bytes = await wat(GUEST);
      const r = withCache(e, cache);
      expect(await divide(r, bytes, 4)).toEqual([25n]);
      await cache.close();
      expect(await divide(r, bytes, 4)).toEqual([25n]);
      await r.close();
    },
  },
];

/** Whether an entry's payload matches the sha256 in its header (magic, format, key, sha256, payload). */
function whole(data: Buffer): boolean {
  return data.length > 104 && createHash('sha256').update(data.subarray(104)).digest().equals(data.subarray(72, 104));
}

/** The entry files of an on-disk cache made at `dir`. */
function entries(dir: string): string[] {
  return readdirSync(dir).flatMap((sub) =>
    readdirSync(join(dir, sub))
      .filter((f) => f.endsWith('.bin'))
      .map((f) => join(dir, sub, f)),
  );
}

describe.each(engines)('compilation cache on the $name engine', (engine) => {
  describe.each(['memory', 'dir'] as const)('in %s', (kind) => {
    it.each(cases)('$name', async ({ run }) => run(engine, await newCache(kind)));
  });

  it('on disk: another cache on the directory (another process) hits; corrupt and truncated entries are ignored and rewritten', async () => {
    const dir = join(tmp, `disk-${engine.name}`);
    const bytes = await wat(GUEST);
    const first = withCache(engine, await newCompilationCacheWithDir(dir));
    expect(await divide(first, bytes, 4)).toEqual([25n]);
    const [file] = entries(dir);
    expect(entries(dir)).toHaveLength(1);
    const good = readFileSync(file!);
    const mtime = statSync(file!).mtimeMs;
    const second = withCache(engine, await newCompilationCacheWithDir(dir));
    expect(await divide(second, bytes, 5)).toEqual([20n]);
    expect(statSync(file!).mtimeMs).toBe(mtime);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 10]! ^= 0xff;
    writeFileSync(file!, flipped);
    const third = withCache(engine, await newCompilationCacheWithDir(dir));
    expect(await divide(third, bytes, 20)).toEqual([5n]);
    expect(whole(readFileSync(file!))).toBe(true);
    expect(readFileSync(file!).equals(flipped)).toBe(false);

    writeFileSync(file!, good.subarray(0, 50));
    const fourth = withCache(engine, await newCompilationCacheWithDir(dir));
    expect(await divide(fourth, bytes, 50)).toEqual([2n]);
    expect(whole(readFileSync(file!))).toBe(true);
    for (const r of [first, second, third, fourth]) await r.close();
  });
});

describe('on-disk cache directory', () => {
  it('a path that is a file is refused', async () => {
    const file = join(tmp, 'file');
    writeFileSync(file, '');
    await expect(newCompilationCacheWithDir(file)).rejects.toThrow(/compilation cache directory .*file/);
  });

  it('processes writing the same entries while this one reads: every entry read is whole', async () => {
    const dir = join(tmp, 'race');
    const script = `
      import { DirCompilationCache } from ${JSON.stringify(join(root, 'src/runtime/store/cache.ts'))};
      const cache = new DirCompilationCache(process.argv[1]);
      const seed = Number(process.argv[2]);
      for (let i = 0; i < 40; i++) {
        const payload = new Uint8Array(1 << 20).fill((seed * 40 + i) & 0xff);
        await cache.store('k'.repeat(64), payload);
      }`;
    const writers = [1, 2, 3].map(
      (seed) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir, String(seed)], {
            cwd: root,
            stdio: 'ignore',
          });
          child.on('exit', resolve);
        }),
    );
    let done = false;
    void Promise.all(writers).then(() => (done = true));
    let reads = 0;
    while (!done) {
      const files = (() => {
        try {
          return entries(dir);
        } catch {
          return [];
        }
      })();
      for (const f of files) {
        let data: Buffer;
        try {
          data = readFileSync(f);
        } catch {
          continue;
        }
        expect(whole(data)).toBe(true);
        expect(data.length - 104).toBe(1 << 20);
        reads++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await Promise.all(writers)).toEqual([0, 0, 0]);
    expect(reads).toBeGreaterThan(0);
    expect(readdirSync(join(dir, readdirSync(dir)[0]!)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
