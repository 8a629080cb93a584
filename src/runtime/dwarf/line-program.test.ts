import { describe, expect, it } from 'vitest';
import type { CustomSection } from '../binary/module.js';
import { parseDwarf, type SourceLine } from './index.js';

/** A little-endian byte builder for hand-written DWARF. */
class Bytes {
  readonly b: number[] = [];
  u8(...v: number[]): this {
    for (const x of v) this.b.push(x & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v, v >> 8);
  }
  u32(v: number): this {
    return this.u8(v, v >> 8, v >> 16, v >>> 24);
  }
  uleb(v: number): this {
    do {
      let byte = v & 0x7f;
      v = Math.floor(v / 128);
      if (v !== 0) byte |= 0x80;
      this.b.push(byte);
    } while (v !== 0);
    return this;
  }
  sleb(v: number): this {
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
        this.b.push(byte);
        return this;
      }
      this.b.push(byte | 0x80);
    }
  }
  cstr(s: string): this {
    for (const ch of new TextEncoder().encode(s)) this.b.push(ch);
    return this.u8(0);
  }
  bytes(other: Bytes | number[]): this {
    this.b.push(...(other instanceof Bytes ? other.b : other));
    return this;
  }
}

interface HeaderOpts {
  version: 2 | 3 | 4;
  minInst?: number;
  opcodeBase?: number;
  /** Operand counts of opcodes 1..opcodeBase-1. */
  lengths?: number[];
  dirs?: string[];
  files?: [name: string, dir: number][];
}

const STD_LENGTHS = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];
const LINE_BASE = -5;
const LINE_RANGE = 14;

/** A DWARF 2-4 line program with the given opcodes. */
function program(o: HeaderOpts, body: Bytes): Bytes {
  const opcodeBase = o.opcodeBase ?? 13;
  const header = new Bytes().u8(o.minInst ?? 1);
  if (o.version >= 4) header.u8(1);
  header.u8(1, LINE_BASE, LINE_RANGE, opcodeBase);
  const lengths = o.lengths ?? STD_LENGTHS;
  for (let i = 0; i < opcodeBase - 1; i++) header.u8(lengths[i] ?? 0);
  for (const d of o.dirs ?? []) header.cstr(d);
  header.u8(0);
  for (const [name, dir] of o.files ?? [['a.c', 0]]) header.cstr(name).uleb(dir).uleb(0).uleb(0);
  header.u8(0);
  const afterLength = new Bytes().u16(o.version).u32(header.b.length).bytes(header).bytes(body);
  return new Bytes().u32(afterLength.b.length).bytes(afterLength);
}

/** A special opcode advancing the address by `addr` and the line by `line`. */
function special(addr: number, line: number, opcodeBase = 13): number {
  return opcodeBase + (line - LINE_BASE) + LINE_RANGE * addr;
}

const setAddress = (a: number): number[] => [0, 5, 2, a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >>> 24];
const END_SEQUENCE = [0, 1, 1];

function lines(...programs: Bytes[]): (off: number) => SourceLine[] {
  const data = new Uint8Array(programs.flatMap((p) => p.b));
  const sections: CustomSection[] = [{ name: '.debug_line', data, offset: 0 }];
  const d = parseDwarf(sections);
  if (d === undefined) throw new Error('no dwarf');
  return (off) => d.linesFor(off);
}

const at = (file: string, line: number, column = 0): SourceLine => ({ file, line, column, inlined: false });

