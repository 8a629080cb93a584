import { describe, expect, it } from 'vitest';
import {
  argToSlots,
  argsToSlots,
  formatExpected,
  formatRaw,
  isArithmeticNaN32,
  isArithmeticNaN64,
  isCanonicalNaN32,
  isCanonicalNaN64,
  mapTrapText,
  matchResult,
  matchResults,
  trapMatches,
  v128FromLanes,
  v128Lane,
} from './values.js';

describe('NaN patterns', () => {
  it('accepts canonical f32 NaN of either sign and rejects other payloads', () => {
    expect(isCanonicalNaN32(0x7fc0_0000n)).toBe(true);
    expect(isCanonicalNaN32(0xffc0_0000n)).toBe(true);
    expect(isCanonicalNaN32(0x7fc0_0001n)).toBe(false);
    expect(isCanonicalNaN32(0x7fa0_0000n)).toBe(false);
    expect(isCanonicalNaN32(0x7f80_0000n)).toBe(false); // +inf
  });

  it('accepts arithmetic f32 NaN only with the quiet bit set', () => {
    expect(isArithmeticNaN32(0x7fc0_0000n)).toBe(true);
    expect(isArithmeticNaN32(0xffc0_1234n)).toBe(true);
    expect(isArithmeticNaN32(0x7fa0_0000n)).toBe(false); // signalling
    expect(isArithmeticNaN32(0x3fc0_0000n)).toBe(false);
  });

  it('applies the same rules to f64', () => {
    expect(isCanonicalNaN64(0x7ff8_0000_0000_0000n)).toBe(true);
    expect(isCanonicalNaN64(0xfff8_0000_0000_0000n)).toBe(true);
    expect(isCanonicalNaN64(0x7ff8_0000_0000_0001n)).toBe(false);
    expect(isArithmeticNaN64(0x7ff8_0000_0000_0001n)).toBe(true);
    expect(isArithmeticNaN64(0x7ff4_0000_0000_0000n)).toBe(false);
    expect(isArithmeticNaN64(0x7ff0_0000_0000_0000n)).toBe(false); // +inf
  });
});

describe('arguments', () => {
  it('passes integers and floats as their raw bits', () => {
    expect(argToSlots({ type: 'i32', value: '4294967295' })).toEqual([0xffff_ffffn]);
    expect(argToSlots({ type: 'i64', value: '18446744073709551615' })).toEqual([0xffff_ffff_ffff_ffffn]);
    expect(argToSlots({ type: 'f32', value: '2143289344' })).toEqual([0x7fc0_0000n]);
    expect(argToSlots({ type: 'f64', value: '9221120237041090560' })).toEqual([0x7ff8_0000_0000_0000n]);
  });

  it('encodes externref n as n+1 and null refs as 0', () => {
    expect(argToSlots({ type: 'externref', value: '0' })).toEqual([1n]);
    expect(argToSlots({ type: 'externref', value: '42' })).toEqual([43n]);
    expect(argToSlots({ type: 'externref', value: 'null' })).toEqual([0n]);
    expect(argToSlots({ type: 'funcref', value: 'null' })).toEqual([0n]);
  });

  it('rejects NaN patterns as arguments', () => {
    expect(() => argToSlots({ type: 'f32', value: 'nan:canonical' })).toThrow(/only valid as an expected/);
  });

  it('packs v128 lanes little-endian into lo and hi words', () => {
    const i8 = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '255'];
    expect(v128FromLanes('i8', i8)).toEqual([0x0706_0504_0302_0100n, 0xff0e_0d0c_0b0a_0908n]);
    expect(v128FromLanes('i32', ['1', '2', '3', '4294967295'])).toEqual([0x0000_0002_0000_0001n, 0xffff_ffff_0000_0003n]);
    expect(v128FromLanes('i64', ['1', '18446744073709551615'])).toEqual([1n, 0xffff_ffff_ffff_ffffn]);
    expect(v128FromLanes('i16', ['1', '0', '0', '0', '0', '0', '0', '65535'])).toEqual([1n, 0xffff_0000_0000_0000n]);
  });

  it('rejects a v128 with the wrong lane count', () => {
    expect(() => v128FromLanes('i32', ['1', '2'])).toThrow(/needs 4 lanes/);
  });

  it('flattens v128 into two call slots among scalars', () => {
    expect(
      argsToSlots([
        { type: 'i32', value: '7' },
        { type: 'v128', lane_type: 'i64', value: ['5', '6'] },
        { type: 'f32', value: '0' },
      ]),
    ).toEqual([7n, 5n, 6n, 0n]);
  });
});

