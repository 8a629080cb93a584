/**
 * Call trees for snapshots: a listener on every function compiled with {@link withCallTrace}'s
 * context builds, per module, the tree of calls made into it (guest functions by name, else by
 * export name, else `$index`; host functions as `module.name`; params and results as natural values). The text has no timings, no
 * program counters and no reference handles, so it is the same on both engines.
 */
import type { Context } from '../runtime/api/context.js';
import { WasmRuntimeError } from '../runtime/api/errors.js';
import {
  getFunctionListenerFactory,
  multiFunctionListenerFactory,
  withFunctionListenerFactory,
  type FunctionListener,
  type FunctionListenerFactory,
} from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { formatSlots } from '../replay/format.js';

/** Options of {@link withCallTrace}. */
export interface CallTraceOptions {
  /** Calls kept per module; later ones are counted, not kept. @defaultValue 10000 */
  readonly maxCalls?: number;
  /** Which functions appear. @defaultValue every function */
  readonly functions?: (def: FunctionDefinition) => boolean;
}

interface Node {
  readonly label: string;
  readonly params: string;
  end: string;
  readonly children: Node[];
}

interface Trace {
  readonly roots: Node[];
  kept: number;
  dropped: number;
}

const traces = new WeakMap<Module, Trace>();

function labelOf(def: FunctionDefinition): string {
  if (def.hostFunction() !== undefined) return `${def.moduleName()}.${def.exportNames()[0] ?? def.name()}`;
  if (def.name() !== '') return def.name();
  return def.exportNames()[0] ?? `$${def.index()}`;
}

function errorLine(err: unknown): string {
  if (err instanceof WasmRuntimeError) return `wasm error: ${err.trap}`;
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? '';
}

class Tracer {
  readonly maxCalls: number;
  /** Open calls, innermost last; `undefined` marks a call that is counted but not kept. */
  readonly stack: Array<Node | undefined> = [];
  current: Trace | undefined;
  constructor(maxCalls: number) {
    this.maxCalls = maxCalls;
  }
  enter(mod: Module, def: FunctionDefinition, params: BigUint64Array): void {
    if (this.stack.length === 0) {
      let t = traces.get(mod);
      if (t === undefined) {
        t = { roots: [], kept: 0, dropped: 0 };
        traces.set(mod, t);
      }
      this.current = t;
    }
    const t = this.current!;
    if (t.kept >= this.maxCalls) {
      t.dropped++;
      this.stack.push(undefined);
      return;
    }
    t.kept++;
    const node: Node = { label: labelOf(def), params: formatSlots(def.paramTypes(), Array.from(params)), end: '', children: [] };
    const parent = this.stack[this.stack.length - 1];
    if (this.stack.length === 0) t.roots.push(node);
    else if (parent !== undefined) parent.children.push(node);
    this.stack.push(node);
  }
  leave(end: string): void {
    const n = this.stack.pop();
    if (n !== undefined) n.end = end;
  }
}

class TraceListener implements FunctionListener {
  constructor(readonly tracer: Tracer) {}
  before(_ctx: Context, mod: Module, def: FunctionDefinition, params: BigUint64Array): void {
    this.tracer.enter(mod, def, params);
  }
  after(_ctx: Context, _mod: Module, def: FunctionDefinition, results: BigUint64Array): void {
    const types = def.resultTypes();
    this.tracer.leave(types.length === 0 ? '' : ` → ${formatSlots(types, Array.from(results))}`);
  }
  abort(_ctx: Context, _mod: Module, _def: FunctionDefinition, err: unknown): void {
    this.tracer.leave(` ✗ ${errorLine(err)}`);
  }
}

/**
 * A context whose compiled modules (guests and host modules) record call trees for
 * `toMatchCallTrace`. A tree belongs to the module whose function was called from the host; calls
 * it makes into other modules and host functions nest inside it. A listener factory already on
 * `ctx` keeps working.
 */
export function withCallTrace(ctx: Context, options: CallTraceOptions = {}): Context {
  const tracer = new Tracer(options.maxCalls ?? 10_000);
  const pick = options.functions;
  const factory: FunctionListenerFactory = {
    newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
      return pick === undefined || pick(def) ? new TraceListener(tracer) : undefined;
    },
  };
  const existing = getFunctionListenerFactory(ctx);
  return withFunctionListenerFactory(ctx, existing === undefined ? factory : multiFunctionListenerFactory(existing, factory));
}

function render(n: Node, depth: number, out: string[]): void {
  out.push(`${'  '.repeat(depth)}${n.label}(${n.params})${n.end}`);
  for (const c of n.children) render(c, depth + 1, out);
}

/**
 * The call trace of `mod` as text, one call per line, callees indented under their callers:
 * `fib(5) → 5`, `env.log(3)`, `run() ✗ wasm error: unreachable`; undefined when `mod` was not
 * compiled with {@link withCallTrace}.
 */
export function callTraceOf(mod: Module): string | undefined {
  const t = traces.get(mod);
  if (t === undefined) return undefined;
  const out: string[] = [];
  for (const r of t.roots) render(r, 0, out);
  if (t.dropped > 0) out.push(`… ${t.dropped} more calls not kept`);
  return out.join('\n');
}

/** Marks `mod` as traced before any call (so an empty trace is told from no tracing). */
export function markTraced(mod: Module): void {
  if (!traces.has(mod)) traces.set(mod, { roots: [], kept: 0, dropped: 0 });
}

/** Forgets the call trace recorded so far for `mod` (later calls are still traced). */
export function clearCallTrace(mod: Module): void {
  const t = traces.get(mod);
  if (t === undefined) return;
  t.roots.length = 0;
  t.kept = 0;
  t.dropped = 0;
}
