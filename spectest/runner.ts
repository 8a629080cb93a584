/**
 * The WebAssembly core spec-test runner: executes wast2json output (`<suite>/<name>.json` plus its
 * `.wasm` modules) against wasmscope through its public API only, the way wazero's
 * `internal/integration_test/spectest` does (see reference/wazero-behaviour.md §8).
 *
 * One runner for every way a suite runs ({@link RunOptions}): on either engine, plainly or with
 * instrumentation that must not change a single result — `listenAll` (every function listened by a
 * listener that checks the calls nest and balance) and `interrupts` (`withCloseOnContextDone(true)`
 * and a far deadline on every call, so the engines' interrupt checks run).
 *
 * Deliberate differences from wazero's runner:
 *
 * - `assert_invalid` and binary `assert_malformed` must be rejected by `compileModule` with a
 *   `CompileError` (wazero accepts any failure, even at instantiation).
 * - `assert_unlinkable` and `assert_uninstantiable` must compile, then fail `instantiateModule`; the
 *   import cases (`unknown import`, `incompatible import type`) must fail with a `LinkError`.
 * - `assert_uninstantiable` must fail for every text, `out of bounds table access` included (WebAssembly
 *   2.0 semantics; wazero expects that one to succeed). When the failure carries a trap it must match.
 * - An error that is a JS engine fault (`TypeError`, `RangeError`, …) never counts as the expected failure.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  CompileError,
  Context,
  LinkError,
  WasmException,
  WasmRuntimeError,
  newModuleConfig,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
} from '../src/index.js';
import type { CompiledModule, Runtime, RuntimeConfig } from '../src/index.js';
import { CoreFeaturesTailCall, CoreFeaturesThreads, CoreFeaturesV1, CoreFeaturesV2 } from '../src/api.js';
import type { CoreFeatures, FunctionDefinition, Module } from '../src/api.js';
import {
  CoreFeaturesExceptionHandling,
  CoreFeaturesExtendedConst,
  CoreFeaturesMemory64,
  CoreFeaturesMultiMemory,
  CoreFeaturesRelaxedSIMD,
  functionListenerFactoryFunc,
  withFunctionListenerFactory,
  type FunctionListener,
} from '../src/experimental.js';
import { argsToSlots, formatArgs, matchEither, matchResults, trapMatches } from './values.js';
import type { SpecValue } from './values.js';
import { ALL_SUITES, SPECTEST_DIR, type SuiteName } from '../test/paths.js';

/** The engines a suite can run on. */
export type EngineName = 'interpreter' | 'compiler';
export const ENGINES: readonly EngineName[] = ['interpreter', 'compiler'];

/** The suites, as directories of the spec-test tree (listed once, in test/paths.ts). */
export type { SuiteName } from '../test/paths.js';
export { V3_SUITES } from '../test/paths.js';
export const SUITES: readonly SuiteName[] = ALL_SUITES;

/** The core features each suite runs with: 2.0 plus the feature under test for the 3.0 suites. */
export function suiteFeatures(suite: SuiteName): CoreFeatures {
  switch (suite) {
    case 'v1':
      return CoreFeaturesV1;
    case 'v2':
      return CoreFeaturesV2;
    case 'threads':
      return CoreFeaturesV2 | CoreFeaturesThreads;
    case 'tail-call':
      return CoreFeaturesV2 | CoreFeaturesTailCall;
    case 'exceptions':
    case 'exceptions-legacy':
      // try_table.wast throws across return_call.
      return CoreFeaturesV2 | CoreFeaturesExceptionHandling | CoreFeaturesTailCall;
    case 'extended-const':
      return CoreFeaturesV2 | CoreFeaturesExtendedConst;
    case 'memory64':
      return CoreFeaturesV2 | CoreFeaturesMemory64;
    case 'multi-memory':
      return CoreFeaturesV2 | CoreFeaturesMultiMemory;
    case 'relaxed-simd':
      return CoreFeaturesV2 | CoreFeaturesRelaxedSIMD;
  }
}

/**
 * The `spectest` host module a suite links against: `spectest-v3.wasm` (spectest plus an i64 table)
 * for memory64, `spectest.wasm` for the others.
 */
export function spectestModuleFile(suite: SuiteName): string {
  return suite === 'memory64' ? 'spectest-v3.wasm' : 'spectest.wasm';
}

