/**
 * Pre-initialisation (Wizer's idea, in process): run a module's initialisation once, then write a
 * new module that starts in the state it left: globals initialised to their values, the memory's
 * minimum its size and its non-zero bytes as data segments, funcref tables as element segments (Wizer
 * refuses them), the start section and the init export removed. The output is validated by our
 * validator, then instantiated and its state compared with the live instance's before it is
 * returned.
 */
import { Buffer } from 'node:buffer';
import { newRuntimeWithConfig } from '../engines.js';
import { newModuleConfig, newRuntimeConfig } from '../runtime/store/factories.js';
import type { ConstExpr, DataSegment, ElementSegment, Export, Module as IrModule } from '../runtime/binary/module.js';
import { declaredFunctionRefs } from '../runtime/binary/module.js';
import { decodeModule } from '../runtime/binary/decoder.js';
import { encodeModule } from '../runtime/binary/encoder.js';
import { nextInstr } from '../runtime/binary/instr.js';
import { CODE_FC, Op } from '../runtime/binary/opcodes.js';
import { validateModule } from '../runtime/validate/validate.js';
import { EXTERNREF, F32, F64, FUNCREF, I32, I64, V128 } from '../runtime/api/value-type.js';
import type { Module } from '../runtime/api/module.js';
import { CompiledModuleImpl, type CompiledModule } from '../runtime/store/compiled-module.js';
import { RuntimeConfigImpl, type ModuleConfig, type RuntimeConfig } from '../runtime/store/config.js';
import { NULL_ELEMENT, type StateValue } from '../runtime/store/engine.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { MODULE_NAME, MODULE_NAME_UNSTABLE, newBuilder } from '../wasi/module.js';
import { CheckpointError } from './errors.js';
import { PAGE } from './model.js';
import { targetOf, type Target } from './target.js';

/** Options of {@link preinitialize}. */
export interface PreinitializeOptions {
  /** The export that initialises the module: a function `() → ()`. @defaultValue `'wizer.initialize'` */
  readonly init?: string;
  /** Keep the init export in the output (by default it is removed: its work is done). */
  readonly keepInitFunc?: boolean;
  /**
   * Exports to rename in the output, `{ dst: src }`: export `src` becomes `dst` (replacing any export
   * named `dst`), as Wizer's `--rename-func dst=src`.
   */
  readonly renameFuncs?: Readonly<Record<string, string>>;
  /**
   * Provide WASI (`wasi_snapshot_preview1` and `wasi_unstable`) to the initialisation. Without it a
   * module importing WASI is refused. The output keeps its imports.
   */
  readonly allowWasi?: boolean;
  /** The module configuration of the initialisation (args, env, stdio, mounts); its start functions are ignored. */
  readonly moduleConfig?: ModuleConfig;
  /** The runtime configuration (engine, features) of the initialisation and the check. @defaultValue `newRuntimeConfig()` */
  readonly runtimeConfig?: RuntimeConfig;
}

/** Data segments in the output at most (Wizer's limit): the closest ones are merged beyond it. */
export const MAX_DATA_SEGMENTS = 10_000;
/** Zero bytes between two non-zero runs that still make one data segment. */
export const MAX_DATA_GAP = 4;

const WASI_MODULES = new Set([MODULE_NAME, MODULE_NAME_UNSTABLE]);

/**
 * Pre-initialises a module: instantiates it (running its start section; WASI reactors' `_initialize`
 * first when exported, then removed from the output), calls its init export, and returns a new
 * module that starts in the state the initialisation left.
 *
 * Note: only the module's own state is captured: WASI state (open files, the environment a later
 * run gets) is not, as in Wizer. A `_start` export is kept: it runs C/C++ constructors again unless
 * renamed away (`renameFuncs: { _start: 'my_resume' }`).
 * @param bytes - the module binary.
 * @returns the pre-initialised module binary.
 * @throws CheckpointError `unsupported`: an import other than WASI functions (WASI without
 *   `allowWasi`), a missing or mistyped init export, a rename of a missing export, an externref or a
 *   function of another module left in a table or global. Errors of the initialisation itself (a
 *   trap, an exit) propagate with the init export named.
 */
