/**
 * The AssemblyScript host module (wazero's `imports/assemblyscript`): the `env` functions every
 * AssemblyScript program may import — `abort` (failed assertions, `throw`), `trace` and `seed`.
 *
 * - `abort(message, fileName, lineNumber, columnNumber)` writes `<message> at <file>:<line>:<col>\n`
 *   to the calling module's stderr (both strings must be readable AssemblyScript strings, else
 *   nothing is written), closes the module with exit code 255 and ends the call with `ExitError`.
 * - `trace(message, nArgs, a0..a4)` writes `trace: <message>[ a0[,a1...]]\n` (Go's `%g`) to stdout
 *   or stderr when enabled; a no-op by default.
 * - `seed()` gives 8 bytes of the module's random source (`withRandSource`; deterministic by
 *   default) as a float64 — always finite: bits that would make NaN or an infinity have their
 *   exponent's top bit flipped (wazero returns such bits as they are).
 *
 * AssemblyScript strings are UTF-16LE with their byte length, a u32, at `ptr - 4`; an odd length, a
 * pointer below 4 or bytes outside memory make the string unreadable.
 */
import type { Context } from '../runtime/api/context.js';
import { ExitError } from '../runtime/api/errors.js';
import type { Memory, Module } from '../runtime/api/module.js';
import { ValueType } from '../runtime/api/value-type.js';
import type { CompiledModule } from '../runtime/store/compiled-module.js';
import type { HostModuleBuilder } from '../runtime/store/host-builder.js';
import { ModuleInstance } from '../runtime/store/module-instance.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { formatF64 } from '../listeners/logging-format.js';

/** The import module name AssemblyScript programs use for these functions. */
export const MODULE_NAME = 'env';

/** Where `trace` writes. */
type TraceTarget = 'none' | 'stdout' | 'stderr';

interface Options {
  readonly abortMessage: boolean;
  readonly trace: TraceTarget;
}

const DEFAULTS: Options = { abortMessage: true, trace: 'none' };

/** Adds the AssemblyScript functions to any host module builder (e.g. to combine them with others in `env`). */
export interface FunctionExporter {
  /** An exporter whose `abort` writes no message (it still exits with 255). */
  withAbortMessageDisabled(): FunctionExporter;
  /** An exporter whose `trace` writes to the calling module's stdout. */
  withTraceToStdout(): FunctionExporter;
  /** An exporter whose `trace` writes to the calling module's stderr. */
  withTraceToStderr(): FunctionExporter;
  /** Exports `abort`, `trace` and `seed` into `builder`. */
  exportFunctions(builder: HostModuleBuilder): void;
}

/** Builds the AssemblyScript `env` host module of a runtime. Immutable: every `with…` returns a copy. */
export interface Builder {
  /** A builder whose `abort` writes no message (it still exits with 255). */
  withAbortMessageDisabled(): Builder;
  /** A builder whose `trace` writes to the calling module's stdout. */
  withTraceToStdout(): Builder;
  /** A builder whose `trace` writes to the calling module's stderr. */
  withTraceToStderr(): Builder;
  /** Compiles the host module (`instantiateModule` it under any name). */
  compile(ctx?: Context): Promise<CompiledModule>;
  /** Instantiates the host module as `env`. */
  instantiate(ctx?: Context): Promise<Module>;
}

const utf16 = new TextDecoder('utf-16le', { fatal: false });

/** The AssemblyScript string at `ptr`, or undefined when it cannot be read. */
export function readAssemblyScriptString(mem: Memory | undefined, ptr: number): string | undefined {
  if (mem === undefined || ptr < 4) return undefined;
  const len = mem.readUint32Le(ptr - 4);
  if (len === undefined || len % 2 !== 0) return undefined;
  const bytes = mem.read(ptr, len);
  return bytes === undefined ? undefined : utf16.decode(bytes);
}

const encoder = new TextEncoder();

/** Writes `text` to the calling module's stdio descriptor `fd` (nothing when it has none or closed it). */
function writeStdio(mod: Module, fd: 1 | 2, text: string): void {
  if (!(mod instanceof ModuleInstance)) return;
  mod.sys?.files.get(fd)?.file.write(encoder.encode(text));
}

const u32 = (v: bigint | undefined): number => Number((v ?? 0n) & 0xffffffffn);
const f64Of = (v: bigint | undefined): number => new Float64Array(new BigUint64Array([v ?? 0n]).buffer)[0]!;

const EXPONENT_MASK = 0x7ff0000000000000n;
const EXPONENT_TOP = 0x4000000000000000n;