/** Where the suite lives: `$WASMSCOPE_SPECTEST_DIR`, else `../shared/spectest` beside the repo. */
export function defaultSpecTestDir(): string {
  return SPECTEST_DIR;
}

/** How to obtain the suite, for skip messages. */
export const HOW_TO_GET_SUITE =
  "run the official WebAssembly/testsuite .wast files through wabt's wast2json and lay the output out as " +
  '<dir>/v1/, <dir>/v2/, <dir>/threads/, <dir>/tail-call/ (json + wasm) plus <dir>/spectest.wasm (the ' +
  '`spectest` host module, spectest/README.md), then set WASMSCOPE_SPECTEST_DIR=<dir>';

/** Whether `dir` holds a usable suite (at least spectest.wasm and one suite directory). */
export function specTestDirPresent(dir: string): boolean {
  return existsSync(join(dir, 'spectest.wasm')) && SUITES.some((s) => existsSync(join(dir, s)));
}

interface Action {
  readonly type: 'invoke' | 'get';
  readonly module?: string;
  readonly field: string;
  readonly args?: readonly SpecValue[];
}

interface Command {
  readonly type: string;
  readonly line: number;
  readonly name?: string;
  readonly filename?: string;
  readonly as?: string;
  readonly action?: Action;
  readonly expected?: readonly SpecValue[];
  /** Alternatives for the one result (relaxed SIMD): any of them passes. */
  readonly either?: readonly SpecValue[];
  readonly text?: string;
  readonly module_type?: 'binary' | 'text';
}

/** The outcome of one command. */
export interface CommandOutcome {
  /** `<engine>/<suite>/<file>.json:<line>`, with `#n` appended for the n-th (n ≥ 2) command on one line. */
  readonly key: string;
  readonly file: string;
  readonly line: number;
  readonly kind: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  /** Why it failed: what was run, expected and got. */
  readonly message?: string;
}

/** Counts of command outcomes. */
export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/** What the nesting-checking listener of a `listenAll` run saw. */
export interface ListenerCheck {
  /** `before` calls. */
  befores: number;
  /** `after` and `abort` calls: equal to `befores` when every call was closed exactly once. */
  ends: number;
  /** Calls closed out of order, and frames left open at the end of a file (the first few). */
  readonly misnested: string[];
}

/** Everything one engine × suite run produced. */
export interface SuiteReport {
  readonly engine: EngineName;
  readonly suite: SuiteName;
  readonly listenAll: boolean;
  readonly interrupts: boolean;
  /** The listener's findings (`listenAll` runs only). */
  readonly listening?: ListenerCheck;
  readonly total: Tally;
  readonly byKind: Map<string, Tally>;
  readonly outcomes: CommandOutcome[];
  /** Milliseconds per json file. */
  readonly fileTimes: Map<string, number>;
  readonly durationMs: number;
}

/** How to run: {@link runSuite} and {@link runFile}. */
export interface RunOptions {
  readonly engine: EngineName;
  /**
   * Listen every function (wasm and host) with a listener that checks nesting: each `after` or
   * `abort` closes the innermost open `before`, and no frame is left open at the end of a file.
   * Its findings are {@link SuiteReport.listening}. Default false.
   */
  readonly listenAll?: boolean;
  /**
   * Run with `withCloseOnContextDone(true)` and a deadline (the file budget) on every compile,
   * instantiation and call, so the engines' interrupt checks at function entries and loop heads run.
   * The deadline also ends a runaway guest loop (an engine bug) instead of hanging the run; a plain
   * run has neither. Default false.
   */
  readonly interrupts?: boolean;
  /** The spec-test root; default {@link defaultSpecTestDir}. */
  readonly dir?: string;
  /** Only these json files (basenames, `.json` optional). */
  readonly files?: readonly string[];
  /** With `interrupts`: each file's deadline in ms. Default 120000. */
  readonly fileBudgetMs?: number;
  /** Called after each command (e.g. for progress output). */
  readonly onOutcome?: (o: CommandOutcome) => void;
}

/** A fresh, zeroed {@link Tally}. */
export function newTally(): Tally {
  return { passed: 0, failed: 0, skipped: 0 };
}

function isNotSupported(e: unknown): boolean {
  return e instanceof Error && /not supported/i.test(e.message);
}

