/**
 * The `wasmscope` command line (wazero's `cmd/wazero`): `run` a WASI or plain module, `version`.
 * Thin over the library; `main` returns the process exit code so tests can run it in-process.
 */
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import {
  Context,
  CompileError,
  ExitError,
  newCompilationCacheWithDir,
  newFSConfig,
  newModuleConfig,
  newRuntimeConfig,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  type FSConfig,
  type ModuleConfig,
  type Reader,
  type RuntimeConfig,
  type Writer,
} from '../index.js';
import { multiFunctionListenerFactory, withFunctionListenerFactory, type FunctionListenerFactory } from '../runtime/api/listener.js';
import { EXIT_CODE_DEADLINE_EXCEEDED } from '../runtime/api/errors.js';
import { newHostLoggingListenerFactory, parseLogScopes } from '../listeners/logging.js';
import { cryptoRandom } from '../sys/context.js';
import { hostFdWriter } from '../sys/stdio.js';
import { MODULE_NAME, MODULE_NAME_UNSTABLE, newBuilder } from '../wasi/module.js';
import { withHostCallRecorder } from '../replay/recorder.js';
import { decodeHostCallLog, formatHostCallLog, type HostCallLog } from '../replay/format.js';
import { HostCallDivergenceError, replayHostCalls } from '../replay/replay.js';
import { startTracing, type CliTracing, type Importer } from './tracing.js';
import { noProfileFlags, parseProfileFlag, PROFILE_USAGE, ProfileSession, reportCommand, type ProfileFlags } from './profile.js';
import { PREINIT_USAGE, PreinitUsageError, parsePreinit, runPreinit } from './preinit.js';

/** Where the CLI reads and writes; the defaults are the process's own stdio. */
export interface CliIO {
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** The guest's stdin: a host fd (default 0), bytes, or a reader. */
  readonly stdin: number | Uint8Array | string | Reader;
  /** The environment `--env-inherit` copies. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Loads the optional OpenTelemetry packages of `--trace-otlp`/`--trace-file` (default: `import()`). */
  readonly importer?: Importer;
}

function defaultIO(): CliIO {
  return { stdout: hostFdWriter(1), stderr: hostFdWriter(2), stdin: 0, env: process.env };
}

const encoder = new TextEncoder();

/** The version in package.json (two levels up from both src/cli and dist/cli). */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'dev';
  } catch {
    return 'dev';
  }
}

const USAGE = `wasmscope CLI

Usage:
  wasmscope <command> [flags]

Commands:
  run       Runs a WebAssembly binary (WASI commands get the process's args, stdio and mounts)
  replay    Runs a WebAssembly binary against host calls recorded by 'run --record'
  report    Draws a flame graph (SVG or HTML) or prints the top functions of a pprof profile
  preinit   Pre-initialises a module into a new .wasm (as Wizer)
  version   Displays the version of wasmscope

Run 'wasmscope <command> --help' for the flags of a command.
`;

const RUN_USAGE = `Usage:
  wasmscope run [flags] <path to wasm file> [--] [args...]

Runs a WebAssembly binary. If it imports wasi_snapshot_preview1 (or wasi_unstable), WASI is provided
with the real clocks, crypto-strength random, the process's stdin/stdout/stderr, and the mounts given.
The first guest argument (argv[0]) is the file's base name. The exit code is the guest's.

Flags:
  --interpreter           run on the interpreter engine (default: the compiler engine)
  --async-io              WASI waits (poll_oneoff sleeps, reads of pipes and terminals) without
                          blocking Node's event loop; the guest runs as an async call (the
                          compiler engine needs Node >= 24 for it)
  --mount host[:guest][:ro]
                          mount a host directory into the guest filesystem (repeatable); the guest
                          path (the pre-open name the guest sees, kept exactly as written: '.',
                          './x', '/') defaults to the host path; ':ro' makes it read-only. Example:
                          --mount .:/ --mount /tmp/data:/data:ro
  --env KEY=VALUE         set an environment variable (repeatable)
  --env-inherit           pass the host's environment first (--env values override)
  --timeout DURATION      stop the guest after e.g. 500ms, 5s, 1m (0 = no timeout)
  --hostlogging SCOPES    log host calls to stderr for scopes all,clock,filesystem,memory,proc,poll,random,sock
  --cachedir DIR          cache compiled code in DIR (not supported yet: exits 1)
  --record FILE           record every host call (params, results, memory written, exit) to FILE,
                          for 'wasmscope replay'
  --trace-otlp URL        export OpenTelemetry spans of the run (the start function and every host
                          call) over OTLP/HTTP, e.g. http://127.0.0.1:4318/v1/traces; flushed before
                          exit (needs the optional @opentelemetry packages; service.name is
                          $OTEL_SERVICE_NAME or wasmscope)
  --trace-file FILE       write the same spans to FILE as OTLP JSON lines
${PROFILE_USAGE}  -h, --help              show this help

The profiling outputs are written when the guest ends, however it ends (exit, trap, timeout), and
one line on stderr says what was written. Example:
  wasmscope run --profile cpu.pprof --coverage lcov.info guest.wasm && wasmscope report cpu.pprof --html flame.html
`;

