/**
 * Drives the official SIMD spec tests (v2/simd_*.json from wast2json) straight through `simdExec`.
 *
 * Most exported functions of those suites are one-instruction wrappers such as
 * `(func (export "i8x16.add") (param v128 v128) (result v128) (i8x16.add (local.get 0) (local.get 1)))`.
 * The driver decodes each module (types, exports, bodies, memory and data segments) and runs every
 * `assert_return`/`assert_trap` whose function body is straight-line code (local.get/set/tee,
 * constants, drop, i32/i64 load/store and any 0xFD instruction) with a tiny stack machine over an
 * emulated value stack, calling `simdExec`/`simdMem` for each 0xFD instruction. Each command runs
 * twice: once with results computed into a separate slot and once with the destination aliasing
 * the first operand's slot, as an interpreter does.
 *
 * Suites live in ../shared/spectest beside the repo (override with WASMSCOPE_SPECTEST_DIR); when absent the
 * test is skipped with a message.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODE_FD, OPS } from '../binary/opcodes.js';
import { simdExec, simdMem, type SimdViews } from './simd.js';
import { SPECTEST_DIR } from '../../../test/paths.js';

const ROOT = SPECTEST_DIR;
const DIR = join(ROOT, 'v2');

// ---------------------------------------------------------------------------------------------
// Minimal module decoding: exports and function bodies.

class Cursor {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  u8(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw new Error('unexpected end');
    return b;
  }
  u32(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
  }
  /** Signed LEB of up to 64 bits, as a BigInt. */
  sleb(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if ((b & 0x40) !== 0) result -= 1n << shift;
        return result;
      }
    }
  }
  take(n: number): Uint8Array {
    const out = this.bytes.slice(this.pos, this.pos + n);
    if (out.length !== n) throw new Error('unexpected end');
    this.pos += n;
    return out;
  }
  name(): string {
    return new TextDecoder().decode(this.take(this.u32()));
  }
  limits(): void {
    const flags = this.u8();
    this.u32();
    if ((flags & 1) !== 0) this.u32();
  }
}