/** The runtime config for an engine, or the `not supported` error that creating it threw. */
export function engineConfig(engine: EngineName): RuntimeConfig {
  return engine === 'interpreter' ? newRuntimeConfigInterpreter() : newRuntimeConfigCompiler();
}

/**
 * Whether `engine` can run at all: its config can be made and it compiles `spectest.wasm`. Returns
 * undefined when usable, otherwise the `not supported` reason. Any other failure counts as usable, so
 * that it shows up as failing commands rather than being hidden.
 */
export async function engineUnavailableReason(engine: EngineName, dir = defaultSpecTestDir()): Promise<string | undefined> {
  let rt: Runtime | undefined;
  try {
    rt = newRuntimeWithConfig(engineConfig(engine).withCoreFeatures(CoreFeaturesV2));
    await rt.compileModule(readFileSync(join(dir, 'spectest.wasm')));
    return undefined;
  } catch (e) {
    return isNotSupported(e) ? (e as Error).message : undefined;
  } finally {
    await rt?.close().catch(() => undefined);
  }
}

/** A module using the feature of each 3.0 suite (compiled to see whether an engine can run the suite). */
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
function withBody(body: number[], types = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00]): number[] {
  return [...HEADER, ...types, 0x03, 0x02, 0x01, 0x00, 0x0a, body.length + 2, 0x01, body.length, ...body];
}
const FEATURE_PROBES: Partial<Record<SuiteName, number[]>> = {
  // block (try_table (catch_all 0)) end
  exceptions: withBody([0x00, 0x02, 0x40, 0x1f, 0x40, 0x01, 0x02, 0x00, 0x0b, 0x0b, 0x0b]),
  // try catch_all end
  'exceptions-legacy': withBody([0x00, 0x06, 0x40, 0x19, 0x0b, 0x0b]),
  // (global i32 (i32.add (i32.const 1) (i32.const 2)))
  'extended-const': [...HEADER, 0x06, 0x09, 0x01, 0x7f, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b],
  // (memory i64 0)
  memory64: [...HEADER, 0x05, 0x03, 0x01, 0x04, 0x00],
  // (memory 0) (memory 0)
  'multi-memory': [...HEADER, 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00],
  // (func (result v128) (i8x16.relaxed_swizzle (v128.const 0) (v128.const 0)))
  'relaxed-simd': withBody(
    [0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0xfd, 0x80, 0x02, 0x0b],
    [0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b],
  ),
};

/**
 * Why `engine` cannot run `suite` here, or undefined when it can: the compiler engine refuses the
 * 3.0 features the running V8 lacks (Node 20) with a `not supported` error, found by compiling a
 * module that uses the suite's feature.
 */
export async function suiteUnavailableReason(engine: EngineName, suite: SuiteName): Promise<string | undefined> {
  const probe = FEATURE_PROBES[suite];
  if (probe === undefined) return undefined;
  let rt: Runtime | undefined;
  try {
    rt = newRuntimeWithConfig(engineConfig(engine).withCoreFeatures(suiteFeatures(suite)));
    await rt.compileModule(new Uint8Array(probe));
    return undefined;
  } catch (e) {
    return isNotSupported(e) ? (e as Error).message : undefined;
  } finally {
    await rt?.close().catch(() => undefined);
  }
}

/** The json files of a suite, sorted. */
export function suiteFiles(dir: string, suite: SuiteName, only?: readonly string[]): string[] {
  const sdir = join(dir, suite);
  if (!existsSync(sdir)) return [];
  const want = only?.map((f) => (f.endsWith('.json') ? f : `${f}.json`));
  return readdirSync(sdir)
    .filter((f) => f.endsWith('.json') && (want === undefined || want.includes(f)))
    .sort()
    .map((f) => join(sdir, f));
}

