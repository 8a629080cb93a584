import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeModule } from '../binary/decoder.js';
import type { CustomSection } from '../binary/module.js';
import { parseDwarf } from './index.js';

// Guest binaries are untrusted: damaged DWARF must give fewer lines, never an exception or a hang.
const FIXTURES = new URL('../../../test/fixtures/dwarf/', import.meta.url);

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(sections: readonly CustomSection[], rand: () => number): CustomSection[] {
  const debug = sections.filter((s) => s.name.startsWith('.debug_'));
  const victim = debug[Math.floor(rand() * debug.length)]!;
  return sections.map((s) => {
    if (s !== victim) return s;
    let data = s.data.slice();
    const mode = rand();
    if (mode < 0.3) {
      data = data.subarray(0, Math.floor(rand() * data.length));
    } else {
      const flips = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < flips && data.length > 0; i++) {
        const at = Math.floor(rand() * data.length);
        data[at] = mode < 0.6 ? Math.floor(rand() * 256) : rand() < 0.5 ? 0xff : 0x00;
      }
    }
    return { ...s, data };
  });
}

describe.each(['inline.dwarf4', 'inline.dwarf5', 'trap.dwarf4', 'trap.dwarf5'])('damaged %s', (name) => {
  const m = decodeModule(new Uint8Array(readFileSync(new URL(`${name}.wasm`, FIXTURES))), 0);
  const codeSize = m.codes[m.codes.length - 1]!.codeEnd - m.codeSectionStart;

  it('never throws and returns well-formed lines', () => {
    const rand = rng(name.length * 7919);
    const step = codeSize > 200 ? 7 : 1;
    for (let iter = 0; iter < 150; iter++) {
      const d = parseDwarf(mutate(m.customSections, rand));
      if (d === undefined) continue;
      for (let off = 0; off < codeSize + 4; off += step) {
        const lines = d.linesFor(off);
        for (const l of lines) {
          expect(typeof l.file).toBe('string');
          expect(Number.isFinite(l.line)).toBe(true);
          expect(Number.isFinite(l.column)).toBe(true);
        }
      }
    }
  });

  it('still finds lines with .debug_info missing, from the line programs alone', () => {
    const d = parseDwarf(m.customSections.filter((s) => s.name !== '.debug_info'))!;
    const rows = Array.from({ length: codeSize }, (_, off) => d.linesFor(off)).filter((l) => l.length > 0);
    expect(rows.length).toBeGreaterThan(codeSize / 2);
    // Without units there are neither compilation directories nor inlined frames.
    for (const l of rows) expect(l).toHaveLength(1);
  });
});

describe('hostile inputs', () => {
  it('ignores empty and garbage sections', () => {
    const garbage = (name: string, bytes: number[]): CustomSection => ({ name, data: new Uint8Array(bytes), offset: 0 });
    for (const data of [
      [],
      [0xff, 0xff, 0xff, 0xff],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      [4, 0, 0, 0, 5, 0],
    ]) {
      const d = parseDwarf([garbage('.debug_line', data), garbage('.debug_info', data), garbage('.debug_abbrev', data)]);
      expect(d?.linesFor(0)).toEqual([]);
    }
  });
});
