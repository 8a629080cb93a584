/**
 * Wasm stack traces, shared by both engines so they print identically: one line per frame,
 * innermost first (`module.function(params) results`), each followed by its DWARF source lines when
 * the module has them and debug info is enabled. At most {@link MAX_FRAMES} frames, as wazero.
 */
import type { FunctionDefinition } from '../api/module.js';
import type { Module as IrModule } from '../binary/module.js';
import { frameSourceLines, parseDwarf, type DwarfLines } from '../dwarf/index.js';
import { formatFrameSignature } from './definition.js';

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
