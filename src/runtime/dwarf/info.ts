/**
 * Just enough of .debug_info to map code offsets to units and inlined call sites: unit headers,
 * abbreviation tables, the root DIE of each unit, and a walk collecting DW_TAG_inlined_subroutine
 * entries with their address ranges and DW_AT_call_file/line/column.
 */
import { Cursor, DwarfFormatError, stringAt, unitLength } from './cursor.js';

/** The DWARF sections this package reads, by name without the leading `.debug_`. */
export interface DwarfSections {
  readonly info: Uint8Array | undefined;
  readonly abbrev: Uint8Array | undefined;
  readonly line: Uint8Array | undefined;
  readonly str: Uint8Array | undefined;
  readonly lineStr: Uint8Array | undefined;
  readonly strOffsets: Uint8Array | undefined;
  readonly addr: Uint8Array | undefined;
  readonly ranges: Uint8Array | undefined;
  readonly rnglists: Uint8Array | undefined;
}

const TAG_compile_unit = 0x11;
const TAG_inlined_subroutine = 0x1d;
const TAG_partial_unit = 0x3c;
const TAG_skeleton_unit = 0x4a;

const AT_name = 0x03;
const AT_stmt_list = 0x10;
const AT_low_pc = 0x11;
const AT_high_pc = 0x12;
const AT_comp_dir = 0x1b;
const AT_ranges = 0x55;
const AT_call_column = 0x57;
const AT_call_file = 0x58;
const AT_call_line = 0x59;
const AT_str_offsets_base = 0x72;
const AT_addr_base = 0x73;
const AT_rnglists_base = 0x74;
const AT_GNU_addr_base = 0x2133;

const FORM_addr = 0x01;
const FORM_data2 = 0x05;
const FORM_data4 = 0x06;
const FORM_data8 = 0x07;
const FORM_string = 0x08;
const FORM_data1 = 0x0b;
const FORM_sdata = 0x0d;
const FORM_strp = 0x0e;
const FORM_udata = 0x0f;
const FORM_indirect = 0x16;
const FORM_sec_offset = 0x17;
const FORM_strx = 0x1a;
const FORM_addrx = 0x1b;
const FORM_line_strp = 0x1f;
const FORM_implicit_const = 0x21;
const FORM_rnglistx = 0x23;
const FORM_strx1 = 0x25;
const FORM_strx4 = 0x28;
const FORM_addrx1 = 0x29;
const FORM_addrx4 = 0x2c;
const FORM_GNU_addr_index = 0x1f01;
const FORM_GNU_str_index = 0x1f02;

interface AbbrevAttr {
  readonly attr: number;
  readonly form: number;
  readonly implicitConst: number;
}

interface Abbrev {
  readonly tag: number;
  readonly children: boolean;
  readonly attrs: readonly AbbrevAttr[];
}

type AbbrevTable = Map<number, Abbrev>;

/** One compilation unit, from its header and root DIE. */
export interface Unit {
  readonly offset: number;
  readonly version: number;
  readonly offsetSize: 4 | 8;
  readonly addrSize: number;
  readonly abbrevs: AbbrevTable;
  /** Offset of the first DIE after the root. */
  readonly childrenStart: number;
  readonly rootHasChildren: boolean;
  readonly end: number;
  readonly name: string | undefined;
  readonly stmtList: number | undefined;
  readonly compDir: string;
  /** The unit's base address (DW_AT_low_pc of the root), 0 when absent. */
  readonly base: number;
  readonly strOffsetsBase: number;
  readonly addrBase: number;
  readonly rnglistsBase: number;
}

/** An inlined call: where the inlined code lives and where it was called from. */
export interface Inlined {
  /** Flat `[start, end)` pairs. */
  readonly ranges: readonly number[];
  /** The file register value naming the call site's file, or -1 when absent. */
  readonly callFile: number;
  readonly callLine: number;
  readonly callColumn: number;
  /** Index of the nearest enclosing inlined subroutine in the same list, or -1. */
  readonly parent: number;
}

