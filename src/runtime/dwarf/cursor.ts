/**
 * A bounds-checked little-endian reader over one DWARF section. Guest binaries are untrusted, so
 * every read past the end throws {@link DwarfFormatError}; the parsers catch it at unit boundaries
 * and keep what they already understood.
 */

/** Malformed or unsupported DWARF. Never escapes the dwarf package. */
export class DwarfFormatError extends Error {
  override readonly name = 'DwarfFormatError';
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A read position in one section, with an end that reads may not cross. */
export class Cursor {
  readonly data: Uint8Array;
  pos: number;
  /** Reads never go at or beyond this offset. */
  end: number;

  constructor(data: Uint8Array, pos = 0, end = data.length) {
    this.data = data;
    this.pos = pos;
    this.end = Math.min(end, data.length);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end || this.pos < 0) {
      throw new DwarfFormatError(`read of ${n} bytes at ${this.pos} past ${this.end}`);
    }
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    this.need(1);
    return this.data[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const d = this.data;
    const p = this.pos;
    this.pos += 2;
    return d[p]! | (d[p + 1]! << 8);
  }

  u24(): number {
    this.need(3);
    const d = this.data;
    const p = this.pos;
    this.pos += 3;
    return d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16);
  }

  u32(): number {
    this.need(4);
    const d = this.data;
    const p = this.pos;
    this.pos += 4;
    return (d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16) | (d[p + 3]! << 24)) >>> 0;
  }

  /** 64-bit value as a number: exact below 2^53, which covers every wasm32/wasm64 offset we use. */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * 0x1_0000_0000 + lo;
  }

  /** An unsigned value of `size` bytes (1, 2, 4 or 8). */
  uN(size: number): number {
    switch (size) {
      case 1:
        return this.u8();
      case 2:
        return this.u16();
      case 4:
        return this.u32();
      case 8:
        return this.u64();
      default:
        throw new DwarfFormatError(`unsupported size ${size}`);
    }
  }

  /** ULEB128. Values above 2^53 lose precision rather than wrap: no wasm offset gets that large. */
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
  }

  /** SLEB128, with the same precision caveat as {@link uleb}. */
  sleb(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= mul;
        return result;
      }
    }
  }

  /** A NUL-terminated UTF-8 string. */
  cstr(): string {
    const d = this.data;
    let i = this.pos;
    while (i < this.end && d[i] !== 0) i++;
    if (i >= this.end) throw new DwarfFormatError(`unterminated string at ${this.pos}`);
    const s = utf8.decode(d.subarray(this.pos, i));
    this.pos = i + 1;
    return s;
  }
}

/** The NUL-terminated string at `offset` of a string section (.debug_str, .debug_line_str). */
export function stringAt(section: Uint8Array | undefined, offset: number): string {
  if (section === undefined) throw new DwarfFormatError('missing string section');
  const c = new Cursor(section, offset);
  if (offset < 0 || offset >= section.length) throw new DwarfFormatError(`string offset ${offset}`);
  return c.cstr();
}

/**
 * Reads a unit's initial length. Returns the offset size (4 or 8) and the offset one past the unit.
 */
export function unitLength(c: Cursor): { offsetSize: 4 | 8; end: number } {
  const len = c.u32();
  if (len === 0xffffffff) {
    const len64 = c.u64();
    return { offsetSize: 8, end: c.pos + len64 };
  }
  if (len >= 0xfffffff0) throw new DwarfFormatError(`reserved unit length ${len}`);
  return { offsetSize: 4, end: c.pos + len };
}
