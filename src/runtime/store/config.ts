/**
 * Runtime, module and filesystem configurations. Immutable: every `with…` returns a copy. Validation
 * happens at compile/instantiate time: configs never throw (wazero's RATIONALE.md). The system part
 * of a module's configuration (stdio, clocks, randomness, mounts) is shaped by `src/sys`.
 */
import { CoreFeaturesV2, type CoreFeatures } from '../api/features.js';
import type { FSMount, SysConfig } from '../../sys/context.js';
import type { FS } from '../../sys/fs.js';
import type { Reader, Writer } from '../../sys/io.js';

export type EngineKind = 'interpreter' | 'compiler' | 'auto';

/**
 * A cache of compiled modules (`newCompilationCache()` in memory, `newCompilationCacheWithDir(dir)`
 * on disk), shared by the runtimes given it with `withCompilationCache`.
 */
export interface CompilationCache {
  /** Forgets what the cache holds in memory (files on disk stay); later compiles bypass it. */
  close(): Promise<void>;
}

/** Configuration of a {@link Runtime}. */
export interface RuntimeConfig {
  /** Enabled core features. @defaultValue CoreFeaturesV2 */
  withCoreFeatures(f: CoreFeatures): RuntimeConfig;
  /** Maximum pages any memory may have. @defaultValue 65536 (4 GiB) */
  withMemoryLimitPages(pages: number): RuntimeConfig;
  /** Reserve memory capacity up to the maximum at instantiation. */
  withMemoryCapacityFromMax(on: boolean): RuntimeConfig;
  /** DWARF line info in stack traces. @defaultValue true */
  withDebugInfoEnabled(on: boolean): RuntimeConfig;
  /** Keep custom sections for `CompiledModule.customSections()`. @defaultValue false */
  withCustomSections(on: boolean): RuntimeConfig;
  /** Stop running calls when the call's context is done (signal aborted or deadline passed). */
  withCloseOnContextDone(on: boolean): RuntimeConfig;
  /** Compiles through `cache` (see `newCompilationCache`, `newCompilationCacheWithDir`). */
  withCompilationCache(cache: CompilationCache): RuntimeConfig;
}

export interface RuntimeConfigData {
  readonly engine: EngineKind;
  readonly features: CoreFeatures;
  readonly memoryLimitPages: number;
  readonly memoryCapacityFromMax: boolean;
  readonly debugInfo: boolean;
  readonly customSections: boolean;
  readonly closeOnContextDone: boolean;
  readonly cache: CompilationCache | undefined;
}

export class RuntimeConfigImpl implements RuntimeConfig {
  constructor(readonly data: RuntimeConfigData) {}
  #with(patch: Partial<RuntimeConfigData>): RuntimeConfigImpl {
    return new RuntimeConfigImpl({ ...this.data, ...patch });
  }
  withCoreFeatures(f: CoreFeatures): RuntimeConfig {
    return this.#with({ features: f });
  }
  withMemoryLimitPages(pages: number): RuntimeConfig {
    return this.#with({ memoryLimitPages: pages });
  }
  withMemoryCapacityFromMax(on: boolean): RuntimeConfig {
    return this.#with({ memoryCapacityFromMax: on });
  }
  withDebugInfoEnabled(on: boolean): RuntimeConfig {
    return this.#with({ debugInfo: on });
  }
  withCustomSections(on: boolean): RuntimeConfig {
    return this.#with({ customSections: on });
  }
  withCloseOnContextDone(on: boolean): RuntimeConfig {
    return this.#with({ closeOnContextDone: on });
  }
  withCompilationCache(cache: CompilationCache): RuntimeConfig {
    return this.#with({ cache });
  }
}

export function newRuntimeConfigOf(engine: EngineKind): RuntimeConfigImpl {
  return new RuntimeConfigImpl({
    engine,
    features: CoreFeaturesV2,
    memoryLimitPages: 65536,
    memoryCapacityFromMax: false,
    debugInfo: true,
    customSections: false,
    closeOnContextDone: false,
    cache: undefined,
  });
}