export async function preinitialize(bytes: Uint8Array, options: PreinitializeOptions = {}): Promise<Uint8Array> {
  const initName = options.init ?? 'wizer.initialize';
  const rc = options.runtimeConfig ?? newRuntimeConfig();
  const r = newRuntimeWithConfig(rc);
  try {
    const compiled = await r.compileModule(bytes);
    const ir = irOf(compiled);
    checkImports(ir, options.allowWasi === true);
    if (usesWasi(ir)) await provideWasi(r);
    const config = (options.moduleConfig ?? newModuleConfig()).withName('').withStartFunctions();
    const mod = await r.instantiateModule(compiled, config);
    const initExport = ir.exports.find((e) => e.name === initName);
    if (initExport === undefined || initExport.kind !== 0) {
      throw new CheckpointError('unsupported', `preinitialize: the module has no function export "${initName}" to initialise it`);
    }
    const t = ir.types[ir.funcTypeIndexSpace[initExport.index]!]!;
    if (t.params.length !== 0 || t.results.length !== 0) {
      throw new CheckpointError('unsupported', `preinitialize: "${initName}" must take no params and return no results`);
    }
    const reactor = initName !== '_initialize' && ir.exports.some((e) => e.name === '_initialize' && e.kind === 0);
    if (reactor) call(mod, '_initialize');
    call(mod, initName);
    const target = targetOf(mod, 'preinitialize');
    const out = snapshotModule(target, {
      removeExports: new Set([...(options.keepInitFunc === true ? [] : [initName]), ...(reactor ? ['_initialize'] : [])]),
      renames: options.renameFuncs ?? {},
    });
    const features = rc instanceof RuntimeConfigImpl ? rc.data.features : undefined;
    await check(out, target, options, features);
    return out;
  } finally {
    await r.close();
  }
}

/** The decoded module of a compiled one. */
function irOf(compiled: CompiledModule): IrModule {
  if (!(compiled instanceof CompiledModuleImpl) || compiled.body.kind !== 'wasm')
    throw new Error('internal error: not a compiled wasm module');
  return compiled.body.ir;
}

function usesWasi(ir: IrModule): boolean {
  return ir.imports.some((i) => WASI_MODULES.has(i.module));
}

/** Only WASI functions can be provided to the initialisation (as Wizer). */
function checkImports(ir: IrModule, allowWasi: boolean): void {
  for (const imp of ir.imports) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.desc.kind === 0 && WASI_MODULES.has(imp.module)) {
      if (!allowWasi) {
        throw new CheckpointError(
          'unsupported',
          `preinitialize: the module imports ${name}: pass allowWasi (--allow-wasi) to initialise it with WASI`,
        );
      }
      continue;
    }
    throw new CheckpointError(
      'unsupported',
      `preinitialize: the module imports ${name}: only WASI functions can be provided to the initialisation`,
    );
  }
}

async function provideWasi(r: Runtime): Promise<void> {
  await newBuilder(r, MODULE_NAME).instantiate();
  await newBuilder(r, MODULE_NAME_UNSTABLE).instantiate();
}