const REPLAY_USAGE = `Usage:
  wasmscope replay [flags] <calls.log> <path to wasm file> [--] [args...]

Runs a WebAssembly binary whose host calls are answered from a log written by 'wasmscope run
--record': no host function runs, so the run is reproducible without the files, clocks, random or
stdio it had. Each call must match the log (function and params); the first that does not is reported
with its index and both calls, and the exit code is 1. Otherwise the exit code is the recorded one.

Flags:
  --interpreter           replay on the interpreter engine (default: the compiler engine)
  --print                 print the recorded calls and exit, without running anything
  -h, --help              show this help
`;

class UsageError extends Error {}

const LOG_SCOPES = new Set(['all', 'clock', 'filesystem', 'memory', 'proc', 'poll', 'random', 'sock']);

/** Parses a Go-style duration (`1h2m3.5s`, `500ms`, `10us`, `0`) into milliseconds. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched !== s.length || s.length === 0) throw new UsageError(`invalid duration "${s}" (use e.g. 500ms, 5s, 1m)`);
  return total;
}

interface RunOptions {
  interpreter: boolean;
  mounts: Array<{ host: string; guest: string; readOnly: boolean }>;
  env: Array<[string, string]>;
  envInherit: boolean;
  timeoutMs: number;
  hostlogging: string | undefined;
  cachedir: string | undefined;
  record: string | undefined;
  traceOtlp: string | undefined;
  traceFile: string | undefined;
  asyncIO: boolean;
  profile: ProfileFlags;
  wasmPath: string;
  args: string[];
}

/**
 * Splits `host[:guest][:ro]` at the last colons, as wazero does. The guest path is kept as written
 * (`.` stays `.`): it becomes the pre-open's name; only an empty one is `/`.
 */
export function parseMount(spec: string): { host: string; guest: string; readOnly: boolean } {
  let s = spec;
  let readOnly = false;
  if (s.endsWith(':ro')) {
    readOnly = true;
    s = s.slice(0, -3);
  }
  const i = s.lastIndexOf(':');
  const host = i < 0 ? s : s.slice(0, i);
  const guest = i < 0 ? s : s.slice(i + 1);
  if (host === '') throw new UsageError(`invalid mount "${spec}": empty host directory`);
  return { host, guest: guest === '' ? '/' : guest, readOnly };
}

