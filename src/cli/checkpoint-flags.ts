/**
 * The flags of mid-call checkpoints (`wasmscope run` and `resume`) and their usage: apart from
 * checkpoint.ts, which loads both engines and the snapshot machinery, so that parsing a command
 * line and printing help load neither (start-up).
 */

/** When and where a run is checkpointed. */
export interface CheckpointFlags {
  afterMs: number | undefined;
  signal: NodeJS.Signals | undefined;
  file: string | undefined;
}

/** The usage lines of the checkpoint flags (run and resume). */
export const CHECKPOINT_USAGE = `  --checkpoint-after-ms N stop the guest at its first async WASI wait (a sleep, a read of a pipe or
                          terminal) after N ms, write the whole run to --checkpoint-file and exit 0;
                          'wasmscope resume FILE' continues it (needs --interpreter; implies
                          --async-io; not with --invoke, --timeout, --listen, --record,
                          --hostlogging, tracing or profiling)
  --checkpoint-on SIGNAL  the same when SIGNAL (e.g. SIGUSR2) arrives
  --checkpoint-file FILE  where the checkpoint goes (default checkpoint.bin)
`;

/** `wasmscope resume --help`. */
export const RESUME_USAGE = `Usage:
  wasmscope resume [flags] <checkpoint file>

Continues a run stopped by 'wasmscope run --checkpoint-after-ms/--checkpoint-on' (on the
interpreter), in this process: the module (at the path recorded, checked by its sha256), args, env
and mounts are the recorded ones; stdio is this process's. The output continues where the stopped
run's ended, and the exit code is the guest's. Files the guest had open (other than stdio and the
mounts) cannot be carried: such a checkpoint is refused when it is taken.

Flags:
${CHECKPOINT_USAGE}  -h, --help              show this help
`;

/** Parses a checkpoint flag of run or resume into `f`; false when `flag` is not one. */
export function parseCheckpointFlag(f: CheckpointFlags, flag: string, value: () => string, usage: (msg: string) => Error): boolean {
  switch (flag) {
    case 'checkpoint-after-ms': {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(n))
        throw usage(`invalid --checkpoint-after-ms "${v}" (a whole number of milliseconds)`);
      f.afterMs = n;
      return true;
    }
    case 'checkpoint-on': {
      const v = value();
      if (!/^SIG[A-Z0-9]+$/.test(v) || ['SIGKILL', 'SIGSTOP'].includes(v))
        throw usage(`invalid --checkpoint-on "${v}" (a signal name such as SIGUSR2)`);
      f.signal = v as NodeJS.Signals;
      return true;
    }
    case 'checkpoint-file':
      f.file = value();
      return true;
    default:
      return false;
  }
}

/** Whether a checkpoint trigger is set. */
export function checkpointing(f: CheckpointFlags): boolean {
  return f.afterMs !== undefined || f.signal !== undefined;
}
