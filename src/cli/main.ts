/**
 * The `wasmscope` command line (wazero's `cmd/wazero`): `run` a WASI or plain module (or `--invoke`
 * one of its functions), `compile` (validate and describe) one, `replay` recorded host calls,
 * `version`. Thin over the library; `main` returns the process exit code so tests can run it
 * in-process. Help goes to stdout (exit 0); every error is one `error: …` line (or block) on stderr.
 */
import { cannotRead, invalidMount, mountConfig, readInput } from './inputs.js';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
// Not from '../index.js', which loads both engines: ./runtime.ts loads the one a run needs. What
// only some commands or flags use (compile, preinit, report, replay, host logging, tracing,
// recording, profiling) is imported when they are given (start-up).
import { Context } from '../runtime/api/context.js';
import { CompileError, EXIT_CODE_DEADLINE_EXCEEDED, ExitError, LinkError } from '../runtime/api/errors.js';
import { multiFunctionListenerFactory, withFunctionListenerFactory, type FunctionListenerFactory } from '../runtime/api/listener.js';
import { CoreFeaturesV3, parseCoreFeatures, type CoreFeatures } from '../runtime/api/features.js';
import type { CompiledModule } from '../runtime/store/compiled-module.js';
import type { FSConfig, ModuleConfig, RuntimeConfig } from '../runtime/store/config.js';
import { newCompilationCacheWithDir, newModuleConfig, newRuntimeConfig, newRuntimeConfigInterpreter } from '../runtime/store/factories.js';
import type { Runtime } from '../runtime/store/runtime.js';
import type { Reader, Writer } from '../sys/io.js';
import { cryptoRandom } from '../sys/context.js';
import { hostFdWriter } from '../sys/stdio.js';
import { MODULE_NAME, MODULE_NAME_UNSTABLE, newBuilder } from '../wasi/module.js';
import type { HostCallLog } from '../replay/format.js';
import type { CliTracing, Importer } from './tracing.js';
import { noProfileFlags, parseProfileFlag, PROFILE_USAGE, profiling, REPORT_USAGE, type ProfileFlags } from './profile-flags.js';
import type { ProfileSession } from './profile.js';
import { newCliRuntime } from './runtime.js';
import { CHECKPOINT_USAGE, checkpointing, parseCheckpointFlag, RESUME_USAGE, type CheckpointFlags } from './checkpoint-flags.js';
import type { FunctionDefinition } from '../runtime/api/module.js';
import { valueTypeName } from '../runtime/api/value-type.js';
import { decodeF32, decodeF64 } from '../runtime/api/encoding.js';

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
  /** Whether stderr is a terminal (progress lines are written only to one). Default: false. */
  readonly stderrIsTTY?: boolean;
}

