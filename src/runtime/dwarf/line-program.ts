/**
 * DWARF line number programs (.debug_line), versions 2 to 5: header, file table and the state
 * machine, reduced to sequences of rows sorted by address.
 */
import { Cursor, DwarfFormatError, stringAt, unitLength } from './cursor.js';
import { pathIsAbs, pathJoin } from './paths.js';

/** The string sections a line program header may point into. */
export interface LineSections {
  readonly line: Uint8Array;
  readonly str: Uint8Array | undefined;
  readonly lineStr: Uint8Array | undefined;
  /** Resolves DW_FORM_strx* indexes (needs the owning unit's str_offsets_base). */
  readonly strx?: ((index: number) => string) | undefined;
}

/** A contiguous run of instructions, `[start, end)`, with rows sorted by address. */
export interface Sequence {
  readonly start: number;
  readonly end: number;
  readonly addrs: readonly number[];
  readonly files: readonly number[];
  readonly lines: readonly number[];
  readonly cols: readonly number[];
}

export interface LineTable {
  /** Offset of the program in .debug_line. */
  readonly offset: number;
  readonly version: number;
  /**
   * Full file names indexed by the `file` register (and DW_AT_call_file). Index 0 is undefined
   * before DWARF 5, where file numbering starts at 1.
   */
  readonly files: readonly (string | undefined)[];
  readonly sequences: readonly Sequence[];
  /** Offset one past this program in .debug_line. */
  readonly end: number;
}

// wasm-ld marks the debug info of discarded functions with these addresses (-1, and -2 in
// .debug_ranges/.debug_loc); their sequences can never match a code offset.
const TOMBSTONE_MIN = 0xfffffffe;

const LNCT_path = 1;
const LNCT_directory_index = 2;

interface EntryFormat {
  readonly type: number;
  readonly form: number;
}

/**
 * Parses the line program at `offset`. `compDir` is the owning unit's DW_AT_comp_dir. Throws
 * {@link DwarfFormatError} for a malformed header; a malformed program body keeps the sequences
 * completed before the damage.
 */
export function parseLineProgram(s: LineSections, offset: number, compDir: string): LineTable {
  const c = new Cursor(s.line, offset);
  const { offsetSize, end: claimedEnd } = unitLength(c);
  // A unit claiming more bytes than the section holds is read up to the section's end.
  const end = Math.min(claimedEnd, s.line.length);
  c.end = end;
  const version = c.u16();
  if (version < 2 || version > 5) throw new DwarfFormatError(`line table version ${version}`);
  let addrSize = 0;
  if (version >= 5) {
    addrSize = c.u8();
    c.u8(); // segment selector size
  }
  const headerLength = c.uN(offsetSize);
  const programStart = c.pos + headerLength;
  const minInstLength = c.u8();
  const maxOps = version >= 4 ? c.u8() : 1;
  c.u8(); // default_is_stmt: stack traces print every row, statement or not
  const lineBase = (c.u8() << 24) >> 24;
  const lineRange = c.u8();
  const opcodeBase = c.u8();
  if (lineRange === 0) throw new DwarfFormatError('line_range 0');
  if (maxOps === 0) throw new DwarfFormatError('maximum_operations_per_instruction 0');
  const opcodeLengths: number[] = [0];
  for (let i = 1; i < opcodeBase; i++) opcodeLengths.push(c.u8());

  const files: (string | undefined)[] = [];
  let dirs: string[];
  if (version < 5) {
    // The compilation directory is implicitly directory 0; relative entries are relative to it.
    dirs = [compDir];
    for (;;) {
      const d = c.cstr();
      if (d === '') break;
      dirs.push(pathIsAbs(d) ? d : pathJoin(compDir, d));
    }
    files.push(undefined);
    for (;;) {
      const name = c.cstr();
      if (name === '') break;
      const dir = c.uleb();
      c.uleb(); // mtime
      c.uleb(); // length
      files.push(joinFile(dirs, dir, name));
    }
  } else {
    const dirFormat = entryFormat(c);
    const nDirs = c.uleb();
    dirs = [];
    for (let i = 0; i < nDirs; i++) {
      const e = readEntry(c, dirFormat, s, offsetSize, undefined);
      let d = e.path;
      // DWARF 5 §6.2.4: entry 0 is the compilation directory, the others are relative to it.
      // (Go's debug/dwarf leaves relative entries as they are; we follow the spec so a header in a
      // subdirectory prints the same path under -gdwarf-4 and -gdwarf-5.)
      if (i > 0 && !pathIsAbs(d) && dirs.length > 0) d = pathJoin(dirs[0]!, d);
      else if (i === 0 && d === '') d = compDir;
      dirs.push(d);
    }
    const fileFormat = entryFormat(c);
    const nFiles = c.uleb();
    for (let i = 0; i < nFiles; i++) {
      const e = readEntry(c, fileFormat, s, offsetSize, dirs);
      files.push(joinFile(dirs, e.dir, e.path));
    }
  }

  const sequences: Sequence[] = [];
  c.pos = programStart;
  try {
    runProgram(c, {
      version,
      addrSize,
      minInstLength,
      maxOps,
      lineBase,
      lineRange,
      opcodeBase,
      opcodeLengths,
      files,
      dirs,
      sequences,
    });
  } catch (e) {
    if (!(e instanceof DwarfFormatError)) throw e;
  }
  return { offset, version, files, sequences, end };
}

