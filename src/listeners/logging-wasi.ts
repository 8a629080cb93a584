/**
 * WASI-aware logging (wazero's `internal/wasip1/logging`), driven by the tables in
 * `wasi/logging-tables.ts`: results end with `errno=<NAME>`, out-params move to the results and are
 * read from the caller's memory only on success, paths print as text, flags as `A|B`, clock ids by
 * name, and fd_read/fd_write on stdio are not logged.
 */
import type { FunctionDefinition, Module } from '../runtime/api/module.js';
import { FDFLAGS, FILETYPE_NAMES, formatFlags, RIGHTS, wasiErrnoName } from '../wasi/constants.js';
import { clockIdName, LOG_SCOPE, WASI_LOG_SPECS, wasiScope, type OutFormat, type WasiLogSpec } from '../wasi/logging-tables.js';
import { genericConfig, type LogConfig, type LogLine, type ParamLogger, type ResultLogger } from './logging-config.js';
import { formatI32, formatI64 } from './logging-format.js';

const I32 = 0x7f;
const I64 = 0x7e;

/** The module names whose functions print as WASI. */
export function isWasiModuleName(name: string): boolean {
  return name === 'wasi_snapshot_preview1' || name === 'wasi_unstable';
}

/** wazero's `IsInLogScope` for WASI: any matching scope, or `all` for functions with no scope of their own. */
export function wasiInScope(name: string, scopes: number): boolean {
  const need = wasiScope(name);
  if (need === LOG_SCOPE.all) return scopes >>> 0 === LOG_SCOPE.all;
  return (scopes & need) !== 0;
}

const u32 = (v: bigint | undefined): number => Number((v ?? 0n) & 0xffffffffn);

function filetypeName(t: number): string {
  return FILETYPE_NAMES[t] ?? `filetype(${t})`;
}

function writeOom(out: LogLine, offset: number, len: number): void {
  out.str(`OOM(${offset},${len})`);
}

function paramLogger(spec: WasiLogSpec['params'][number]): ParamLogger {
  const prefix = spec.name + '=';
  const i = spec.index;
  const f = spec.format;
  switch (f.kind) {
    case 'i32':
      return (out, _mod, p) => out.str(prefix + formatI32(p[i] ?? 0n));
    case 'i64':
      return (out, _mod, p) => out.str(prefix + formatI64(p[i] ?? 0n));
    case 'clockid':
      return (out, _mod, p) => out.str(prefix + clockIdName(u32(p[i])));
    case 'flags': {
      const table = f.table;
      return (out, _mod, p) => out.str(prefix + formatFlags(table, u32(p[i])));
    }
    case 'string': {
      const lenIndex = f.lenIndex;
      return (out, mod, p) => {
        out.str(prefix);
        const offset = u32(p[i]);
        const len = u32(p[lenIndex]);
        const b = mod.memory()?.read(offset, len);
        if (b === undefined) writeOom(out, offset, len);
        else out.bytes(b);
      };
    }
  }
}

/** Writes an out-param's value from memory (nothing when out of range, as wazero). */
function outWriter(format: OutFormat, i: number): (out: LogLine, mod: Module, p: BigUint64Array) => void {
  switch (format) {
    case 'u32':
      // wazero prints these as signed 32-bit.
      return (out, mod, p) => {
        const v = mod.memory()?.readUint32Le(u32(p[i]));
        if (v !== undefined) out.str(String(v | 0));
      };
    case 'u64':
      return (out, mod, p) => {
        const v = mod.memory()?.readUint64Le(u32(p[i]));
        if (v !== undefined) out.str(formatI64(v));
      };
    case 'filestat':
      return (out, mod, p) => {
        const b = mod.memory()?.read(u32(p[i]), 64);
        if (b === undefined) return;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        out.str(
          `{filetype=${filetypeName(b[16]!)},size=${formatI64(dv.getBigUint64(32, true))},mtim=${formatI64(dv.getBigUint64(48, true))}}`,
        );
      };
    case 'fdstat':
      return (out, mod, p) => {
        const b = mod.memory()?.read(u32(p[i]), 24);
        if (b === undefined) return;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        // wazero reads the 64-bit rights fields as 16 bits; printed the same here so logs compare equal.
        out.str(
          `{filetype=${filetypeName(b[0]!)},fdflags=${formatFlags(FDFLAGS, dv.getUint16(2, true))},` +
            `fs_rights_base=${formatFlags(RIGHTS, dv.getUint16(8, true))},` +
            `fs_rights_inheriting=${formatFlags(RIGHTS, dv.getUint16(16, true))}}`,
        );
      };
    case 'prestat':
      // Only pr_name_len (at +4) is meaningful.
      return (out, mod, p) => {
        const v = mod.memory()?.readUint32Le((u32(p[i]) + 4) >>> 0);
        if (v !== undefined) out.str(`{pr_name_len=${v | 0}}`);
      };
    case 'string':
      return (out, mod, p) => {
        const b = mod.memory()?.read(u32(p[i]), u32(p[i + 1]));
        if (b !== undefined) out.bytes(b);
      };
  }
}

function resultLogger(spec: WasiLogSpec['results'][number]): ResultLogger {
  const prefix = spec.name + '=';
  const write = outWriter(spec.format, spec.index);
  return (out, mod, params, results) => {
    out.str(prefix);
    // Out-params are only written on success; otherwise memory holds garbage.
    if ((results[0] ?? 0n) === 0n) write(out, mod, params);
  };
}

const logErrno: ResultLogger = (out, _mod, _params, results) => {
  out.str('errno=' + wasiErrnoName(u32(results[0])));
};

/** Don't clutter the log with console reads and writes (fds are unsigned). */
const stdioSampler = (_mod: Module, params: BigUint64Array): boolean => u32(params[0]) > 2;

function sameSignature(def: FunctionDefinition, spec: WasiLogSpec): boolean {
  const pt = def.paramTypes();
  const rt = def.resultTypes();
  let maxIndex = -1;
  for (const p of spec.params) maxIndex = Math.max(maxIndex, p.index, p.format.kind === 'string' ? p.format.lenIndex : -1);
  for (const r of spec.results) maxIndex = Math.max(maxIndex, r.index + (r.format === 'string' ? 1 : 0));
  if (maxIndex >= pt.length || pt.some((t) => t !== I32 && t !== I64)) return false;
  return spec.noResult ? rt.length === 0 : rt.length === 1 && rt[0] === I32;
}

/**
 * The WASI logging configuration of `def`, or `undefined` when it is not one of the 46 functions
 * with their usual signature (a user override of another shape prints generically).
 */
export function wasiConfig(def: FunctionDefinition): LogConfig | undefined {
  const spec = WASI_LOG_SPECS.get(def.name());
  if (spec === undefined || !sameSignature(def, spec)) return undefined;
  // proc_exit never returns: wazero logs it generically (`rval=N`), with no result logger.
  if (spec.noResult) return genericConfig(def);
  const params = spec.params.map(paramLogger);
  const results = spec.results.map(resultLogger);
  results.push(logErrno);
  return {
    params,
    results,
    sampler: spec.skipStdio ? stdioSampler : undefined,
    resultsNeedParams: spec.results.length > 0,
  };
}