function defaultIO(): CliIO {
  return { stdout: hostFdWriter(1), stderr: hostFdWriter(2), stdin: 0, env: process.env, stderrIsTTY: process.stderr.isTTY === true };
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

const EXIT_CODES = `Exit codes:
  0       success (run: the guest returned, or exited with 0)
  N       run, replay: the guest's exit code (proc_exit(N); truncated to 0-255 by the OS)
  1       a usage error, an unreadable file, an invalid module, a missing import, a trap or a
          host function's error (the reason is on stderr as 'error: ...')
  255     run --timeout: the guest was stopped (wazero's exit code 0xefffffff, truncated)
`;

const USAGE = `wasmscope: a WebAssembly runtime for Node.js modeled on wazero

Usage:
  wasmscope <command> [flags]

Commands:
  run       Runs a WebAssembly binary (WASI commands get the process's args, stdio and mounts),
            or one of its exported functions with --invoke
  compile   Validates and compiles a WebAssembly binary; prints its sections, imports, exports
            and the features it needs
  replay    Runs a WebAssembly binary against host calls recorded by 'run --record'
  report    Draws a flame graph (SVG or HTML) or prints the top functions of a pprof profile
  preinit   Pre-initialises a module into a new .wasm (as Wizer)
  resume    Continues a run stopped by 'run --checkpoint-after-ms/--checkpoint-on' (interpreter)
  version   Displays the version of wasmscope (also -v, --version)

Run 'wasmscope <command> --help' for the flags of a command.

${EXIT_CODES}`;

const RUN_USAGE = `Usage:
  wasmscope run [flags] <path to wasm file> [--] [args...]
  wasmscope run [flags] --invoke <function> <path to wasm file> [params...]

Runs a WebAssembly binary. If it imports wasi_snapshot_preview1 (or wasi_unstable), WASI is provided
with the real clocks, crypto-strength random, the process's stdin/stdout/stderr, and the mounts given.
The first guest argument (argv[0]) is the file's base name. The exit code is the guest's.

Flags:
  --invoke NAME           call the exported function NAME instead of _start (a reactor's
                          _initialize still runs first), with the params after the file (decimal
                          or 0x hex integers, floats, 'nan', 'inf'); print its results, one per line
  --interpreter           run on the interpreter engine (default: the compiler engine)
  --features LIST         the WebAssembly features to accept, e.g. v2 or v2,exception-handling (default
                          v3: 2.0 plus exception handling, extended constants, multiple and 64-bit
                          memories, relaxed SIMD and tail calls, as V8 enables them; add threads with
                          v3,threads). Names: v1, v2, v3, bulk-memory-operations, multi-value,
                          mutable-global, nontrapping-float-to-int-conversion, reference-types,
                          sign-extension-ops, simd, threads, tail-call, exception-handling,
                          extended-const, multi-memory, memory64, relaxed-simd
  --async-io              WASI waits (poll_oneoff sleeps, reads of pipes and terminals) without
                          blocking Node's event loop; the guest runs as an async call (the
                          compiler engine needs Node >= 24 for it)
  --mount host[:guest][:ro]
                          mount a host directory into the guest filesystem (repeatable); the guest
                          path (the pre-open name the guest sees, kept exactly as written: '.',
                          './x', '/') defaults to the host path; ':ro' makes it read-only. Example:
                          --mount .:/ --mount /tmp/data:/data:ro
  --listen HOST:PORT      pre-open a TCP listener for the guest (repeatable; descriptors follow the
                          mounts; port 0 picks a free port); the guest accepts connections with
                          sock_accept (wasi-libc's accept). Example: --listen 127.0.0.1:8080
  --env KEY=VALUE         set an environment variable (repeatable)
  --env-inherit           pass the host's environment first (--env values override)
  --timeout DURATION      stop the guest after e.g. 500ms, 5s, 1m (0 = no timeout)
  --hostlogging SCOPES    log host calls to stderr for scopes all,clock,filesystem,memory,proc,poll,random,sock
  --cachedir DIR          cache compiled code in DIR: later runs of the same module skip validation
                          and preparation (created if missing; shared by concurrent runs)
  --record FILE           record every host call (params, results, memory written, exit) to FILE,
                          for 'wasmscope replay'
  --trace-otlp URL        export OpenTelemetry spans of the run (the start function and every host
                          call) over OTLP/HTTP, e.g. http://127.0.0.1:4318/v1/traces; flushed before
                          exit (needs the optional @opentelemetry packages; service.name is
                          $OTEL_SERVICE_NAME or wasmscope)
  --trace-file FILE       write the same spans to FILE as OTLP JSON lines
${CHECKPOINT_USAGE}${PROFILE_USAGE}  -h, --help              show this help

The profiling outputs are written when the guest ends, however it ends (exit, trap, timeout), and
one line on stderr says what was written. Example:
  wasmscope run --profile cpu.pprof --coverage lcov.info guest.wasm && wasmscope report cpu.pprof --html flame.html

${EXIT_CODES}`;

const COMPILE_USAGE = `Usage:
  wasmscope compile [flags] <path to wasm file>

Validates and compiles a WebAssembly binary, and prints its sections, imports and exports (in
readable types), the core features it needs, and the time the compile took. An invalid module is
an error naming the section, function and byte offset (exit 1).

Flags:
  --interpreter           compile for the interpreter engine (default: the compiler engine)
  -h, --help              show this help
`;

/** Binaries at least this big get a progress line on a terminal before their compile (about a second's work). */
const PROGRESS_BYTES = 4 * 1024 * 1024;
/** A compile still running after this long gets a progress line on a terminal. */
const PROGRESS_AFTER_MS = 1000;

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
  features: CoreFeatures;
  mounts: Array<{ host: string; guest: string; readOnly: boolean }>;
  listens: Array<{ host: string; port: number }>;
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
  invoke: string | undefined;
  checkpoint: CheckpointFlags;
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
  // host:guest:opt — the only option is ro.
  const parts = s.split(':');
  if (parts.length > 2) throw new UsageError(`invalid mount "${spec}": unknown mount option '${parts[parts.length - 1]}' (use ro)`);
  const i = s.lastIndexOf(':');
  const host = i < 0 ? s : s.slice(0, i);
  const guest = i < 0 ? s : s.slice(i + 1);
  if (host === '') throw new UsageError(`invalid mount "${spec}": empty host directory`);
  return { host, guest: guest === '' ? '/' : guest, readOnly };
}