describe('line programs without .debug_info', () => {
  it('runs the standard opcodes of a DWARF 3 program', () => {
    const body = new Bytes()
      .bytes(setAddress(0x100))
      .u8(5)
      .uleb(7) // set_column 7
      .u8(1) // copy: 0x100 line 1 col 7
      .u8(special(3, 2)) // 0x103 line 3
      .u8(2)
      .uleb(5) // advance_pc 5
      .u8(3)
      .sleb(-2) // advance_line -2
      .u8(1) // copy: 0x108 line 1
      .u8(8) // const_add_pc: (255 - 13) / 14 = 17
      .u8(6, 7, 10, 11) // negate_stmt, basic_block, prologue_end, epilogue_begin
      .u8(1) // copy: 0x119 line 1
      .u8(9)
      .u16(0x10) // fixed_advance_pc
      .u8(12)
      .uleb(3) // set_isa
      .u8(0, 2, 4)
      .uleb(9) // set_discriminator 9
      .u8(0, 3, 0x80, 1, 2) // unknown extended opcode 0x80, skipped by length
      .u8(3)
      .sleb(6) // advance_line 6
      .u8(special(0, 4)) // 0x129 line 11
      .u8(2)
      .uleb(4)
      .bytes(END_SEQUENCE); // end 0x12d
    const f = lines(program({ version: 3 }, body));
    expect(f(0x100)).toEqual([at('a.c', 1, 7)]);
    expect(f(0x102)).toEqual([at('a.c', 1, 7)]);
    expect(f(0x103)).toEqual([at('a.c', 3, 7)]);
    expect(f(0x108)).toEqual([at('a.c', 1, 7)]);
    expect(f(0x119)).toEqual([at('a.c', 1, 7)]);
    expect(f(0x129)).toEqual([at('a.c', 11, 7)]);
    expect(f(0x12c)).toEqual([at('a.c', 11, 7)]);
    expect(f(0x12d)).toEqual([]);
    expect(f(0xff)).toEqual([]);
  });

  it('joins file names with include directories and honours DW_LNE_define_file', () => {
    const body = new Bytes()
      .bytes(setAddress(0))
      .u8(1) // file 1: a.c (no directory)
      .u8(4)
      .uleb(2)
      .u8(special(2, 0)) // file 2: /inc/b.h
      .u8(0, 8, 3)
      .cstr('c.h')
      .uleb(1)
      .uleb(0)
      .uleb(0) // define_file 3: /inc/c.h
      .u8(4)
      .uleb(3)
      .u8(special(2, 0))
      .u8(4)
      .uleb(9)
      .u8(special(2, 0)) // file 9 does not exist
      .u8(2)
      .uleb(2)
      .bytes(END_SEQUENCE);
    const f = lines(
      program(
        {
          version: 4,
          dirs: ['/inc/sub/..', 'rel'],
          files: [
            ['a.c', 0],
            ['b.h', 1],
          ],
        },
        body,
      ),
    );
    expect(f(0)).toEqual([at('a.c', 1)]);
    expect(f(2)).toEqual([at('/inc/b.h', 1)]);
    expect(f(4)).toEqual([at('/inc/c.h', 1)]);
    expect(f(6)).toEqual([at('??', 1)]);
  });

  it('scales address advances by minimum_instruction_length', () => {
    const body = new Bytes().bytes(setAddress(0)).u8(1, special(1, 1)).u8(2).uleb(1).bytes(END_SEQUENCE);
    const f = lines(program({ version: 2, minInst: 4 }, body));
    expect(f(3)).toEqual([at('a.c', 1)]);
    expect(f(4)).toEqual([at('a.c', 2)]);
    expect(f(7)).toEqual([at('a.c', 2)]);
    expect(f(8)).toEqual([]);
  });

  it('treats opcodes at or above a small opcode_base as special and skips unknown standard ones', () => {
    // opcode_base 10 (DWARF 2): 10, 11 and 12 are special opcodes.
    const f1 = lines(
      program(
        { version: 2, opcodeBase: 10 },
        new Bytes()
          .bytes(setAddress(0))
          .u8(3)
          .sleb(19)
          .u8(10, special(1, 2, 10))
          .bytes(END_SEQUENCE),
      ),
    );
    expect(f1(0)).toEqual([at('a.c', 20 + LINE_BASE)]);
    expect(f1(1)).toEqual([at('a.c', 20 + LINE_BASE + 2)]);
    // opcode_base 14: opcode 13 is a vendor opcode taking two LEB operands.
    const f2 = lines(
      program(
        { version: 4, opcodeBase: 14, lengths: [...STD_LENGTHS, 2] },
        new Bytes().bytes(setAddress(0)).u8(13).uleb(300).uleb(1).u8(1).u8(2).uleb(1).bytes(END_SEQUENCE),
      ),
    );
    expect(f2(0)).toEqual([at('a.c', 1)]);
  });

  it('keeps several sequences and programs apart, and looks each up by address', () => {
    const p1 = program(
      { version: 4 },
      new Bytes()
        .bytes(setAddress(0x20))
        .u8(special(0, 4))
        .u8(2)
        .uleb(4)
        .bytes(END_SEQUENCE)
        .bytes(setAddress(0x10))
        .u8(3)
        .sleb(9)
        .u8(1)
        .u8(2)
        .uleb(4)
        .bytes(END_SEQUENCE),
    );
    const p2 = program({ version: 3, files: [['b.c', 0]] }, new Bytes().bytes(setAddress(0x30)).u8(1).u8(2).uleb(2).bytes(END_SEQUENCE));
    const f = lines(p1, p2);
    expect(f(0x13)).toEqual([at('a.c', 10)]);
    expect(f(0x14)).toEqual([]);
    expect(f(0x20)).toEqual([at('a.c', 5)]);
    expect(f(0x31)).toEqual([at('b.c', 1)]);
  });

  it('ignores sequences of discarded code (wasm-ld tombstone addresses)', () => {
    const f = lines(program({ version: 4 }, new Bytes().bytes(setAddress(0xffffffff)).u8(1).u8(2).uleb(8).bytes(END_SEQUENCE)));
    expect(f(0xffffffff)).toEqual([]);
    expect(f(3)).toEqual([]);
  });

  it('sorts rows that a producer emitted out of address order', () => {
    const body = new Bytes()
      .bytes(setAddress(8))
      .u8(special(0, 1)) // 8: line 2
      .bytes(setAddress(0))
      .u8(special(0, 1)) // 0: line 3
      .bytes(setAddress(12))
      .bytes(END_SEQUENCE);
    const f = lines(program({ version: 4 }, body));
    expect(f(4)).toEqual([at('a.c', 3)]);
    expect(f(9)).toEqual([at('a.c', 2)]);
  });

  it('keeps the sequences completed before a truncated program', () => {
    const body = new Bytes().bytes(setAddress(0)).u8(1).u8(2).uleb(2).bytes(END_SEQUENCE).bytes(setAddress(0x40)).u8(1);
    const full = program({ version: 4 }, body).b;
    const cut = new Bytes().bytes(full.slice(0, full.length - 3));
    // The unit length still claims the full program, so the program is read to the section end.
    expect(lines(cut)(0)).toEqual([at('a.c', 1)]);
  });
});
