/**
 * Source positions for wasm stack traces from DWARF custom sections (.debug_line, plus .debug_info
 * for inlined calls), printed the way wazero's internal/wasmdebug prints them.
 *
 * Addresses in wasm DWARF are offsets from the start of the code section's contents
 * (`Module.codeSectionStart` in the binary). Guest binaries are untrusted: nothing here throws on
 * malformed DWARF; damaged parts just yield fewer or no lines.
 */
import type { CustomSection } from '../binary/module.js';
import { DwarfFormatError, stringAt } from './cursor.js';
import { inlinedSubroutines, parseUnits, strOffset, type DwarfSections, type Inlined, type Unit } from './info.js';
import { isTombstoned, parseLineProgram, type LineTable, type Sequence } from './line-program.js';

/** One source position of an instruction. */
export interface SourceLine {
  /** The file, joined with its directory. */
  readonly file: string;
  /** 1-based; 0 when the compiler attributes the code to no line. */
  readonly line: number;
  /** 1-based; 0 for "no column". */
  readonly column: number;
  /** Whether this position is inside code inlined into the caller on the next line. */
  readonly inlined: boolean;
}

/** Line lookups over one module's DWARF. */
export interface DwarfLines {
  /**
   * The source positions of the instruction at `codeOffset` (relative to the code section's
   * contents): the innermost position first, then the call sites of the inlined subroutines that
   * contain it, outwards. Empty when the offset has no line information.
   */
  linesFor(codeOffset: number): SourceLine[];
}

const SECTION_KEYS = {
  '.debug_info': 'info',
  '.debug_abbrev': 'abbrev',
  '.debug_line': 'line',
  '.debug_str': 'str',
  '.debug_line_str': 'lineStr',
  '.debug_str_offsets': 'strOffsets',
  '.debug_addr': 'addr',
  '.debug_ranges': 'ranges',
  '.debug_rnglists': 'rnglists',
} as const satisfies Record<string, keyof DwarfSections>;

/**
 * Collects the DWARF sections of a module. Cheap: the tables are built on the first lookup.
 * Returns undefined when there is no .debug_line section.
 */
export function parseDwarf(sections: readonly CustomSection[]): DwarfLines | undefined {
  const found: { -readonly [K in keyof DwarfSections]?: Uint8Array } = {};
  for (const s of sections) {
    const key = (SECTION_KEYS as Record<string, keyof DwarfSections | undefined>)[s.name];
    // The first section of a name wins, as in the wasm custom-section lookup of other tools.
    if (key !== undefined && found[key] === undefined) found[key] = s.data;
  }
  if (found.line === undefined) return undefined;
  return new Lines({
    info: found.info,
    abbrev: found.abbrev,
    line: found.line,
    str: found.str,
    lineStr: found.lineStr,
    strOffsets: found.strOffsets,
    addr: found.addr,
    ranges: found.ranges,
    rnglists: found.rnglists,
  });
}

/**
 * Formats `lines` for a `wasm stack trace:` frame list (`WasmRuntimeError.stackFrames`): each entry
 * starts with one tab, and the trace's own `\n\t` join adds the second, giving wazero's
 * `\t\t0x<offset>: <file>:<line>:<column>`. Zero line (then also the column) or zero column is
 * omitted, inlined positions end in ` (inlined)`, and positions after the first are indented with
 * spaces to line up under the first one's file.
 */
export function formatSourceLines(offset: number, lines: readonly SourceLine[]): string[] {
  const prefix = `0x${offset.toString(16)}: `;
  const pad = ' '.repeat(prefix.length);
  return lines.map((l, i) => {
    let s = `\t${i === 0 ? prefix : pad}${l.file}`;
    if (l.line !== 0) {
      s += `:${l.line}`;
      if (l.column !== 0) s += `:${l.column}`;
    }
    if (l.inlined) s += ' (inlined)';
    return s;
  });
}

/**
 * The source lines of one stack frame, ready to follow its signature in
 * `WasmRuntimeError.stackFrames` (see {@link formatSourceLines}); empty without DWARF.
 */
export function frameSourceLines(dwarf: DwarfLines | undefined, codeOffset: number): string[] {
  if (dwarf === undefined) return [];
  return formatSourceLines(codeOffset, dwarf.linesFor(codeOffset));
}

interface SequenceRef {
  readonly seq: Sequence;
  readonly table: LineTable;
  /** The owning unit's index, or -1 when .debug_line is read without .debug_info. */
  readonly unit: number;
}

interface Index {
  /** Sorted by start address. */
  readonly seqs: readonly SequenceRef[];
  /** maxEnd[i] = the largest end among seqs[0..i], to find overlapping sequences quickly. */
  readonly maxEnd: Float64Array;
  readonly units: readonly Unit[];
}

interface InlinedIndex {
  readonly subs: readonly Inlined[];
  /** One entry per range, sorted by start. */
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  readonly owner: Int32Array;
  readonly maxEnd: Float64Array;
}

/** Unknown file names print as this (a line table naming a file it does not define). */
const UNKNOWN_FILE = '??';

class Lines implements DwarfLines {
  private readonly sections: DwarfSections;
  private index: Index | undefined;
  private readonly inlined = new Map<number, InlinedIndex>();

  constructor(sections: DwarfSections) {
    this.sections = sections;
  }

  linesFor(codeOffset: number): SourceLine[] {
    try {
      return this.lookup(codeOffset);
    } catch (e) {
      // Belt and braces: the parsers already contain their own format errors.
      if (e instanceof DwarfFormatError || e instanceof RangeError) return [];
      throw e;
    }
  }