/** Splits `host:port` at the last colon (`[::1]:8080` for IPv6); the port is 0..65535. */
export function parseListen(spec: string): { host: string; port: number } {
  const i = spec.lastIndexOf(':');
  const host = (i < 0 ? '' : spec.slice(0, i)).replace(/^\[(.*)\]$/, '$1');
  const portText = i < 0 ? '' : spec.slice(i + 1);
  const port = Number(portText);
  if (host === '' || !/^\d+$/.test(portText) || port > 65535) throw new UsageError(`invalid --listen "${spec}": use host:port`);
  return { host, port };
}

function parseRun(argv: readonly string[]): RunOptions | 'help' {
  const o: RunOptions = {
    interpreter: false,
    features: CoreFeaturesV3,
    mounts: [],
    listens: [],
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
    invoke: undefined,
    checkpoint: { afterMs: undefined, signal: undefined, file: undefined },
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
      case 'features': {
        const list = value(a, inline);
        try {
          o.features = parseCoreFeatures(list);
        } catch (e) {
          throw new UsageError(`invalid --features "${list}": ${(e as Error).message}`);
        }
        break;
      }
      case 'mount':
        o.mounts.push(parseMount(value(a, inline)));
        break;
      case 'listen':
        o.listens.push(parseListen(value(a, inline)));
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
      case 'invoke':
        o.invoke = value(a, inline);
        if (o.invoke === '') throw new UsageError('--invoke needs a function name');
        break;
      default:
        if (
          !parseProfileFlag(
            o.profile,
            flag,
            () => value(a, inline),
            inline,
            (m) => new UsageError(m),
          ) &&
          !parseCheckpointFlag(
            o.checkpoint,
            flag,
            () => value(a, inline),
            (m) => new UsageError(m),
          )
        )
          throw new UsageError(`unknown flag: ${a}`);
    }
  }
  if (checkpointing(o.checkpoint)) {
    if (!o.interpreter) {
      throw new UsageError(
        '--checkpoint-after-ms/--checkpoint-on need --interpreter (not supported: mid-call checkpoints on the compiler engine)',
      );
    }
    const clash: Array<[boolean, string]> = [
      [o.invoke !== undefined, '--invoke'],
      [o.timeoutMs > 0, '--timeout'],
      [o.listens.length > 0, '--listen'],
      [o.record !== undefined, '--record'],
      [o.hostlogging !== undefined, '--hostlogging'],
      [o.traceOtlp !== undefined || o.traceFile !== undefined, '--trace-otlp/--trace-file'],
      [
        [o.profile.cpu, o.profile.mem, o.profile.speedscope, o.profile.traceEvents, o.profile.coverage].some((x) => x !== undefined),
        'profiling or coverage flags',
      ],
    ];
    for (const [on, name] of clash) if (on) throw new UsageError(`not supported: --checkpoint-after-ms/--checkpoint-on with ${name}`);
    o.asyncIO = true;
  } else if (o.checkpoint.file !== undefined) {
    throw new UsageError('--checkpoint-file needs --checkpoint-after-ms or --checkpoint-on');
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
  if (cmd === undefined) {
    err(`error: missing command (see wasmscope --help)\n\n${USAGE}`);
    return 1;
  }
  if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
    const topic = cmd === 'help' ? argv[1] : undefined;
    const usage = topic === undefined ? USAGE : COMMAND_USAGE[topic];
    if (usage === undefined) {
      err(`error: unknown command "${topic}" (see wasmscope --help)\n`);
      return 1;
    }
    out(usage);
    return 0;
  }
  if (cmd === 'version' || cmd === '--version' || cmd === '-v') {
    if (argv[1] === '-h' || argv[1] === '--help') {
      out(VERSION_USAGE);
      return 0;
    }
    out(`${version()}\n`);
    return 0;
  }
  if (cmd === 'replay') return replayCommand(argv.slice(1), io, out, err);
  if (cmd === 'compile') return compileCommand(argv.slice(1), io, out, err);
  if (cmd === 'report') return (await import('./profile.js')).reportCommand(argv.slice(1), out, err);
  if (cmd === 'preinit') return preinitCommand(argv.slice(1), io, out, err);
  if (cmd === 'resume') return (await import('./checkpoint.js')).resumeCommand(argv.slice(1), io, out, err);
  if (cmd !== 'run') {
    err(`error: unknown command "${cmd}" (see wasmscope --help)\n`);
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
    out(RUN_USAGE);
    return 0;
  }
  return run(o, io, err);
}