function parseRun(argv: readonly string[]): RunOptions | 'help' {
  const o: RunOptions = {
    interpreter: false,
    mounts: [],
    env: [],
    envInherit: false,
    timeoutMs: 0,
    hostlogging: undefined,
    cachedir: undefined,
    record: undefined,
    traceOtlp: undefined,
    traceFile: undefined,
    asyncIO: false,
    profile: noProfileFlags(),
    wasmPath: '',
    args: [],
  };
  let i = 0;
  const value = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`flag needs an argument: ${flag}`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const flag = (eq < 0 ? a : a.slice(0, eq)).replace(/^--?/, '');
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    switch (flag) {
      case 'h':
      case 'help':
        return 'help';
      case 'interpreter':
        o.interpreter = inline === undefined || inline === 'true';
        break;
      case 'async-io':
        o.asyncIO = inline === undefined || inline === 'true';
        break;
      case 'mount':
        o.mounts.push(parseMount(value(a, inline)));
        break;
      case 'env': {
        const kv = value(a, inline);
        const j = kv.indexOf('=');
        if (j <= 0) throw new UsageError(`invalid --env "${kv}": use KEY=VALUE`);
        o.env.push([kv.slice(0, j), kv.slice(j + 1)]);
        break;
      }
      case 'env-inherit':
        o.envInherit = inline === undefined || inline === 'true';
        break;
      case 'timeout': {
        const ms = parseDuration(value(a, inline));
        if (ms < 0) throw new UsageError('invalid --timeout: must not be negative');
        o.timeoutMs = ms;
        break;
      }
      case 'hostlogging': {
        const scopes = value(a, inline);
        for (const s of scopes.split(',')) {
          if (!LOG_SCOPES.has(s.trim())) throw new UsageError(`invalid --hostlogging scope "${s}" (use ${[...LOG_SCOPES].join(',')})`);
        }
        o.hostlogging = scopes;
        break;
      }
      case 'cachedir':
        o.cachedir = value(a, inline);
        break;
      case 'record':
        o.record = value(a, inline);
        break;
      case 'trace-otlp': {
        const url = value(a, inline);
        if (!/^https?:\/\//.test(url)) throw new UsageError(`invalid --trace-otlp "${url}": use an http(s) URL`);
        o.traceOtlp = url;
        break;
      }
      case 'trace-file':
        o.traceFile = value(a, inline);
        break;
      default:
        if (
          !parseProfileFlag(
            o.profile,
            flag,
            () => value(a, inline),
            inline,
            (m) => new UsageError(m),
          )
        )
          throw new UsageError(`unknown flag: ${a}`);
    }
  }
  const wasm = argv[i];
  if (wasm === undefined) throw new UsageError('missing path to wasm file');
  o.wasmPath = wasm;
  let rest = argv.slice(i + 1);
  // As wazero: a `--` right after the file is dropped only when more arguments follow.
  if (rest[0] === '--' && rest.length > 1) rest = rest.slice(1);
  o.args = rest;
  return o;
}

/**
 * Runs the CLI with `argv` (without `node` and the script name).
 * @returns the exit code for the process.
 */
export async function main(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  const out = (s: string): void => void io.stdout.write(encoder.encode(s));
  const err = (s: string): void => void io.stderr.write(encoder.encode(s));
  const cmd = argv[0];
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    err(USAGE);
    return 0;
  }
  if (cmd === 'version' || cmd === '--version') {
    if (argv[1] === '-h' || argv[1] === '--help') {
      err('Usage:\n  wasmscope version\n\nDisplays the version of wasmscope.\n');
      return 0;
    }
    out(`${version()}\n`);
    return 0;
  }
  if (cmd === 'replay') return replayCommand(argv.slice(1), io, err);
  if (cmd === 'report') return reportCommand(argv.slice(1), (x) => void io.stdout.write(encoder.encode(x)), err);
  if (cmd === 'preinit') return preinitCommand(argv.slice(1), io, err);
  if (cmd !== 'run') {
    err(`invalid command "${cmd}" (see wasmscope --help)\n`);
    return 1;
  }
  let o: RunOptions | 'help';
  try {
    o = parseRun(argv.slice(1));
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message} (see wasmscope run --help)\n`);
      return 1;
    }
    throw e;
  }
  if (o === 'help') {
    err(RUN_USAGE);
    return 0;
  }
  return run(o, io, err);
}

async function run(o: RunOptions, io: CliIO, err: (s: string) => void): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(o.wasmPath);
  } catch (e) {
    err(`error: cannot read ${o.wasmPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 1;
  }

  let fs: FSConfig = newFSConfig();
  for (const m of o.mounts) {
    let isDir: boolean;
    try {
      isDir = statSync(m.host).isDirectory();
    } catch {
      err(`error: invalid mount: ${m.host} does not exist\n`);
      return 1;
    }
    if (!isDir) {
      err(`error: invalid mount: ${m.host} is not a directory\n`);
      return 1;
    }
    fs = m.readOnly ? fs.withReadOnlyDirMount(m.host, m.guest) : fs.withDirMount(m.host, m.guest);
  }

  let rc: RuntimeConfig = o.interpreter ? newRuntimeConfigInterpreter() : newRuntimeConfig();
  if (o.timeoutMs > 0) rc = rc.withCloseOnContextDone(true);
  if (o.cachedir !== undefined) {
    try {
      rc = rc.withCompilationCache(await newCompilationCacheWithDir(o.cachedir));
    } catch (e) {
      err(`error: --cachedir: ${(e as Error).message}\n`);
      return 1;
    }
  }
  let tracing: CliTracing | undefined;
  if (o.traceOtlp !== undefined || o.traceFile !== undefined) {
    try {
      tracing = await startTracing(
        { otlpUrl: o.traceOtlp, file: o.traceFile, serviceName: io.env['OTEL_SERVICE_NAME'] ?? 'wasmscope' },
        io.importer,
      );
    } catch (e) {
      err(`error: ${(e as Error).message}\n`);
      return 1;
    }
  }
  try {
    return await runWith(o, io, err, bytes, fs, rc, tracing?.factory);
  } finally {
    // The guest's outcome is the exit code; telemetry problems are only reported.
    for (const p of (await tracing?.shutdown()) ?? []) err(`warning: ${p}\n`);
  }
}

