/**
 * Compilation caches (wazero's `CompilationCache`): a layer around `compileModule` that keeps what
 * our side computes — validation (a cached module is known valid) and the engine's preparation
 * (the compiler engine's rewrite; `Engine.artifactOf`) — so a hit only decodes the module's
 * sections and, on the compiler engine, hands V8 the rewritten binary.
 *
 * - Key: sha256 of the binary, the wasmscope version, the engine kind, the core features, the
 *   memory page limit (part of validation), DWARF and interrupt options, and which functions are
 *   listened (and how: a before-only listener changes the rewrite). Modules compiled for line
 *   coverage are never cached.
 * - In memory ({@link MemoryCompilationCache}): artifacts by key, plus the compiled code itself for
 *   the runtime that made it (reused as is when nothing is listened). Runtimes sharing a cache each
 *   keep their own engine (two runtimes never share frames or handles): another runtime's hit is
 *   compiled from the artifact.
 * - On disk ({@link DirCompilationCache}): one file per key under
 *   `<dir>/wasmscope-<version>-<arch>-<platform>/`, written to a temporary name and renamed into
 *   place (atomic: concurrent processes sharing the directory never read a half-written entry);
 *   each entry carries its key and a sha256 of its payload, so a corrupt or foreign entry is ignored
 *   and rewritten by the next compile.
 *
 * V8 offers Node no way to persist its own compiled wasm code, so a disk hit still pays V8's
 * compile of the rewritten binary (lazy: validation and the first tier on demand).
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { FunctionListener } from '../api/listener.js';
import type { CompilationCache } from './config.js';
import type { CompiledCode, Engine } from './engine.js';
import { PACKAGE_VERSION } from './version.js';

const require = createRequire(import.meta.url);

/** node:crypto, loaded on first use: only a runtime with a cache needs it (start-up). */
function crypto(): typeof import('node:crypto') {
  return require('node:crypto') as typeof import('node:crypto');
}

/** What decides a compilation's result, besides the binary. */
export interface CacheKeyParts {
  readonly engine: 'interpreter' | 'compiler';
  readonly features: number;
  readonly memoryLimitPages: number;
  readonly debugInfo: boolean;
  readonly closeOnContextDone: boolean;
  /** Per function index: 0 not listened, 1 listened, 2 before only; undefined when none is. */
  readonly listeners: ReadonlyArray<FunctionListener | undefined> | undefined;
}

/** The cache key of `bytes` compiled with `parts`. */
export function cacheKey(bytes: Uint8Array, parts: CacheKeyParts): string {
  const listened =
    parts.listeners === undefined
      ? ''
      : parts.listeners.map((l) => (l === undefined ? '0' : l.beforeOnly === true ? '2' : l.afterOnly === true ? '3' : '1')).join('');
  const h = crypto().createHash('sha256');
  h.update(
    `wasmscope ${PACKAGE_VERSION}\0${parts.engine}\0${parts.features}\0${parts.memoryLimitPages}\0${parts.debugInfo}\0${parts.closeOnContextDone}\0${listened}\0`,
  );
  h.update(bytes);
  return h.digest('hex');
}

/** What every compilation cache does; the store reads and writes entries through it. */
export abstract class CompilationCacheBase implements CompilationCache {
  /** Code compiled in this process, by key, with the engine that compiled it (reused only by that engine). */
  readonly #codes = new Map<string, { readonly engine: Engine; readonly code: CompiledCode }>();
  #closed = false;

  /** The code `engine` compiled for `key` in this process, if it is still cached. */
  codeFor(key: string, engine: Engine): CompiledCode | undefined {
    const e = this.#codes.get(key);
    return e !== undefined && e.engine === engine ? e.code : undefined;
  }

  /** Keeps `code` (compiled by `engine`, nothing listened) for later compiles of the same runtime. */
  rememberCode(key: string, engine: Engine, code: CompiledCode): void {
    if (!this.#closed) this.#codes.set(key, { engine, code });
  }

  /** The artifact stored for `key`, or undefined (missing, corrupt or unreadable). */
  abstract artifact(key: string): Promise<Uint8Array | undefined>;

  /** Stores `artifact` for `key` (failures are ignored: a cache only saves time). */
  abstract store(key: string, artifact: Uint8Array): Promise<void>;

  get closed(): boolean {
    return this.#closed;
  }

  /** Forgets what is held in memory; later compiles through this cache compile without it. */
  close(): Promise<void> {
    this.#closed = true;
    this.#codes.clear();
    return Promise.resolve();
  }
}

/** A compilation cache in memory, shared by the runtimes given it. */
export class MemoryCompilationCache extends CompilationCacheBase {
  readonly #artifacts = new Map<string, Uint8Array>();

  artifact(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.#artifacts.get(key));
  }

  store(key: string, artifact: Uint8Array): Promise<void> {
    if (!this.closed) this.#artifacts.set(key, artifact);
    return Promise.resolve();
  }

  override close(): Promise<void> {
    this.#artifacts.clear();
    return super.close();
  }
}

const MAGIC = new TextEncoder().encode('WSCC');
const FORMAT = 1;
const HEADER = 4 + 4 + 64 + 32;

/** A compilation cache in a directory, shared by runtimes and processes. */
export class DirCompilationCache extends CompilationCacheBase {
  /** The directory entries live in: one per wasmscope version and platform. */
  readonly root: string;

  constructor(dir: string) {
    super();
    this.root = join(dir, `wasmscope-${PACKAGE_VERSION}-${process.arch}-${process.platform}`);
  }

  #file(key: string): string {
    return join(this.root, `${key}.bin`);
  }

  async artifact(key: string): Promise<Uint8Array | undefined> {
    let data: Uint8Array;
    try {
      data = await readFile(this.#file(key));
    } catch {
      return undefined;
    }
    if (data.length < HEADER || !MAGIC.every((b, i) => data[i] === b)) return undefined;
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (dv.getUint32(4, true) !== FORMAT) return undefined;
    if (new TextDecoder().decode(data.subarray(8, 72)) !== key) return undefined;
    const payload = data.subarray(HEADER);
    const sum = crypto().createHash('sha256').update(payload).digest();
    if (!sum.equals(data.subarray(72, HEADER))) return undefined;
    return payload;
  }

  async store(key: string, artifact: Uint8Array): Promise<void> {
    if (this.closed) return;
    const entry = new Uint8Array(HEADER + artifact.length);
    entry.set(MAGIC, 0);
    new DataView(entry.buffer).setUint32(4, FORMAT, true);
    entry.set(new TextEncoder().encode(key), 8);
    entry.set(crypto().createHash('sha256').update(artifact).digest(), 72);
    entry.set(artifact, HEADER);
    const tmp = join(this.root, `.${key}.${process.pid}.${crypto().randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(this.root, { recursive: true });
      await writeFile(tmp, entry);
      // rename(2) replaces the entry atomically: readers see the old file or the new one, never part.
      await rename(tmp, this.#file(key));
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * An on-disk cache in `dir` (created if missing).
 * @throws Error when `dir` exists and is not a directory, or cannot be created.
 */
export async function openDirCompilationCache(dir: string): Promise<DirCompilationCache> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('newCompilationCacheWithDir: dir must be a non-empty path');
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new Error(`compilation cache directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (!(await stat(dir)).isDirectory()) throw new Error(`compilation cache directory ${dir}: not a directory`);
  return new DirCompilationCache(dir);
}
