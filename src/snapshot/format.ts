/**
 * The checkpoint format (version 1): engine-neutral, little-endian, integers in unsigned LEB128 unless
 * said otherwise.
 *
 * ```
 * header, 88 bytes:
 *   0  magic "WSCP" (57 53 43 50)
 *   4  u32 version (1)
 *   8  u32 flags (bit 0: delta)
 *  12  u32 reserved (0)
 *  16  32 bytes  sha256 of the module binary
 *  48  16 bytes  checkpoint id
 *  64  16 bytes  base id (a delta's base; zero for a full checkpoint)
 *  80  u64 payload length
 * payload:
 *   imports:  count, then each `module.name` included (length, UTF-8)
 *   memories: count, then each: index, pages, stored page count n, n × (page index ascending, kind
 *             byte: 0 zero page, 1 bytes follow), then the 64 KiB of every kind-1 page in order.
 *             Pages not listed are zero (full) or unchanged since the base (delta).
 *   globals:  count, then each: index, value type byte, mutable byte, value
 *   tables:   count, then each: index, element type byte, size, then runs until size elements:
 *             0 count (nulls) | 1 count, count × function index | 2 value (one host reference)
 *   dropped:  data segment count, one byte each (1 dropped), element segment count, one byte each
 *   call:     only with flag bit 1 (a mid-call checkpoint: a suspended async call of the module):
 *             module name, host import `module.name`, host signature (`i32,i64->f32`), meta (each
 *             length, UTF-8/bytes), then u32s: entry function, calling function, its pc, its frame
 *             pointer, host function, host frame pointer, pc after the call + 1 (0: a tail call),
 *             lowering bits; frames: count, each function, return pc, frame pointer; value stack:
 *             word count, then the int32 words (4 bytes each, little-endian); references: count,
 *             each slot, function index; layout: count, each function, lowered length, hash.
 *             Functions are indices of the module's function index space; frame pointers are
 *             words relative to the call's first frame.
 *   value:    0 u64 lo, u64 hi (raw bits; hi: a v128's high half) | 1 (null) | 2 function index |
 *             3 length, bytes (a host reference, as the caller's codec encoded it)
 * trailer: 32 bytes  sha256 of the header and the payload
 * ```
 * `decodeCheckpoint` checks the magic, the version, the lengths and the checksum before it reads
 * anything, then bounds-checks every read.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { CheckpointError } from './errors.js';
import {
  PAGE,
  SAVED_HOST,
  SAVED_NULL,
  type CheckpointData,
  type SavedCall,
  type SavedGlobal,
  type SavedMemory,
  type SavedTable,
  type SavedValue,
} from './model.js';

/** The format version this code writes and reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;
const MAGIC = [0x57, 0x53, 0x43, 0x50];
const HEADER = 88;
const TRAILER = 32;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

/** Small parts written with LEB128 integers; big page data is kept as views and joined once. */
class Chunks {
  readonly parts: Uint8Array[] = [];
  #buf = new Uint8Array(4096);
  #len = 0;

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    this.#flush();
    if (n > this.#buf.length) this.#buf = new Uint8Array(n);
  }

