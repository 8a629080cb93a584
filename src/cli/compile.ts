/**
 * `wasmscope compile`: validates and compiles a module, then says what it is — its sections, imports,
 * exports, the core features it needs and the time the compile took — or why it is invalid.
 */
import { CoreFeaturesV2, coreFeaturesString } from '../runtime/api/features.js';
import { CoreFeaturesTailCall, CoreFeaturesThreads } from '../runtime/api/features.js';
import { externKindName, valueTypeName } from '../runtime/api/value-type.js';
import type { Module as IrModule } from '../runtime/binary/module.js';
import { CompiledModuleImpl, type CompiledModule } from '../runtime/store/compiled-module.js';
import { SECTION_NAMES } from '../runtime/binary/decoder.js';
import { describeImport } from '../runtime/store/link.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { newRuntimeConfigInterpreter, newRuntimeWithConfig } from '../index.js';

/** The sections of a binary in order: name (custom sections as `custom "name"`) and size in bytes. */
export function sectionsOf(bytes: Uint8Array): Array<{ name: string; size: number }> {
  const out: Array<{ name: string; size: number }> = [];
  let p = 8;
  const leb = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      if (b === undefined) return -1;
      r += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return r;
      shift += 7;
    }
  };
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const size = leb();
    if (size < 0) break;
    const start = p;
    let name: string = SECTION_NAMES[id] ?? `unknown(${id})`;
    if (id === 0) {
      const n = leb();
      name = `custom "${new TextDecoder().decode(bytes.subarray(p, p + Math.max(0, n)))}"`;
    }
    out.push({ name, size });
    p = start + size;
  }
  return out;
}

/** One export in readable types (`add(i32,i32) i32`, `memory: memory 1.. pages`). */
function describeExports(ir: IrModule, compiled: CompiledModule): string[] {
  const funcs = compiled.exportedFunctions();
  return ir.exports.map((e) => {
    if (e.kind === 0) {
      const d = funcs.get(e.name);
      if (d === undefined) return `${e.name}: func`;
      const results = d.resultTypes().map(valueTypeName);
      const r = results.length === 0 ? '' : results.length === 1 ? ` ${results[0]}` : ` (${results.join(',')})`;
      return `${e.name}(${d.paramTypes().map(valueTypeName).join(',')})${r}`;
    }
    if (e.kind === 2) {
      const def = compiled.exportedMemories().get(e.name);
      const [max, encoded] = def?.max() ?? [0, false];
      return `${e.name}: memory ${def?.min() ?? 0}..${encoded ? max : ''} pages`;
    }
    if (e.kind === 3) {
      const gi = e.index - ir.numImportedGlobals;
      const g = gi >= 0 ? ir.globals[gi]?.type : undefined;
      return `${e.name}: global${g === undefined ? '' : ` ${g.mutable ? 'mut ' : ''}${valueTypeName(g.valType)}`}`;
    }
    return `${e.name}: ${externKindName(e.kind)}`;
  });
}

/** The features (of those `r` enables) the module cannot be validated without. */
async function featuresUsed(bytes: Uint8Array, enabled: number): Promise<number> {
  let used = 0;
  for (let bit = 1; bit <= enabled; bit *= 2) {
    if ((enabled & bit) === 0) continue;
    const r = newRuntimeWithConfig(newRuntimeConfigInterpreter().withCoreFeatures(enabled & ~bit));
    try {
      await r.compileModule(bytes);
    } catch {
      used |= bit;
    } finally {
      await r.close();
    }
  }
  return used;
}

/** What `compile` prints for a module compiled by `r` in `ms` milliseconds. */
export async function describeCompiled(
  path: string,
  bytes: Uint8Array,
  compiled: CompiledModule,
  ms: number,
  engine: string,
): Promise<string> {
  const lines: string[] = [`${path}: valid, compiled in ${formatMs(ms)} (${engine} engine, ${bytes.length} bytes)`];
  lines.push('sections:');
  for (const s of sectionsOf(bytes)) lines.push(`  ${s.name.padEnd(20)} ${String(s.size).padStart(10)} bytes`);
  const ir = compiled instanceof CompiledModuleImpl && compiled.body.kind === 'wasm' ? compiled.body.ir : undefined;
  if (ir !== undefined) {
    lines.push(`imports (${ir.imports.length}):`, ...ir.imports.map((i) => `  ${describeImport(i, ir.types)}`));
    lines.push(`exports (${ir.exports.length}):`, ...describeExports(ir, compiled).map((e) => `  ${e}`));
  }
  const used = await featuresUsed(bytes, CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall);
  lines.push(`features: ${used === 0 ? 'none beyond WebAssembly 1.0 (MVP)' : coreFeaturesString(used).split('|').join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** Compiles `bytes` with `r`, returning the compiled module and the milliseconds it took. */
export async function timedCompile(r: Runtime, bytes: Uint8Array): Promise<{ compiled: CompiledModule; ms: number }> {
  const t = performance.now();
  const compiled = await r.compileModule(bytes);
  return { compiled, ms: performance.now() - t };
}

/** `1.2ms`, `340ms`, `1.25s`. */
export function formatMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}