/** Runs every (selected) json file of `suite`, sequentially, each in a new runtime. */
export async function runSuite(suite: SuiteName, opts: RunOptions): Promise<SuiteReport> {
  const dir = opts.dir ?? defaultSpecTestDir();
  const started = performance.now();
  const outcomes: CommandOutcome[] = [];
  const fileTimes = new Map<string, number>();
  const listening = opts.listenAll === true ? newListenerCheck() : undefined;
  for (const path of suiteFiles(dir, suite, opts.files)) {
    const t0 = performance.now();
    outcomes.push(...(await runFile(suite, path, opts, listening)));
    fileTimes.set(basename(path), performance.now() - t0);
  }
  const total = newTally();
  const byKind = new Map<string, Tally>();
  for (const o of outcomes) {
    total[o.status]++;
    let t = byKind.get(o.kind);
    if (t === undefined) byKind.set(o.kind, (t = newTally()));
    t[o.status]++;
  }
  return {
    engine: opts.engine,
    suite,
    listenAll: opts.listenAll === true,
    interrupts: opts.interrupts === true,
    ...(listening !== undefined ? { listening } : {}),
    total,
    byKind,
    outcomes,
    fileTimes,
    durationMs: performance.now() - started,
  };
}

/** `` (plain), ` (listened)`, ` (interrupts)` or ` (listened, interrupts)`. */
export function modeLabel(o: { readonly listenAll?: boolean; readonly interrupts?: boolean }): string {
  const parts = [...(o.listenAll === true ? ['listened'] : []), ...(o.interrupts === true ? ['interrupts'] : [])];
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** `spectest <engine> <suite>[ (listened, interrupts)]: passed N, failed N, skipped N`. */
export function summaryLine(r: SuiteReport): string {
  return `spectest ${r.engine} ${r.suite}${modeLabel(r)}: passed ${r.total.passed}, failed ${r.total.failed}, skipped ${r.total.skipped}`;
}

/** `  listener: N befores, N afters/aborts, N misnested` for `listenAll` runs; undefined otherwise. */
export function listenerLine(r: SuiteReport): string | undefined {
  const l = r.listening;
  return l === undefined ? undefined : `  listener: ${l.befores} befores, ${l.ends} afters/aborts, ${l.misnested.length} misnested`;
}

// ---------------------------------------------------------------------------------------------------------
// The nesting-checking listener of `listenAll` runs

const MAX_MISNESTED = 5;

/** A fresh, zeroed {@link ListenerCheck}. */
export function newListenerCheck(): ListenerCheck {
  return { befores: 0, ends: 0, misnested: [] };
}

/**
 * A listener for every function that records into `check`: `before` opens a frame, `after` and
 * `abort` must close the innermost open one. {@link closeFile} reports frames left open.
 */
class NestingListener implements FunctionListener {
  readonly #open: FunctionDefinition[] = [];

  constructor(readonly check: ListenerCheck) {}

  // Bookkeeping after the calls that may overflow the JS stack (an overflowing before opens no
  // frame; an overflowing after is answered by an abort).
  before(_ctx: Context, _mod: Module, def: FunctionDefinition): void {
    this.#open.push(def);
    this.check.befores++;
  }

  after(_ctx: Context, _mod: Module, def: FunctionDefinition): void {
    this.#close(def);
  }

  abort(_ctx: Context, _mod: Module, def: FunctionDefinition): void {
    this.#close(def);
  }

  #close(def: FunctionDefinition): void {
    const top = this.#open.pop();
    this.check.ends++;
    if (top !== def) this.#note(`${def.debugName()} closed while ${top?.debugName() ?? 'nothing'} was innermost`);
  }

  /** Ends a file: every frame must be closed. */
  closeFile(file: string): void {
    if (this.#open.length > 0) this.#note(`${this.#open.length} frame(s) still open after ${file}`);
    this.#open.length = 0;
  }

  #note(s: string): void {
    if (this.check.misnested.length < MAX_MISNESTED) this.check.misnested.push(s);
    else if (this.check.misnested.length === MAX_MISNESTED) this.check.misnested.push('…');
  }
}

/** One line per command kind, e.g. `  assert_return: passed 1, failed 0, skipped 0`. */
export function kindLines(r: SuiteReport): string[] {
  return [...r.byKind.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, t]) => `  ${k}: passed ${t.passed}, failed ${t.failed}, skipped ${t.skipped}`);
}

// ---------------------------------------------------------------------------------------------------------
// Error classification

const MAX_CAUSE_DEPTH = 8;

/** The trap text carried by `e` or (for errors wrapping one) its `cause` chain. */
export function trapOf(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && cur !== undefined && cur !== null; depth++) {
    if (cur instanceof WasmRuntimeError) return cur.trap;
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return undefined;
}