  private lookup(off: number): SourceLine[] {
    const idx = (this.index ??= buildIndex(this.sections));
    const ref = findSequence(idx, off);
    if (ref === undefined) return [];
    const { seq, table } = ref;
    // The row in effect: the last one at or before `off`.
    let lo = 0;
    let hi = seq.addrs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seq.addrs[mid]! <= off) lo = mid + 1;
      else hi = mid;
    }
    const row = lo - 1;
    if (row < 0) return [];
    const chain = ref.unit < 0 ? [] : this.inlinedChain(idx.units[ref.unit]!, ref.unit, off);
    const out: SourceLine[] = [
      {
        file: table.files[seq.files[row]!] ?? UNKNOWN_FILE,
        line: seq.lines[row]!,
        column: seq.cols[row]!,
        inlined: chain.length > 0,
      },
    ];
    // chain is innermost first; each entry's call site is a position in its caller, which is
    // itself inlined unless the entry is the outermost.
    for (let i = 0; i < chain.length; i++) {
      const sub = chain[i]!;
      const file = table.files[sub.callFile];
      if (file === undefined) break;
      out.push({ file, line: sub.callLine, column: sub.callColumn, inlined: i !== chain.length - 1 });
    }
    return out;
  }

  /** The inlined subroutines containing `off`, innermost first. */
  private inlinedChain(unit: Unit, unitIndex: number, off: number): Inlined[] {
    let ii = this.inlined.get(unitIndex);
    if (ii === undefined) {
      ii = buildInlinedIndex(inlinedSubroutines(this.sections, unit));
      this.inlined.set(unitIndex, ii);
    }
    if (ii.subs.length === 0) return [];
    // Every range with start <= off, walking back while an earlier range can still reach off.
    let lo = 0;
    let hi = ii.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ii.starts[mid]! <= off) lo = mid + 1;
      else hi = mid;
    }
    let innermost = -1;
    for (let i = lo - 1; i >= 0 && ii.maxEnd[i]! > off; i--) {
      if (ii.ends[i]! > off && ii.owner[i]! > innermost) innermost = ii.owner[i]!;
    }
    const chain: Inlined[] = [];
    // DIE order puts ancestors first, so the containing entry with the highest index is the
    // innermost; its enclosing entries follow through `parent`.
    for (let k = innermost; k >= 0; k = ii.subs[k]!.parent) {
      const sub = ii.subs[k]!;
      if (contains(sub.ranges, off)) chain.push(sub);
    }
    return chain;
  }
}

function contains(ranges: readonly number[], off: number): boolean {
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    if (ranges[i]! <= off && off < ranges[i + 1]!) return true;
  }
  return false;
}

function findSequence(idx: Index, off: number): SequenceRef | undefined {
  const seqs = idx.seqs;
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]!.seq.start <= off) lo = mid + 1;
    else hi = mid;
  }
  // Overlaps only come from broken or stale debug info; prefer the sequence starting closest.
  for (let i = lo - 1; i >= 0 && idx.maxEnd[i]! > off; i--) {
    if (seqs[i]!.seq.end > off) return seqs[i];
  }
  return undefined;
}

function buildIndex(s: DwarfSections): Index {
  const units = safe(() => parseUnits(s), []);
  const refs: SequenceRef[] = [];
  const line = s.line!;
  const addTable = (t: LineTable, unit: number): void => {
    for (const seq of t.sequences) if (!isTombstoned(seq)) refs.push({ seq, table: t, unit });
  };
  const strx = (u: Unit) => (i: number) => stringAt(s.str, strOffset(s, u, i));
  if (units.length > 0) {
    // Units sharing a line program (and compilation directory) share the parsed table.
    const cache = new Map<string, LineTable | undefined>();
    units.forEach((u, i) => {
      if (u.stmtList === undefined) return;
      const key = `${u.stmtList}\0${u.compDir}`;
      let t = cache.get(key);
      if (!cache.has(key)) {
        t = safe(() => parseLineProgram({ line, str: s.str, lineStr: s.lineStr, strx: strx(u) }, u.stmtList!, u.compDir), undefined);
        cache.set(key, t);
        if (t !== undefined) addTable(t, i);
      }
    });
  } else {
    // No usable .debug_info: read the line programs back to back, without compilation directories
    // or inlining.
    let off = 0;
    while (off < line.length) {
      const t = safe(() => parseLineProgram({ line, str: s.str, lineStr: s.lineStr }, off, ''), undefined);
      if (t === undefined || t.end <= off) break;
      addTable(t, -1);
      off = t.end;
    }
  }
  refs.sort((a, b) => a.seq.start - b.seq.start);
  const maxEnd = new Float64Array(refs.length);
  let m = -Infinity;
  refs.forEach((r, i) => {
    m = Math.max(m, r.seq.end);
    maxEnd[i] = m;
  });
  return { seqs: refs, maxEnd, units };
}

function buildInlinedIndex(subs: Inlined[]): InlinedIndex {
  const entries: [start: number, end: number, owner: number][] = [];
  subs.forEach((sub, k) => {
    for (let i = 0; i + 1 < sub.ranges.length; i += 2) entries.push([sub.ranges[i]!, sub.ranges[i + 1]!, k]);
  });
  entries.sort((a, b) => a[0] - b[0]);
  const n = entries.length;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  const owner = new Int32Array(n);
  const maxEnd = new Float64Array(n);
  let m = -Infinity;
  entries.forEach(([s, e, o], i) => {
    starts[i] = s;
    ends[i] = e;
    owner[i] = o;
    m = Math.max(m, e);
    maxEnd[i] = m;
  });
  return { subs, starts, ends, owner, maxEnd };
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DwarfFormatError) return fallback;
    throw e;
  }
}
