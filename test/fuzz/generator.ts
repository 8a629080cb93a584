/**
 * Our own generator of random valid modules (WebAssembly text, assembled by wabt), aimed at what
 * binaryen's translate-to-fuzz leaves aside:
 *
 * - NaN payloads of both signs (quiet and signalling) in constants, globals, data segments and
 *   arguments, moved through locals, globals, memory, `select`, lanes, calls, `call_indirect`,
 *   tail calls and the host boundary (`log-f32`/`log-f64`/`log-v128`);
 * - i64 and i32 edge values under every numeric instruction of the opcode table;
 * - traps in every form: division, conversion, unaligned atomics, out-of-bounds loads, stores,
 *   bulk operations, table accesses, null and mismatched `call_indirect`, dropped segments;
 * - `br_table` with edge indices; bounded loops; multi-value results;
 * - tail calls (`return_call`, `return_call_indirect`) including a countdown deeper than any stack;
 * - bulk memory and table instructions, SIMD lane and shuffle instructions, atomics, `wait` with a
 *   zero timeout on shared and unshared memories.
 *
 * Every simple instruction (fixed signature, no immediate) and every memory access comes from the
 * opcode table of `src/runtime/binary/opcodes.ts`, so new instructions are fuzzed once listed there.
 * Termination: calls go to lower-indexed functions directly, and a fuel global (like binaryen's hang
 * limit) traps after 200 function entries and loop iterations; the countdown's depth is masked.
 */
import { OPS, type OpInfo } from '../../src/runtime/binary/opcodes.js';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV2 } from '../../src/runtime/api/features.js';
import { wat } from '../helpers.js';
import { randomF32Bits, randomF64Bits, randomI32, randomI64, randomV128, type Rnd } from './values.js';
import { F32, F64, I32, I64, V128 } from './wasm.js';

const NUM = [I32, I64, F32, F64, V128] as const;
const NAMES: Record<number, string> = { [I32]: 'i32', [I64]: 'i64', [F32]: 'f32', [F64]: 'f64', [V128]: 'v128' };

const isAtomic = (o: OpInfo): boolean => o.code >= 0x300;
/** The features the generator writes for: 2.0, threads and tail calls (not the 3.0 additions). */
const GENERATED = CoreFeaturesV2 | CoreFeaturesThreads | CoreFeaturesTailCall;
const typed = (o: OpInfo | undefined): o is OpInfo & { params: readonly number[]; results: readonly number[] } =>
  o !== undefined && o.params !== undefined && o.results !== undefined && (o.feature & ~GENERATED) === 0;

/** Instructions without immediates and with a fixed signature of one result, by result type. */
const SIMPLE = new Map<number, OpInfo[]>();
/** Loads (memarg, one result) and stores (memarg, no result), atomics included. */
const LOADS = new Map<number, OpInfo[]>();
const STORES: OpInfo[] = [];
for (const o of OPS) {
  if (!typed(o)) continue;
  if (o.imm === 'none' && o.results.length === 1 && o.params.every((p) => NAMES[p] !== undefined)) {
    const r = o.results[0]!;
    if (NAMES[r] === undefined) continue;
    if (!SIMPLE.has(r)) SIMPLE.set(r, []);
    SIMPLE.get(r)!.push(o);
  } else if (o.imm === 'memarg' && !o.name.startsWith('memory.atomic.')) {
    if (o.results.length === 1) {
      const r = o.results[0]!;
      if (!LOADS.has(r)) LOADS.set(r, []);
      LOADS.get(r)!.push(o);
    } else if (o.results.length === 0) STORES.push(o);
  }
}
const LANE_OPS = OPS.filter((o): o is OpInfo & { params: readonly number[]; results: readonly number[] } => typed(o) && o.imm === 'lane');
const MEMLANE_OPS = OPS.filter(
  (o): o is OpInfo & { params: readonly number[]; results: readonly number[] } => typed(o) && o.imm === 'memlane',
);

function lanesOf(name: string): number {
  const m = /^[if](8|16|32|64)x(\d+)/.exec(name);
  return m === null ? 16 : Number(m[2]);
}

interface Sig {
  readonly params: readonly number[];
  readonly results: readonly number[];
}

interface Fn {
  readonly sig: Sig;
  /** Local types after the params. */
  readonly locals: number[];
}

/**
 * V8 11 (Node 20) loses values held in registers across `memory.atomic.wait32`/`wait64` (a value
 * computed before the wait reads as 0 after it; sometimes the process dies): regression fixtures
 * v8-11-wait64-clobber and v8-11-wait64-crash. On such a V8 the generator leaves `wait` out (a
 * `notify` in its place), so its seeds make other modules there.
 */