  #flush(): void {
    if (this.#len > 0) this.parts.push(this.#buf.slice(0, this.#len));
    this.#len = 0;
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buf[this.#len++] = v;
    return this;
  }

  u32(v: number): this {
    this.#ensure(5);
    let x = v >>> 0;
    do {
      let b = x & 0x7f;
      x >>>= 7;
      if (x !== 0) b |= 0x80;
      this.#buf[this.#len++] = b;
    } while (x !== 0);
    return this;
  }

  u64(v: bigint): this {
    this.#ensure(8);
    new DataView(this.#buf.buffer).setBigUint64(this.#len, BigInt.asUintN(64, v), true);
    this.#len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.u32(b.length);
    return this.raw(b);
  }

  /** Bytes without a length; big ones are kept as views. */
  raw(b: Uint8Array): this {
    if (b.length > 1024) {
      this.#flush();
      this.parts.push(b);
    } else {
      this.#ensure(b.length);
      this.#buf.set(b, this.#len);
      this.#len += b.length;
    }
    return this;
  }

  finish(): Uint8Array[] {
    this.#flush();
    return this.parts;
  }
}

function hexBytes(hex: string | undefined, n: number): Uint8Array {
  const out = new Uint8Array(n);
  if (hex !== undefined) for (let i = 0; i < n; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function writeValue(w: Chunks, v: SavedValue): void {
  switch (v.kind) {
    case 'bits':
      w.u8(0).u64(v.lo).u64(v.hi);
      return;
    case 'null':
      w.u8(1);
      return;
    case 'func':
      w.u8(2).u32(v.index);
      return;
    case 'host':
      w.u8(3).bytes(v.bytes);
  }
}

function writeMemory(w: Chunks, m: SavedMemory): void {
  w.u32(m.index).u32(m.pages);
  // Stored pages: a full checkpoint lists its non-zero pages; a delta every changed page.
  const n = m.pageList === undefined ? m.pages : m.pageList.length;
  const kinds = new Uint8Array(n);
  let listed = 0;
  for (let k = 0; k < n; k++) {
    const page = m.data.subarray(k * PAGE, (k + 1) * PAGE);
    const zero = isZeroPage(page);
    if (m.pageList === undefined && zero) continue;
    kinds[k] = zero ? 1 : 2;
    listed++;
  }
  w.u32(listed);
  for (let k = 0; k < n; k++) {
    if (kinds[k] === 0) continue;
    w.u32(m.pageList === undefined ? k : m.pageList[k]!).u8(kinds[k]! - 1);
  }
  // Runs of consecutive stored pages are written as one view.
  let runStart = -1;
  for (let k = 0; k <= n; k++) {
    const stored = k < n && kinds[k] === 2;
    if (stored && runStart < 0) runStart = k;
    if (!stored && runStart >= 0) {
      w.raw(m.data.subarray(runStart * PAGE, k * PAGE));
      runStart = -1;
    }
  }
}

function writeTable(w: Chunks, t: SavedTable): void {
  w.u32(t.index).u8(t.elemType).u32(t.funcs.length);
  const f = t.funcs;
  let i = 0;
  while (i < f.length) {
    const k = f[i]!;
    if (k === SAVED_HOST) {
      w.u8(2);
      writeValue(w, { kind: 'host', bytes: t.host.get(i)! });
      i++;
      continue;
    }
    let j = i + 1;
    if (k === SAVED_NULL) {
      while (j < f.length && f[j] === SAVED_NULL) j++;
      w.u8(0).u32(j - i);
    } else {
      while (j < f.length && f[j]! >= 0) j++;
      w.u8(1).u32(j - i);
      for (let x = i; x < j; x++) w.u32(f[x]!);
    }
    i = j;
  }
}

/** The bytes of checkpoint `d` in the format above. */
export function encodeCheckpoint(d: CheckpointData): Uint8Array {
  const w = new Chunks();
  w.u32(d.imports.length);
  for (const name of d.imports) w.bytes(utf8.encode(name));
  w.u32(d.memories.length);
  for (const m of d.memories) writeMemory(w, m);
  w.u32(d.globals.length);
  for (const g of d.globals) {
    w.u32(g.index)
      .u8(g.type)
      .u8(g.mutable ? 1 : 0);
    writeValue(w, g.value);
  }
  w.u32(d.tables.length);
  for (const t of d.tables) writeTable(w, t);
  w.bytes(d.droppedData).bytes(d.droppedElems);
  if (d.call !== undefined) writeCall(w, d.call);
  const parts = w.finish();
  let payload = 0;
  for (const p of parts) payload += p.length;

  const out = new Uint8Array(HEADER + payload + TRAILER);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint32(4, CHECKPOINT_FORMAT_VERSION, true);
  dv.setUint32(8, (d.baseId === undefined ? 0 : 1) | (d.call === undefined ? 0 : 2), true);
  out.set(hexBytes(d.moduleSha256, 32), 16);
  out.set(hexBytes(d.id, 16), 48);
  out.set(hexBytes(d.baseId, 16), 64);
  dv.setBigUint64(80, BigInt(payload), true);
  let at = HEADER;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  out.set(createHash('sha256').update(out.subarray(0, at)).digest(), at);
  return out;
}

/** Reads the payload, every read bounds-checked. */
class Reader {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new CheckpointError('corrupt', `corrupted checkpoint: ${what} at byte ${this.pos}`);
  }

  u8(what: string): number {
    if (this.pos >= this.end) this.fail(`${what} past the end`);
    return this.b[this.pos++]!;
  }

  u32(what: string): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.u8(what);
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (v > 0xffffffff) this.fail(`${what} over 32 bits`);
        return v;
      }
    }
    return this.fail(`${what} too long`);
  }