function call(mod: Module, name: string): void {
  try {
    mod.exportedFunction(name)!.call();
  } catch (e) {
    throw new Error(`preinitialize: ${name} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

interface SnapshotOptions {
  readonly removeExports: ReadonlySet<string>;
  readonly renames: Readonly<Record<string, string>>;
}

/** What the code section uses of element and data indices and `ref.func`. */
interface CodeUses {
  readonly elemIndices: boolean;
  readonly refFunc: boolean;
}

function codeUses(ir: IrModule): CodeUses {
  let elemIndices = false;
  let refFunc = false;
  const op = new Int32Array(1);
  for (const b of ir.codes) {
    let p = b.codeStart;
    while (p < b.codeEnd) {
      p = nextInstr(ir.bytes, p, op);
      const c = op[0]!;
      if (c === CODE_FC + 0x0c || c === CODE_FC + 0x0d) elemIndices = true;
      else if (c === Op.RefFunc) refFunc = true;
    }
  }
  return { elemIndices, refFunc };
}

const constOf = (instr: ConstExpr['instrs'][number]): ConstExpr => ({ instrs: [instr], offset: -1 });

/** A global's value as its new initial value. */
function initOf(v: StateValue, type: number, where: string): ConstExpr {
  switch (v.kind) {
    case 'bits':
      switch (type) {
        case I32:
          return constOf({ op: 'i32.const', value: Number(BigInt.asIntN(32, v.lo)) });
        case I64:
          return constOf({ op: 'i64.const', value: BigInt.asIntN(64, v.lo) });
        case F32:
          return constOf({ op: 'f32.const', bits: Number(v.lo & 0xffffffffn) });
        case F64:
          return constOf({ op: 'f64.const', bits: v.lo });
        case V128: {
          const bytes = new Uint8Array(16);
          const dv = new DataView(bytes.buffer);
          dv.setBigUint64(0, v.lo, true);
          dv.setBigUint64(8, v.hi, true);
          return constOf({ op: 'v128.const', bytes });
        }
        default:
          throw new Error(`internal error: ${where} of type 0x${type.toString(16)} holds bits`);
      }
    case 'null':
      return constOf({ op: 'ref.null', refType: type });
    case 'func':
      return constOf({ op: 'ref.func', funcIndex: v.index });
    case 'raw':
      throw new CheckpointError(
        'unsupported',
        `preinitialize: ${where} holds ${type === EXTERNREF ? 'a host externref' : 'a function of another module'}, which a module cannot hold`,
      );
  }
}

/**
 * The data segments of a memory's non-zero bytes: runs of non-zero bytes, gaps of at most
 * {@link MAX_DATA_GAP} zero bytes merged, then the smallest gaps merged (the earliest first among
 * equal ones) until at most {@link MAX_DATA_SEGMENTS} remain. In address order.
 */
export function dataRuns(u8: Uint8Array): Array<[start: number, end: number]> {
  const runs: Array<[number, number]> = [];
  const zero = new Uint8Array(PAGE);
  for (let page = 0; page * PAGE < u8.length; page++) {
    const from = page * PAGE;
    const to = Math.min(u8.length, from + PAGE);
    if (Buffer.compare(u8.subarray(from, to), zero.subarray(0, to - from)) === 0) continue;
    for (let i = from; i < to; i++) {
      if (u8[i] === 0) continue;
      let j = i + 1;
      while (j < to && u8[j] !== 0) j++;
      const last = runs[runs.length - 1];
      if (last !== undefined && i - last[1] <= MAX_DATA_GAP) last[1] = j;
      else runs.push([i, j]);
      i = j;
    }
  }
  if (runs.length <= MAX_DATA_SEGMENTS) return runs;
  // Merge the smallest gaps: gap k lies between run k and run k + 1.
  const gaps = runs.slice(1).map((r, k) => ({ k, size: r[0] - runs[k]![1] }));
  gaps.sort((a, b) => a.size - b.size || a.k - b.k);
  const merge = new Uint8Array(runs.length);
  for (let x = 0; x < runs.length - MAX_DATA_SEGMENTS; x++) merge[gaps[x]!.k] = 1;
  const out: Array<[number, number]> = [];
  for (let k = 0; k < runs.length; k++) {
    if (k > 0 && merge[k - 1] === 1) out[out.length - 1]![1] = runs[k]![1];
    else out.push([runs[k]![0], runs[k]![1]]);
  }
  return out;
}

/** The module `t` was instantiated from, rewritten to start in `t`'s current state. */
function snapshotModule(t: Target, o: SnapshotOptions): Uint8Array {
  const ir = t.ir;
  const state = t.state;
  const uses = codeUses(ir);

  // Globals: their current values as initial values.
  const globals = ir.globals.map((g, i) => {
    const index = ir.numImportedGlobals + i;
    return { ...g, init: initOf(state.global(index), g.type.valType, `global ${index}`) };
  });

  // Memories: the current size; the non-zero bytes as active data segments.
  const memories = ir.memories.map((m, i) => ({ limits: { ...m.limits, min: t.memories[ir.numImportedMemories + i]!.api.pages() } }));
  const datas: DataSegment[] = [];
  // A module with a data count section may name data segments in code: keep their indices (a
  // dropped or active segment becomes an empty passive one, which behaves as a dropped one).
  if (ir.dataCount !== undefined) {
    ir.datas.forEach((d, i) => datas.push(d.mode === 'passive' && !state.isDropped('data', i) ? d : emptyData()));
  }
  ir.memories.forEach((_, i) => {
    const index = ir.numImportedMemories + i;
    const u8 = t.memories[index]!.api.u8;
    for (const [start, end] of dataRuns(u8)) {
      datas.push({
        mode: 'active',
        memoryIndex: index,
        offsetExpr: constOf({ op: 'i32.const', value: start | 0 }),
        init: u8.slice(start, end),
        offset: -1,
      });
    }
  });

  // Tables: the current size; runs of non-null elements as active element segments.
  const tables = ir.tables.map((tt, i) => ({ ...tt, limits: { ...tt.limits, min: t.tables[ir.numImportedTables + i]!.table.size() } }));
  const elements: ElementSegment[] = [];
  if (uses.elemIndices) {
    ir.elements.forEach((e, i) => elements.push(e.mode === 'passive' && !state.isDropped('elem', i) ? e : emptyElems(e.elemType)));
  } else {
    for (const e of ir.elements) if (e.mode === 'declarative') elements.push(e);
  }
  if (uses.refFunc) {
    // `ref.func` in code needs its function declared: every function the original declared.
    const exported = new Set(ir.exports.filter((e) => e.kind === 0).map((e) => e.index));
    const declared = [...declaredFunctionRefs(ir)].filter((f) => !exported.has(f)).sort((a, b) => a - b);
    if (declared.length > 0) {
      elements.push({
        mode: 'declarative',
        tableIndex: 0,
        offsetExpr: undefined,
        elemType: FUNCREF,
        init: declared.map((f) => constOf({ op: 'ref.func', funcIndex: f })),
        offset: -1,
      });
    }
  }
  ir.tables.forEach((tt, i) => {
    const index = ir.numImportedTables + i;
    const e = state.readTable(index);
    const f = e.funcs;
    for (let k = 0; k < f.length; k++) {
      if (f[k] === NULL_ELEMENT) continue;
      if (f[k]! < 0 || tt.elemType !== FUNCREF) {
        throw new CheckpointError(
          'unsupported',
          `preinitialize: table ${index} element ${k} holds ${tt.elemType === EXTERNREF ? 'a host externref' : 'a function of another module'}, which a module cannot hold`,
        );
      }
      let end = k + 1;
      while (end < f.length && f[end]! >= 0) end++;
      const init: ConstExpr[] = [];
      for (let x = k; x < end; x++) init.push(constOf({ op: 'ref.func', funcIndex: f[x]! }));
      elements.push({
        mode: 'active',
        tableIndex: index,
        offsetExpr: constOf({ op: 'i32.const', value: k }),
        elemType: FUNCREF,
        init,
        offset: -1,
      });
      k = end - 1;
    }
  });

  const exports = renameExports(
    ir.exports.filter((e) => !o.removeExports.has(e.name)),
    o.renames,
  );
  const out = encodeModule(
    {
      ...ir,
      globals,
      memories,
      tables,
      datas,
      dataCount: ir.dataCount === undefined ? undefined : datas.length,
      elements,
      exports,
      startFunction: undefined,
    },
    ir,
  );
  return out.bytes;
}

function emptyData(): DataSegment {
  return { mode: 'passive', memoryIndex: 0, offsetExpr: undefined, init: new Uint8Array(0), offset: -1 };
}

function emptyElems(elemType: number): ElementSegment {
  return { mode: 'passive', tableIndex: 0, offsetExpr: undefined, elemType, init: [], offset: -1 };
}

/** `exports` with `{ dst: src }` renames applied (an export named `dst` is replaced). */
function renameExports(exports: readonly Export[], renames: Readonly<Record<string, string>>): Export[] {
  let out = [...exports];
  for (const [dst, src] of Object.entries(renames)) {
    const e = out.find((x) => x.name === src);
    if (e === undefined)
      throw new CheckpointError('unsupported', `preinitialize: cannot rename "${src}" to "${dst}": the module has no export "${src}"`);
    out = out.filter((x) => x.name !== dst && x !== e);
    out.push({ ...e, name: dst });
  }
  return out;
}

/**
 * Validates `out` with our validator, instantiates it (without start functions) and compares its
 * memories, globals and tables with the live instance's.
 * @throws Error (an internal error) when they differ.
 */
async function check(out: Uint8Array, live: Target, options: PreinitializeOptions, features: number | undefined): Promise<void> {
  const f = features ?? (newRuntimeConfig() as RuntimeConfigImpl).data.features;
  validateModule(decodeModule(out, f), f);
  const r = newRuntimeWithConfig(options.runtimeConfig ?? newRuntimeConfig());
  try {
    const compiled = await r.compileModule(out);
    if (usesWasi(irOf(compiled))) await provideWasi(r);
    const fresh = targetOf(await r.instantiateModule(compiled, newModuleConfig().withName('').withStartFunctions()), 'preinitialize');
    const differs = (what: string): never => {
      throw new Error(`internal error: preinitialize: the output's ${what} differs from the initialised instance's`);
    };
    live.memories.forEach((m, i) => {
      if (Buffer.compare(m.api.u8, fresh.memories[i]!.api.u8) !== 0) differs(`memory ${i}`);
    });
    live.ir.globals.forEach((_, k) => {
      const i = live.ir.numImportedGlobals + k;
      if (JSON.stringify(live.state.global(i), bigints) !== JSON.stringify(fresh.state.global(i), bigints)) differs(`global ${i}`);
    });
    live.ir.tables.forEach((_, k) => {
      const i = live.ir.numImportedTables + k;
      const a = live.state.readTable(i).funcs;
      const b = fresh.state.readTable(i).funcs;
      if (a.length !== b.length || a.some((x, j) => x !== b[j])) differs(`table ${i}`);
    });
  } finally {
    await r.close();
  }
}

function bigints(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