/** Parses every compilation unit header and root DIE; stops at the first malformed unit. */
export function parseUnits(s: DwarfSections): Unit[] {
  const units: Unit[] = [];
  const info = s.info;
  if (info === undefined || s.abbrev === undefined) return units;
  const abbrevCache = new Map<number, AbbrevTable>();
  let off = 0;
  while (off < info.length) {
    let next: number;
    try {
      const c = new Cursor(info, off);
      const { offsetSize, end } = unitLength(c);
      next = end;
      if (end <= off) break;
      // A unit claiming more bytes than the section holds is read up to the section's end.
      c.end = Math.min(end, info.length);
      const u = parseUnit(s, c, off, offsetSize, end, abbrevCache);
      if (u !== undefined) units.push(u);
    } catch (e) {
      if (!(e instanceof DwarfFormatError)) throw e;
      break;
    }
    off = next;
  }
  return units;
}

function parseUnit(
  s: DwarfSections,
  c: Cursor,
  offset: number,
  offsetSize: 4 | 8,
  end: number,
  abbrevCache: Map<number, AbbrevTable>,
): Unit | undefined {
  const version = c.u16();
  if (version < 2 || version > 5) return undefined;
  let addrSize: number;
  let abbrevOffset: number;
  if (version >= 5) {
    const unitType = c.u8();
    addrSize = c.u8();
    abbrevOffset = c.uN(offsetSize);
    switch (unitType) {
      case 1: // compile
      case 3: // partial
        break;
      case 4: // skeleton
      case 5: // split_compile
        c.skip(8); // dwo_id
        break;
      default: // type units have no code
        return undefined;
    }
  } else {
    abbrevOffset = c.uN(offsetSize);
    addrSize = c.u8();
  }
  if (addrSize !== 4 && addrSize !== 8 && addrSize !== 2 && addrSize !== 1) return undefined;
  let abbrevs = abbrevCache.get(abbrevOffset);
  if (abbrevs === undefined) {
    abbrevs = parseAbbrevs(s.abbrev!, abbrevOffset);
    abbrevCache.set(abbrevOffset, abbrevs);
  }
  const code = c.uleb();
  if (code === 0) return undefined;
  const ab = abbrevs.get(code);
  if (ab === undefined) throw new DwarfFormatError(`unknown abbreviation ${code}`);
  if (ab.tag !== TAG_compile_unit && ab.tag !== TAG_partial_unit && ab.tag !== TAG_skeleton_unit) {
    return undefined;
  }
  const shape: UnitShape = { version, offsetSize, addrSize };
  // Bases may follow the attributes that need them, so read raw values first and resolve after.
  const raw = new Map<number, { form: number; value: number | string }>();
  for (const a of ab.attrs) {
    const form = a.form === FORM_indirect ? c.uleb() : a.form;
    raw.set(a.attr, { form, value: readForm(c, form, a.implicitConst, shape) });
  }
  const num = (attr: number, dflt: number): number => {
    const v = raw.get(attr)?.value;
    return typeof v === 'number' ? v : dflt;
  };
  // Without an explicit base, an index points past the (DWARF32) header of the only contribution.
  const strOffsetsBase = num(AT_str_offsets_base, 8);
  const addrBase = num(AT_addr_base, num(AT_GNU_addr_base, 8));
  const rnglistsBase = num(AT_rnglists_base, 12);
  const partial = {
    version,
    offsetSize,
    addrSize,
    strOffsetsBase,
    addrBase,
    rnglistsBase,
  };
  const str = (attr: number): string | undefined => {
    const r = raw.get(attr);
    if (r === undefined) return undefined;
    try {
      return resolveString(s, partial, r.form, r.value);
    } catch (e) {
      if (e instanceof DwarfFormatError) return undefined;
      throw e;
    }
  };
  const low = raw.get(AT_low_pc);
  let base = 0;
  if (low !== undefined) base = resolveAddress(s, partial, low.form, low.value) ?? 0;
  const stmt = raw.get(AT_stmt_list)?.value;
  return {
    offset,
    version,
    offsetSize,
    addrSize,
    abbrevs,
    childrenStart: c.pos,
    rootHasChildren: ab.children,
    end: c.end,
    name: str(AT_name),
    stmtList: typeof stmt === 'number' ? stmt : undefined,
    compDir: str(AT_comp_dir) ?? '',
    base,
    strOffsetsBase,
    addrBase,
    rnglistsBase,
  };
}

