/**
 * The compiler engine's side of module state (store/engine.ts `EngineModuleState`), read and written
 * by wasmscope/snapshot. V8 holds tables and references as JS values: a function of the instance maps
 * to its index through the function objects the instance exports (its own exports, the hidden
 * exports of the other functions in C.refs, rewrite.ts) and its imports; anything else is a raw
 * handle. Dropped passive segments are the flags the rewrite keeps (instrument.ts `DropPlan`).
 */
import { EXTERNREF, FUNCREF, V128 } from '../runtime/api/value-type.js';
import type { Module as IrModule } from '../runtime/binary/module.js';
import {
  NULL_ELEMENT,
  RAW_ELEMENT,
  type EngineModuleState,
  type StateRef,
  type StateValue,
  type TableElements,
} from '../runtime/store/engine.js';
import type { CGlobal, CTable, GuestFunction } from './externs.js';
import { HIDDEN_DROP, hiddenDropped } from './rewrite.js';
import type { EngineState } from './state.js';

const NULL: StateRef = { kind: 'null' };
const MASK64 = (1n << 64n) - 1n;

export class CompilerModuleState implements EngineModuleState {
  readonly #module: IrModule;
  readonly #state: EngineState;
  readonly #functions: readonly GuestFunction[];
  readonly #tables: readonly CTable[];
  readonly #globals: readonly CGlobal[];
  readonly #exports: WebAssembly.Exports;
  /** Function index of each function object of the index space (the first, for one imported twice). */
  #indexOf: Map<unknown, number> | undefined;

  constructor(
    module: IrModule,
    state: EngineState,
    functions: readonly GuestFunction[],
    tables: readonly CTable[],
    globals: readonly CGlobal[],
    exports: WebAssembly.Exports,
  ) {
    this.#module = module;
    this.#state = state;
    this.#functions = functions;
    this.#tables = tables;
    this.#globals = globals;
    this.#exports = exports;
  }

  get module(): IrModule {
    return this.#module;
  }

  #index(f: unknown): number {
    if (this.#indexOf === undefined) {
      this.#indexOf = new Map();
      this.#functions.forEach((g, i) => {
        if (g.wasm !== undefined && !this.#indexOf!.has(g.wasm)) this.#indexOf!.set(g.wasm, i);
      });
    }
    return this.#indexOf.get(f) ?? -1;
  }

  #stateRef(t: number, v: unknown): StateRef {
    if (v === null) return NULL;
    if (t === FUNCREF) {
      const i = this.#index(v);
      if (i >= 0) return { kind: 'func', index: i };
    }
    return { kind: 'raw', raw: this.#state.refs.toRaw(t, v) };
  }

  #value(t: number, v: StateRef): unknown {
    switch (v.kind) {
      case 'null':
        return null;
      case 'func': {
        const f = this.#functions[v.index]?.wasm;
        if (f === undefined) throw new Error(`internal error: function ${v.index} cannot be a reference`);
        return f;
      }
      case 'raw':
        return this.#state.refs.fromRaw(t, v.raw);
    }
  }

  global(i: number): StateValue {
    const g = this.#globals[i]!;
    const t = g.type.valType;
    if (t === FUNCREF || t === EXTERNREF) return this.#stateRef(t, g.wasm.value);
    if (t === V128) {
      const [lo, hi] = g.getV128();
      return { kind: 'bits', lo, hi };
    }
    return { kind: 'bits', lo: g.get(), hi: 0n };
  }

  setGlobal(i: number, v: StateValue): void {
    const g = this.#globals[i]!;
    if (!g.type.mutable) throw new Error(`internal error: global ${i} is immutable`);
    if (v.kind === 'bits') g.set(v.lo | ((v.hi & MASK64) << 64n));
    else g.wasm.value = this.#value(g.type.valType, v);
  }

  readTable(t: number): TableElements {
    const table = this.#tables[t]!;
    const n = table.size();
    const funcs = new Int32Array(n);
    const raw = new Map<number, bigint>();
    for (let i = 0; i < n; i++) {
      const s = this.#stateRef(table.elemType, table.get(i));
      if (s.kind === 'null') funcs[i] = NULL_ELEMENT;
      else if (s.kind === 'func') funcs[i] = s.index;
      else {
        funcs[i] = RAW_ELEMENT;
        raw.set(i, s.raw);
      }
    }
    return { funcs, raw };
  }

  writeTable(t: number, e: TableElements): void {
    const table = this.#tables[t]!;
    const n = e.funcs.length;
    if (table.size() < n) table.grow(n - table.size());
    const type = table.elemType;
    for (let i = 0; i < n; i++) {
      const k = e.funcs[i]!;
      const v =
        k >= 0
          ? this.#value(type, { kind: 'func', index: k })
          : k === NULL_ELEMENT
            ? null
            : this.#value(type, { kind: 'raw', raw: e.raw.get(i)! });
      table.set(i, v);
    }
  }

  isDropped(kind: 'data' | 'elem', i: number): boolean {
    const seg = kind === 'data' ? this.#module.datas[i] : this.#module.elements[i];
    if (seg === undefined) throw new RangeError(`no ${kind} segment ${i}`);
    // Active and declarative segments are dropped by instantiation.
    if (seg.mode !== 'passive') return true;
    return (this.#exports[hiddenDropped(kind, i)] as WebAssembly.Global).value === 1;
  }

  drop(kind: 'data' | 'elem', i: number): void {
    const seg = kind === 'data' ? this.#module.datas[i] : this.#module.elements[i];
    if (seg === undefined || seg.mode !== 'passive') return;
    (this.#exports[HIDDEN_DROP] as (k: number) => void)(kind === 'data' ? i : this.#module.datas.length + i);
  }
}