/** A JS engine fault (a bug in wasmscope), not a reported wasm failure. */
function isHostFault(e: unknown): boolean {
  return (
    !(e instanceof Error) ||
    e instanceof TypeError ||
    e instanceof RangeError ||
    e instanceof ReferenceError ||
    e instanceof SyntaxError ||
    isNotSupported(e)
  );
}

/** `Name: first line of message`, for failure reports. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `non-Error thrown: ${String(e)}`;
  const first = e.message.split('\n', 1)[0] ?? '';
  const cause = e.cause instanceof Error ? ` (cause ${e.cause.name}: ${e.cause.message.split('\n', 1)[0] ?? ''})` : '';
  return `${e.name}: ${first}${cause}`;
}

// ---------------------------------------------------------------------------------------------------------
// Running one file

/** Failure of a command: thrown inside handlers, caught per command. */
class CommandFailure extends Error {}

function fail(message: string): never {
  throw new CommandFailure(message);
}

const IMPORT_FAILURE_TEXTS = new Set(['unknown import', 'incompatible import type']);

/**
 * Runs one wast2json file in a new runtime (with `spectest.wasm` registered as `spectest`). Never throws
 * for a failing command: every command yields exactly one outcome, except a `register` consumed by the
 * module before it, which yields its own. With `listenAll`, the listener's findings go to `listening`
 * (a fresh check when omitted).
 */
