/**
 * A tiny guest that imports every WASI function and re-exports each under its own name, plus its
 * memory, so tests call WASI functions directly on any engine and inspect memory.
 */
import { newModuleConfig, type ModuleConfig, type Runtime } from '../../src/index.js';
import type { Memory, Module } from '../../src/api.js';
import { instantiate } from '../../src/wasi.js';
import { WASI_FUNCTIONS } from '../../src/wasi/functions.js';
import { wat } from '../helpers.js';

const T = (t: number): string => (t === 0x7e ? 'i64' : 'i32');

/** The text of the proxy guest importing from `moduleName`. */
export function proxyWat(moduleName: string): string {
  const imports = WASI_FUNCTIONS.map(
    (f) =>
      `(import "${moduleName}" "${f.name}" (func $${f.name} (param ${f.params.map(T).join(' ')}) ${f.results.length ? '(result i32)' : ''}))`,
  );
  const wrappers = WASI_FUNCTIONS.map(
    (f) =>
      `(func (export "${f.name}") (param ${f.params.map(T).join(' ')}) ${f.results.length ? '(result i32)' : ''} ${f.params.map((_, i) => `local.get ${i}`).join(' ')} call $${f.name})`,
  );
  return `(module ${imports.join('\n')} (memory (export "memory") 1) ${wrappers.join('\n')})`;
}

/** A running proxy guest. */
export interface Guest {
  mod: Module;
  mem: Memory;
  /** Calls the WASI function `name` and returns its errno. */
  call(name: string, ...args: Array<number | bigint>): number;
  str(ptr: number, len: number): string;
  /** Writes `s` (UTF-8) at `ptr` and returns its byte length. */
  put(ptr: number, s: string): number;
  u32(ptr: number): number;
  u64(ptr: number): bigint;
  /** What the guest wrote to stdout. */
  out: Uint8Array[];
}

let proxy: Promise<Uint8Array> | undefined;

/** Instantiates the proxy guest (and WASI, once per runtime) with a config edited by `edit`. */
export async function guest(r: Runtime, edit: (c: ModuleConfig) => ModuleConfig = (c) => c): Promise<Guest> {
  proxy ??= wat(proxyWat('wasi_snapshot_preview1'));
  if (r.module('wasi_snapshot_preview1') === undefined) await instantiate(r);
  const out: Uint8Array[] = [];
  const cfg = edit(
    newModuleConfig()
      .withName('')
      .withStdout({ write: (c) => out.push(c) }),
  );
  const mod = await r.instantiateWithConfig(await proxy, cfg);
  const mem = mod.memory()!;
  return {
    mod,
    mem,
    out,
    call: (name, ...args) => Number(mod.exportedFunction(name)!.call(...args)[0] ?? -1n),
    str: (ptr, len) => new TextDecoder().decode(mem.read(ptr, len)!),
    put: (ptr, s) => {
      const b = new TextEncoder().encode(s);
      mem.write(ptr, b);
      return b.length;
    },
    u32: (ptr) => mem.readUint32Le(ptr)!,
    u64: (ptr) => mem.readUint64Le(ptr)!,
  };
}