function bigBytes(x: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let v = BigInt.asUintN(n * 8, x);
  for (let i = 0; i < n; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

interface FuncInfo {
  params: number;
  results: number;
  /** Declared local sizes (bytes), after the params. */
  locals: number;
  codeStart: number;
  codeEnd: number;
}

interface ModuleInfo {
  bytes: Uint8Array;
  funcs: FuncInfo[];
  importedFuncs: number;
  exports: Map<string, FuncInfo | undefined>;
  /** The module instance's memory; stores persist across invocations like in a real instance. */
  memory: Uint8Array | undefined;
  /** Global values (16 bytes each), from constant initialisers; `undefined` for imports. */
  globals: Array<Uint8Array | undefined>;
}

/** Evaluates a constant expression of one `*.const` instruction. */
function constExpr(c: Cursor): Uint8Array {
  const out = new Uint8Array(16);
  const op = c.u8();
  if (op === 0x41) out.set(bigBytes(c.sleb(), 4));
  else if (op === 0x42) out.set(bigBytes(c.sleb(), 8));
  else if (op === 0x43) out.set(c.take(4));
  else if (op === 0x44) out.set(c.take(8));
  else if (op === 0xfd && c.u32() === 0x0c) out.set(c.take(16));
  else throw new Error('unsupported constant expression');
  if (c.u8() !== 0x0b) throw new Error('constant expression is not one instruction');
  return out;
}

function decodeModule(bytes: Uint8Array): ModuleInfo {
  const c = new Cursor(bytes);
  c.pos = 8;
  const types: Array<[number, number]> = [];
  const funcTypes: number[] = [];
  let importedFuncs = 0;
  const exportIdx = new Map<string, number>();
  const funcs: FuncInfo[] = [];
  let memory: Uint8Array | undefined;
  const globals: Array<Uint8Array | undefined> = [];
  while (c.pos < bytes.length) {
    const id = c.u8();
    const size = c.u32();
    const end = c.pos + size;
    if (id === 1) {
      for (let n = c.u32(); n > 0; n--) {
        c.u8();
        const p = c.u32();
        c.take(p);
        const r = c.u32();
        c.take(r);
        types.push([p, r]);
      }
    } else if (id === 2) {
      for (let n = c.u32(); n > 0; n--) {
        c.name();
        c.name();
        const kind = c.u8();
        if (kind === 0) {
          c.u32();
          importedFuncs++;
        } else if (kind === 1) {
          c.u8();
          c.limits();
        } else if (kind === 2) c.limits();
        else {
          c.u8();
          c.u8();
          globals.push(undefined); // imported: commands reading it are not driven
        }
      }
    } else if (id === 3) {
      for (let n = c.u32(); n > 0; n--) funcTypes.push(c.u32());
    } else if (id === 5) {
      if (c.u32() > 0) {
        const flags = c.u8();
        const min = c.u32();
        if ((flags & 1) !== 0) c.u32();
        memory = new Uint8Array(min * 65536);
      }
    } else if (id === 6) {
      for (let n = c.u32(); n > 0; n--) {
        c.u8();
        c.u8();
        globals.push(constExpr(c));
      }
    } else if (id === 7) {
      for (let n = c.u32(); n > 0; n--) {
        const name = c.name();
        const kind = c.u8();
        const index = c.u32();
        if (kind === 0) exportIdx.set(name, index);
      }
    } else if (id === 10) {
      for (let i = 0, n = c.u32(); i < n; i++) {
        const len = c.u32();
        const bodyEnd = c.pos + len;
        let locals = 0;
        for (let k = c.u32(); k > 0; k--) {
          locals += c.u32();
          c.u8();
        }
        const [params, results] = types[funcTypes[i]!] ?? [0, 0];
        funcs.push({ params, results, locals, codeStart: c.pos, codeEnd: bodyEnd });
        c.pos = bodyEnd;
      }
    } else if (id === 11) {
      for (let n = c.u32(); n > 0; n--) {
        const flags = c.u32();
        if (flags === 2) c.u32();
        let offset = 0;
        if (flags !== 1) offset = new DataView(constExpr(c).buffer).getInt32(0, true);
        const data = c.take(c.u32());
        if (flags !== 1 && memory !== undefined) memory.set(data, offset);
      }
    }
    c.pos = end;
  }
  const exports = new Map<string, FuncInfo | undefined>();
  for (const [name, index] of exportIdx) exports.set(name, funcs[index - importedFuncs]);
  return { bytes, funcs, importedFuncs, exports, memory, globals };
}

// ---------------------------------------------------------------------------------------------
// A straight-line evaluator: local.get/set/tee, constants, drop, a few core memory ops, and any
// 0xFD instruction (through simdExec/simdMem). Control flow and calls are out of scope.

class Unsupported extends Error {}
class Trap extends Error {}

const STACK = new ArrayBuffer(1024);
const VIEWS: SimdViews = {
  u8: new Uint8Array(STACK),
  i32: new Int32Array(STACK),
  f32: new Float32Array(STACK),
  f64: new Float64Array(STACK),
  dv: new DataView(STACK),
};
/** Stack entry k lives at byte 8 + 24k: 8-byte aligned, rarely 16-byte aligned. */
const slot = (k: number): number => 8 + 24 * k;
/** Scratch slot for the non-aliasing mode, above any real entry. */
const SCRATCH = slot(40);

interface Counters {
  /** Instructions executed per kind, to report how commands were driven. */
  fdOps: number;
}

/**
 * Runs a function body; returns the byte offsets of its results on the emulated stack.
 * With `alias`, each result is computed straight into its first operand's slot (as an
 * interpreter does); otherwise into a separate scratch slot that is then copied down.
 */
function evaluate(
  mod: ModuleInfo,
  f: FuncInfo,
  args: Uint8Array[],
  alias: boolean,
  count: Counters,
): Array<{ at: number; fromFd: boolean }> {
  VIEWS.u8.fill(0xcd); // garbage: scalar high halves and unwritten result bytes show up
  let sp = 0;
  /** Whether each stack entry was produced by a 0xFD instruction (whose scalar high halves must be 0). */
  const fromFd: boolean[] = [];
  const push = (bytes: Uint8Array): void => {
    if (sp >= 40) throw new Unsupported('stack too deep');
    VIEWS.u8.fill(0xcd, slot(sp), slot(sp) + 16);
    VIEWS.u8.set(bytes, slot(sp));
    fromFd[sp++] = false;
  };
  const popAddr = (memBytes: number, offset: number): number => {
    const addr = VIEWS.i32[slot(--sp) >> 2]! >>> 0;
    const ea = addr + offset;
    if (mod.memory === undefined) throw new Unsupported('no memory');
    if (ea + memBytes > mod.memory.length) throw new Trap('out of bounds memory access');
    return ea;
  };
  const newLocals = (f: FuncInfo, args: Uint8Array[]): Uint8Array[] => {
    const locals: Uint8Array[] = [];
    for (let i = 0; i < f.params + f.locals; i++) {
      // Parameters carry garbage above their value (as an interpreter's stack may); locals start zeroed.
      const l = new Uint8Array(16).fill(i < f.params ? 0xcd : 0);
      const arg = args[i];
      if (arg !== undefined) l.set(arg);
      else if (i < f.params) throw new Error('missing argument');
      locals.push(l);
    }
    return locals;
  };
  /** Runs `f` with its results left on the stack where its frame began. */
  const invoke = (f: FuncInfo, locals: Uint8Array[], depth: number): void => {
    if (depth > 8) throw new Unsupported('deep calls');
    const frame = sp;
    let blocks = 0;
    const c = new Cursor(mod.bytes.subarray(0, f.codeEnd));
    c.pos = f.codeStart;
    const memarg = (): number => {
      const align = c.u32();
      if ((align & 0x40) !== 0) throw new Unsupported('multi-memory');
      return c.u32();
    };
    for (;;) {
      const op = c.u8();
      switch (op) {
        case 0x02: // block, loop: without branches they are transparent
        case 0x03:
          c.sleb();
          blocks++;
          continue;
        case 0x0b:
          if (blocks > 0) {
            blocks--;
            continue;
          }
        // falls through: the function's end
        case 0x0f: {
          const from = sp - f.results;
          if (from < frame) throw new Error('stack underflow');
          for (let i = 0; i < f.results; i++) {
            VIEWS.u8.copyWithin(slot(frame + i), slot(from + i), slot(from + i) + 16);
            fromFd[frame + i] = fromFd[from + i] === true;
          }
          sp = frame + f.results;
          return;
        }
        case 0x10: {
          const callee = mod.funcs[c.u32() - mod.importedFuncs];
          if (callee === undefined) throw new Unsupported('call to an import');
          sp -= callee.params;
          const args: Uint8Array[] = [];
          for (let i = 0; i < callee.params; i++) args.push(VIEWS.u8.slice(slot(sp + i), slot(sp + i) + 16));
          invoke(callee, newLocals(callee, args), depth + 1);
          continue;
        }
        case 0x1a:
          sp--;
          continue;
        case 0x20:
          push(locals[c.u32()]!);
          continue;
        case 0x21:
        case 0x22: {
          const l = locals[c.u32()]!;
          l.set(VIEWS.u8.subarray(slot(sp - 1), slot(sp - 1) + 16));
          if (op === 0x21) sp--;
          continue;
        }
        case 0x23:
        case 0x24: {
          const g = mod.globals[c.u32()];
          if (g === undefined) throw new Unsupported('imported global');
          if (op === 0x23) push(g);
          else g.set(VIEWS.u8.subarray(slot(sp - 1), slot(--sp) + 16));
          continue;
        }
        case 0x1b: {
          const cond = VIEWS.i32[slot(--sp) >> 2]!;
          sp--;
          if (cond === 0) VIEWS.u8.copyWithin(slot(sp - 1), slot(sp), slot(sp) + 16);
          fromFd[sp - 1] = false;
          continue;
        }
        case 0x71: // i32.and, i32.or, i32.xor
        case 0x72:
        case 0x73: {
          const y = VIEWS.i32[slot(--sp) >> 2]!;
          const k = slot(sp - 1) >> 2;
          const x = VIEWS.i32[k]!;
          VIEWS.i32[k] = op === 0x71 ? x & y : op === 0x72 ? x | y : x ^ y;
          VIEWS.i32[k + 1] = 0;
          fromFd[sp - 1] = false;
          continue;
        }
        case 0x41:
          push(bigBytes(c.sleb(), 4));
          continue;
        case 0x42:
          push(bigBytes(c.sleb(), 8));
          continue;
        case 0x43:
          push(c.take(4));
          continue;
        case 0x44:
          push(c.take(8));
          continue;
        case 0x28: // i32.load, i64.load
        case 0x29: {
          const n = op === 0x28 ? 4 : 8;
          const ea = popAddr(n, memarg());
          const out = new Uint8Array(8);
          out.set(mod.memory!.subarray(ea, ea + n));
          push(out);
          continue;
        }
        case 0x36: // i32.store, i64.store
        case 0x37: {
          const n = op === 0x36 ? 4 : 8;
          const offset = memarg();
          const v = VIEWS.u8.slice(slot(--sp), slot(sp) + n);
          const ea = popAddr(n, offset);
          mod.memory!.set(v, ea);
          continue;
        }
        case 0xfd:
          break;
        default:
          throw new Unsupported(`opcode 0x${op.toString(16)}`);
      }
      const sub = c.u32();
      if (sub === 0x0c) {
        push(c.take(16));
        continue;
      }
      const info = OPS[CODE_FD + sub];
      if (info === undefined || info.params === undefined || info.results === undefined) {
        throw new Unsupported(`0xfd ${sub}`);
      }
      count.fdOps++;
      const nParams = info.params.length;
      const base = sp - nParams;
      const dst = alias ? slot(base) : SCRATCH;
      if (!alias) VIEWS.u8.fill(0xcd, SCRATCH, SCRATCH + 16);
      if (info.imm === 'memarg' || info.imm === 'memlane') {
        const offset = memarg();
        const lane = info.imm === 'memlane' ? c.u8() : 0;
        // Stack: address, then the v128 operand of stores and load*_lane.
        sp = base + 1;
        const ea = popAddr(info.memBytes, offset);
        simdMem(sub, VIEWS, mod.memory!, ea, dst, slot(base + 1), lane);
      } else {
        let imm = 0;
        let lanes: Uint8Array | undefined;
        if (info.imm === 'lane') imm = c.u8();
        else if (info.imm === 'shuffle') lanes = c.take(16);
        const at = (k: number): number => (k < nParams ? slot(base + k) : -8);
        simdExec(sub, VIEWS, dst, at(0), at(1), at(2), imm, lanes);
      }
      sp = base;
      if (info.results.length === 1) {
        if (!alias) VIEWS.u8.copyWithin(slot(base), SCRATCH, SCRATCH + 16);
        fromFd[sp++] = true;
      }
    }
  };
  invoke(f, newLocals(f, args), 0);
  return Array.from({ length: f.results }, (_, i) => ({ at: slot(i), fromFd: fromFd[i] === true }));
}

// ---------------------------------------------------------------------------------------------
// Values.

interface SpecValue {
  type: string;
  lane_type?: string;
  value?: string | string[];
}

const LANE_BYTES: Record<string, number> = { i8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 };
const SCALAR_BYTES: Record<string, number> = { i32: 4, i64: 8, f32: 4, f64: 8 };

function valueBytes(v: SpecValue): Uint8Array {
  if (v.type === 'v128') {
    const w = LANE_BYTES[v.lane_type ?? ''];
    const lanes = v.value;
    if (w === undefined || !Array.isArray(lanes)) throw new Error(`bad v128 ${JSON.stringify(v)}`);
    const out = new Uint8Array(16);
    lanes.forEach((s, i) => out.set(bigBytes(BigInt(s), w), i * w));
    return out;
  }
  const n = SCALAR_BYTES[v.type];
  if (n === undefined || typeof v.value !== 'string') throw new Error(`unsupported value ${JSON.stringify(v)}`);
  return bigBytes(BigInt(v.value), n);
}

function laneBits(bytes: Uint8Array, off: number, w: number): bigint {
  let x = 0n;
  for (let i = w - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[off + i]!);
  return x;
}

/** Checks one expected lane (or scalar) of width `w` bytes; returns a message on mismatch. */
function checkLane(got: Uint8Array, off: number, w: number, isFloat: boolean, want: string): string | undefined {
  const bits = laneBits(got, off, w);
  if (want.startsWith('nan:')) {
    if (!isFloat) return `nan expectation on an integer lane`;
    const quiet = w === 4 ? 0x7fc00000n : 0x7ff8000000000000n;
    const noSign = w === 4 ? 0x7fffffffn : 0x7fffffffffffffffn;
    const ok = want === 'nan:canonical' ? (bits & noSign) === quiet : (bits & quiet) === quiet;
    return ok ? undefined : `0x${bits.toString(16)} is not ${want}`;
  }
  const exp = BigInt.asUintN(w * 8, BigInt(want));
  return bits === exp ? undefined : `0x${bits.toString(16)} != 0x${exp.toString(16)}`;
}

/** `fromFd`: the value was produced by simdExec/simdMem, so a 32-bit result's high half must be 0. */
function checkResult(got: Uint8Array, dst: number, want: SpecValue, fromFd: boolean): string | undefined {
  if (want.type === 'v128') {
    const lt = want.lane_type ?? '';
    const w = LANE_BYTES[lt]!;
    const lanes = want.value as string[];
    const errs: string[] = [];
    lanes.forEach((s, i) => {
      const e = checkLane(got, dst + i * w, w, lt.startsWith('f'), s);
      if (e !== undefined) errs.push(`lane ${i}: ${e}`);
    });
    return errs.length === 0 ? undefined : errs.join('; ');
  }
  const n = SCALAR_BYTES[want.type]!;
  const e = checkLane(got, dst, n, want.type.startsWith('f'), want.value as string);
  if (e !== undefined) return e;
  if (fromFd && n === 4 && laneBits(got, dst + 4, 4) !== 0n) return 'high half of a 32-bit result slot is not zero';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Commands.

interface Command {
  type: string;
  line: number;
  filename?: string;
  name?: string;
  text?: string;
  action?: { type: string; field: string; module?: string; args?: SpecValue[] };
  expected?: SpecValue[];
}

interface FileResult {
  /** assert_return and assert_trap commands. */
  total: number;
  /** Commands whose function is one 0xFD instruction over its parameters or constants. */
  single: number;
  /** Commands whose function is a longer straight-line body. */
  multi: number;
  failures: string[];
  skipped: Map<string, number>;
}

function runFile(file: string): FileResult {
  const json = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { commands: Command[] };
  const res: FileResult = { total: 0, single: 0, multi: 0, failures: [], skipped: new Map() };
  const skip = (why: string): void => {
    res.skipped.set(why, (res.skipped.get(why) ?? 0) + 1);
  };
  let current: ModuleInfo | undefined;
  const named = new Map<string, ModuleInfo>();
  for (const cmd of json.commands) {
    if (cmd.type === 'module' && cmd.filename !== undefined) {
      current = decodeModule(new Uint8Array(readFileSync(join(DIR, cmd.filename))));
      if (cmd.name !== undefined) named.set(cmd.name, current);
      continue;
    }
    if (cmd.type !== 'assert_return' && cmd.type !== 'assert_trap') continue;
    res.total++;
    const act = cmd.action;
    if (act === undefined || act.type !== 'invoke') {
      skip('not an invoke');
      continue;
    }
    const mod = act.module !== undefined ? named.get(act.module) : current;
    const f = mod?.exports.get(act.field);
    if (mod === undefined || f === undefined) {
      skip('no module or imported function');
      continue;
    }
    const want = cmd.expected ?? [];
    const args = (act.args ?? []).map(valueBytes);
    const where = `${file}:${cmd.line} ${act.field}`;
    let fdOps = 0;
    let unsupported = false;
    // Both passes change the instance state: each starts from the state before the command, and
    // a command that turns out not to be drivable leaves the state as it found it.
    const memBefore = mod.memory?.slice();
    const globalsBefore = mod.globals.map((g) => g?.slice());
    const restore = (): void => {
      if (memBefore !== undefined) mod.memory!.set(memBefore);
      globalsBefore.forEach((g, i) => {
        if (g !== undefined) mod.globals[i]!.set(g);
      });
    };
    for (const alias of [false, true]) {
      if (alias) restore();
      const count: Counters = { fdOps: 0 };
      let err: string | undefined;
      try {
        const results = evaluate(mod, f, args, alias, count);
        if (cmd.type === 'assert_trap') err = `expected trap "${cmd.text ?? ''}"`;
        else if (results.length !== want.length) err = `${results.length} results, expected ${want.length}`;
        else {
          const errs = results.map((r, i) => checkResult(VIEWS.u8, r.at, want[i]!, r.fromFd)).filter((e) => e !== undefined);
          if (errs.length > 0) err = errs.join(' | ');
        }
      } catch (e) {
        if (e instanceof Unsupported) {
          skip(e.message);
          restore();
          unsupported = true;
          break;
        }
        if (e instanceof Trap && cmd.type === 'assert_trap' && cmd.text === e.message) err = undefined;
        else err = `threw ${String(e)}`;
      }
      fdOps = count.fdOps;
      if (err !== undefined) {
        res.failures.push(`${where}${alias ? ' (dst aliases a)' : ''}: ${err}`);
        break;
      }
    }
    if (unsupported) continue;
    if (fdOps === 0) skip('driven and passing, but only v128.const/core instructions');
    else if (fdOps === 1) res.single++;
    else res.multi++;
  }
  return res;
}

const FILES = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => /^simd_.*\.json$/.test(f))
      .sort()
  : [];

describe('SIMD spec tests through simdExec', () => {
  if (FILES.length === 0) {
    it.skip(`spec tests not found in ${DIR} (set WASMSCOPE_SPECTEST_DIR)`, () => {});
    return;
  }

  it('drives every straight-line assert_return/assert_trap with no failures', () => {
    let total = 0;
    let single = 0;
    let multi = 0;
    const failures: string[] = [];
    const skipped = new Map<string, number>();
    const perFile: string[] = [];
    for (const f of FILES) {
      const r = runFile(f);
      total += r.total;
      single += r.single;
      multi += r.multi;
      failures.push(...r.failures);
      for (const [k, n] of r.skipped) skipped.set(k, (skipped.get(k) ?? 0) + n);
      perFile.push(`  ${f}: ${r.single} + ${r.multi} of ${r.total}`);
    }
    const reasons = [...skipped].sort((x, y) => y[1] - x[1]).map(([k, n]) => `  ${n} × ${k}`);
    console.log(
      `SIMD spec: of ${total} assert_return/assert_trap commands, drove ${single} single-instruction and ` +
        `${multi} multi-instruction ones directly; ${failures.length} failures\n` +
        `per file (single + multi of total):\n${perFile.join('\n')}\nnot driven:\n${reasons.join('\n')}`,
    );
    expect(failures.slice(0, 30)).toEqual([]);
    // Guards against the driver silently recognising nothing.
    expect(single).toBeGreaterThan(22000);
    expect(multi).toBeGreaterThan(500);
  });
});