/** Filesystem mounts for WASI. */
export interface FSConfig {
  /** Mounts host directory `hostDir` at `guestPath` (the pre-open name the guest sees), read-write. A directory that cannot be opened (or a file) fails instantiation with a `SysConfigError`. */
  withDirMount(hostDir: string, guestPath: string): FSConfig;
  /** {@link FSConfig.withDirMount}, read-only (writes fail with `EROFS`). */
  withReadOnlyDirMount(hostDir: string, guestPath: string): FSConfig;
  /**
   * Mounts an {@link FS} at `guestPath`: one of wasmscope/sys (`newMemFS()`, `newDirFS()`) or one
   * the user implements (see `unimplementedFS` in wasmscope/sys; its throws become errnos).
   */
  withFSMount(fs: FS, guestPath: string): FSConfig;
  /** {@link withFSMount} under wazero's name for mounting an `experimental/sys` FS. */
  withSysFSMount(fs: FS, guestPath: string): FSConfig;
}

/** Guest paths drop leading `./` and `/` and a trailing `/` ("" is the root mount, shown as `/`). */
export function cleanGuestPath(p: string): string {
  let s = p;
  for (;;) {
    if (s.startsWith('./')) s = s.slice(2);
    else if (s.startsWith('/')) s = s.slice(1);
    else break;
  }
  while (s.endsWith('/')) s = s.slice(0, -1);
  return s === '.' ? '' : s;
}

export class FSConfigImpl implements FSConfig {
  constructor(readonly mounts: readonly FSMount[]) {}
  #with(m: FSMount): FSConfigImpl {
    // A re-mount of the same guest path, as written, keeps its slot (so fd numbers stay stable);
    // `.` and `/` are two pre-opens, as in node:wasi and wasmtime.
    const i = this.mounts.findIndex((x) => (x.name ?? x.guestPath) === (m.name ?? m.guestPath));
    const next = this.mounts.slice();
    if (i >= 0) next[i] = m;
    else next.push(m);
    return new FSConfigImpl(next);
  }
  withDirMount(hostDir: string, guestPath: string): FSConfig {
    return this.#with({ guestPath: cleanGuestPath(guestPath), hostDir, fs: undefined, readOnly: false, name: guestPath });
  }
  withReadOnlyDirMount(hostDir: string, guestPath: string): FSConfig {
    return this.#with({ guestPath: cleanGuestPath(guestPath), hostDir, fs: undefined, readOnly: true, name: guestPath });
  }
  withFSMount(fs: FS, guestPath: string): FSConfig {
    return this.#with({ guestPath: cleanGuestPath(guestPath), hostDir: undefined, fs, readOnly: false, name: guestPath });
  }
  withSysFSMount(fs: FS, guestPath: string): FSConfig {
    return this.withFSMount(fs, guestPath);
  }
}

/** Configuration of one module instantiation (name, start functions, and the WASI system view). */
export interface ModuleConfig {
  /** The instance name; `''` = anonymous (not registered). */
  withName(name: string): ModuleConfig;
  /** Exported functions called after instantiation, in order; missing ones are skipped. @defaultValue ['_start'] */
  withStartFunctions(...names: string[]): ModuleConfig;
  /** The guest's `argv` (WASI `args_get`); the first is the program name by convention. */
  withArgs(...args: string[]): ModuleConfig;
  /** Sets an environment variable (replaces an existing key in place). */
  withEnv(key: string, value: string): ModuleConfig;
  /** The guest's stdin: bytes, a string, a host fd number, or a `Reader` (default: empty). */
  withStdin(source: Uint8Array | string | number | Reader): ModuleConfig;
  /** Where the guest's stdout goes (default: discarded). */
  withStdout(sink: Writer): ModuleConfig;
  /** Where the guest's stderr goes (default: discarded). */
  withStderr(sink: Writer): ModuleConfig;
  /** The guest's filesystem mounts (`newFSConfig()…`; default: none). */
  withFSConfig(config: FSConfig): ModuleConfig;
  /** The wall clock WASI reads: `fn` returns seconds and nanoseconds; `resolutionNs` is what `clock_res_get` reports (default: deterministic, from 2022-01-01, +1 ms per read). */
  withWalltime(fn: () => [sec: bigint, nsec: number], resolutionNs: number): ModuleConfig;
  /** The host's real wall clock. */
  withSysWalltime(): ModuleConfig;
  /** The monotonic clock WASI reads, in nanoseconds, with its resolution (default: deterministic, +1 ms per read). */
  withNanotime(fn: () => bigint, resolutionNs: number): ModuleConfig;
  /** The host's real monotonic clock. */
  withSysNanotime(): ModuleConfig;
  /** What a guest sleep does with its nanoseconds (default: returns at once). */
  withNanosleep(fn: (ns: bigint) => void): ModuleConfig;
  /** Guest sleeps really sleep (blocking the thread, or waiting on a timer with async WASI). */
  withSysNanosleep(): ModuleConfig;
  /** What WASI `sched_yield` does (default: nothing). */
  withOsyield(fn: () => void): ModuleConfig;
  /** Where WASI `random_get` reads from (default: a seeded deterministic source; `cryptoRandom` from wasmscope/sys for real randomness). */
  withRandSource(source: Reader): ModuleConfig;
  /**
   * Pre-opens a TCP listener on `host:port` (port 0: any free port) when the module is
   * instantiated; the guest gets it as a descriptor after the mounts and takes connections with
   * `sock_accept` (wasi-libc's `accept`). Binding fails the instantiation. Several listeners get
   * consecutive descriptors in the order configured.
   */
  withTCPListener(host: string, port: number): ModuleConfig;
}

