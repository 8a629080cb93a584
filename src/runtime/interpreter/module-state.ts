/**
 * The interpreter's side of module state (store/engine.ts `EngineModuleState`), read and written by
 * wasmscope/snapshot: global values, table elements and dropped segments, straight from the
 * instance's objects. References to the instance's own functions become function indices; any other
 * reference its raw handle.
 */
import { EXTERNREF, FUNCREF, V128 } from '../api/value-type.js';
import type { Module as IrModule } from '../binary/module.js';
import { NULL_ELEMENT, RAW_ELEMENT, type EngineModuleState, type StateRef, type StateValue, type TableElements } from '../store/engine.js';
import type { HandleTable } from '../store/handles.js';
import { FuncInst, type Instance, type Ref } from './objects.js';

const NULL: StateRef = { kind: 'null' };

export class InterpModuleState implements EngineModuleState {
  readonly #inst: Instance;
  readonly #module: IrModule;
  readonly #handles: HandleTable;
  /** Function index of each function of the index space (the first, for a function imported twice). */
  #indexOf: Map<FuncInst, number> | undefined;

  constructor(inst: Instance, module: IrModule, handles: HandleTable) {
    this.#inst = inst;
    this.#module = module;
    this.#handles = handles;
  }

  get module(): IrModule {
    return this.#module;
  }

  #index(f: FuncInst): number {
    if (this.#indexOf === undefined) {
      this.#indexOf = new Map();
      this.#inst.functions.forEach((g, i) => {
        if (!this.#indexOf!.has(g)) this.#indexOf!.set(g, i);
      });
    }
    return this.#indexOf.get(f) ?? -1;
  }

  #stateRef(r: Ref): StateRef {
    if (r === null) return NULL;
    if (typeof r === 'bigint') return { kind: 'raw', raw: r };
    // A function of this instance by its index; anything else (another module's function, an
    // exception) by its raw handle.
    const i = this.#index(r as FuncInst);
    return i >= 0 ? { kind: 'func', index: i } : { kind: 'raw', raw: this.#handles.handleOf(r) };
  }

  #ref(v: StateRef, type: number): Ref {
    switch (v.kind) {
      case 'null':
        return null;
      case 'func': {
        const f = this.#inst.functions[v.index];
        if (f === undefined) throw new Error(`internal error: no function ${v.index}`);
        return f;
      }
      case 'raw': {
        if (type === EXTERNREF) return v.raw;
        const f = this.#handles.valueOf(v.raw);
        if (!(f instanceof FuncInst)) throw new Error(`funcref handle ${v.raw} is not a function of this runtime`);
        return f;
      }
    }
  }

  global(i: number): StateValue {
    const g = this.#inst.globals[i]!;
    const t = g.type.valType;
    if (t === FUNCREF || t === EXTERNREF) return this.#stateRef(g.ref);
    if (t === V128) {
      const [lo, hi] = g.getV128();
      return { kind: 'bits', lo, hi };
    }
    return { kind: 'bits', lo: g.get(), hi: 0n };
  }

  setGlobal(i: number, v: StateValue): void {
    const g = this.#inst.globals[i]!;
    if (v.kind !== 'bits') {
      g.ref = this.#ref(v, g.type.valType);
    } else if (g.type.valType === V128) {
      g.setV128(v.lo, v.hi);
    } else {
      g.set(v.lo);
    }
  }

  readTable(t: number): TableElements {
    const elems = this.#inst.tables[t]!.elems;
    const funcs = new Int32Array(elems.length);
    const raw = new Map<number, bigint>();
    for (let i = 0; i < elems.length; i++) {
      const r = elems[i]!;
      if (r === null) {
        funcs[i] = NULL_ELEMENT;
        continue;
      }
      const s = this.#stateRef(r);
      if (s.kind === 'func') {
        funcs[i] = s.index;
      } else if (s.kind === 'raw') {
        funcs[i] = RAW_ELEMENT;
        raw.set(i, s.raw);
      }
    }
    return { funcs, raw };
  }

  writeTable(t: number, e: TableElements): void {
    const table = this.#inst.tables[t]!;
    const n = e.funcs.length;
    if (table.elems.length < n && table.grow(n - table.elems.length, null) < 0) {
      throw new Error(`internal error: table[${t}] cannot grow to ${n} elements`);
    }
    const elems = table.elems;
    const fns = this.#inst.functions;
    for (let i = 0; i < n; i++) {
      const k = e.funcs[i]!;
      if (k >= 0) elems[i] = fns[k]!;
      else if (k === NULL_ELEMENT) elems[i] = null;
      else elems[i] = this.#ref({ kind: 'raw', raw: e.raw.get(i)! }, table.elemType);
    }
  }

  isDropped(kind: 'data' | 'elem', i: number): boolean {
    return (kind === 'data' ? this.#inst.datas[i] : this.#inst.elems[i]) === null;
  }

  drop(kind: 'data' | 'elem', i: number): void {
    if (kind === 'data') this.#inst.datas[i] = null;
    else this.#inst.elems[i] = null;
  }
}
