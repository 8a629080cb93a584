/**
 * The profiling flags of `wasmscope run`, apart from the recorders (profile.ts), which only a run
 * that asks for an output loads (start-up).
 */

/** The profiling flags of `wasmscope run`. */
export interface ProfileFlags {
  cpu: string | undefined;
  mem: string | undefined;
  speedscope: string | undefined;
  traceEvents: string | undefined;
  coverage: string | undefined;
  sampleEvery: number;
  hostTime: boolean;
}

/** Flags with no output asked for. */
export function noProfileFlags(): ProfileFlags {
  return {
    cpu: undefined,
    mem: undefined,
    speedscope: undefined,
    traceEvents: undefined,
    coverage: undefined,
    sampleEvery: 1,
    hostTime: false,
  };
}

/** The help lines of the profiling flags. */
export const PROFILE_USAGE = `  --profile FILE          write a CPU profile (pprof, self time per stack) to FILE
  --memprofile FILE       write a memory profile (pprof: malloc/calloc/realloc/free by stack) to FILE
  --speedscope FILE       write every call as a speedscope evented profile (JSON) to FILE
  --trace-events FILE     write every call as Chrome/Perfetto trace events (JSON) to FILE
  --coverage FILE         write DWARF source-line and function coverage to FILE: lcov, or Istanbul
                          JSON when FILE ends in .json
  --sample-every N        CPU profile: sample one call in N per function (default 1)
  --profile-host-time     CPU profile: keep the time spent in host functions (default: left out)
`;

/**
 * Handles one profiling flag of `run`; returns false when `flag` is not one.
 * @param value - reads the flag's value (throws a usage error when missing).
 */
export function parseProfileFlag(
  o: ProfileFlags,
  flag: string,
  value: () => string,
  inline: string | undefined,
  usage: (m: string) => Error,
): boolean {
  switch (flag) {
    case 'profile':
      o.cpu = value();
      return true;
    case 'memprofile':
      o.mem = value();
      return true;
    case 'speedscope':
      o.speedscope = value();
      return true;
    case 'trace-events':
      o.traceEvents = value();
      return true;
    case 'coverage':
      o.coverage = value();
      return true;
    case 'sample-every': {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw usage(`invalid --sample-every "${v}": use a positive integer`);
      o.sampleEvery = n;
      return true;
    }
    case 'profile-host-time':
      o.hostTime = inline === undefined || inline === 'true';
      return true;
    default:
      return false;
  }
}

/** Whether `o` asks for any output. */
export function profiling(o: ProfileFlags): boolean {
  return (
    o.cpu !== undefined || o.mem !== undefined || o.speedscope !== undefined || o.traceEvents !== undefined || o.coverage !== undefined
  );
}

/** `wasmscope report --help` (here, not in profile.ts, so that the CLI's help loads no recorders). */
export const REPORT_USAGE = `Usage:
  wasmscope report <profile.pprof> [flags]

Reads a pprof profile (from 'wasmscope run --profile/--memprofile', or any pprof producer, gzip or
not) and writes a self-contained flame graph, or prints the functions with the largest values.

Flags:
  --svg FILE              write the flame graph as SVG to FILE
  --html FILE             write the flame graph as an HTML page (click to zoom, search) to FILE
  --sample-type TYPE      the value to draw or rank (e.g. cpu, samples, alloc_space, inuse_space;
                          default: the profile's default)
  --title TEXT            the flame graph's title (default: the file's name)
  --top N                 print the N functions with the largest self values (default 10 when no
                          --svg/--html is given)
  -h, --help              show this help
`;