/** A module configuration's data: the instance name and start functions, then its system view. */
export interface ModuleConfigData extends SysConfig {
  readonly name: string | undefined;
  readonly startFunctions: readonly string[];
  readonly fs: FSConfigImpl | undefined;
}

export class ModuleConfigImpl implements ModuleConfig {
  constructor(readonly data: ModuleConfigData) {}
  #with(patch: Partial<ModuleConfigData>): ModuleConfigImpl {
    return new ModuleConfigImpl({ ...this.data, ...patch });
  }
  withName(name: string): ModuleConfig {
    return this.#with({ name });
  }
  withStartFunctions(...names: string[]): ModuleConfig {
    return this.#with({ startFunctions: names });
  }
  withArgs(...args: string[]): ModuleConfig {
    return this.#with({ args });
  }
  withEnv(key: string, value: string): ModuleConfig {
    const env = this.data.env.slice();
    const i = env.findIndex(([k]) => k === key);
    if (i >= 0) env[i] = [key, value];
    else env.push([key, value]);
    return this.#with({ env });
  }
  withStdin(source: Uint8Array | string | number | Reader): ModuleConfig {
    return this.#with({ stdin: source });
  }
  withStdout(sink: Writer): ModuleConfig {
    return this.#with({ stdout: sink });
  }
  withStderr(sink: Writer): ModuleConfig {
    return this.#with({ stderr: sink });
  }
  withFSConfig(config: FSConfig): ModuleConfig {
    if (!(config instanceof FSConfigImpl)) throw new TypeError('withFSConfig: use newFSConfig()');
    return this.#with({ fs: config });
  }
  withWalltime(fn: () => [sec: bigint, nsec: number], resolutionNs: number): ModuleConfig {
    return this.#with({ walltime: { fn, resolution: resolutionNs } });
  }
  withSysWalltime(): ModuleConfig {
    return this.#with({ walltime: 'sys' });
  }
  withNanotime(fn: () => bigint, resolutionNs: number): ModuleConfig {
    return this.#with({ nanotime: { fn, resolution: resolutionNs } });
  }
  withSysNanotime(): ModuleConfig {
    return this.#with({ nanotime: 'sys' });
  }
  withNanosleep(fn: (ns: bigint) => void): ModuleConfig {
    return this.#with({ nanosleep: fn });
  }
  withSysNanosleep(): ModuleConfig {
    return this.#with({ nanosleep: 'sys' });
  }
  withOsyield(fn: () => void): ModuleConfig {
    return this.#with({ osyield: fn });
  }
  withRandSource(source: Reader): ModuleConfig {
    return this.#with({ randSource: source });
  }
  withTCPListener(host: string, port: number): ModuleConfig {
    return this.#with({ tcpListeners: [...(this.data.tcpListeners ?? []), { host, port }] });
  }
}

export function newModuleConfigImpl(): ModuleConfigImpl {
  return new ModuleConfigImpl({
    name: undefined,
    startFunctions: ['_start'],
    args: [],
    env: [],
    stdin: undefined,
    stdout: undefined,
    stderr: undefined,
    fs: undefined,
    walltime: undefined,
    nanotime: undefined,
    nanosleep: undefined,
    osyield: undefined,
    randSource: undefined,
    tcpListeners: [],
  });
}