const VERSION_USAGE = 'Usage:\n  wasmscope version\n\nDisplays the version of wasmscope (also: wasmscope -v, wasmscope --version).\n';

const COMMAND_USAGE: Readonly<Record<string, string>> = {
  run: RUN_USAGE,
  compile: COMPILE_USAGE,
  replay: REPLAY_USAGE,
  report: REPORT_USAGE,
  resume: RESUME_USAGE,
  version: VERSION_USAGE,
};

/**
 * Compiles `bytes` with `r`; on a terminal, says so on stderr when the compile is big enough to
 * take about a second, or once it has taken one (the line is erased when it is done).
 */
async function compileWithProgress(r: Runtime, bytes: Uint8Array, path: string, io: CliIO, ctx?: Context): Promise<CompiledModule> {
  if (io.stderrIsTTY !== true) return r.compileModule(bytes, ctx);
  let shown = false;
  const show = (): void => {
    if (shown) return;
    shown = true;
    void io.stderr.write(encoder.encode(`compiling ${basename(path)} (${(bytes.length / 1024 / 1024).toFixed(1)} MB)…`));
  };
  if (bytes.length >= PROGRESS_BYTES) show();
  const timer = setTimeout(show, PROGRESS_AFTER_MS);
  try {
    return await r.compileModule(bytes, ctx);
  } finally {
    clearTimeout(timer);
    if (shown) void io.stderr.write(encoder.encode('\r\x1b[K'));
  }
}

