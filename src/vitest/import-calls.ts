/**
 * Which imports a guest called: a listener on host functions records each call (natural args,
 * result or error, and the guest's stack at the call) under the calling module, for
 * `toHaveCalledImport`. Host modules compiled with {@link withImportTracking}'s context are tracked;
 * mocks from `mockImports` always are.
 */
import type { Context } from '../runtime/api/context.js';
import {
  getFunctionListenerFactory,
  multiFunctionListenerFactory,
  withFunctionListenerFactory,
  type FunctionListener,
  type FunctionListenerFactory,
  type StackIterator,
} from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import type { Module as IrModule } from '../runtime/binary/module.js';
import { formatFrameSignature } from '../runtime/store/definition.js';
import { dwarfOf } from '../runtime/store/trace.js';
import { frameSourceLines } from '../runtime/dwarf/index.js';
import { naturalParams } from '../wazerotest/values.js';

/** One call of an import by a guest. */
export interface ImportCall {
  /** `module.name` of the import, e.g. `env.log`. */
  readonly import: string;
  /** The params as natural values (i32 → number, i64 → bigint, …). */
  readonly args: readonly unknown[];
  /** How it ended. */
  readonly outcome:
    | {
        /** The import returned. */
        readonly kind: 'returned';
        /** Its natural result (an array for several). */
        readonly value: unknown;
      }
    | {
        /** The import threw. */
        readonly kind: 'threw';
        /** What it threw. */
        readonly error: unknown;
      };
  /** The guest's stack at the call, innermost first (`module.function(params) results`, with DWARF lines when known). */
  readonly stack: readonly string[];
}

const callsByModule = new WeakMap<Module, ImportCall[]>();
const irByModule = new WeakMap<Module, IrModule>();
/** Past this many calls per module, older ones are dropped (a guest looping over an import must not exhaust memory). */
const MAX_CALLS = 100_000;

/** The import calls recorded for `mod`, oldest first (empty when none). */
export function importCallsOf(mod: Module): readonly ImportCall[] {
  return callsByModule.get(mod) ?? [];
}

/** Whether any import call tracking saw `mod`. */
export function isTracked(mod: Module): boolean {
  return callsByModule.has(mod);
}

/** Forgets the import calls recorded for `mod`. */
export function clearImportCalls(mod: Module): void {
  callsByModule.get(mod)?.splice(0);
}

/** Starts tracking `mod` (so "no calls" can be told from "not tracked"). */
export function trackModule(mod: Module, ir?: IrModule): void {
  if (!callsByModule.has(mod)) callsByModule.set(mod, []);
  if (ir !== undefined) irByModule.set(mod, ir);
}

/** The module being instantiated (its start function runs before the instance is known). */
let instantiating: IrModule | undefined;

/** Runs `fn` (an instantiation of `ir`) so that import calls of its start function get DWARF lines. */
export async function whileInstantiating<T>(ir: IrModule | undefined, fn: () => Promise<T>): Promise<T> {
  const prev = instantiating;
  instantiating = ir;
  try {
    return await fn();
  } finally {
    instantiating = prev;
  }
}

function captureStack(caller: Module, it: StackIterator): string[] {
  const ir = irByModule.get(caller) ?? instantiating;
  const irName = ir?.names?.moduleName ?? '';
  const dwarf = ir === undefined ? undefined : dwarfOf(ir);
  const out: string[] = [];
  let first = true;
  while (it.next()) {
    const fn = it.function();
    const def = fn.definition();
    // The first frame is the import itself.
    if (first) {
      first = false;
      continue;
    }
    out.push(formatFrameSignature(def));
    if (dwarf !== undefined && def.hostFunction() === undefined && def.moduleName() === irName) {
      out.push(...frameSourceLines(dwarf, fn.sourceOffsetForPC(it.programCounter())).map((l) => `\t${l}`));
    }
    if (out.length > 60) break;
  }
  return out;
}

interface Open {
  readonly list: ImportCall[];
  readonly import: string;
  readonly args: unknown[];
  readonly stack: string[];
}

class TrackingListener implements FunctionListener {
  readonly #name: string;
  readonly #results: readonly number[];
  readonly #params: readonly number[];
  readonly #open: Open[] = [];
  constructor(def: FunctionDefinition) {
    this.#name = `${def.moduleName()}.${def.exportNames()[0] ?? def.name()}`;
    this.#params = def.paramTypes();
    this.#results = def.resultTypes();
  }
  before(_ctx: Context, mod: Module, _def: FunctionDefinition, params: BigUint64Array, stack: StackIterator): void {
    let list = callsByModule.get(mod);
    if (list === undefined) {
      list = [];
      callsByModule.set(mod, list);
    }
    this.#open.push({ list, import: this.#name, args: naturalParams(this.#params, params), stack: captureStack(mod, stack) });
  }
  #close(outcome: ImportCall['outcome']): void {
    const o = this.#open.pop();
    if (o === undefined) return;
    if (o.list.length >= MAX_CALLS) o.list.shift();
    o.list.push({ import: o.import, args: o.args, outcome, stack: o.stack });
  }
  after(_ctx: Context, _mod: Module, _def: FunctionDefinition, results: BigUint64Array): void {
    const values = naturalParams(this.#results, results);
    this.#close({ kind: 'returned', value: values.length === 0 ? undefined : values.length === 1 ? values[0] : values });
  }
  abort(_ctx: Context, _mod: Module, _def: FunctionDefinition, err: unknown): void {
    this.#close({ kind: 'threw', error: err });
  }
}

const tracking: FunctionListenerFactory = {
  newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
    return def.hostFunction() === undefined ? undefined : new TrackingListener(def);
  },
};

/**
 * A context whose host modules (compiled with it) record every call under the calling module, for
 * `toHaveCalledImport`. Guest functions compiled with it are not listened. A listener factory already
 * on `ctx` keeps working; a context that already tracks is returned as is.
 */
export function withImportTracking(ctx: Context): Context {
  if (ctx.value(trackingKey) === true) return ctx;
  const existing = getFunctionListenerFactory(ctx);
  const next = withFunctionListenerFactory(ctx, existing === undefined ? tracking : multiFunctionListenerFactory(existing, tracking));
  return next.withValue(trackingKey, true);
}

const trackingKey = Symbol('wasmscope.importTracking');
