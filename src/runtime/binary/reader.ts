/**
 * A bounds-checked cursor over a `Uint8Array` for the WebAssembly binary format. Every read checks
 * the end of the current region and throws a `CompileError` naming the section, function index and
 * byte offset, so hostile input gets a clear error instead of a crash, a hang or a huge allocation.
 */
import { CompileError } from '../api/errors.js';

// ignoreBOM: a leading U+FEFF is part of a name (spec names.wast exports one), not a byte-order mark.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Reader {
  readonly bytes: Uint8Array;
  pos: number;
  /** One past the last readable byte (the end of the current section or body). */
  end: number;
  /** Section name for error messages. */
  section: string | undefined;
  /** Function index for error messages inside a body. */
  funcIndex: number | undefined;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
    this.section = undefined;
    this.funcIndex = undefined;
  }

  /** Throws a malformed-module `CompileError` at `offset` (default: the current position). */
  fail(reason: string, offset: number = this.pos): never {
    throw new CompileError(reason, { section: this.section, functionIndex: this.funcIndex, offset }, 'malformed');
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail(this.endReason());
    return this.bytes[this.pos++]!;
  }

  peekU8(): number {
    if (this.pos >= this.end) this.fail(this.endReason());
    return this.bytes[this.pos]!;
  }

  private endReason(): string {
    return this.end < this.bytes.length ? 'unexpected end of section or function' : 'unexpected end';
  }

  /** Unsigned LEB128, at most 32 bits (5 bytes, unused bits zero). */
  u32(): number {
    const start = this.pos;
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      if (shift === 28) {
        if ((b & 0x80) !== 0) this.fail('integer representation too long', start);
        if ((b & 0x70) !== 0) this.fail('integer too large', start);
        return (result | (b << 28)) >>> 0;
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  /** Signed LEB128, at most 32 bits. */
  s32(): number {
    const start = this.pos;
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      if (shift === 28) {
        if ((b & 0x80) !== 0) this.fail('integer representation too long', start);
        // The unused bits (4..6) must be a sign extension of bit 3.
        const high = b & 0x78;
        if (high !== 0 && high !== 0x78) this.fail('integer too large', start);
        return result | (b << 28);
      }
      result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0 && shift < 32) result |= -1 << shift;
        return result;
      }
    }
  }

  /** Signed LEB128 of at most 33 bits (block types); returns a JS number. */
  s33(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      const b = this.u8();
      if (i === 4) {
        if ((b & 0x80) !== 0) this.fail('integer representation too long', start);
        // Bits 33.. are bits 5..6 of this byte: sign-extension of bit 4 (bit 32 of the value).
        const high = b & 0x70;
        if (high !== 0 && high !== 0x70) this.fail('integer too large', start);
        result += (b & 0x7f) * mul;
        if ((b & 0x40) !== 0) result -= mul * 128;
        return result;
      }
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) result -= mul;
        return result;
      }
    }
  }

  /**
   * Signed LEB128 of at most 64 bits, returned as two 32-bit halves in `this.lo` / `this.hi`
   * (no BigInt allocation on the interpreter's lowering path).
   */
  s64Halves(): void {
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; ; i++) {
      const b = this.u8();
      const payload = b & 0x7f;
      if (i === 9) {
        if ((b & 0x80) !== 0) this.fail('integer representation too long', start);
        // Only bit 0 is significant (bit 63); bits 1..6 must equal it.
        if (payload !== 0 && payload !== 0x7f) this.fail('integer too large', start);
        hi |= payload << 31;
        this.lo = lo | 0;
        this.hi = hi | 0;
        return;
      }
      if (shift < 32) {
        lo |= payload << shift;
        if (shift > 25) hi |= payload >>> (32 - shift);
      } else {
        hi |= payload << (shift - 32);
      }
      shift += 7;
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) {
          if (shift < 32) {
            lo |= -1 << shift;
            hi = -1;
          } else if (shift < 64) {
            hi |= -1 << (shift - 32);
          }
        }
        this.lo = lo | 0;
        this.hi = hi | 0;
        return;
      }
    }
  }

  /** Low half from the last {@link s64Halves}. */
  lo = 0;
  /** High half from the last {@link s64Halves}. */
  hi = 0;

  /**
   * An opcode as a table code (see opcodes.ts): one byte, or a 0xFC/0xFD/0xFE prefix followed by a
   * u32 sub-opcode, giving `0x100`/`0x200`/`0x300` + sub (`0x400 + sub - 0x100` for the 0xFD
   * sub-opcodes from 0x100). Sub-opcodes too large for the table give `-1` (an illegal opcode); the
   * caller reports it.
   */
  opcode(): number {
    const b = this.u8();
    if (b < 0xfc || b === 0xff) return b;
    const sub = this.u32();
    if (b === 0xfd) return sub < 0x100 ? 0x200 + sub : sub < 0x200 ? 0x300 + sub : -1;
    return sub < 0x100 ? (b === 0xfc ? 0x100 : 0x300) + sub : -1;
  }

  /**
   * Unsigned LEB128 of at most 64 bits (64-bit limits and memarg offsets), as a number: exact up to
   * 2^53, rounded above (every such value is out of any bounds that matter).
   */
  u64(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      const b = this.u8();
      if (i === 9) {
        if ((b & 0x80) !== 0) this.fail('integer representation too long', start);
        if ((b & 0x7e) !== 0) this.fail('integer too large', start);
        return result + (b & 0x7f) * mul;
      }
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
  }

  /** Signed LEB128 of at most 64 bits as a bigint. */
  s64(): bigint {
    this.s64Halves();
    return (BigInt(this.hi) << 32n) | BigInt(this.lo >>> 0);
  }

  /** Four raw bytes, little-endian, as an unsigned 32-bit number (f32 bits). */
  u32Fixed(): number {
    if (this.end - this.pos < 4) this.fail(this.endReason());
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** `n` raw bytes as a view. */
  view(n: number): Uint8Array {
    if (n > this.end - this.pos) this.fail(this.endReason());
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number): void {
    if (n > this.end - this.pos) this.fail(this.endReason());
    this.pos += n;
  }

  /** A UTF-8 name (length-prefixed); malformed UTF-8 is an error. */
  name(): string {
    const len = this.u32();
    if (len > this.end - this.pos) this.fail('length out of bounds');
    const start = this.pos;
    const v = this.view(len);
    try {
      return utf8.decode(v);
    } catch {
      this.fail('malformed UTF-8 encoding', start);
    }
  }

  /**
   * A vector count, checked against the bytes left: each element takes at least `minElemBytes`, so a
   * count claiming 2^32 entries fails at once instead of allocating.
   */
  count(minElemBytes = 1): number {
    const start = this.pos;
    const n = this.u32();
    if (minElemBytes > 0 && n > (this.end - this.pos) / minElemBytes) {
      this.fail(this.end < this.bytes.length ? 'unexpected end of section or function' : 'unexpected end', start);
    }
    return n;
  }
}