function joinFile(dirs: readonly string[], dir: number, name: string): string {
  if (pathIsAbs(name)) return name;
  const d = dirs[dir];
  return d === undefined ? name : pathJoin(d, name);
}

function entryFormat(c: Cursor): EntryFormat[] {
  const n = c.u8();
  const out: EntryFormat[] = [];
  for (let i = 0; i < n; i++) out.push({ type: c.uleb(), form: c.uleb() });
  return out;
}

function readEntry(
  c: Cursor,
  format: readonly EntryFormat[],
  s: LineSections,
  offsetSize: 4 | 8,
  dirs: readonly string[] | undefined,
): { path: string; dir: number } {
  let path = '';
  let dir = 0;
  for (const f of format) {
    let str: string | undefined;
    let val = 0;
    switch (f.form) {
      case 0x08: // string
        str = c.cstr();
        break;
      case 0x0e: // strp
        str = stringAt(s.str, c.uN(offsetSize));
        break;
      case 0x1f: // line_strp
        str = stringAt(s.lineStr, c.uN(offsetSize));
        break;
      case 0x1a: // strx
        str = strx(s, c.uleb());
        break;
      case 0x25:
        str = strx(s, c.u8());
        break;
      case 0x26:
        str = strx(s, c.u16());
        break;
      case 0x27:
        str = strx(s, c.u24());
        break;
      case 0x28:
        str = strx(s, c.u32());
        break;
      case 0x0b: // data1
        val = c.u8();
        break;
      case 0x05: // data2
        val = c.u16();
        break;
      case 0x06: // data4
        val = c.u32();
        break;
      case 0x07: // data8
        val = c.u64();
        break;
      case 0x0f: // udata
        val = c.uleb();
        break;
      case 0x1e: // data16 (MD5)
        c.skip(16);
        break;
      case 0x09: // block
        c.skip(c.uleb());
        break;
      default:
        throw new DwarfFormatError(`form 0x${f.form.toString(16)} in a line table entry`);
    }
    if (f.type === LNCT_path && str !== undefined) path = str;
    else if (f.type === LNCT_directory_index) {
      if (dirs !== undefined && val >= dirs.length) throw new DwarfFormatError('directory index out of range');
      dir = val;
    }
  }
  return { path, dir };
}

function strx(s: LineSections, index: number): string {
  if (s.strx === undefined) throw new DwarfFormatError('strx without str_offsets');
  return s.strx(index);
}

interface ProgramState {
  readonly version: number;
  readonly addrSize: number;
  readonly minInstLength: number;
  readonly maxOps: number;
  readonly lineBase: number;
  readonly lineRange: number;
  readonly opcodeBase: number;
  readonly opcodeLengths: readonly number[];
  readonly files: (string | undefined)[];
  readonly dirs: readonly string[];
  readonly sequences: Sequence[];
}