  /** A count of items of at least `size` bytes each, checked against the bytes left. */
  count(what: string, size: number): number {
    const n = this.u32(what);
    if (n * size > this.end - this.pos) this.fail(`${what} ${n} exceeds the bytes left`);
    return n;
  }

  u64(what: string): bigint {
    if (this.end - this.pos < 8) this.fail(`${what} past the end`);
    const v = new DataView(this.b.buffer, this.b.byteOffset).getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  take(n: number, what: string): Uint8Array {
    if (n > this.end - this.pos) this.fail(`${what} past the end`);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  bytes(what: string): Uint8Array {
    return this.take(this.count(what, 1), what);
  }
}

function readValue(r: Reader, what: string): SavedValue {
  const tag = r.u8(what);
  switch (tag) {
    case 0:
      return { kind: 'bits', lo: r.u64(what), hi: r.u64(what) };
    case 1:
      return { kind: 'null' };
    case 2:
      return { kind: 'func', index: r.u32(what) };
    case 3:
      return { kind: 'host', bytes: r.bytes(what).slice() };
    default:
      return r.fail(`${what}: unknown value tag ${tag}`);
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** The 64 KiB pages a memory may have. */
const MAX_PAGES = 65536;

function readMemory(r: Reader, delta: boolean): SavedMemory {
  const index = r.u32('memory index');
  const pages = r.u32('memory pages');
  if (pages > MAX_PAGES) r.fail(`memory ${index}: ${pages} pages`);
  const n = r.count(`memory ${index} stored pages`, 2);
  const list = new Uint32Array(n);
  const kinds = new Uint8Array(n);
  let withBytes = 0;
  for (let k = 0; k < n; k++) {
    const p = r.u32('page index');
    if (p >= pages || (k > 0 && p <= list[k - 1]!)) r.fail(`memory ${index}: page ${p} out of order or range`);
    list[k] = p;
    const kind = r.u8('page kind');
    if (kind > 1) r.fail(`memory ${index}: page kind ${kind}`);
    kinds[k] = kind;
    withBytes += kind;
  }
  const bytes = r.take(withBytes * PAGE, `memory ${index} pages`);
  const imp = undefined;
  if (delta) {
    const data = new Uint8Array(n * PAGE);
    for (let k = 0, s = 0; k < n; k++) if (kinds[k] === 1) data.set(bytes.subarray(s * PAGE, ++s * PAGE), k * PAGE);
    return { index, import: imp, pages, pageList: list, data };
  }
  const data = new Uint8Array(pages * PAGE);
  for (let k = 0, s = 0; k < n; k++) if (kinds[k] === 1) data.set(bytes.subarray(s * PAGE, ++s * PAGE), list[k]! * PAGE);
  return { index, import: imp, pages, pageList: undefined, data };
}

function readTable(r: Reader): Omit<SavedTable, 'import'> {
  const index = r.u32('table index');
  const elemType = r.u8('table element type');
  if (elemType !== 0x70 && elemType !== 0x6f) r.fail(`table ${index}: element type 0x${elemType.toString(16)}`);
  const size = r.u32('table size');
  if (size > 10_000_000) r.fail(`table ${index}: ${size} elements`);
  const funcs = new Int32Array(size);
  const host = new Map<number, Uint8Array>();
  let i = 0;
  while (i < size) {
    const tag = r.u8('table run');
    if (tag === 2) {
      const v = readValue(r, 'table element');
      if (v.kind !== 'host') r.fail(`table ${index}: element ${i} is not a host reference`);
      funcs[i] = SAVED_HOST;
      host.set(i, v.bytes);
      i++;
      continue;
    }
    const n = r.u32('table run length');
    if (n === 0 || n > size - i) r.fail(`table ${index}: run of ${n} at element ${i}`);
    if (tag === 0) funcs.fill(SAVED_NULL, i, i + n);
    else if (tag === 1) for (let x = 0; x < n; x++) funcs[i + x] = r.u32('function index');
    else r.fail(`table ${index}: unknown run tag ${tag}`);
    i += n;
  }
  return { index, elemType, funcs, host };
}

/**
 * Reads checkpoint bytes.
 * @throws CheckpointError `corrupt`: not a checkpoint, another version, truncated or corrupted.
 */
export function decodeCheckpoint(input: Uint8Array): CheckpointData {
  if (!(input instanceof Uint8Array)) throw new CheckpointError('corrupt', 'not a checkpoint: expected a Uint8Array');
  if (input.length < MAGIC.length || MAGIC.some((b, i) => input[i] !== b)) {
    throw new CheckpointError('corrupt', 'not a checkpoint: no "WSCP" header');
  }
  if (input.length < HEADER + TRAILER) {
    throw new CheckpointError(
      'corrupt',
      `truncated checkpoint: ${input.length} bytes, less than its header and checksum (${HEADER + TRAILER})`,
    );
  }
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      'corrupt',
      `checkpoint format version ${version} is not supported (this version reads ${CHECKPOINT_FORMAT_VERSION})`,
    );
  }
  const payload = dv.getBigUint64(80, true);
  const total = BigInt(HEADER) + payload + BigInt(TRAILER);
  if (total !== BigInt(input.length)) {
    throw new CheckpointError(
      'corrupt',
      total > BigInt(input.length)
        ? `truncated checkpoint: ${input.length} bytes of ${total}`
        : `corrupted checkpoint: ${input.length - Number(total)} bytes after its end`,
    );
  }
  const end = input.length - TRAILER;
  const sum = createHash('sha256').update(input.subarray(0, end)).digest();
  if (Buffer.compare(sum, input.subarray(end)) !== 0) throw new CheckpointError('corrupt', 'corrupted checkpoint: checksum mismatch');
  // A private copy: the caller may reuse its buffer.
  const b = input.slice();
  const flags = dv.getUint32(8, true);
  if ((flags & ~3) !== 0) throw new CheckpointError('corrupt', `corrupted checkpoint: unknown flags 0x${flags.toString(16)}`);
  const delta = (flags & 1) === 1;
  const r = new Reader(b, HEADER, end);
  const importNames: string[] = [];
  for (let i = 0, n = r.count('import count', 1); i < n; i++) {
    try {
      importNames.push(utf8d.decode(r.bytes('import name')));
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      r.fail('import name is not UTF-8');
    }
  }
  // Which entries are imports follows from the module (the restore checks the names).
  const memories: SavedMemory[] = [];
  for (let i = 0, n = r.count('memory count', 3); i < n; i++) memories.push(readMemory(r, delta));
  const globals: SavedGlobal[] = [];
  for (let i = 0, n = r.count('global count', 4); i < n; i++) {
    const index = r.u32('global index');
    const type = r.u8('global type');
    const mutable = r.u8('global mutability');
    if (mutable > 1) r.fail(`global ${index}: mutability ${mutable}`);
    globals.push({ index, import: undefined, type, mutable: mutable === 1, value: readValue(r, `global ${index}`) });
  }
  const tables: SavedTable[] = [];
  for (let i = 0, n = r.count('table count', 3); i < n; i++) tables.push({ ...readTable(r), import: undefined });
  const droppedData = r.bytes('dropped data segments').slice();
  const droppedElems = r.bytes('dropped element segments').slice();
  const call = (flags & 2) === 2 ? readCall(r) : undefined;
  if (r.pos !== end) r.fail('bytes after the last section');
  return {
    id: hex(b.subarray(48, 64)),
    moduleSha256: hex(b.subarray(16, 48)),
    baseId: delta ? hex(b.subarray(64, 80)) : undefined,
    memories,
    globals,
    tables,
    imports: importNames,
    droppedData,
    droppedElems,
    ...(call === undefined ? {} : { call }),
  };
}

function writeCall(w: Chunks, c: SavedCall): void {
  const st = c.state;
  w.bytes(utf8.encode(c.moduleName)).bytes(utf8.encode(c.hostImport)).bytes(utf8.encode(c.hostSignature)).bytes(c.meta);
  w.u32(st.entry)
    .u32(st.fn)
    .u32(st.pc)
    .u32(st.fp)
    .u32(st.hostFn)
    .u32(st.hostFp)
    .u32(st.next + 1)
    .u32(st.lowering);
  const n = st.frames.fn.length;
  w.u32(n);
  for (let k = 0; k < n; k++) w.u32(st.frames.fn[k]!).u32(st.frames.pc[k]!).u32(st.frames.fp[k]!);
  w.u32(st.words.length);
  const le = new Uint8Array(st.words.length * 4);
  const dv = new DataView(le.buffer);
  for (let i = 0; i < st.words.length; i++) dv.setInt32(4 * i, st.words[i]!, true);
  w.raw(le);
  w.u32(st.refs.length);
  for (const [slot, f] of st.refs) w.u32(slot).u32(f);
  w.u32(st.layout.length);
  for (const [f, len, hash] of st.layout) w.u32(f).u32(len).u32(hash);
}

function readCall(r: Reader): SavedCall {
  const text = (what: string): string => {
    try {
      return utf8d.decode(r.bytes(what));
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return r.fail(`${what} is not UTF-8`);
    }
  };
  const moduleName = text('call module name');
  const hostImport = text('call host import');
  const hostSignature = text('call host signature');
  const meta = r.bytes('call meta').slice();
  const entry = r.u32('call entry');
  const fn = r.u32('call function');
  const pc = r.u32('call pc');
  const fp = r.u32('call frame pointer');
  const hostFn = r.u32('call host function');
  const hostFp = r.u32('call host frame pointer');
  const next = r.u32('call next pc') - 1;
  const lowering = r.u32('call lowering');
  const n = r.count('call frame count', 3);
  if (n > 100_000) r.fail(`call: ${n} frames`);
  const frames = { fn: new Int32Array(n), pc: new Int32Array(n), fp: new Int32Array(n) };
  for (let k = 0; k < n; k++) {
    frames.fn[k] = r.u32('frame function');
    frames.pc[k] = r.u32('frame pc');
    frames.fp[k] = r.u32('frame pointer');
  }
  const nw = r.count('call stack words', 4);
  const raw = r.take(nw * 4, 'call stack words');
  const words = new Int32Array(nw);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < nw; i++) words[i] = dv.getInt32(4 * i, true);
  const refs: Array<readonly [number, number]> = [];
  for (let i = 0, k = r.count('call reference count', 2); i < k; i++) refs.push([r.u32('reference slot'), r.u32('reference function')]);
  const layout: Array<readonly [number, number, number]> = [];
  for (let i = 0, k = r.count('call layout count', 3); i < k; i++)
    layout.push([r.u32('layout function'), r.u32('layout length'), r.u32('layout hash')]);
  const st = { entry, fn, pc, fp, hostFn, hostFp, next, frames, words, refs, layout, lowering };
  return { moduleName, hostImport, hostSignature, meta, state: st };
}

const ZERO = new Uint8Array(PAGE);

function isZeroPage(p: Uint8Array): boolean {
  return Buffer.compare(p, ZERO) === 0;
}