describe('result comparison', () => {
  it('compares i32 on its low 32 bits only', () => {
    expect(matchResult({ type: 'i32', value: '4294967295' }, [0xffff_ffffn])).toBe(true);
    expect(matchResult({ type: 'i32', value: '4294967295' }, [0xffff_ffff_ffff_ffffn])).toBe(true);
    expect(matchResult({ type: 'i32', value: '1' }, [2n])).toBe(false);
  });

  it('compares floats by bits, so -0 is not 0', () => {
    expect(matchResult({ type: 'f32', value: '2147483648' }, [0x8000_0000n])).toBe(true);
    expect(matchResult({ type: 'f32', value: '2147483648' }, [0n])).toBe(false);
    expect(matchResult({ type: 'f64', value: '0' }, [0x8000_0000_0000_0000n])).toBe(false);
  });

  it('matches NaN expectations by pattern', () => {
    expect(matchResult({ type: 'f32', value: 'nan:canonical' }, [0xffc0_0000n])).toBe(true);
    expect(matchResult({ type: 'f32', value: 'nan:canonical' }, [0x7fc0_0001n])).toBe(false);
    expect(matchResult({ type: 'f64', value: 'nan:arithmetic' }, [0x7ff8_0000_0000_0abcn])).toBe(true);
    expect(matchResult({ type: 'f64', value: 'nan:arithmetic' }, [0x7ff0_0000_0000_0001n])).toBe(false);
  });

  it('compares v128 per lane, with NaN patterns per float lane', () => {
    const [lo, hi] = v128FromLanes('f32', ['2143289344', '1065353216', '4290772992', '0']);
    const expected = { type: 'v128', lane_type: 'f32', value: ['nan:canonical', '1065353216', 'nan:arithmetic', '0'] };
    expect(matchResult(expected, [lo, hi])).toBe(true);
    expect(matchResult(expected, [lo, hi | 1n])).toBe(true); // lane 2 gains a payload bit: still arithmetic
    expect(matchResult(expected, [lo ^ (1n << 32n), hi])).toBe(false); // lane 1 is off by one ulp
    expect(matchResult(expected, [lo | 1n, hi])).toBe(false); // lane 0 is no longer canonical
    const [lo2, hi2] = v128FromLanes('f64', ['9221120237041090561', '0']);
    expect(matchResult({ type: 'v128', lane_type: 'f64', value: ['nan:canonical', '0'] }, [lo2, hi2])).toBe(false);
    expect(matchResult({ type: 'v128', lane_type: 'f64', value: ['nan:arithmetic', '0'] }, [lo2, hi2])).toBe(true);
  });

  it('reads lanes back out of lo and hi words', () => {
    const [lo, hi] = v128FromLanes('i16', ['1', '2', '3', '4', '5', '6', '7', '65535']);
    expect(v128Lane(lo, hi, 'i16', 0)).toBe(1n);
    expect(v128Lane(lo, hi, 'i16', 4)).toBe(5n);
    expect(v128Lane(lo, hi, 'i16', 7)).toBe(65535n);
    expect(v128Lane(lo, hi, 'i8', 15)).toBe(255n);
  });

  it('expects externref n as n+1, null refs as 0 and any non-zero non-null funcref', () => {
    expect(matchResult({ type: 'externref', value: '1' }, [2n])).toBe(true);
    expect(matchResult({ type: 'externref', value: '1' }, [1n])).toBe(false);
    expect(matchResult({ type: 'externref', value: 'null' }, [0n])).toBe(true);
    expect(matchResult({ type: 'funcref', value: 'null' }, [5n])).toBe(false);
    expect(matchResult({ type: 'funcref', value: '0' }, [5n])).toBe(true);
    expect(matchResult({ type: 'funcref', value: '0' }, [0n])).toBe(false);
  });

  it('reports count mismatches and the first differing result', () => {
    expect(matchResults([{ type: 'i32', value: '1' }], [])).toMatch(/expected 1 result slot\(s\), got 0/);
    expect(matchResults([{ type: 'v128', lane_type: 'i64', value: ['0', '0'] }], [0n])).toMatch(/expected 2/);
    expect(
      matchResults(
        [
          { type: 'i32', value: '1' },
          { type: 'i64', value: '2' },
        ],
        [1n, 3n],
      ),
    ).toMatch(/result 1: expected i64:2 \(0x0000000000000002\), got i64:3/);
    expect(
      matchResults(
        [
          { type: 'i32', value: '1' },
          { type: 'v128', lane_type: 'i32', value: ['1', '2', '3', '4'] },
        ],
        [1n, ...v128FromLanes('i32', ['1', '2', '3', '4'])],
      ),
    ).toBeUndefined();
  });

  it('formats values readably for failure reports', () => {
    expect(formatExpected({ type: 'f32', value: '2147483648' })).toBe('f32:-0 (0x80000000)');
    expect(formatRaw({ type: 'v128', lane_type: 'i32', value: [] }, v128FromLanes('i32', ['1', '2', '3', '4']))).toBe(
      'v128 i32x4 [1 (0x00000001), 2 (0x00000002), 3 (0x00000003), 4 (0x00000004)]',
    );
  });
});

describe('trap texts', () => {
  it('maps table-related spec texts to invalid table access as wazero does', () => {
    for (const t of ['undefined element', 'undefined', 'out of bounds table access', 'uninitialized', 'uninitialized element 7']) {
      expect(mapTrapText(t)).toBe('invalid table access');
    }
    expect(mapTrapText('indirect call')).toBe('indirect call type mismatch');
    expect(mapTrapText('call stack exhausted')).toBe('stack overflow');
  });

  it('matches other texts by prefix of the engine trap', () => {
    expect(trapMatches('integer divide by zero', 'integer divide by zero')).toBe(true);
    expect(trapMatches('unreachable', 'out of bounds memory access')).toBe(false);
    expect(trapMatches('uninitialized element', 'invalid table access')).toBe(true);
    expect(trapMatches('out of bounds memory access', 'invalid table access')).toBe(false);
  });
});