async function runWith(
  o: RunOptions,
  io: CliIO,
  err: (s: string) => void,
  bytes: Uint8Array,
  fs: FSConfig,
  rc: RuntimeConfig,
  tracing: FunctionListenerFactory | undefined,
): Promise<number> {
  const r = newRuntimeWithConfig(rc);
  let recordFd: number | undefined;
  const profiling = new ProfileSession(o.profile, o.wasmPath);
  let compiledOk = false;
  try {
    // Host logging and tracing: listeners are fixed at compile time, so the factories ride on the
    // compile and host-module contexts (wazero writes these logs to stderr).
    let ctx = Context.background();
    const factories: FunctionListenerFactory[] = [];
    if (o.hostlogging !== undefined) {
      const utf8 = new TextEncoder();
      const logTo = { write: (c: string | Uint8Array) => io.stderr.write(typeof c === 'string' ? utf8.encode(c) : c) };
      factories.push(newHostLoggingListenerFactory(logTo, parseLogScopes(o.hostlogging)));
    }
    if (tracing !== undefined) factories.push(tracing);
    if (factories.length > 0) {
      ctx = withFunctionListenerFactory(ctx, factories.length === 1 ? factories[0]! : multiFunctionListenerFactory(...factories));
    }
    if (o.record !== undefined) {
      try {
        recordFd = openSync(o.record, 'w');
      } catch (e) {
        err(`error: --record: cannot open ${o.record}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
        return 1;
      }
      const fd = recordFd;
      ctx = withHostCallRecorder(ctx, { write: (chunk: Uint8Array) => writeSync(fd, chunk) });
    }
    ctx = profiling.context(ctx);
    let compiled;
    try {
      compiled = await r.compileModule(bytes, ctx);
    } catch (e) {
      err(`error compiling wasm binary: ${e instanceof CompileError ? e.message : String((e as Error).message ?? e)}\n`);
      return 1;
    }
    compiledOk = true;
    const importModules = new Set(compiled.importedFunctions().map((d) => d.import()?.[0]));
    const wasiOptions = { asyncIO: o.asyncIO };
    try {
      if (importModules.has(MODULE_NAME)) await newBuilder(r, MODULE_NAME, wasiOptions).instantiate(ctx);
      if (importModules.has(MODULE_NAME_UNSTABLE)) await newBuilder(r, MODULE_NAME_UNSTABLE, wasiOptions).instantiate(ctx);
    } catch (e) {
      err(`error: ${(e as Error).message}\n`);
      return 1;
    }

    let c: ModuleConfig = newModuleConfig()
      .withArgs(basename(o.wasmPath), ...o.args)
      .withStdin(io.stdin)
      .withStdout(io.stdout)
      .withStderr(io.stderr)
      .withFSConfig(fs)
      .withSysWalltime()
      .withSysNanotime()
      .withSysNanosleep()
      .withRandSource(cryptoRandom);
    const env: Array<[string, string]> = [];
    if (o.envInherit) for (const [k, v] of Object.entries(io.env)) if (v !== undefined && k !== '') env.push([k, v]);
    env.push(...o.env);
    for (const [k, v] of env) c = c.withEnv(k, v);
    const runCtx = o.timeoutMs > 0 ? ctx.withTimeout(o.timeoutMs) : ctx;
    // With async I/O, _start runs as an async call (WASI's async functions suspend it).
    if (o.asyncIO) c = c.withStartFunctions();
    try {
      const m = await r.instantiateModule(compiled, c, runCtx);
      const start = o.asyncIO ? m.exportedFunction('_start') : undefined;
      if (start !== undefined) await start.callWithContextAsync(runCtx);
    } catch (e) {
      if (e instanceof ExitError) {
        if (e.exitCode === EXIT_CODE_DEADLINE_EXCEEDED && o.timeoutMs > 0)
          err(`error: ${e.message} (timeout ${formatDuration(o.timeoutMs)})\n`);
        return e.exitCode;
      }
      err(`error instantiating wasm binary: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    return 0;
  } finally {
    await r.close().catch(() => undefined);
    if (recordFd !== undefined) closeSync(recordFd);
    if (compiledOk && profiling.active) {
      try {
        err(await profiling.write());
      } catch (e) {
        err(`error: writing profiles: ${(e as Error).message}\n`);
      }
    }
  }
}

interface ReplayOptions {
  interpreter: boolean;
  print: boolean;
  logPath: string;
  wasmPath: string;
  args: string[];
}

function parseReplay(argv: readonly string[]): ReplayOptions | 'help' {
  const o: ReplayOptions = { interpreter: false, print: false, logPath: '', wasmPath: '', args: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const flag = (eq < 0 ? a : a.slice(0, eq)).replace(/^--?/, '');
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    if (flag === 'h' || flag === 'help') return 'help';
    if (flag === 'interpreter') o.interpreter = inline === undefined || inline === 'true';
    else if (flag === 'print') o.print = inline === undefined || inline === 'true';
    else throw new UsageError(`unknown flag: ${a}`);
  }
  const log = argv[i];
  if (log === undefined) throw new UsageError('missing path to the calls log');
  o.logPath = log;
  if (o.print) return o;
  const wasm = argv[i + 1];
  if (wasm === undefined) throw new UsageError('missing path to wasm file');
  o.wasmPath = wasm;
  let rest = argv.slice(i + 2);
  if (rest[0] === '--' && rest.length > 1) rest = rest.slice(1);
  o.args = rest;
  return o;
}

async function replayCommand(argv: readonly string[], io: CliIO, err: (s: string) => void): Promise<number> {
  let o: ReplayOptions | 'help';
  try {
    o = parseReplay(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message} (see wasmscope replay --help)\n`);
      return 1;
    }
    throw e;
  }
  if (o === 'help') {
    err(REPLAY_USAGE);
    return 0;
  }
  let log: HostCallLog;
  try {
    log = decodeHostCallLog(readFileSync(o.logPath));
  } catch (e) {
    err(`error: cannot read ${o.logPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 1;
  }
  if (o.print) {
    void io.stdout.write(encoder.encode(`${formatHostCallLog(log)}\n`));
    return 0;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(o.wasmPath);
  } catch (e) {
    err(`error: cannot read ${o.wasmPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 1;
  }
  const r = newRuntimeWithConfig(o.interpreter ? newRuntimeConfigInterpreter() : newRuntimeConfig());
  const replay = replayHostCalls(log);
  try {
    let compiled;
    try {
      compiled = await r.compileModule(bytes);
    } catch (e) {
      err(`error compiling wasm binary: ${(e as Error).message}\n`);
      return 1;
    }
    await replay.instantiate(r);
    const c = newModuleConfig().withArgs(basename(o.wasmPath), ...o.args);
    let code = 0;
    try {
      await r.instantiateModule(compiled, c);
    } catch (e) {
      const divergence =
        e instanceof HostCallDivergenceError ? e : e instanceof Error && e.cause instanceof HostCallDivergenceError ? e.cause : undefined;
      if (divergence !== undefined) {
        err(`error: ${divergence.message}\n`);
        return 1;
      }
      if (!(e instanceof ExitError)) {
        err(`error instantiating wasm binary: ${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
      }
      code = e.exitCode;
    }
    try {
      replay.assertComplete();
    } catch (e) {
      err(`error: ${(e as Error).message}\n`);
      return 1;
    }
    return code;
  } finally {
    await r.close().catch(() => undefined);
  }
}

async function preinitCommand(argv: readonly string[], io: CliIO, err: (s: string) => void): Promise<number> {
  let o: ReturnType<typeof parsePreinit>;
  try {
    o = parsePreinit(argv, parseMount);
  } catch (e) {
    if (e instanceof PreinitUsageError || e instanceof UsageError) {
      err(`error: ${e.message} (see wasmscope preinit --help)\n`);
      return 1;
    }
    throw e;
  }
  if (o === 'help') {
    err(PREINIT_USAGE);
    return 0;
  }
  return runPreinit(o, io.stdout, io.stderr, err);
}

/** A duration as Go prints it for the common cases (`1ms`, `1.5s`, `2m0s`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${ms / 1000}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${(ms - m * 60_000) / 1000}s`;
}
