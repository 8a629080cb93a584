/**
 * Which WebAssembly 3.0 features the running V8 compiles (without flags), probed once per process
 * with tiny modules, and the clear refusal when a module needs one it lacks. Node 24's V8 has them
 * all; Node 20's has only the legacy exception-handling encoding (no exnref/try_table, multiple
 * memories, 64-bit memories, extended constants nor relaxed SIMD). The interpreter runs everything
 * on every Node version.
 */
import { nextInstr } from '../runtime/binary/instr.js';
import type { ConstExpr, Module } from '../runtime/binary/module.js';
import { CODE_FD_HI } from '../runtime/binary/opcodes.js';

/** The features the probes tell apart. */
export interface V8Features {
  /** `try_table`, `throw_ref`, `exnref` (the final exception-handling encoding). */
  readonly exnref: boolean;
  /** `try`/`catch`/`delegate`/`rethrow` (the legacy encoding). */
  readonly legacyExceptions: boolean;
  readonly multiMemory: boolean;
  readonly memory64: boolean;
  readonly extendedConst: boolean;
  readonly relaxedSimd: boolean;
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/** A type section with `() → ()` and a function section with one function of it. */
const ONE_FUNC = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00];

function accepts(bytes: number[]): boolean {
  try {
    return WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}

/** A module whose one function has body `body` (locals included). */
function withBody(body: number[], types: number[] = ONE_FUNC): number[] {
  return [...HEADER, ...types, 0x0a, body.length + 2, 0x01, body.length, ...body];
}

let probed: V8Features | undefined;

/** What the running V8 compiles (probed on first use). */
export function v8Features(): V8Features {
  probed ??= {
    // block (try_table (catch_all 0) end) end
    exnref: accepts(withBody([0x00, 0x02, 0x40, 0x1f, 0x40, 0x01, 0x02, 0x00, 0x0b, 0x0b, 0x0b])),
    // try catch_all end
    legacyExceptions: accepts(withBody([0x00, 0x06, 0x40, 0x19, 0x0b, 0x0b])),
    multiMemory: accepts([...HEADER, 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00]),
    memory64: accepts([...HEADER, 0x05, 0x03, 0x01, 0x04, 0x00]),
    // (global i32 (i32.add (i32.const 1) (i32.const 2)))
    extendedConst: accepts([...HEADER, 0x06, 0x09, 0x01, 0x7f, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b]),
    // (func (result v128) (i8x16.relaxed_swizzle (v128.const 0) (v128.const 0)))
    relaxedSimd: accepts(
      withBody(
        [0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0xfd, 0x80, 0x02, 0x0b],
        [0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00],
      ),
    ),
  };
  return probed;
}

/** The refusal of a module that needs `feature`, which the running V8 lacks. */
export function unsupportedFeature(feature: string): Error {
  return new Error(
    `not supported: ${feature} on the compiler engine: this Node (${process.version}, V8 ${process.versions.v8}) ` +
      'cannot compile it without flags; use Node >= 24, or the interpreter (newRuntimeConfigInterpreter())',
  );
}

function extended(e: ConstExpr | undefined): boolean {
  return e !== undefined && e.instrs.length > 1;
}

/**
 * The first feature `m` needs that V8 lacks, found in its types, limits and constant expressions
 * (no function body is walked: compile latency). Undefined when none is.
 */
export function unsupportedByModule(m: Module, v8: V8Features = v8Features()): string | undefined {
  if (!v8.multiMemory && m.memorySpace.length > 1) return 'multiple memories (multi-memory)';
  if (!v8.memory64 && (m.memorySpace.some((x) => x.limits.is64 === true) || m.tableSpace.some((t) => t.limits.is64 === true))) {
    return '64-bit memories and tables (memory64)';
  }
  if (!v8.extendedConst) {
    const all = [
      ...m.globals.map((g) => g.init),
      ...m.elements.flatMap((e) => [e.offsetExpr, ...e.init]),
      ...m.datas.map((d) => d.offsetExpr),
    ];
    if (all.some(extended)) return 'extended constant expressions (extended-const)';
    // WebAssembly 3.0 lets constant expressions read the module's own globals; older V8s only imported ones.
    const own = (e: ConstExpr | undefined): boolean =>
      e !== undefined && e.instrs.some((i) => i.op === 'global.get' && i.globalIndex >= m.numImportedGlobals);
    if (all.some(own)) return "constant expressions reading the module's own globals (WebAssembly 3.0)";
  }
  if (!v8.exnref) {
    const exnref = (t: number): boolean => t === 0x69;
    const uses =
      m.types.some((t) => t.params.some(exnref) || t.results.some(exnref)) ||
      m.globalSpace.some((g) => exnref(g.valType)) ||
      m.tableSpace.some((t) => exnref(t.elemType)) ||
      m.codes.some((c) => c.locals.some((g) => exnref(g.type)));
    if (uses) return 'exnref (exception handling)';
  }
  if (!v8.legacyExceptions && m.tagSpace.length > 0) return 'exception handling';
  return undefined;
}

const op = new Int32Array(1);

/**
 * The first feature the bodies of `m` need that V8 lacks (`try_table`/`throw_ref`, relaxed SIMD):
 * walks every body, so it runs only once V8 rejected the module.
 */
export function unsupportedByCode(m: Module, v8: V8Features = v8Features()): string | undefined {
  if (v8.exnref && v8.relaxedSimd) return undefined;
  const b = m.bytes;
  for (const body of m.codes) {
    for (let p = body.codeStart; p < body.codeEnd;) {
      p = nextInstr(b, p, op);
      const code = op[0]!;
      if (!v8.exnref && (code === 0x1f || code === 0x0a)) return 'try_table and throw_ref (exception handling with exnref)';
      if (!v8.relaxedSimd && code >= CODE_FD_HI) return 'relaxed SIMD';
    }
  }
  return undefined;
}
