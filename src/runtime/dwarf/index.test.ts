import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatTrapMessage } from '../api/errors.js';
import { decodeModule } from '../binary/decoder.js';
import type { Module } from '../binary/module.js';
import { formatSourceLines, frameSourceLines, parseDwarf, type DwarfLines, type SourceLine } from './index.js';

// Fixtures from test/fixtures/dwarf/build.sh (Debian clang 14, wasm32-wasi). Expected positions
// were read from `llvm-dwarfdump --debug-line` and `--debug-info` of each file, and agree with
// `llvm-symbolizer --obj=<file> <offset>` at every offset of the code sections.
const FIXTURES = new URL('../../../test/fixtures/dwarf/', import.meta.url);

function load(name: string): { m: Module; d: DwarfLines } {
  const m = decodeModule(new Uint8Array(readFileSync(new URL(name, FIXTURES))), 0);
  const d = parseDwarf(m.customSections);
  if (d === undefined) throw new Error(`${name}: no DWARF`);
  return { m, d };
}

/** The opcode byte at a code-section-relative offset, to pin expectations to real instructions. */
function opcodeAt(m: Module, off: number): number {
  return m.bytes[m.codeSectionStart + off]!;
}

const line = (file: string, ln: number, column: number, inlined = false): SourceLine => ({
  file,
  line: ln,
  column,
  inlined,
});

const OP_UNREACHABLE = 0x00;
const OP_CALL = 0x10;
const OP_I32_DIV_S = 0x6d;

describe.each(['dwarf4', 'dwarf5'])('trap.c at -O0 (%s)', (v) => {
  const { m, d } = load(`trap.${v}.wasm`);

  it('maps the trapping i32.div_s in divide() to its column', () => {
    expect(opcodeAt(m, 0x54)).toBe(OP_I32_DIV_S);
    expect(d.linesFor(0x54)).toEqual([line('/fixtures/trap.c', 4, 13)]);
  });

  it('maps the call sites of the callers', () => {
    expect(opcodeAt(m, 0xc5)).toBe(OP_CALL); // compute: divide(y, x - 3)
    expect(d.linesFor(0xc5)).toEqual([line('/fixtures/trap.c', 10, 10)]);
    expect(opcodeAt(m, 0x11f)).toBe(OP_CALL); // main: compute(input)
    expect(d.linesFor(0x11f)).toEqual([line('/fixtures/trap.c', 16, 10)]);
  });

  it('uses the previous row for an offset between rows', () => {
    // Rows at 0x50 (4:13) and 0x57 (4:7).
    expect(d.linesFor(0x50)).toEqual([line('/fixtures/trap.c', 4, 13)]);
    expect(d.linesFor(0x56)).toEqual([line('/fixtures/trap.c', 4, 13)]);
    expect(d.linesFor(0x57)).toEqual([line('/fixtures/trap.c', 4, 7)]);
  });

  it('maps code of other compilation units, joining relative compilation directories', () => {
    // _start from wasi-libc's crt1-command.c, compiled with DW_AT_comp_dir "./build".
    expect(d.linesFor(0x5)).toEqual([line('build/libc-bottom-half/crt/crt1-command.c', 12, 13)]);
  });

  it('has no lines outside any sequence', () => {
    expect(d.linesFor(0)).toEqual([]); // the function count
    expect(d.linesFor(0x1d)).toEqual([]); // divide's locals, before its first row at 0x1e
    expect(d.linesFor(0x100000)).toEqual([]);
    expect(d.linesFor(-1)).toEqual([]);
  });
});

