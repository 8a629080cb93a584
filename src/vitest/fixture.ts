/**
 * The `wasmTest` fixture: `test.extend` with a runtime per test (engine selectable, WASI
 * instantiated, closed after the test), an in-memory filesystem mounted at `/`, stdout and stderr
 * captured as strings, and a module config wired to them with the runtime's deterministic clocks and
 * random (wazero's sandboxed defaults: a fixed epoch, a seeded random source).
 */
import { test, type TestAPI } from 'vitest';
import { Context } from '../runtime/api/context.js';
import type { Module } from '../runtime/api/module.js';
import { CompiledModuleImpl, type CompiledModule } from '../runtime/store/compiled-module.js';
import type { ModuleConfig } from '../runtime/store/config.js';
import type { Writer } from '../sys/io.js';
import type { HostModuleBuilder } from '../runtime/store/host-builder.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { linkImportObject, type ImportImplementations } from '../runtime/store/import-object.js';
import type { FS } from '../sys/fs.js';
import { newFSConfig, newModuleConfig, newRuntimeConfigCompiler, newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../index.js';
import { newMemFS } from '../sys.js';
import { instantiate as instantiateWasi } from '../wasi.js';
import { markTraced, withCallTrace } from './call-trace.js';
import { trackModule, whileInstantiating, withImportTracking } from './import-calls.js';

/** The engines a `wasmTest` runtime can use. */
export type WasmTestEngine = 'compiler' | 'interpreter';

/** Output written by a guest, kept in memory. */
export interface CapturedOutput extends Writer {
  /** Everything written so far, decoded as UTF-8. */
  readonly text: string;
  /** Everything written so far. */
  readonly bytes: Uint8Array;
  /** Forgets what was written. */
  clear(): void;
}

/** The fixtures `wasmTest` gives each test. */
export interface WasmTestFixtures {
  /** The engine of `runtime`; change it with `wasmTest.override({ engine: 'interpreter' })`. @defaultValue 'compiler' */
  engine: WasmTestEngine;
  /** Record call trees for `toMatchCallTrace` (every function is listened). @defaultValue false */
  callTrace: boolean;
  /** The context the runtime compiles and instantiates with by default: import tracking, and call tracing when on. */
  ctx: Context;
  /** A runtime of `engine` with `wasi_snapshot_preview1` instantiated, closed after the test. Its `instantiate` uses `config` and `ctx`. */
  runtime: Runtime;
  /** A module config writing to `stdout`/`stderr`, with `fs` mounted at `/`. */
  config: ModuleConfig;
  /** An in-memory filesystem (empty), mounted at `/` by `config`. */
  fs: FS;
  /** The guest's stdout under `config`. */
  stdout: CapturedOutput;
  /** The guest's stderr under `config`. */
  stderr: CapturedOutput;
}

/** A new {@link CapturedOutput}. */
export function newCapturedOutput(): CapturedOutput {
  let chunks: Uint8Array[] = [];
  const bytes = (): Uint8Array => {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  };
  return {
    write(chunk: Uint8Array): number {
      chunks.push(chunk.slice());
      return chunk.length;
    },
    get bytes(): Uint8Array {
      return bytes();
    },
    get text(): string {
      return new TextDecoder().decode(bytes());
    },
    clear(): void {
      chunks = [];
    },
    toString(): string {
      return new TextDecoder().decode(bytes());
    },
  } as CapturedOutput;
}

/** Defaults of runtimes made by the fixture (used by `mockImports(...).instantiate`). */
const defaults = new WeakMap<Runtime, { ctx: Context; config: ModuleConfig }>();

/** The fixture's context and config for `r`, when `r` is a `wasmTest` runtime. */
export function fixtureDefaults(r: Runtime): { ctx: Context; config: ModuleConfig } | undefined {
  return defaults.get(r);
}

/** A runtime that compiles and instantiates with the fixture's context and config by default, and tracks what it instantiates. */
class FixtureRuntime implements Runtime {
  constructor(
    readonly inner: Runtime,
    readonly ctx: Context,
    readonly config: ModuleConfig,
    readonly traced: boolean,
  ) {}
  compileModule(binary: Uint8Array, ctx?: Context): Promise<CompiledModule> {
    return this.inner.compileModule(binary, ctx ?? this.ctx);
  }
  instantiate(binary: Uint8Array, ctx?: Context): Promise<Module> {
    return this.instantiateWithConfig(binary, this.config, ctx);
  }
  async instantiateWithConfig(binary: Uint8Array, config: ModuleConfig, ctx?: Context): Promise<Module> {
    const compiled = await this.compileModule(binary, ctx);
    try {
      return await this.instantiateModule(compiled, config, ctx);
    } finally {
      await compiled.close();
    }
  }
  async instantiateModule(compiled: CompiledModule, config: ModuleConfig, ctx?: Context): Promise<Module> {
    const c = ctx ?? this.ctx;
    const ir = compiled instanceof CompiledModuleImpl && compiled.body.kind === 'wasm' ? compiled.body.ir : undefined;
    const m = await whileInstantiating(ir, () => this.inner.instantiateModule(compiled, config, c));
    trackModule(m, ir);
    if (this.traced) markTraced(m);
    return m;
  }
  async instantiateWithImports(binary: Uint8Array, imports: ImportImplementations, config?: ModuleConfig, ctx?: Context): Promise<Module> {
    const c = ctx ?? this.ctx;
    const compiled = await this.compileModule(binary, c);
    try {
      return await this.instantiateModule(compiled, config ?? this.config, await linkImportObject(this, compiled, imports, c));
    } finally {
      await compiled.close();
    }
  }
  newHostModuleBuilder(moduleName: string): HostModuleBuilder {
    return this.inner.newHostModuleBuilder(moduleName);
  }
  module(moduleName: string): Module | undefined {
    return this.inner.module(moduleName);
  }
  close(ctx?: Context): Promise<void> {
    return this.inner.close(ctx);
  }
  closeWithExitCode(exitCode: number, ctx?: Context): Promise<void> {
    return this.inner.closeWithExitCode(exitCode, ctx);
  }
}

/**
 * Vitest's `test`, extended with {@link WasmTestFixtures}.
 * @example
 * ```ts
 * wasmTest('prints hello', async ({ runtime, stdout }) => {
 *   await runtime.instantiate(bytes);
 *   expect(stdout.text).toBe('hello\n');
 * });
 * describe('on the interpreter', () => {
 *   wasmTest.override({ engine: 'interpreter' });
 *   wasmTest('…', async ({ runtime }) => { … });
 * });
 * ```
 */
export const wasmTest: TestAPI<WasmTestFixtures> = test.extend<WasmTestFixtures>({
  engine: 'compiler',
  callTrace: false,
  // Vitest reads each fixture's dependencies from its destructured first parameter.
  fs: async ({}, use) => {
    await use(newMemFS());
  },
  stdout: async ({}, use) => {
    await use(newCapturedOutput());
  },
  stderr: async ({}, use) => {
    await use(newCapturedOutput());
  },
  ctx: async ({ callTrace }, use) => {
    const tracked = withImportTracking(Context.background());
    await use(callTrace ? withCallTrace(tracked) : tracked);
  },
  config: async ({ stdout, stderr, fs }, use) => {
    await use(newModuleConfig().withStdout(stdout).withStderr(stderr).withFSConfig(newFSConfig().withFSMount(fs, '/')));
  },
  runtime: async ({ engine, ctx, config, callTrace }, use) => {
    const inner = newRuntimeWithConfig(engine === 'interpreter' ? newRuntimeConfigInterpreter() : newRuntimeConfigCompiler());
    const r = new FixtureRuntime(inner, ctx, config, callTrace);
    defaults.set(r, { ctx, config });
    await instantiateWasi(inner, ctx);
    try {
      await use(r);
    } finally {
      await inner.close();
    }
  },
}) as TestAPI<WasmTestFixtures>;
