import { describe, expect, it } from 'vitest';
import { formatF32, formatF64, formatI32, formatI64, hex16 } from './logging-format.js';

describe("Go's strconv.FormatFloat(v, 'g', -1, bits)", () => {
  it('formats float64 like Go', () => {
    const cases: Array<[number, string]> = [
      [Number.MAX_VALUE, '1.7976931348623157e+308'],
      [5e-324, '5e-324'],
      [0.1, '0.1'],
      [1e21, '1e+21'],
      [1e20, '1e+20'],
      [1e-7, '1e-07'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [123456, '123456'],
      [1e6, '1e+06'],
      [999999, '999999'],
      [1 / 3, '0.3333333333333333'],
      [-2.5, '-2.5'],
      [100, '100'],
      [123456789012, '1.23456789012e+11'],
      [1.5e300, '1.5e+300'],
      [0, '0'],
      [-0, '-0'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
      [NaN, 'NaN'],
    ];
    for (const [v, s] of cases) expect(formatF64(v)).toBe(s);
  });

  it('formats float32 with the shortest digits that round-trip as float32', () => {
    const cases: Array<[number, string]> = [
      [3.4028234663852886e38, '3.4028235e+38'],
      [1.401298464324817e-45, '1e-45'],
      [1.1754943508222875e-38, '1.1754944e-38'],
      [0.1, '0.1'],
      [1 / 3, '0.33333334'],
      [16777216, '1.6777216e+07'],
      [3.14159, '3.14159'],
      [1e-7, '1e-07'],
      [-1.5, '-1.5'],
      [Infinity, '+Inf'],
    ];
    for (const [v, s] of cases) expect(formatF32(v)).toBe(s);
  });

  it('breaks float32 ties toward an even last digit, as Go does (toPrecision rounds half up)', () => {
    expect(formatF32(1778116.25)).toBe('1.7781162e+06');
    expect((1778116.25).toPrecision(8)).toBe('1778116.3');
  });

  it('round-trips random float32 values with no shorter candidate', () => {
    const dv = new DataView(new ArrayBuffer(4));
    let seed = 12345;
    for (let i = 0; i < 3000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      dv.setUint32(0, seed);
      const f = dv.getFloat32(0);
      if (!Number.isFinite(f) || f === 0) continue;
      const s = formatF32(f);
      expect(Math.fround(Number(s))).toBe(f);
      const digits = s.replace(/^-/, '').split('e')[0]!.replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
      // No candidate with fewer digits reads back as the same float32.
      if (digits > 1) expect(Math.fround(Number(f.toPrecision(digits - 1)))).not.toBe(f);
    }
  });
});

describe('integer and hex formatting', () => {
  it('prints i32/i64 signed and refs as %016x', () => {
    expect(formatI32(0xffffffffn)).toBe('-1');
    expect(formatI32(0x1_0000_0005n)).toBe('5');
    expect(formatI64(0xffffffffffffffffn)).toBe('-1');
    expect(formatI64(0x7fffffffffffffffn)).toBe('9223372036854775807');
    expect(hex16(0xabcn)).toBe('0000000000000abc');
  });
});
