/**
 * Logging function listeners (wazero's `experimental/logging`): one line per call and per return,
 * indented by a tab per open logged frame, in wazero's exact format. WASI calls are pretty-printed
 * (`errno=` names, out-params after success, flags, clock ids and paths as text).
 * @experimental
 */
import type { Context } from '../runtime/api/context.js';
import type { FunctionListener, FunctionListenerFactory, StackIterator } from '../runtime/api/listener.js';
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { genericConfig, LogLine, type LogConfig } from './logging-config.js';
import { isWasiModuleName, wasiConfig, wasiInScope } from './logging-wasi.js';

/**
 * A bit set of host function groups to log (wazero's `LogScopes`, same bit values). Combine with `|`.
 * @experimental
 */
export type LogScopes = number;

/** Nothing is logged. @experimental */
export const LogScopeNone: LogScopes = 0;
/** Functions such as `clock_time_get`. @experimental */
export const LogScopeClock: LogScopes = 1 << 1;
/** Functions such as `proc_exit` (and AssemblyScript's `abort`). @experimental */
export const LogScopeProc: LogScopes = 1 << 2;
/** Functions such as `path_open` (not writes to the console). @experimental */
export const LogScopeFilesystem: LogScopes = 1 << 3;
/** Functions such as `emscripten_notify_memory_growth`. @experimental */
export const LogScopeMemory: LogScopes = 1 << 4;
/** Functions such as `poll_oneoff`. @experimental */
export const LogScopePoll: LogScopes = 1 << 5;
/** Functions such as `random_get`. @experimental */
export const LogScopeRandom: LogScopes = 1 << 6;
/** Functions such as `sock_accept`. @experimental */
export const LogScopeSock: LogScopes = 1 << 7;
/** Every function. @experimental */
export const LogScopeAll: LogScopes = 0xffffffff;

const SCOPE_NAMES: ReadonlyArray<readonly [string, LogScopes]> = [
  ['clock', LogScopeClock],
  ['proc', LogScopeProc],
  ['filesystem', LogScopeFilesystem],
  ['memory', LogScopeMemory],
  ['poll', LogScopePoll],
  ['random', LogScopeRandom],
  ['sock', LogScopeSock],
];

/** Whether any bit of `scope` is in `scopes` (wazero's `IsEnabled`). @experimental */
export function logScopesEnabled(scopes: LogScopes, scope: LogScopes): boolean {
  return (scopes & scope) >>> 0 !== 0;
}

/**
 * wazero's `LogScopes.String()`: `all`, or the enabled scope names joined by `|` (unknown bits as
 * `<unknown=N>`; empty for none).
 * @experimental
 */
export function logScopesString(scopes: LogScopes): string {
  const s = scopes >>> 0;
  if (s === LogScopeAll) return 'all';
  const out: string[] = [];
  for (let i = 0; i < 32; i++) {
    const bit = (1 << i) >>> 0;
    if ((s & bit) === 0) continue;
    const named = SCOPE_NAMES.find(([, b]) => b === bit);
    out.push(named !== undefined ? named[0] : `<unknown=${bit}>`);
  }
  return out.join('|');
}

/**
 * Parses the CLI form `filesystem,clock,...` (names: all, clock, filesystem, memory, proc, poll,
 * random, sock; empty items are ignored).
 * @throws Error on an unknown name.
 * @experimental
 */
export function parseLogScopes(input: string): LogScopes {
  let scopes = 0;
  for (const raw of input.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (name === 'all') {
      scopes = LogScopeAll;
      continue;
    }
    const named = SCOPE_NAMES.find(([n]) => n === name);
    if (named === undefined) throw new Error(`invalid log scope "${name}" (use all,${SCOPE_NAMES.map(([n]) => n).join(',')})`);
    scopes = (scopes | named[1]) >>> 0;
  }
  return scopes >>> 0;
}

/**
 * Where log lines go: each call receives one whole line (ending in `\n`). `process.stdout`,
 * `process.stderr` or any object with a `write` method fit. A line is a string unless it carries
 * bytes from guest memory that are not valid UTF-8, in which case it is a `Uint8Array`.
 * @experimental
 */
export interface LogWriter {
  /** Takes one log line (or part of one). */
  write(chunk: string | Uint8Array): unknown;
}

/**
 * A factory whose listeners log every function, guest or host, to `w`.
 * Use {@link newHostLoggingListenerFactory} to see only host interactions.
 * @experimental
 */
export function newLoggingListenerFactory(w: LogWriter): FunctionListenerFactory {
  return new LoggingListenerFactory(w, false, LogScopeAll);
}

/**
 * A factory whose listeners log host functions and exported guest functions (so `_start` gives
 * context to the host calls it makes) to `w`. Functions outside WASI and `env` are logged only when
 * `scopes` is {@link LogScopeAll}; WASI functions by their scope; in `env`, `abort` needs proc, `seed`
 * random, `emscripten_notify_memory_growth` memory and anything else all.
 * @experimental
 */
export function newHostLoggingListenerFactory(w: LogWriter, scopes: LogScopes): FunctionListenerFactory {
  return new LoggingListenerFactory(w, true, scopes >>> 0);
}