function runProgram(c: Cursor, p: ProgramState): void {
  let address = 0;
  let opIndex = 0;
  let file = 1;
  let line = 1;
  let column = 0;
  let addrs: number[] = [];
  let files: number[] = [];
  let lines: number[] = [];
  let cols: number[] = [];

  const advance = (operationAdvance: number): void => {
    if (p.maxOps === 1) {
      address += p.minInstLength * operationAdvance;
    } else {
      const ops = opIndex + operationAdvance;
      address += p.minInstLength * Math.floor(ops / p.maxOps);
      opIndex = ops % p.maxOps;
    }
  };
  const emit = (): void => {
    addrs.push(address);
    files.push(file);
    lines.push(line);
    cols.push(column);
  };
  const endSequence = (): void => {
    if (addrs.length > 0) p.sequences.push(makeSequence(addrs, files, lines, cols, address));
    address = 0;
    opIndex = 0;
    file = 1;
    line = 1;
    column = 0;
    addrs = [];
    files = [];
    lines = [];
    cols = [];
  };

  while (c.pos < c.end) {
    const op = c.u8();
    if (op >= p.opcodeBase) {
      const adjusted = op - p.opcodeBase;
      advance(Math.floor(adjusted / p.lineRange));
      line += p.lineBase + (adjusted % p.lineRange);
      emit();
      continue;
    }
    switch (op) {
      case 0: {
        const len = c.uleb();
        if (len === 0) break;
        const next = c.pos + len;
        if (next > c.end) throw new DwarfFormatError('extended opcode past program end');
        const sub = c.u8();
        switch (sub) {
          case 1: // end_sequence
            endSequence();
            break;
          case 2: // set_address: the operand fills the rest of the opcode
            address = c.uN(len - 1);
            opIndex = 0;
            break;
          case 3: // define_file (before DWARF 5)
            if (p.version < 5) {
              const name = c.cstr();
              const dir = c.uleb();
              p.files.push(joinFile(p.dirs, dir, name));
            }
            break;
          default: // set_discriminator and vendor extensions carry nothing we use
            break;
        }
        c.pos = next;
        break;
      }
      case 1: // copy
        emit();
        break;
      case 2: // advance_pc
        advance(c.uleb());
        break;
      case 3: // advance_line
        line += c.sleb();
        break;
      case 4: // set_file
        file = c.uleb();
        break;
      case 5: // set_column
        column = c.uleb();
        break;
      case 8: // const_add_pc
        advance(Math.floor((255 - p.opcodeBase) / p.lineRange));
        break;
      case 9: // fixed_advance_pc
        address += c.u16();
        opIndex = 0;
        break;
      case 6: // negate_stmt
      case 7: // set_basic_block
      case 10: // set_prologue_end
      case 11: // set_epilogue_begin
        break;
      default: {
        // set_isa and opcodes this reader does not know: skip the operands the header declares.
        const n = p.opcodeLengths[op] ?? 0;
        for (let i = 0; i < n; i++) c.uleb();
      }
    }
  }
}

function makeSequence(addrs: number[], files: number[], lines: number[], cols: number[], endAddress: number): Sequence {
  let sorted = true;
  for (let i = 1; i < addrs.length; i++) {
    if (addrs[i]! < addrs[i - 1]!) {
      sorted = false;
      break;
    }
  }
  if (!sorted) {
    // Addresses within a sequence must not decrease; a producer that breaks that still gets its
    // rows looked up by address (stable, so equal addresses keep program order).
    const order = addrs.map((_, i) => i).sort((a, b) => addrs[a]! - addrs[b]! || a - b);
    addrs = order.map((i) => addrs[i]!);
    files = order.map((i) => files[i]!);
    lines = order.map((i) => lines[i]!);
    cols = order.map((i) => cols[i]!);
  }
  const start = addrs[0]!;
  const last = addrs[addrs.length - 1]!;
  return { start, end: Math.max(endAddress, last + 1), addrs, files, lines, cols };
}

/** Whether a sequence belongs to code the linker discarded. */
export function isTombstoned(seq: Sequence): boolean {
  return seq.start >= TOMBSTONE_MIN;
}