export async function runFile(
  suite: SuiteName,
  jsonPath: string,
  opts: RunOptions,
  listening: ListenerCheck = newListenerCheck(),
): Promise<CommandOutcome[]> {
  const engine = opts.engine;
  const dir = opts.dir ?? defaultSpecTestDir();
  const file = basename(jsonPath);
  const fileDir = join(dir, suite);
  const outcomes: CommandOutcome[] = [];
  const lineUses = new Map<number, number>();
  const record = (cmd: Command, kind: string, status: CommandOutcome['status'], message?: string): void => {
    const n = (lineUses.get(cmd.line) ?? 0) + 1;
    lineUses.set(cmd.line, n);
    const key = `${engine}/${suite}/${file}:${cmd.line}${n > 1 ? `#${n}` : ''}`;
    const o: CommandOutcome =
      message === undefined ? { key, file, line: cmd.line, kind, status } : { key, file, line: cmd.line, kind, status, message };
    outcomes.push(o);
    opts.onOutcome?.(o);
  };

  let commands: readonly Command[];
  try {
    commands = (JSON.parse(readFileSync(jsonPath, 'utf8')) as { commands: Command[] }).commands;
  } catch (e) {
    record({ type: 'file', line: 0 }, 'file', 'failed', `cannot read ${jsonPath}: ${describeError(e)}`);
    return outcomes;
  }

  const interrupts = opts.interrupts === true;
  let config = engineConfig(engine).withCoreFeatures(suiteFeatures(suite));
  let ctx = Context.background();
  const listener = opts.listenAll === true ? new NestingListener(listening) : undefined;
  if (listener !== undefined) {
    ctx = withFunctionListenerFactory(
      ctx,
      functionListenerFactoryFunc(() => listener),
    );
  }
  if (interrupts) {
    config = config.withCloseOnContextDone(true);
    ctx = ctx.withTimeout(opts.fileBudgetMs ?? 120_000);
  }

  let rt: Runtime;
  try {
    rt = newRuntimeWithConfig(config, ctx);
  } catch (e) {
    for (const cmd of commands) record(cmd, cmd.type, 'failed', `runtime creation failed: ${describeError(e)}`);
    return outcomes;
  }

  // Why `last`/a named module is unavailable, so dependent commands explain their failure.
  let last: Module | undefined;
  let lastMissing = 'no module instantiated yet';
  const named = new Map<string, Module | string>();

  const readWasm = (cmd: Command): Uint8Array => {
    if (cmd.filename === undefined) fail(`${cmd.type} without a filename`);
    return readFileSync(join(fileDir, cmd.filename));
  };

  const moduleFor = (action: Action): Module => {
    if (action.module === undefined) return last ?? fail(`no current module (${lastMissing})`);
    const m = named.get(action.module);
    if (m === undefined) fail(`unknown module ${action.module}`);
    if (typeof m === 'string') fail(`module ${action.module} unavailable (${m})`);
    return m;
  };

  const describeAction = (a: Action): string =>
    a.type === 'get'
      ? `get ${a.module !== undefined ? `${a.module}.` : ''}${a.field}`
      : `invoke ${a.module !== undefined ? `${a.module}.` : ''}${a.field}(${formatArgs(a.args ?? [])})`;

  const invoke = (cmd: Command): bigint[] => {
    const a = cmd.action ?? fail('command without an action');
    const mod = moduleFor(a);
    if (a.type === 'get') {
      const g = mod.exportedGlobal(a.field) ?? fail(`no exported global ${JSON.stringify(a.field)}`);
      const raw = g.get();
      return cmd.expected?.[0]?.type === 'v128' ? [raw & 0xffff_ffff_ffff_ffffn, raw >> 64n] : [raw];
    }
    const fn = mod.exportedFunction(a.field) ?? fail(`no exported function ${JSON.stringify(a.field)}`);
    const args = argsToSlots(a.args ?? []);
    return interrupts ? fn.callWithContext(ctx, ...args) : fn.call(...args);
  };

  /** Compiles and instantiates a module that must fail instantiation; returns the instantiation error. */
  const expectInstantiationFailure = async (cmd: Command): Promise<unknown> => {
    let compiled: CompiledModule;
    try {
      compiled = await rt.compileModule(readWasm(cmd), ctx);
    } catch (e) {
      if (e instanceof CommandFailure) throw e;
      fail(`should compile and then fail to instantiate (${cmd.text ?? ''}), but compileModule rejected: ${describeError(e)}`);
    }
    let mod: Module;
    try {
      mod = await rt.instantiateModule(compiled, newModuleConfig().withName('').withStartFunctions(), ctx);
    } catch (e) {
      return e;
    }
    await mod.close().catch(() => undefined);
    fail(`instantiated, but should fail with ${JSON.stringify(cmd.text ?? '')}`);
  };

  try {
    await (async () => {
      const specBytes = readFileSync(join(dir, spectestModuleFile(suite)));
      const compiled = await rt.compileModule(specBytes, ctx);
      await rt.instantiateModule(compiled, newModuleConfig().withName('spectest').withStartFunctions(), ctx);
    })().catch((e: unknown) => {
      lastMissing = `spectest host module failed: ${describeError(e)}`;
    });

    for (let i = 0; i < commands.length; i++) {
      const cmd = commands[i] as Command;
      let kind = cmd.type;
      try {
        switch (cmd.type) {
          case 'module': {
            const next = commands[i + 1];
            const registerAs = next?.type === 'register' && (next.name === undefined || next.name === cmd.name) ? next.as : undefined;
            let mod: Module | undefined;
            let err: string | undefined;
            try {
              const compiled = await rt.compileModule(readWasm(cmd), ctx);
              mod = await rt.instantiateModule(
                compiled,
                newModuleConfig()
                  .withName(registerAs ?? '')
                  .withStartFunctions(),
                ctx,
              );
            } catch (e) {
              if (e instanceof CommandFailure) throw e;
              err = `${cmd.filename ?? '?'}: ${describeError(e)}`;
            }
            last = mod;
            lastMissing = err ?? '';
            if (cmd.name !== undefined) named.set(cmd.name, mod ?? err ?? 'failed');
            if (registerAs !== undefined && next !== undefined) {
              // The register is part of this instantiation (registering under a name is how the module
              // was instantiated): it is no assertion of its own, so it is not counted, as in the
              // command counts the issues and wazero's runner give.
              i++;
            }
            if (err !== undefined) fail(`module ${cmd.name ?? ''} failed to instantiate: ${err}`);
            break;
          }
          case 'register':
            fail('not supported: register of a module that was not instantiated just before it');
            break;
          case 'assert_return':
          case 'action': {
            const a = cmd.action ?? fail('no action');
            let results: bigint[];
            try {
              results = invoke(cmd);
            } catch (e) {
              if (e instanceof CommandFailure) throw e;
              fail(`${describeAction(a)}: threw ${describeError(e)}`);
            }
            if (cmd.type === 'assert_return') {
              const mismatch = cmd.either !== undefined ? matchEither(cmd.either, results) : matchResults(cmd.expected ?? [], results);
              if (mismatch !== undefined) fail(`${describeAction(a)}: ${mismatch}`);
            }
            break;
          }
          case 'assert_exception': {
            // The call must end in an exception no guest frame caught (not a trap); `expected` lists
            // only the result types, so nothing is compared.
            const a = cmd.action ?? fail('no action');
            let results: bigint[];
            try {
              results = invoke(cmd);
            } catch (e) {
              if (e instanceof CommandFailure) throw e;
              if (!(e instanceof WasmException)) fail(`${describeAction(a)}: expected an uncaught exception, threw ${describeError(e)}`);
              break;
            }
            fail(`${describeAction(a)}: expected an uncaught exception, returned [${results.join(', ')}]`);
            break;
          }
          case 'assert_trap':
          case 'assert_exhaustion': {
            const text = cmd.text ?? '';
            if (cmd.action === undefined && cmd.filename !== undefined) {
              // `(assert_trap (module …) "text")`: instantiation (its start function) must trap.
              kind = 'assert_trap(module)';
              const e = await expectInstantiationFailure(cmd);
              const trap = trapOf(e);
              if (trap === undefined || !trapMatches(text, trap))
                fail(`expected trap ${JSON.stringify(text)}, instantiation failed with ${describeError(e)}`);
              break;
            }
            const a = cmd.action ?? fail('no action');
            let results: bigint[];
            try {
              results = invoke(cmd);
            } catch (e) {
              if (e instanceof CommandFailure) throw e;
              const trap = trapOf(e);
              if (trap === undefined) fail(`${describeAction(a)}: expected trap ${JSON.stringify(text)}, threw ${describeError(e)}`);
              if (!trapMatches(text, trap))
                fail(`${describeAction(a)}: expected trap ${JSON.stringify(text)}, got trap ${JSON.stringify(trap)}`);
              break;
            }
            fail(`${describeAction(a)}: expected trap ${JSON.stringify(text)}, returned [${results.join(', ')}]`);
            break;
          }
          case 'assert_invalid':
          case 'assert_malformed': {
            if (cmd.module_type === 'text') {
              record(cmd, kind, 'skipped');
              continue;
            }
            let compiled: CompiledModule;
            try {
              compiled = await rt.compileModule(readWasm(cmd), ctx);
            } catch (e) {
              if (e instanceof CommandFailure) throw e;
              if (!(e instanceof CompileError)) fail(`expected CompileError (${cmd.text ?? ''}), got ${describeError(e)}`);
              break;
            }
            let note = 'instantiation succeeded too';
            try {
              const mod = await rt.instantiateModule(compiled, newModuleConfig().withName('').withStartFunctions(), ctx);
              await mod.close().catch(() => undefined);
            } catch (e) {
              note = `instantiation then failed: ${describeError(e)}`;
            }
            fail(`${cmd.filename ?? ''}: compiled, but should be rejected as ${JSON.stringify(cmd.text ?? '')} (${note})`);
            break;
          }
          case 'assert_unlinkable':
          case 'assert_uninstantiable': {
            const text = cmd.text ?? '';
            const e = await expectInstantiationFailure(cmd);
            if (isHostFault(e)) fail(`expected failure ${JSON.stringify(text)}, got host fault ${describeError(e)}`);
            if (cmd.type === 'assert_unlinkable' && IMPORT_FAILURE_TEXTS.has(text) && !(e instanceof LinkError)) {
              fail(`expected LinkError (${text}), got ${describeError(e)}`);
            }
            const trap = trapOf(e);
            if (cmd.type === 'assert_uninstantiable' && trap !== undefined && !trapMatches(text, trap)) {
              fail(`expected ${JSON.stringify(text)}, instantiation trapped with ${JSON.stringify(trap)}`);
            }
            break;
          }
          default:
            fail(`unknown command type ${cmd.type}`);
        }
        record(cmd, kind, 'passed');
      } catch (e) {
        record(cmd, kind, 'failed', e instanceof CommandFailure ? e.message : `runner fault: ${describeError(e)}`);
      }
    }
  } finally {
    await rt.close().catch(() => undefined);
    listener?.closeFile(file);
  }
  return outcomes;
}

/** Formats one failed outcome with the command's json, for debugging output. */
export function describeFailure(o: CommandOutcome): string {
  return `${o.key} [${o.kind}] ${o.message ?? ''}`;
}

/** Loads known-failures.json (`{"<engine>/<suite>/<file>.json:<line>": "<reason>"}`). */
export function loadKnownFailures(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
}