/** The calls open under one factory: one entry per `before`, `undefined` for calls not sampled. */
class LogStack {
  readonly entries: Array<BigUint64Array | undefined> = [];
  /** Open sampled frames: the indentation of the next line. */
  depth = 0;
  /** Reused param copies, one per nesting level (copying into them is ~5x cheaper than slice()). */
  readonly #copies: BigUint64Array[] = [];

  /** A copy of `params` that stays valid while the entry at this level is open. */
  copy(params: BigUint64Array): BigUint64Array {
    const level = this.entries.length;
    let buf = this.#copies[level];
    if (buf === undefined || buf.length < params.length) {
      buf = new BigUint64Array(Math.max(16, params.length));
      this.#copies[level] = buf;
    }
    buf.set(params);
    return buf;
  }
}

const NO_PARAMS = new BigUint64Array(0);

function envInScope(def: FunctionDefinition, scopes: LogScopes): boolean {
  const name = def.name();
  if (name === 'emscripten_notify_memory_growth') return logScopesEnabled(scopes, LogScopeMemory);
  // AssemblyScript's functions are exported as `abort`/`seed` (named `~lib/builtins/...`).
  const exported = def.exportNames()[0] ?? name;
  if (exported === 'abort' && logScopesEnabled(scopes, LogScopeProc)) return true;
  if (exported === 'seed' && logScopesEnabled(scopes, LogScopeRandom)) return true;
  return scopes === LogScopeAll;
}

class LoggingListenerFactory implements FunctionListenerFactory {
  readonly #w: LogWriter;
  readonly #hostOnly: boolean;
  readonly #scopes: LogScopes;
  readonly #stack = new LogStack();

  constructor(w: LogWriter, hostOnly: boolean, scopes: LogScopes) {
    this.#w = w;
    this.#hostOnly = hostOnly;
    this.#scopes = scopes;
  }

  newFunctionListener(def: FunctionDefinition): FunctionListener | undefined {
    const isHost = def.hostFunction() !== undefined;
    if (this.#hostOnly && !isHost && def.exportNames().length === 0) return undefined;

    let config: LogConfig;
    const moduleName = def.moduleName();
    if (isWasiModuleName(moduleName)) {
      if (!wasiInScope(def.name(), this.#scopes)) return undefined;
      config = wasiConfig(def) ?? genericConfig(def);
    } else if (moduleName === 'env') {
      if (!envInScope(def, this.#scopes)) return undefined;
      config = genericConfig(def);
    } else {
      // The scope of an unknown module's function is unknown, so it needs all.
      if (this.#scopes !== LogScopeAll) return undefined;
      config = genericConfig(def);
    }

    const before = (isHost ? '==> ' : '--> ') + def.debugName();
    const after = isHost ? '<==' : '<--';
    return new LoggingListener(this.#w, before, after, config, this.#stack);
  }
}

class LoggingListener implements FunctionListener {
  readonly #w: LogWriter;
  readonly #before: string;
  readonly #after: string;
  readonly #c: LogConfig;
  readonly #stack: LogStack;
  readonly #line = new LogLine();

  constructor(w: LogWriter, before: string, after: string, config: LogConfig, stack: LogStack) {
    this.#w = w;
    this.#before = before;
    this.#after = after;
    this.#c = config;
    this.#stack = stack;
  }

  before(_ctx: Context, mod: Module, _def: FunctionDefinition, params: BigUint64Array, _it: StackIterator): void {
    const c = this.#c;
    const stack = this.#stack;
    if (c.sampler !== undefined && !c.sampler(mod, params)) {
      stack.entries.push(undefined);
      return;
    }
    const line = this.#line;
    line.start(stack.depth, this.#before);
    line.str('(');
    const ps = c.params;
    for (let i = 0; i < ps.length; i++) {
      if (i > 0) line.str(',');
      ps[i]!(line, mod, params);
    }
    line.str(')');
    line.writeTo(this.#w);
    // Params are valid only during the callback: keep a copy when the result line needs them.
    stack.entries.push(c.resultsNeedParams ? stack.copy(params) : NO_PARAMS);
    stack.depth++;
  }

  after(_ctx: Context, mod: Module, _def: FunctionDefinition, results: BigUint64Array): void {
    const stack = this.#stack;
    if (stack.entries.length === 0) return;
    const params = stack.entries.pop();
    if (params === undefined) return;
    stack.depth--;
    const line = this.#line;
    line.start(stack.depth, this.#after);
    const rs = this.#c.results;
    if (rs.length === 1) {
      line.str(' ');
      rs[0]!(line, mod, params, results);
    } else if (rs.length > 1) {
      line.str(' (');
      for (let i = 0; i < rs.length; i++) {
        if (i > 0) line.str(',');
        rs[i]!(line, mod, params, results);
      }
      line.str(')');
    }
    line.writeTo(this.#w);
  }

  /** Only pops: the call's `-->`/`==>` line stays without its return line. */
  abort(_ctx: Context, _mod: Module, _def: FunctionDefinition, _err: unknown): void {
    const stack = this.#stack;
    if (stack.entries.length === 0) return;
    if (stack.entries.pop() !== undefined) stack.depth--;
  }
}