function parseAbbrevs(data: Uint8Array, offset: number): AbbrevTable {
  const table: AbbrevTable = new Map();
  const c = new Cursor(data, offset);
  for (;;) {
    const code = c.uleb();
    if (code === 0) break;
    const tag = c.uleb();
    const children = c.u8() !== 0;
    const attrs: AbbrevAttr[] = [];
    for (;;) {
      const attr = c.uleb();
      const form = c.uleb();
      if (attr === 0 && form === 0) break;
      const implicitConst = form === FORM_implicit_const ? c.sleb() : 0;
      attrs.push({ attr, form, implicitConst });
    }
    if (!table.has(code)) table.set(code, { tag, children, attrs });
  }
  return table;
}

interface UnitShape {
  readonly version: number;
  readonly offsetSize: 4 | 8;
  readonly addrSize: number;
}

interface UnitBases extends UnitShape {
  readonly strOffsetsBase: number;
  readonly addrBase: number;
  readonly rnglistsBase: number;
}

/**
 * Reads one attribute value. Numbers for constants, addresses, offsets, references and indexes
 * (interpreted by the caller from the form), a string for DW_FORM_string, -1 for blocks.
 */
function readForm(c: Cursor, form: number, implicitConst: number, u: UnitShape): number | string {
  switch (form) {
    case FORM_addr:
      return c.uN(u.addrSize);
    case 0x03: // block2
      c.skip(c.u16());
      return -1;
    case 0x04: // block4
      c.skip(c.u32());
      return -1;
    case FORM_data2:
    case 0x12: // ref2
      return c.u16();
    case FORM_data4:
    case 0x13: // ref4
    case 0x1c: // ref_sup4
      return c.u32();
    case FORM_data8:
    case 0x14: // ref8
    case 0x20: // ref_sig8
    case 0x24: // ref_sup8
      return c.u64();
    case FORM_string:
      return c.cstr();
    case 0x09: // block
    case 0x18: // exprloc
      c.skip(c.uleb());
      return -1;
    case 0x0a: // block1
      c.skip(c.u8());
      return -1;
    case FORM_data1:
    case 0x0c: // flag
    case 0x11: // ref1
      return c.u8();
    case FORM_sdata:
      return c.sleb();
    case FORM_strp:
    case FORM_sec_offset:
    case FORM_line_strp:
    case 0x1d: // strp_sup
    case 0x1f20: // GNU_ref_alt
    case 0x1f21: // GNU_strp_alt
      return c.uN(u.offsetSize);
    case 0x10: // ref_addr: address-sized in DWARF 2
      return c.uN(u.version <= 2 ? u.addrSize : u.offsetSize);
    case FORM_udata:
    case 0x15: // ref_udata
    case FORM_strx:
    case FORM_addrx:
    case 0x22: // loclistx
    case FORM_rnglistx:
    case FORM_GNU_addr_index:
    case FORM_GNU_str_index:
      return c.uleb();
    case FORM_indirect: {
      const actual = c.uleb();
      // An indirect form naming itself would recurse without consuming the abbreviation.
      if (actual === FORM_indirect || actual === FORM_implicit_const) throw new DwarfFormatError('bad indirect form');
      return readForm(c, actual, 0, u);
    }
    case 0x19: // flag_present
      return 1;
    case 0x1e: // data16
      c.skip(16);
      return -1;
    case FORM_implicit_const:
      return implicitConst;
    case FORM_strx1:
    case FORM_addrx1:
      return c.u8();
    case 0x26: // strx2
    case 0x2a: // addrx2
      return c.u16();
    case 0x27: // strx3
    case 0x2b: // addrx3
      return c.u24();
    case FORM_strx4:
    case FORM_addrx4:
      return c.u32();
    default:
      throw new DwarfFormatError(`unknown form 0x${form.toString(16)}`);
  }
}

