/**
 * Symbolisation shared by every profile: a function definition and a code offset become a frame
 * (function name from the name section, file and line from DWARF), interned so that a profile
 * holds each distinct frame once.
 */
import type { FunctionDefinition } from '../runtime/api/module.js';
import type { Module as IrModule } from '../runtime/binary/module.js';
import { definitionModule } from '../runtime/store/definition.js';
import { dwarfOf } from '../runtime/store/trace.js';

/**
 * One frame of a profile: a function at a source position.
 * @experimental
 */
export interface ProfileFrame {
  /** The function's name: its name-section name, else its first export (or import) name, else `$<index>`. */
  readonly function: string;
  /** The function's full name as traces print it (`module.function`). */
  readonly systemName: string;
  /** The name of the module defining the function ('' when anonymous). */
  readonly module: string;
  /** The source file from DWARF, '' when unknown. */
  readonly file: string;
  /** The source line from DWARF, 0 when unknown. */
  readonly line: number;
  /** The line of the function's first instruction, 0 when unknown. */
  readonly startLine: number;
  /** Whether the function is a host function. */
  readonly host: boolean;
  /** The frame's instruction: its offset relative to the code section's contents (0 for host functions). */
  readonly address: number;
}

/** A source position of code at some offset: the outermost DWARF position (inlined code folds into its caller). */
interface Position {
  readonly file: string;
  readonly line: number;
}

const NO_POSITION: Position = { file: '', line: 0 };

/** The position of code offset `codeOffset` of `m` (the function's own line when code was inlined into it). */
export function positionOf(m: IrModule | undefined, codeOffset: number): Position {
  if (m === undefined) return NO_POSITION;
  const d = dwarfOf(m);
  if (d === undefined) return NO_POSITION;
  const lines = d.linesFor(codeOffset);
  const l = lines[lines.length - 1];
  return l === undefined ? NO_POSITION : { file: l.file, line: l.line };
}

/** The display name of `def`: its name-section name, else its first export or import name, else `$<index>`. */
export function functionName(def: FunctionDefinition): string {
  if (def.name() !== '') return def.name();
  const e = def.exportNames()[0];
  if (e !== undefined) return e;
  const imp = def.import();
  return imp !== undefined ? imp[1] : `$${def.index()}`;
}

/**
 * Interns frames: each distinct (function, offset) pair gets one {@link ProfileFrame} and a small
 * integer id (its index in {@link frames}).
 */
export class FrameTable {
  readonly frames: ProfileFrame[] = [];
  readonly #ids = new Map<FunctionDefinition, Map<number, number>>();
  readonly #starts = new Map<FunctionDefinition, number>();

  /** The id of `def` at code offset `offset` (relative to the code section's contents). */
  id(def: FunctionDefinition, offset: number): number {
    let byOffset = this.#ids.get(def);
    if (byOffset === undefined) {
      byOffset = new Map();
      this.#ids.set(def, byOffset);
    }
    let id = byOffset.get(offset);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(this.#frame(def, offset));
      byOffset.set(offset, id);
    }
    return id;
  }

  /** The id of `def` at its first instruction (the frame that stands for the whole function). */
  entry(def: FunctionDefinition): number {
    const m = def.hostFunction() === undefined ? definitionModule(def) : undefined;
    const body = m?.codes[def.index() - m.numImportedFuncs];
    return this.id(def, m === undefined || body === undefined ? 0 : body.codeStart - m.codeSectionStart);
  }

  #frame(def: FunctionDefinition, offset: number): ProfileFrame {
    const host = def.hostFunction() !== undefined;
    const m = host ? undefined : definitionModule(def);
    const pos = host ? NO_POSITION : positionOf(m, offset);
    return {
      function: functionName(def),
      systemName: def.debugName(),
      module: def.moduleName(),
      file: pos.file,
      line: pos.line,
      startLine: this.#startLine(def, m),
      host,
      address: host ? 0 : offset,
    };
  }

  #startLine(def: FunctionDefinition, m: IrModule | undefined): number {
    let line = this.#starts.get(def);
    if (line === undefined) {
      const body = m?.codes[def.index() - m.numImportedFuncs];
      line = m === undefined || body === undefined ? 0 : positionOf(m, body.codeStart - m.codeSectionStart).line;
      this.#starts.set(def, line);
    }
    return line;
  }
}
