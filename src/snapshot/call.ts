/**
 * Mid-call checkpoints (store/suspend.ts has the semantics): a suspended async call's machine state
 * written beside its module's state in one checkpoint of the wasmscope/snapshot format (flag bit 1,
 * the `call` section, format.ts), and {@link resumeCall}, which continues such a call in another
 * runtime — typically a fresh process.
 *
 * "The same module and host modules" means: the runtime has an instance of the same module binary
 * (sha256) under the name the call's module had, made by a runtime with the same lowering options
 * (interrupt checks, dirty-page tracking; no listeners, no coverage), and its import the call waits
 * at is bound to a host function of the same `module.name` and signature. Host modules are
 * the application's: `resumeCall` cannot check their state (a WASI module's open files, say) — a
 * call that depends on host state the new process lacks sees it missing.
 */
import { valueTypeName } from '../runtime/api/value-type.js';
import type { Context } from '../runtime/api/context.js';
import type { FuncType } from '../runtime/binary/module.js';
import type { Runtime } from '../runtime/store/runtime.js';
import { ModuleInstance } from '../runtime/store/module-instance.js';
import { CallHandle, COMPILER_REFUSAL, pendingCall, setCallEncoder, type CallState, type PendingCall } from '../runtime/store/suspend.js';
import { checkpoint, CheckpointImpl } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { decodeCheckpoint, encodeCheckpoint } from './format.js';
import type { SavedCall } from './model.js';
import { restore } from './restore.js';
import { targetOf } from './target.js';
import { Context as Ctx } from '../runtime/api/context.js';

/** Options of {@link resumeCall}. */
export interface ResumeCallOptions {
  /**
   * The results of the host call the call waits at (raw values, one per result slot): given, that
   * host function is not run again; omitted, it runs again with the same params.
   */
  readonly results?: readonly bigint[];
  /** The context of the resumed call (listeners are refused; deadlines, values). Default: background. */
  readonly ctx?: Context;
}

/** `i32,i64->f32`. */
function signatureOf(t: FuncType): string {
  return `${t.params.map((v) => valueTypeName(v)).join(',')}->${t.results.map((v) => valueTypeName(v)).join(',')}`;
}

/** The host import function `index` of `mod` waits at: `module.name` and signature. */
function hostImportOf(mod: ModuleInstance, index: number, what: string): { name: string; signature: string } {
  const ir = targetOf(mod, what).ir;
  let k = 0;
  for (const imp of ir.imports) {
    if (imp.desc.kind !== 0) continue;
    if (k === index) return { name: `${imp.module}.${imp.name}`, signature: signatureOf(ir.types[imp.desc.typeIndex]!) };
    k++;
  }
  throw new Error(`not supported: mid-call checkpoints at a call of function ${index}, which is not imported by module[${mod.name()}]`);
}

/**
 * The checkpoint bytes of `mod`'s state with the suspended call `state` (and application bytes
 * `meta`). Throws a refusal before anything changes.
 */
export function encodeCallCheckpoint(mod: ModuleInstance, state: CallState, meta: Uint8Array = new Uint8Array(0)): Uint8Array {
  const what = 'checkpoint';
  const name = mod.name();
  if (name === '') throw new Error('not supported: mid-call checkpoints of an anonymous module (resumeCall finds the module by its name)');
  const host = hostImportOf(mod, state.hostFn, what);
  const cp = checkpoint(mod) as CheckpointImpl;
  const call: SavedCall = { moduleName: name, hostImport: host.name, hostSignature: host.signature, state, meta };
  return encodeCheckpoint({ ...cp.data, call });
}

/** The suspended call a checkpoint holds (its application bytes included), or a CheckpointError. */
export function callOf(bytes: Uint8Array): SavedCall {
  const call = decodeCheckpoint(bytes).call;
  if (call === undefined) {
    throw new CheckpointError(
      'unsupported',
      'resumeCall: the checkpoint holds no suspended call (a module checkpoint: restore it with restore)',
    );
  }
  return call;
}