function isStrx(form: number): boolean {
  return form === FORM_strx || (form >= FORM_strx1 && form <= FORM_strx4) || form === FORM_GNU_str_index;
}

function isAddrx(form: number): boolean {
  return form === FORM_addrx || (form >= FORM_addrx1 && form <= FORM_addrx4) || form === FORM_GNU_addr_index;
}

function isConstant(form: number): boolean {
  return (
    form === FORM_data1 ||
    form === FORM_data2 ||
    form === FORM_data4 ||
    form === FORM_data8 ||
    form === FORM_udata ||
    form === FORM_sdata ||
    form === FORM_implicit_const
  );
}

/** Resolves a string-class attribute value. */
export function resolveString(s: DwarfSections, u: UnitBases, form: number, value: number | string): string | undefined {
  if (typeof value === 'string') return value;
  if (form === FORM_strp) return stringAt(s.str, value);
  if (form === FORM_line_strp) return stringAt(s.lineStr, value);
  if (isStrx(form)) return stringAt(s.str, strOffset(s, u, value));
  return undefined;
}

/** The .debug_str offset of string index `index` of a unit. */
export function strOffset(s: DwarfSections, u: UnitBases, index: number): number {
  if (s.strOffsets === undefined) throw new DwarfFormatError('no .debug_str_offsets');
  return new Cursor(s.strOffsets, u.strOffsetsBase + index * u.offsetSize).uN(u.offsetSize);
}

function addrAt(s: DwarfSections, u: UnitBases, index: number): number {
  if (s.addr === undefined) throw new DwarfFormatError('no .debug_addr');
  return new Cursor(s.addr, u.addrBase + index * u.addrSize).uN(u.addrSize);
}

function resolveAddress(s: DwarfSections, u: UnitBases, form: number, value: number | string): number | undefined {
  if (typeof value !== 'number') return undefined;
  if (form === FORM_addr) return value;
  if (isAddrx(form)) return addrAt(s, u, value);
  return undefined;
}

/**
 * The `[start, end)` pairs of an entry from its low_pc/high_pc or DW_AT_ranges attributes.
 * `base` is the unit's base address (where DWARF 4 range lists and DW_RLE_offset_pair start).
 */
function entryRanges(
  s: DwarfSections,
  u: UnitBases & { readonly base: number },
  low: { form: number; value: number | string } | undefined,
  high: { form: number; value: number | string } | undefined,
  ranges: { form: number; value: number | string } | undefined,
): number[] {
  if (ranges !== undefined && typeof ranges.value === 'number') {
    return u.version >= 5 ? rnglist(s, u, ranges.form, ranges.value) : rangeList(s, u, ranges.value);
  }
  if (low === undefined || high === undefined) return [];
  const lo = resolveAddress(s, u, low.form, low.value);
  if (lo === undefined || typeof high.value !== 'number') return [];
  const hi = isConstant(high.form) ? lo + high.value : resolveAddress(s, u, high.form, high.value);
  if (hi === undefined || hi <= lo) return [];
  return [lo, hi];
}

/** A DWARF 2-4 .debug_ranges list. */
function rangeList(s: DwarfSections, u: UnitBases & { readonly base: number }, offset: number): number[] {
  if (s.ranges === undefined) return [];
  const c = new Cursor(s.ranges, offset);
  const maxAddr = u.addrSize === 8 ? 2 ** 64 - 1 : 2 ** (u.addrSize * 8) - 1;
  let base = u.base;
  const out: number[] = [];
  for (;;) {
    const a = c.uN(u.addrSize);
    const b = c.uN(u.addrSize);
    if (a === 0 && b === 0) break;
    if (a === maxAddr) {
      base = b;
      continue;
    }
    if (b > a) out.push(base + a, base + b);
  }
  return out;
}