async function compileCommand(argv: readonly string[], io: CliIO, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let interpreter = false;
  const files: string[] = [];
  for (const a of argv) {
    if (a === '-h' || a === '--help') {
      out(COMPILE_USAGE);
      return 0;
    }
    if (a === '--interpreter') interpreter = true;
    else if (a.startsWith('-') && a !== '-') {
      err(`error: unknown flag: ${a} (see wasmscope compile --help)\n`);
      return 1;
    } else files.push(a);
  }
  if (files.length !== 1) {
    err(`error: ${files.length === 0 ? 'missing path to wasm file' : 'compile takes one wasm file'} (see wasmscope compile --help)\n`);
    return 1;
  }
  const path = files[0]!;
  const bytes = readInput(path, err);
  if (bytes === undefined) return 1;
  const r = await newCliRuntime(interpreter ? newRuntimeConfigInterpreter() : newRuntimeConfig());
  try {
    const t = performance.now();
    let compiled: CompiledModule;
    try {
      compiled = await compileWithProgress(r, bytes, path, io);
    } catch (e) {
      err(`error: compiling ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    out(
      await (
        await import('./compile.js')
      ).describeCompiled(path, bytes, compiled, performance.now() - t, interpreter ? 'interpreter' : 'compiler'),
    );
    return 0;
  } finally {
    await r.close();
  }
}

async function run(o: RunOptions, io: CliIO, err: (s: string) => void): Promise<number> {
  const bytes = readInput(o.wasmPath, err);
  if (bytes === undefined) return 1;

  const mounted = mountConfig(o.mounts, invalidMount);
  if ('error' in mounted) {
    err(mounted.error);
    return 1;
  }
  const fs = mounted.fs;

  let rc: RuntimeConfig = (o.interpreter ? newRuntimeConfigInterpreter() : newRuntimeConfig()).withCoreFeatures(o.features);
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
      const { startTracing } = await import('./tracing.js');
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
  const r = await newCliRuntime(rc);
  let recordFd: number | undefined;
  // The recorders load only when a run asks for an output (start-up).
  const session: ProfileSession | undefined = profiling(o.profile)
    ? new (await import('./profile.js')).ProfileSession(o.profile, o.wasmPath)
    : undefined;
  let compiledOk = false;
  try {
    // Host logging and tracing: listeners are fixed at compile time, so the factories ride on the
    // compile and host-module contexts (wazero writes these logs to stderr).
    let ctx = Context.background();
    const factories: FunctionListenerFactory[] = [];
    if (o.hostlogging !== undefined) {
      const utf8 = new TextEncoder();
      const logTo = { write: (c: string | Uint8Array) => io.stderr.write(typeof c === 'string' ? utf8.encode(c) : c) };
      const { newHostLoggingListenerFactory, parseLogScopes } = await import('../listeners/logging.js');
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
      const { withHostCallRecorder } = await import('../replay/recorder.js');
      ctx = withHostCallRecorder(ctx, { write: (chunk: Uint8Array) => writeSync(fd, chunk) });
    }
    if (session !== undefined) ctx = session.context(ctx);
    let compiled: CompiledModule;
    try {
      compiled = await compileWithProgress(r, bytes, o.wasmPath, io, ctx);
    } catch (e) {
      err(`error: compiling ${o.wasmPath}: ${e instanceof CompileError ? e.message : String((e as Error).message ?? e)}\n`);
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
    for (const l of o.listens) c = c.withTCPListener(l.host, l.port);
    const env: Array<[string, string]> = [];
    if (o.envInherit) for (const [k, v] of Object.entries(io.env)) if (v !== undefined && k !== '') env.push([k, v]);
    env.push(...o.env);
    for (const [k, v] of env) c = c.withEnv(k, v);
    let runCtx = o.timeoutMs > 0 ? ctx.withTimeout(o.timeoutMs) : ctx;
    // The checkpoint machinery (snapshots, both engines) loads only when a run asks for it (start-up).
    const checkpoints = checkpointing(o.checkpoint) ? await import('./checkpoint.js') : undefined;
    if (checkpoints !== undefined) {
      const { checkpointContext, checkpointedConfig, runRecord } = checkpoints;
      c = checkpointedConfig(c);
      runCtx = checkpointContext(runCtx, runRecord(o.wasmPath, bytes, o.args, env, o.mounts, o.features));
    }
    // With async I/O, _start runs as an async call (WASI's async functions suspend it). With
    // --invoke, a reactor's _initialize runs, then the function.
    const exported = compiled.exportedFunctions();
    if (o.invoke !== undefined) {
      const fn = exported.get(o.invoke);
      if (fn === undefined) {
        err(
          `error: --invoke: ${basename(o.wasmPath)} exports no function "${o.invoke}" (its functions: ${[...exported.keys()].join(', ') || 'none'})\n`,
        );
        return 1;
      }
      c = c.withStartFunctions('_initialize');
    } else if (o.asyncIO) c = c.withStartFunctions();
    let invokeParams: Array<bigint | number> = [];
    if (o.invoke !== undefined) {
      try {
        invokeParams = parseInvokeParams(exported.get(o.invoke)!, o.args);
      } catch (e) {
        err(`error: --invoke ${o.invoke}: ${(e as Error).message}\n`);
        return 1;
      }
    }
    try {
      const m = await r.instantiateModule(compiled, c, runCtx);
      if (o.invoke !== undefined) {
        const fn = m.exportedFunction(o.invoke)!;
        const results = o.asyncIO ? await fn.callWithContextAsync(runCtx, ...invokeParams) : fn.callWithContext(runCtx, ...invokeParams);
        const types = fn.definition().resultTypes();
        void io.stdout.write(encoder.encode(formatInvokeResults(types, results)));
      } else {
        const start = o.asyncIO ? m.exportedFunction('_start') : undefined;
        if (start !== undefined && checkpoints !== undefined) {
          const { awaitCheckpointable, openFds } = checkpoints;
          const stopped = await awaitCheckpointable(start.callWithContextAsync(runCtx), o.checkpoint, m, openFds(m), err);
          if (stopped !== undefined) return stopped;
        } else if (start !== undefined) await start.callWithContextAsync(runCtx);
        if (!exported.has('_start')) {
          const names = [...exported.keys()];
          err(
            `hint: ${basename(o.wasmPath)} exports no _start function, so nothing ran` +
              (names.length === 0
                ? ' (it exports no functions)\n'
                : `; call one of its functions with --invoke NAME [params...] (${names.join(', ')})\n`),
          );
        }
      }
    } catch (e) {
      if (e instanceof ExitError) {
        if (e.exitCode === EXIT_CODE_DEADLINE_EXCEEDED && o.timeoutMs > 0)
          err(`error: ${e.message} (timeout ${formatDuration(o.timeoutMs)})\n`);
        return e.exitCode;
      }
      err(
        `error: ${o.invoke === undefined ? 'instantiating' : `invoking ${o.invoke} of`} ${o.wasmPath}: ${e instanceof Error ? e.message : String(e)}\n`,
      );
      if (e instanceof LinkError && /not instantiated/.test(e.message)) {
        err(
          `hint: wasmscope run provides ${MODULE_NAME} (and ${MODULE_NAME_UNSTABLE}) only; other host modules come from a program using the library\n`,
        );
      }
      return 1;
    }
    return 0;
  } finally {
    await r.close().catch(() => undefined);
    if (recordFd !== undefined) closeSync(recordFd);
    if (compiledOk && session?.active === true) {
      try {
        err(await session.write());
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

async function replayCommand(argv: readonly string[], io: CliIO, out: (s: string) => void, err: (s: string) => void): Promise<number> {
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
    out(REPLAY_USAGE);
    return 0;
  }
  // Loaded here: a plain run does not need the replay machinery (start-up).
  const { decodeHostCallLog, formatHostCallLog } = await import('../replay/format.js');
  const { HostCallDivergenceError, replayHostCalls } = await import('../replay/replay.js');
  let log: HostCallLog;
  try {
    log = decodeHostCallLog(readFileSync(o.logPath));
  } catch (e) {
    err(cannotRead(o.logPath, e));
    return 1;
  }
  if (o.print) {
    out(`${formatHostCallLog(log)}\n`);
    return 0;
  }
  const bytes = readInput(o.wasmPath, err);
  if (bytes === undefined) return 1;
  const r = await newCliRuntime(o.interpreter ? newRuntimeConfigInterpreter() : newRuntimeConfig());
  const replay = replayHostCalls(log);
  try {
    let compiled;
    try {
      compiled = await r.compileModule(bytes);
    } catch (e) {
      err(`error: compiling ${o.wasmPath}: ${(e as Error).message}\n`);
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
        err(`error: instantiating ${o.wasmPath}: ${e instanceof Error ? e.message : String(e)}\n`);
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

async function preinitCommand(argv: readonly string[], io: CliIO, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  // Loaded here: a run does not need the snapshot machinery (start-up).
  const { PREINIT_USAGE, PreinitUsageError, parsePreinit, runPreinit } = await import('./preinit.js');
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
    out(PREINIT_USAGE);
    return 0;
  }
  return runPreinit(o, io.stdout, io.stderr, err);
}

/**
 * The params of an `--invoke` call from the command line: integers (decimal, or `0x` hex; negative
 * allowed) for i32/i64, numbers (`1.5`, `nan`, `inf`, `-inf`) for f32/f64.
 */
export function parseInvokeParams(def: FunctionDefinition, args: readonly string[]): Array<bigint | number> {
  const types = def.paramTypes();
  if (args.length !== types.length) {
    throw new UsageError(
      `${def.exportNames()[0] ?? def.name()} takes ${types.length} params (${types.map(valueTypeName).join(', ') || 'none'}), but ${args.length} were given`,
    );
  }
  return types.map((t, i) => {
    const a = args[i]!;
    const what = `param[${i}] (${valueTypeName(t)})`;
    if (t === 0x7f || t === 0x7e) {
      if (!/^-?(0x[0-9a-fA-F]+|\d+)$/.test(a)) throw new UsageError(`${what}: "${a}" is not an integer`);
      const neg = a.startsWith('-');
      const v = BigInt(neg ? a.slice(1) : a);
      const signed = neg ? -v : v;
      const bits = t === 0x7f ? 32 : 64;
      if (signed < -(1n << BigInt(bits - 1)) || signed >= 1n << BigInt(bits))
        throw new UsageError(`${what}: ${a} does not fit in ${bits} bits`);
      return BigInt.asUintN(64, BigInt.asUintN(bits, signed));
    }
    if (t === 0x7d || t === 0x7c) {
      const lower = a.toLowerCase();
      const v = lower === 'nan' ? NaN : lower === 'inf' || lower === '+inf' ? Infinity : lower === '-inf' ? -Infinity : Number(a);
      if (Number.isNaN(v) && lower !== 'nan') throw new UsageError(`${what}: "${a}" is not a number`);
      return v;
    }
    throw new UsageError(`${what}: cannot be given on the command line`);
  });
}

/** `--invoke` results, one per line: i32/i64 signed, floats as JS prints them, others raw. */
function formatInvokeResults(types: readonly number[], raw: readonly bigint[]): string {
  let s = 0;
  let text = '';
  for (const t of types) {
    const v = raw[s]!;
    if (t === 0x7f) text += `${BigInt.asIntN(32, v)}\n`;
    else if (t === 0x7e) text += `${BigInt.asIntN(64, v)}\n`;
    else if (t === 0x7d) text += `${decodeF32(v)}\n`;
    else if (t === 0x7c) text += `${decodeF64(v)}\n`;
    else if (t === 0x7b) text += `0x${raw[s + 1]!.toString(16).padStart(16, '0')}${v.toString(16).padStart(16, '0')}\n`;
    else text += `${v === 0n ? 'null' : `0x${v.toString(16)}`}\n`;
    s += t === 0x7b ? 2 : 1;
  }
  return text;
}

/** A duration as Go prints it for the common cases (`1ms`, `1.5s`, `2m0s`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${ms / 1000}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${(ms - m * 60_000) / 1000}s`;
}