/**
 * Continues, in `runtime`, the async call a mid-call checkpoint holds (`PendingCall.checkpoint()`,
 * or a `CallSuspendedError`'s): the module's state is restored into the runtime's instance of the
 * same module (found by the name it had), the call's frames and value stack are written back, and
 * the host call it waited at runs again (or returns `options.results`). The result is what the
 * uninterrupted call would have returned. The returned call can itself be checkpointed.
 *
 * The runtime must use the interpreter and hold the same module binary (sha256) instantiated under
 * the same name, with the same runtime options (`withCloseOnContextDone`, dirty-page tracking), and
 * the import the call waits at bound to a host function of the same `module.name` and signature.
 * @throws CheckpointError before anything changes: `corrupt` for bytes that are not a checkpoint,
 *   `unsupported` for a module checkpoint without a call, `incompatible` when no module of that name
 *   is instantiated or the host import differs, `module-mismatch` for another module binary; Error
 *   `not supported: mid-call checkpoints on the compiler engine (use the interpreter)` on the compiler
 *   engine; Error for a state that does not fit the instance (code layout, options); TypeError for
 *   bad `options.results`.
 */
export function resumeCall(runtime: Runtime, bytes: Uint8Array, options: ResumeCallOptions = {}): PendingCall {
  const what = 'resumeCall';
  const data = decodeCheckpoint(bytes);
  const call = data.call;
  if (call === undefined) {
    throw new CheckpointError(
      'unsupported',
      `${what}: the checkpoint holds no suspended call (a module checkpoint: restore it with restore)`,
    );
  }
  const mod = runtime.module(call.moduleName);
  if (!(mod instanceof ModuleInstance)) {
    throw new CheckpointError(
      'incompatible',
      `${what}: module[${call.moduleName}] is not instantiated in this runtime: instantiate the same module under that name (and its host modules) first`,
    );
  }
  const engine = mod.engine;
  if (engine.resumeAsync === undefined || engine.prepareResume === undefined) {
    if (engine.moduleState === undefined) throw new CheckpointError('incompatible', `${what}: module[${call.moduleName}] is a host module`);
    throw new Error(COMPILER_REFUSAL);
  }
  const t = targetOf(mod, what);
  if (t.sha256 !== data.moduleSha256) {
    throw new CheckpointError(
      'module-mismatch',
      `${what}: the call is of module ${data.moduleSha256.slice(0, 12)}…, module[${call.moduleName}] is ${t.sha256.slice(0, 12)}…`,
    );
  }
  const host = hostImportOf(mod, call.state.hostFn, what);
  if (host.name !== call.hostImport || host.signature !== call.hostSignature) {
    throw new CheckpointError(
      'incompatible',
      `${what}: the call waits at ${call.hostImport} (${call.hostSignature}), module[${call.moduleName}] imports ${host.name} (${host.signature}) there`,
    );
  }
  const slots = engine.prepareResume(call.state);
  const results = options.results;
  if (results !== undefined) {
    if (!Array.isArray(results) || results.length !== slots.hostResultSlots || results.some((r) => typeof r !== 'bigint')) {
      throw new TypeError(`${what}: results must be ${slots.hostResultSlots} bigint(s), one per result slot of ${call.hostImport}`);
    }
  }
  restore(mod, new CheckpointImpl({ ...data, call: undefined }, undefined));
  const handle = new CallHandle((st) => encodeCallCheckpoint(mod, st, call.meta));
  handle.supported = true;
  const stack = new BigUint64Array(Math.max(slots.resultSlots, 1));
  const run = async (): Promise<bigint[]> => {
    await engine.resumeAsync!(call.state, results, stack, options.ctx ?? Ctx.background(), handle);
    mod.failIfClosed();
    return Array.from(stack.subarray(0, slots.resultSlots));
  };
  return pendingCall(run(), handle);
}

setCallEncoder((mod, state, meta) => {
  if (!(mod instanceof ModuleInstance)) throw new Error('not supported: mid-call checkpoints of a module not of a wasmscope runtime');
  return encodeCallCheckpoint(mod, state, meta);
});