/** The module's random source as finite float64 bits (see the header). */
function seedBits(mod: Module): bigint {
  const buf = new Uint8Array(8);
  const random = mod instanceof ModuleInstance ? mod.sys?.random : undefined;
  if (random !== undefined) {
    let done = 0;
    while (done < 8) {
      const n = random.read(buf.subarray(done));
      if (n <= 0) throw new Error('env.seed: the random source gave no bytes');
      done += n;
    }
  }
  let bits = new DataView(buf.buffer).getBigUint64(0, true);
  if ((bits & EXPONENT_MASK) === EXPONENT_MASK) bits ^= EXPONENT_TOP;
  return bits;
}

class Exporter implements FunctionExporter {
  constructor(readonly options: Options) {}

  withAbortMessageDisabled(): FunctionExporter {
    return new Exporter({ ...this.options, abortMessage: false });
  }
  withTraceToStdout(): FunctionExporter {
    return new Exporter({ ...this.options, trace: 'stdout' });
  }
  withTraceToStderr(): FunctionExporter {
    return new Exporter({ ...this.options, trace: 'stderr' });
  }

  exportFunctions(builder: HostModuleBuilder): void {
    const { abortMessage, trace } = this.options;
    const { I32, F64 } = ValueType;
    builder
      .newFunctionBuilder()
      .withModuleFunction(
        (ctx, mod, stack) => {
          if (abortMessage) {
            const mem = mod.memory();
            const msg = readAssemblyScriptString(mem, u32(stack[0]));
            const file = readAssemblyScriptString(mem, u32(stack[1]));
            if (msg !== undefined && file !== undefined) writeStdio(mod, 2, `${msg} at ${file}:${u32(stack[2])}:${u32(stack[3])}\n`);
          }
          if (mod instanceof ModuleInstance) mod.closeNow(255, ctx);
          throw new ExitError(255);
        },
        [I32, I32, I32, I32],
        [],
      )
      .withName('~lib/builtins/abort')
      .withParameterNames('message', 'fileName', 'lineNumber', 'columnNumber')
      .export('abort');
    builder
      .newFunctionBuilder()
      .withModuleFunction(
        (_ctx, mod, stack) => {
          if (trace === 'none') return;
          const msg = readAssemblyScriptString(mod.memory(), u32(stack[0]));
          if (msg === undefined) return;
          const n = Math.min(u32(stack[1]), 5);
          let line = `trace: ${msg}`;
          for (let i = 0; i < n; i++) line += (i === 0 ? ' ' : ',') + formatF64(f64Of(stack[2 + i]));
          writeStdio(mod, trace === 'stdout' ? 1 : 2, `${line}\n`);
        },
        [I32, I32, F64, F64, F64, F64, F64],
        [],
      )
      .withName('~lib/builtins/trace')
      .withParameterNames('message', 'nArgs', 'arg0', 'arg1', 'arg2', 'arg3', 'arg4')
      .export('trace');
    builder
      .newFunctionBuilder()
      .withModuleFunction(
        (_ctx, mod, stack) => {
          stack[0] = seedBits(mod);
        },
        [],
        [F64],
      )
      .withName('~lib/builtins/seed')
      .withResultNames('rand')
      .export('seed');
  }
}

class BuilderImpl implements Builder {
  constructor(
    readonly r: Runtime,
    readonly exporter: Exporter,
  ) {}

  withAbortMessageDisabled(): Builder {
    return new BuilderImpl(this.r, this.exporter.withAbortMessageDisabled() as Exporter);
  }
  withTraceToStdout(): Builder {
    return new BuilderImpl(this.r, this.exporter.withTraceToStdout() as Exporter);
  }
  withTraceToStderr(): Builder {
    return new BuilderImpl(this.r, this.exporter.withTraceToStderr() as Exporter);
  }

  #builder(): HostModuleBuilder {
    const b = this.r.newHostModuleBuilder(MODULE_NAME);
    this.exporter.exportFunctions(b);
    return b;
  }

  compile(ctx?: Context): Promise<CompiledModule> {
    return this.#builder().compile(ctx);
  }

  instantiate(ctx?: Context): Promise<Module> {
    return this.#builder().instantiate(ctx);
  }
}

/** An exporter of `abort` (message on), `trace` (off) and `seed`, with wazero's names. */
export function newFunctionExporter(): FunctionExporter {
  return new Exporter(DEFAULTS);
}

/** A builder of the AssemblyScript `env` module in `r` (abort message on, trace off). */
export function newBuilder(r: Runtime): Builder {
  return new BuilderImpl(r, new Exporter(DEFAULTS));
}

/** Instantiates the AssemblyScript `env` module into `r` with the defaults. */
export function instantiate(r: Runtime, ctx?: Context): Promise<Module> {
  return newBuilder(r).instantiate(ctx);
}