/** A DWARF 5 .debug_rnglists list, by offset (DW_FORM_sec_offset) or index (DW_FORM_rnglistx). */
function rnglist(s: DwarfSections, u: UnitBases & { readonly base: number }, form: number, value: number): number[] {
  const data = s.rnglists;
  if (data === undefined) return [];
  let offset = value;
  if (form === FORM_rnglistx) {
    offset = u.rnglistsBase + new Cursor(data, u.rnglistsBase + value * u.offsetSize).uN(u.offsetSize);
  }
  const c = new Cursor(data, offset);
  let base = u.base;
  const out: number[] = [];
  const push = (a: number, b: number): void => {
    if (b > a) out.push(a, b);
  };
  for (;;) {
    const kind = c.u8();
    switch (kind) {
      case 0: // end_of_list
        return out;
      case 1: // base_addressx
        base = addrAt(s, u, c.uleb());
        break;
      case 2: {
        // startx_endx
        const a = addrAt(s, u, c.uleb());
        push(a, addrAt(s, u, c.uleb()));
        break;
      }
      case 3: {
        // startx_length
        const a = addrAt(s, u, c.uleb());
        push(a, a + c.uleb());
        break;
      }
      case 4: {
        // offset_pair
        const a = c.uleb();
        push(base + a, base + c.uleb());
        break;
      }
      case 5: // base_address
        base = c.uN(u.addrSize);
        break;
      case 6: {
        // start_end
        const a = c.uN(u.addrSize);
        push(a, c.uN(u.addrSize));
        break;
      }
      case 7: {
        // start_length
        const a = c.uN(u.addrSize);
        push(a, a + c.uleb());
        break;
      }
      default:
        throw new DwarfFormatError(`range list entry kind ${kind}`);
    }
  }
}

/**
 * Walks a unit's DIE tree and returns its inlined subroutines in DIE (pre-)order, so an entry's
 * ancestors come before it. A malformed tree yields the entries read before the damage.
 */
export function inlinedSubroutines(s: DwarfSections, u: Unit): Inlined[] {
  const out: Inlined[] = [];
  if (!u.rootHasChildren || s.info === undefined) return out;
  const c = new Cursor(s.info, u.childrenStart, u.end);
  // enclosing[d] = index of the innermost inlined subroutine enclosing depth d, or -1.
  const enclosing: number[] = [-1];
  try {
    while (c.pos < c.end && enclosing.length > 0) {
      const code = c.uleb();
      if (code === 0) {
        enclosing.pop();
        continue;
      }
      const ab = u.abbrevs.get(code);
      if (ab === undefined) throw new DwarfFormatError(`unknown abbreviation ${code}`);
      const parent = enclosing[enclosing.length - 1]!;
      let self = parent;
      if (ab.tag === TAG_inlined_subroutine) {
        let low: { form: number; value: number | string } | undefined;
        let high: { form: number; value: number | string } | undefined;
        let ranges: { form: number; value: number | string } | undefined;
        let callFile = -1;
        let callLine = 0;
        let callColumn = 0;
        for (const a of ab.attrs) {
          const form = a.form === FORM_indirect ? c.uleb() : a.form;
          const value = readForm(c, form, a.implicitConst, u);
          switch (a.attr) {
            case AT_low_pc:
              low = { form, value };
              break;
            case AT_high_pc:
              high = { form, value };
              break;
            case AT_ranges:
              ranges = { form, value };
              break;
            case AT_call_file:
              if (typeof value === 'number' && isConstant(form)) callFile = value;
              break;
            case AT_call_line:
              if (typeof value === 'number' && isConstant(form)) callLine = value;
              break;
            case AT_call_column:
              if (typeof value === 'number' && isConstant(form)) callColumn = value;
              break;
          }
        }
        let r: number[];
        try {
          r = entryRanges(s, u, low, high, ranges);
        } catch (e) {
          if (!(e instanceof DwarfFormatError)) throw e;
          r = [];
        }
        self = out.length;
        out.push({ ranges: r, callFile, callLine, callColumn, parent });
      } else {
        for (const a of ab.attrs) readForm(c, a.form, a.implicitConst, u);
      }
      if (ab.children) enclosing.push(self);
    }
  } catch (e) {
    if (!(e instanceof DwarfFormatError)) throw e;
  }
  return out;
}
