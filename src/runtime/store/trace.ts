/**
 * Wasm stack traces, shared by both engines so they print identically: one line per frame,
 * innermost first (`module.function(params) results`), each followed by its DWARF source lines when
 * the module has them and debug info is enabled. At most {@link MAX_FRAMES} frames, as wazero.
 */
import type { FunctionDefinition } from '../api/module.js';
import type { Module as IrModule } from '../binary/module.js';
import { frameSourceLines, parseDwarf, type DwarfLines, type SourceLine } from '../dwarf/index.js';
import { definitionBody, formatFrameSignature } from './definition.js';

export const MAX_FRAMES = 30;

export interface TraceFrame {
  readonly definition: FunctionDefinition;
  /** The decoded module defining the function (undefined for host functions). */
  readonly module: IrModule | undefined;
  /** Absolute byte offset (into `module.bytes`) of the instruction the frame is at, if known. */
  readonly offset: number | undefined;
}

const dwarfCache = new WeakMap<IrModule, DwarfLines | null>();

/** The module's DWARF line tables, parsed once (undefined when it has no `.debug_line`). */
export function dwarfOf(m: IrModule): DwarfLines | undefined {
  let d = dwarfCache.get(m);
  if (d === undefined) {
    d = parseDwarf(m.customSections) ?? null;
    dwarfCache.set(m, d);
  }
  return d ?? undefined;
}

/** The `wasm stack trace:` lines (without the leading tab). */
export function formatStackTrace(frames: readonly TraceFrame[], debugInfo: boolean): string[] {
  const out: string[] = [];
  const n = Math.min(frames.length, MAX_FRAMES);
  for (let i = 0; i < n; i++) {
    const f = frames[i]!;
    out.push(formatFrameSignature(f.definition));
    if (debugInfo && f.module !== undefined && f.offset !== undefined) {
      const dwarf = dwarfOf(f.module);
      if (dwarf !== undefined) out.push(...frameSourceLines(dwarf, f.offset - f.module.codeSectionStart));
    }
  }
  if (frames.length > MAX_FRAMES) out.push('... maybe followed by omitted frames');
  return out;
}

/**
 * The source position of a wasm function's first instruction (after its locals) from the module's
 * DWARF — for compilers that emit a line for the prologue, the line of the function's opening. The
 * innermost position when the instruction is inlined code; undefined for host functions, modules
 * without DWARF, and instructions without a line.
 */
export function functionSourceLine(def: FunctionDefinition): SourceLine | undefined {
  const found = definitionBody(def);
  if (found === undefined) return undefined;
  const dwarf = dwarfOf(found.module);
  if (dwarf === undefined) return undefined;
  const line = dwarf.linesFor(found.body.codeStart - found.module.codeSectionStart)[0];
  return line === undefined || line.line === 0 ? undefined : line;
}