const V8_WAIT_CLOBBERS = Number(process.versions.v8.split('.')[0]) < 12;

const FUEL = 200;
const TABLE_SIZE = 8;

class Gen {
  readonly #rnd: Rnd;
  readonly fns: Fn[] = [];
  readonly globals: number[] = [];
  #k = 0;
  #labels = 0;
  shared: boolean;
  passive = 2;

  constructor(rnd: Rnd) {
    this.#rnd = rnd;
    this.shared = rnd() < 0.4;
  }

  r(): number {
    return this.#rnd();
  }

  int(n: number): number {
    return Math.floor(this.#rnd() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  type(): number {
    return this.pick(NUM);
  }

  konst(t: number): string {
    switch (t) {
      case I32:
        return `(i32.const ${randomI32(this.#rnd) | 0})`;
      case I64:
        return `(i64.const ${BigInt.asIntN(64, randomI64(this.#rnd))})`;
      case F32:
        return `(f32.const ${f32Text(randomF32Bits(this.#rnd))})`;
      case F64:
        return `(f64.const ${f64Text(randomF64Bits(this.#rnd))})`;
      default: {
        const [lo, hi] = randomV128(this.#rnd);
        return `(v128.const i64x2 0x${lo.toString(16)} 0x${hi.toString(16)})`;
      }
    }
  }

  /** An address: mostly masked into the first page (near its end sometimes), else any i32. */
  addr(d: number, align = 1): string {
    const r = this.r();
    if (r < 0.7) return `(i32.and ${this.expr(I32, d)} (i32.const ${0xfff0 & ~(align - 1)}))`;
    if (r < 0.85) return `(i32.const ${this.pick([0, 8, 65520, 65528, 65532, 65535, 65536, -1, 131072 - 8])})`;
    return this.expr(I32, d);
  }

  fuelCheck(): string {
    return `(if (i32.eqz (global.get $fuel)) (then (global.set $fuel (i32.const ${FUEL})) (unreachable))) (global.set $fuel (i32.sub (global.get $fuel) (i32.const 1)))`;
  }

  localsOf(t: number): number[] {
    const f = this.fns[this.#k]!;
    const all = [...f.sig.params, ...f.locals];
    const out: number[] = [];
    all.forEach((x, i) => {
      if (x === t) out.push(i);
    });
    return out;
  }

  leaf(t: number): string {
    const r = this.r();
    const ls = this.localsOf(t);
    if (r < 0.45 && ls.length > 0) return `(local.get ${this.pick(ls)})`;
    const gs = this.globals.map((g, i) => [g, i] as const).filter(([g]) => g === t);
    if (r < 0.6 && gs.length > 0) return `(global.get $g${this.pick(gs)[1]})`;
    return this.konst(t);
  }

  expr(t: number, d: number): string {
    if (d <= 0 || this.r() < 0.15) return this.leaf(t);
    const r = this.r();
    if (r < 0.42) {
      const o = this.pick(SIMPLE.get(t)!);
      return `(${o.name} ${o.params!.map((p) => this.expr(p, d - 1)).join(' ')})`;
    }
    if (r < 0.52) {
      const o = this.pick(LOADS.get(t)!);
      const atomic = isAtomic(o);
      const align = atomic ? o.memBytes : 1;
      const off = atomic && this.r() < 0.9 ? align * this.int(4) : this.int(40);
      return `(${o.name} offset=${off} ${this.addr(d - 1, align)} ${o
        .params!.slice(1)
        .map((p) => this.expr(p, d - 1))
        .join(' ')})`;
    }
    if (r < 0.58) {
      const cands = this.fns
        .slice(0, this.#k)
        .map((f, j) => [f, j] as const)
        .filter(([f]) => f.sig.results.length === 1 && f.sig.results[0] === t);
      if (cands.length > 0) {
        const [f, j] = this.pick(cands);
        const args = f.sig.params.map((p) => this.expr(p, d - 1)).join(' ');
        if (this.r() < 0.6) return `(call $f${j} ${args})`;
        return `(call_indirect (type $t${j}) ${args} ${this.tableIndex(d - 1)})`;
      }
    }
    if (r < 0.64) return `(select ${this.expr(t, d - 1)} ${this.expr(t, d - 1)} ${this.expr(I32, d - 1)})`;
    if (r < 0.68) return `(if (result ${NAMES[t]}) ${this.expr(I32, d - 1)} (then ${this.expr(t, d - 1)}) (else ${this.expr(t, d - 1)}))`;
    if (r < 0.71) {
      const l = `$b${this.#labels++}`;
      return `(block ${l} (result ${NAMES[t]}) (drop (br_if ${l} ${this.expr(t, d - 1)} ${this.expr(I32, d - 1)})) ${this.expr(t, d - 1)})`;
    }
    if (r < 0.75) return this.brTable(t, d);
    if (r < 0.85) {
      const lanes = LANE_OPS.filter((o) => o.results[0] === t);
      if (lanes.length > 0) {
        const o = this.pick(lanes);
        return `(${o.name} ${this.int(lanesOf(o.name))} ${o.params.map((p) => this.expr(p, d - 1)).join(' ')})`;
      }
      if (t === V128) {
        const r2 = this.r();
        if (r2 < 0.4) {
          const lanes16 = Array.from({ length: 16 }, () => this.int(32)).join(' ');
          return `(i8x16.shuffle ${lanes16} ${this.expr(V128, d - 1)} ${this.expr(V128, d - 1)})`;
        }
        const o = this.pick(MEMLANE_OPS.filter((x) => x.results.length === 1));
        return `(${o.name} offset=${this.int(24)} ${this.int(16 / o.memBytes)} ${this.addr(d - 1)} ${this.expr(V128, d - 1)})`;
      }
    }
    if (t === I32) {
      const r2 = this.r();
      if (r2 < 0.15) return `(memory.size)`;
      if (r2 < 0.3) return `(memory.grow (i32.and ${this.expr(I32, d - 1)} (i32.const 3)))`;
      if (r2 < 0.4) return `(table.size $tab)`;
      if (r2 < 0.5) return `(table.grow $tab (ref.null func) (i32.and ${this.expr(I32, d - 1)} (i32.const 3)))`;
      if (r2 < 0.6) return `(ref.is_null (table.get $tab ${this.tableIndex(d - 1)}))`;
      if (r2 < 0.75 && !V8_WAIT_CLOBBERS) {
        const w64 = this.r() < 0.5;
        const val = w64 ? this.expr(I64, d - 1) : this.expr(I32, d - 1);
        return `(memory.atomic.wait${w64 ? 64 : 32} offset=${w64 ? 8 : 4} ${this.addr(d - 1, w64 ? 8 : 4)} ${val} (i64.const 0))`;
      }
      if (r2 < 0.85) return `(memory.atomic.notify ${this.addr(d - 1, 4)} ${this.expr(I32, d - 1)})`;
      return `(i32.atomic.rmw.cmpxchg ${this.addr(d - 1, 4)} ${this.expr(I32, d - 1)} ${this.expr(I32, d - 1)})`;
    }
    const o = this.pick(SIMPLE.get(t)!);
    return `(${o.name} ${o.params!.map((p) => this.expr(p, d - 1)).join(' ')})`;
  }

  tableIndex(d: number): string {
    return this.r() < 0.8 ? `(i32.const ${this.int(TABLE_SIZE + 2)})` : this.expr(I32, d);
  }

  brTable(t: number, d: number): string {
    const [b0, b1, b2] = [`$b${this.#labels++}`, `$b${this.#labels++}`, `$b${this.#labels++}`];
    const bins = (SIMPLE.get(t) ?? []).filter((o) => o.params!.length === 2 && o.params!.every((p) => p === t));
    const op = (): string => this.pick(bins).name;
    const targets = Array.from({ length: 1 + this.int(5) }, () => this.pick([b0, b1, b2])).join(' ');
    const idx = this.r() < 0.5 ? `(i32.const ${this.pick([0, 1, 2, 3, 4, 5, -1, 0x7fffffff, -0x80000000])})` : this.expr(I32, d - 1);
    const inner = `(block ${b2} (result ${NAMES[t]}) (br_table ${targets} ${this.expr(t, d - 1)} ${idx}))`;
    return `(block ${b0} (result ${NAMES[t]}) (${op()} (block ${b1} (result ${NAMES[t]}) (br ${b0} (${op()} ${inner} ${this.leaf(t)}))) ${this.leaf(t)}))`;
  }

  stmt(d: number): string {
    const r = this.r();
    if (r < 0.22) {
      const o = this.pick(STORES);
      const align = isAtomic(o) ? o.memBytes : 1;
      const off = isAtomic(o) && this.r() < 0.9 ? align * this.int(4) : this.int(40);
      return `(${o.name} offset=${off} ${this.addr(d, align)} ${o
        .params!.slice(1)
        .map((p) => this.expr(p, d))
        .join(' ')})`;
    }
    if (r < 0.34) {
      const t = this.type();
      const ls = this.localsOf(t);
      if (ls.length > 0) return `(local.set ${this.pick(ls)} ${this.expr(t, d)})`;
    }
    if (r < 0.42) {
      const g = this.int(this.globals.length);
      return `(global.set $g${g} ${this.expr(this.globals[g]!, d)})`;
    }
    if (r < 0.54) {
      const t = this.type();
      return `(call $log_${NAMES[t]} ${this.expr(t, d)})`;
    }
    if (r < 0.6) return `(drop ${this.expr(this.type(), d)})`;
    if (r < 0.66) return `(if ${this.expr(I32, d)} (then ${this.stmt(d - 1)}) (else ${this.stmt(d - 1)}))`;
    if (r < 0.72) {
      const c = this.localsOf(I32).at(-1)!;
      const l = `$b${this.#labels++}`;
      const body = Array.from({ length: 1 + this.int(3) }, () => this.stmt(d - 1)).join(' ');
      return `(local.set ${c} (i32.and ${this.expr(I32, d)} (i32.const 7))) (block ${l} (loop ${l}l ${this.fuelCheck()} (br_if ${l} (i32.eqz (local.get ${c}))) (local.set ${c} (i32.sub (local.get ${c}) (i32.const 1))) ${body} (br ${l}l)))`;
    }
    const len = (): string => (this.r() < 0.8 ? `(i32.const ${this.pick([0, 1, 7, 16, 100, 65536, -1])})` : this.expr(I32, d));
    const seg = this.int(this.passive);
    switch (this.int(9)) {
      case 0:
        return `(memory.fill ${this.addr(d)} ${this.expr(I32, d)} ${len()})`;
      case 1:
        return `(memory.copy ${this.addr(d)} ${this.addr(d)} ${len()})`;
      case 2:
        return `(memory.init $d${seg} ${this.addr(d)} (i32.const ${this.int(12)}) ${len()})`;
      case 3:
        return `(data.drop $d${seg})`;
      case 4:
        return `(table.init $tab $e${seg} ${this.tableIndex(d)} (i32.const ${this.int(4)}) (i32.const ${this.int(5)}))`;
      case 5:
        return `(elem.drop $e${seg})`;
      case 6:
        return `(table.copy $tab $tab ${this.tableIndex(d)} ${this.tableIndex(d)} (i32.const ${this.int(6)}))`;
      case 7:
        return `(table.fill $tab ${this.tableIndex(d)} (ref.func $f${this.int(this.fns.length)}) (i32.const ${this.int(4)}))`;
      default: {
        const cands = this.fns.slice(0, this.#k).map((f, j) => [f, j] as const);
        if (cands.length === 0) return `(atomic.fence)`;
        const [f, j] = this.pick(cands);
        const call = `(call $f${j} ${f.sig.params.map((p) => this.expr(p, d - 1)).join(' ')})`;
        return `${call}${' (drop)'.repeat(f.sig.results.length)}`;
      }
    }
  }

  func(k: number): string {
    this.#k = k;
    const f = this.fns[k]!;
    const depth = 2 + this.int(3);
    const body = Array.from({ length: 2 + this.int(6) }, () => this.stmt(depth)).join('\n    ');
    let tail: string;
    const same = this.fns
      .slice(0, k)
      .map((g, j) => [g, j] as const)
      .filter(([g]) => g.sig.results.join() === f.sig.results.join());
    if (same.length > 0 && this.r() < 0.25) {
      const [g, j] = this.pick(same);
      const args = g.sig.params.map((p) => this.expr(p, depth)).join(' ');
      tail = this.r() < 0.5 ? `(return_call $f${j} ${args})` : `(return_call_indirect (type $t${j}) ${args} ${this.tableIndex(depth)})`;
    } else tail = f.sig.results.map((t) => this.expr(t, depth)).join(' ');
    const params = f.sig.params.map((p) => NAMES[p]).join(' ');
    const locals = f.locals.map((l) => NAMES[l]).join(' ');
    return `(func $f${k} (export "f${k}") (type $t${k}) ${params === '' ? '' : `(param ${params})`} ${f.sig.results.length === 0 ? '' : `(result ${f.sig.results.map((t) => NAMES[t]).join(' ')})`} ${locals === '' ? '' : `(local ${locals})`}
    ${this.fuelCheck()}
    ${body}
    ${tail})`;
  }
}

function f32Text(bits: number): string {
  const exp = (bits >>> 23) & 0xff;
  const sign = bits >>> 31 === 1 ? '-' : '';
  const frac = bits & 0x7fffff;
  if (exp === 0xff) return frac === 0 ? `${sign}inf` : `${sign}nan:0x${frac.toString(16)}`;
  const f = new Float32Array(new Uint32Array([bits]).buffer)[0]!;
  return Object.is(f, -0) ? '-0' : f.toPrecision(9);
}

function f64Text(bits: bigint): string {
  const exp = Number((bits >> 52n) & 0x7ffn);
  const sign = bits >> 63n === 1n ? '-' : '';
  const frac = bits & 0xfffffffffffffn;
  if (exp === 0x7ff) return frac === 0n ? `${sign}inf` : `${sign}nan:0x${frac.toString(16)}`;
  const f = new Float64Array(new BigUint64Array([bits]).buffer)[0]!;
  return Object.is(f, -0) ? '-0' : f.toPrecision(17);
}

/** The text of a random module. */
export function generateText(rnd: Rnd): string {
  const g = new Gen(rnd);
  const nFuncs = 2 + g.int(6);
  for (let k = 0; k < nFuncs; k++) {
    const params = Array.from({ length: g.int(4) }, () => g.type());
    const results = Array.from({ length: g.r() < 0.15 ? 0 : g.r() < 0.85 ? 1 : 2 }, () => g.type());
    g.fns.push({ sig: { params, results }, locals: [I32, I64, F32, F64, V128, I32] });
  }
  for (let i = 0; i < 6; i++) g.globals.push(i < 5 ? NUM[i]! : g.type());
  const out: string[] = ['(module'];
  for (const t of NUM) out.push(`  (import "fuzzing-support" "log-${NAMES[t]}" (func $log_${NAMES[t]} (param ${NAMES[t]})))`);
  g.fns.forEach((f, k) => {
    const ps = f.sig.params.map((p) => NAMES[p]).join(' ');
    const rs = f.sig.results.map((t) => NAMES[t]).join(' ');
    out.push(`  (type $t${k} (func ${ps === '' ? '' : `(param ${ps})`} ${rs === '' ? '' : `(result ${rs})`}))`);
  });
  out.push(`  (memory $mem (export "memory") 1 4${g.shared ? ' shared' : ''})`);
  out.push(`  (table $tab (export "table") ${TABLE_SIZE} 16 funcref)`);
  out.push(`  (global $fuel (mut i32) (i32.const ${FUEL}))`);
  g.globals.forEach((t, i) => out.push(`  (global $g${i} (export "g${i}") (mut ${NAMES[t]}) ${g.konst(t)})`));
  const bytes = (n: number): string =>
    Array.from({ length: n }, () => {
      const r = g.r();
      const b = r < 0.3 ? g.pick([0x00, 0xff, 0x7f, 0x80, 0xc0, 0xf8, 0x7f]) : g.int(256);
      return `\\${b.toString(16).padStart(2, '0')}`;
    }).join('');
  out.push(`  (data (i32.const ${g.int(64)}) "${bytes(8 + g.int(40))}")`);
  out.push(`  (data (i32.const ${65536 - 16}) "${bytes(16)}")`);
  for (let s = 0; s < g.passive; s++) out.push(`  (data $d${s} "${bytes(4 + g.int(20))}")`);
  const refs = (n: number): string => Array.from({ length: n }, () => `$f${g.int(nFuncs)}`).join(' ');
  out.push(`  (elem (i32.const 0) func $count ${refs(2 + g.int(5))})`);
  for (let s = 0; s < g.passive; s++) out.push(`  (elem $e${s} func ${refs(1 + g.int(4))})`);
  for (let k = 0; k < nFuncs; k++) out.push(`  ${g.func(k)}`);
  // Tail calls that must not grow the stack: up to 131,070 deep (beyond the interpreter's 100,000
  // frames and V8's stack), alternating direct and through table slot 0.
  out.push(`  (type $count_t (func (param i64 i32) (result i64)))
  (func $count (type $count_t) (param $acc i64) (param $n i32) (result i64)
    (if (result i64) (i32.eqz (local.get $n)) (then (local.get $acc))
      (else (return_call $count_i (i64.add (i64.mul (local.get $acc) (i64.const 31)) (i64.extend_i32_u (local.get $n))) (i32.sub (local.get $n) (i32.const 1))))))
  (func $count_i (type $count_t) (param $acc i64) (param $n i32) (result i64)
    (return_call_indirect $tab (type $count_t) (local.get $acc) (local.get $n) (i32.const 0)))
  (func (export "countdown") (param i64 i32) (result i64) (call $count (local.get 0) (i32.and (local.get 1) (i32.const ${g.r() < 0.15 ? 0xffff : 0xfff}))))`);
  out.push(')');
  return out.join('\n');
}

/** A random module (`generateText` assembled). */
export async function generateModule(rnd: Rnd): Promise<Uint8Array> {
  return wat(generateText(rnd));
}
