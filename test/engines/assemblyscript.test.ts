/**
 * wasmscope/assemblyscript: ONE table of cases, run on every engine, with a real AssemblyScript
 * guest (test/fixtures/assemblyscript/assembly/index.ts) compiled in the set-up by the
 * `assemblyscript` compiler, and hand-written guests for malformed strings.
 *
 * Semantics fixed here (both engines): `env.abort` writes `<msg> at <file>:<line>:<col>\n` to the
 * guest module's stderr (nothing when a string is unreadable or the message is disabled), closes the
 * module with 255 and the call ends with `ExitError(255)`; `env.trace` writes nothing unless sent to
 * stdout or stderr, then `trace: <msg>[ a0[,a1...]]\n` in Go's `%g`; `env.seed` is 8 bytes of the
 * module's random source as a finite float64.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeF64, type Module } from '../../src/api.js';
import { ExitError, newModuleConfig, type ModuleConfig, type Runtime } from '../../src/index.js';
import { instantiate, newBuilder, newFunctionExporter, readAssemblyScriptString } from '../../src/assemblyscript.js';
import { compileAssemblyScript } from '../asc.js';
import { engines, runtimeFor, thrown, wat } from '../helpers.js';

let guest: Uint8Array;
beforeAll(async () => {
  guest = await compileAssemblyScript(new URL('../fixtures/assemblyscript/assembly/index.ts', import.meta.url));
}, 60_000);

/** A guest calling env.abort with the given (message, file) pointers over a memory holding two strings. */
const ABORTER = `(module
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  ;; "hi" at 8 (length 4 at 4); odd length 3 at 20 (length at 16); length past memory at 36
  (data (i32.const 4) "\\04\\00\\00\\00h\\00i\\00")
  (data (i32.const 16) "\\03\\00\\00\\00x\\00y")
  (data (i32.const 32) "\\ff\\ff\\00\\00")
  (func (export "abort") (param i32 i32) (call $abort (local.get 0) (local.get 1) (i32.const 7) (i32.const -1))))`;

interface Out {
  stdout: string;
  stderr: string;
}

interface Case {
  readonly name: string;
  /** How the env module is made (default: `instantiate(r)`). */
  readonly env?: (r: Runtime) => Promise<unknown>;
  readonly guest?: () => Promise<Uint8Array>;
  readonly config?: (c: ModuleConfig) => ModuleConfig;
  readonly run: (mod: Module, out: Out) => void;
}

function exitOf(fn: () => unknown): number | undefined {
  const e = thrown(fn);
  return e instanceof ExitError ? e.exitCode : undefined;
}

const cases: Case[] = [
  {
    name: 'a failed assert writes its message and location to stderr, closes the module with 255',
    run(mod, out) {
      expect(mod.exportedFunction('checkPositive')!.call(3)).toEqual([3n]);
      expect(exitOf(() => mod.exportedFunction('checkPositive')!.call(0))).toBe(255);
      expect(out.stderr).toBe('x must be positive at index.ts:6:3\n');
      expect(out.stdout).toBe('');
      expect(mod.isClosed()).toBe(true);
      expect(exitOf(() => mod.exportedFunction('checkPositive')!.call(1))).toBe(255);
    },
  },
  {
    name: 'a thrown Error aborts with its message decoded from UTF-16 (surrogate pairs included)',
    run(mod, out) {
      expect(exitOf(() => mod.exportedFunction('fail')!.call())).toBe(255);
      expect(out.stderr).toBe('unicode: ü€😀 at index.ts:11:3\n');
    },
  },
  {
    name: 'withAbortMessageDisabled exits with 255 and writes nothing',
    env: (r) => newBuilder(r).withAbortMessageDisabled().instantiate(),
    run(mod, out) {
      expect(exitOf(() => mod.exportedFunction('checkPositive')!.call(0))).toBe(255);
      expect(out.stderr).toBe('');
    },
  },
  {
    name: 'unreadable strings (odd length, past memory, pointer below 4) print nothing; line and column are unsigned',
    guest: () => wat(ABORTER),
    run(mod, out) {
      const abort = mod.exportedFunction('abort')!;
      expect(exitOf(() => abort.call(20, 8))).toBe(255);
      expect(out.stderr).toBe('');
      expect(readAssemblyScriptString(mod.memory(), 20)).toBeUndefined();
      expect(readAssemblyScriptString(mod.memory(), 36)).toBeUndefined();
      expect(readAssemblyScriptString(mod.memory(), 2)).toBeUndefined();
      expect(readAssemblyScriptString(mod.memory(), 8)).toBe('hi');
    },
  },
  {
    name: 'both strings readable: the message, with line and column as unsigned numbers',
    guest: () => wat(ABORTER),
    run(mod, out) {
      expect(exitOf(() => mod.exportedFunction('abort')!.call(8, 8))).toBe(255);
      expect(out.stderr).toBe('hi at hi:7:4294967295\n');
    },
  },
  {
    name: 'trace is off by default',
    run(mod, out) {
      mod.exportedFunction('traces')!.call();
      expect(out).toEqual({ stdout: '', stderr: '' });
    },
  },
  {
    name: "withTraceToStdout writes wazero's format with Go's %g",
    env: (r) => newBuilder(r).withTraceToStdout().instantiate(),
    run(mod, out) {
      mod.exportedFunction('traces')!.call();
      expect(out.stdout).toBe('trace: none\ntrace: one 1.5\ntrace: five 1,-2.25,1e+21,1e-05,1.23456789e+08\n');
      expect(out.stderr).toBe('');
    },
  },
  {
    name: 'withTraceToStderr, through a function exporter into a builder of its own',
    env: (r) => {
      const b = r.newHostModuleBuilder('env');
      newFunctionExporter().withTraceToStderr().exportFunctions(b);
      return b.instantiate();
    },
    run(mod, out) {
      mod.exportedFunction('traces')!.call();
      expect(out.stderr).toBe('trace: none\ntrace: one 1.5\ntrace: five 1,-2.25,1e+21,1e-05,1.23456789e+08\n');
    },
  },
  {
    name: 'seed reads the random source; bits of a NaN or an infinity become a finite number',
    config: (c) => c.withRandSource({ read: (b) => (b.fill(0xff), b.length) }),
    run(mod) {
      const [bits] = mod.exportedFunction('getSeed')!.call();
      expect(bits).toBe(0xbfffffffffffffffn);
      expect(Number.isFinite(decodeF64(bits!))).toBe(true);
      const r = decodeF64(mod.exportedFunction('random')!.call()[0]!);
      expect(r >= 0 && r < 1).toBe(true);
    },
  },
  {
    name: 'seed from the default deterministic source is the same on every run',
    run(mod) {
      expect(mod.exportedFunction('getSeed')!.call()).toEqual([0xbdd732262feb6e95n]);
    },
  },
];

describe.each(engines)('wasmscope/assemblyscript on the $name engine', (engine) => {
  it.each(cases)('$name', async (c) => {
    const r = runtimeFor(engine);
    try {
      await (c.env ?? instantiate)(r);
      const out = { stdout: '', stderr: '' };
      const decoder = new TextDecoder();
      let config = newModuleConfig()
        .withStdout({ write: (b: Uint8Array) => (out.stdout += decoder.decode(b)) })
        .withStderr({ write: (b: Uint8Array) => (out.stderr += decoder.decode(b)) });
      if (c.config !== undefined) config = c.config(config);
      const mod = await r.instantiateWithConfig(c.guest === undefined ? guest : await c.guest(), config);
      c.run(mod, out);
    } finally {
      await r.close();
    }
  });
});