describe.each(['dwarf4', 'dwarf5'])('inline.c at -O2 (%s)', (v) => {
  const { m, d } = load(`inline.${v}.wasm`);
  const helper = '/fixtures/helper.h';
  const main = '/fixtures/inline.c';

  it('gives the inlined chain of the trap in checked(), innermost first', () => {
    expect(opcodeAt(m, 0xc)).toBe(OP_UNREACHABLE);
    expect(d.linesFor(0xc)).toEqual([
      line(helper, 4, 5, true), // __builtin_trap() in checked()
      line(helper, 9, 10, true), // checked(p, i) in middle()
      line(main, 8, 10), // middle(data, i + 1) in outer()
    ]);
  });

  it('stops the chain where the inlined ranges stop', () => {
    // 0x1a: the load in checked(); 0x20: the multiply in middle(), outside checked()'s ranges.
    expect(d.linesFor(0x1a)).toEqual([line(helper, 5, 10, true), line(helper, 9, 10, true), line(main, 8, 10)]);
    expect(d.linesFor(0x20)).toEqual([line(helper, 9, 24, true), line(main, 8, 10)]);
    expect(d.linesFor(0x23)).toEqual([line(main, 8, 30)]);
  });

  it('reads a single inlined range from DW_AT_low_pc/DW_AT_high_pc', () => {
    expect(opcodeAt(m, 0x52)).toBe(OP_UNREACHABLE); // checked() inlined into single()
    expect(d.linesFor(0x52)).toEqual([line(helper, 4, 5, true), line(main, 18, 10)]);
    expect(d.linesFor(0x64)).toEqual([line(main, 18, 3)]); // high_pc is exclusive
  });

  it('keeps a zero line from the line table (code attributed to no line)', () => {
    expect(d.linesFor(0xe)).toEqual([line(helper, 0, 5)]);
  });

  it('maps the call of outer() in run()', () => {
    expect(opcodeAt(m, 0x3d)).toBe(OP_CALL);
    expect(d.linesFor(0x3d)).toEqual([line(main, 13, 10)]);
  });

  it('prints the frame lines as wazero does', () => {
    const frames = [
      'outer(i32) i32',
      ...formatSourceLines(0xc, d.linesFor(0xc)),
      'run(i32) i32',
      ...formatSourceLines(0x3d, d.linesFor(0x3d)),
    ];
    expect(formatTrapMessage('wasm error: unreachable', frames)).toBe(
      'wasm error: unreachable\n' +
        'wasm stack trace:\n' +
        '\touter(i32) i32\n' +
        '\t\t0xc: /fixtures/helper.h:4:5 (inlined)\n' +
        '\t\t     /fixtures/helper.h:9:10 (inlined)\n' +
        '\t\t     /fixtures/inline.c:8:10\n' +
        '\trun(i32) i32\n' +
        '\t\t0x3d: /fixtures/inline.c:13:10',
    );
  });
});

describe('formatSourceLines', () => {
  it('omits a zero line together with its column, and a zero column alone', () => {
    expect(formatSourceLines(0x2a, [line('a.c', 0, 7)])).toEqual(['\t0x2a: a.c']);
    expect(formatSourceLines(0x2a, [line('a.c', 3, 0)])).toEqual(['\t0x2a: a.c:3']);
    expect(formatSourceLines(0, [line('a.c', 3, 1)])).toEqual(['\t0x0: a.c:3:1']);
  });

  it('indents continuation lines by the width of the offset prefix', () => {
    expect(formatSourceLines(0x1234, [line('x.h', 1, 2, true), line('y.c', 3, 4)])).toEqual([
      '\t0x1234: x.h:1:2 (inlined)',
      '\t        y.c:3:4',
    ]);
  });

  it('prints nothing for no lines', () => {
    expect(formatSourceLines(5, [])).toEqual([]);
  });
});

describe('frameSourceLines', () => {
  it('formats the lookup, and gives nothing without DWARF', () => {
    const { d } = load('trap.dwarf5.wasm');
    expect(frameSourceLines(d, 0x54)).toEqual(['\t0x54: /fixtures/trap.c:4:13']);
    expect(frameSourceLines(undefined, 0x54)).toEqual([]);
  });
});

describe('parseDwarf', () => {
  it('returns undefined without .debug_line', () => {
    expect(parseDwarf([])).toBeUndefined();
    expect(parseDwarf([{ name: '.debug_info', data: new Uint8Array(4), offset: 0 }])).toBeUndefined();
  });

  it('answers repeated lookups from the same tables', () => {
    const { d } = load('inline.dwarf5.wasm');
    const first = d.linesFor(0xc);
    for (let i = 0; i < 1000; i++) expect(d.linesFor(0xc)).toEqual(first);
  });
});
