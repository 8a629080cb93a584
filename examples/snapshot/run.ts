/**
 * The snapshot example: a small world (world.wasm, built from world.c) whose start-up generates a
 * terrain.
 * 1. Pre-initialisation writes a module that starts with the terrain generated (as Wizer), and
 *    start-up becomes an instantiation.
 * 2. With dirty-page tracking, a checkpoint of the world is a full one, then small deltas.
 * 3. Restoring rewinds the world; replaying the same steps gives the same state.
 * 4. The checkpoint files restore on the other engine.
 * Run it with `npx tsx examples/snapshot/run.ts [output directory]`.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context, newModuleConfig, newRuntime, newRuntimeConfigInterpreter, newRuntimeWithConfig } from 'wasmscope';
import type { Module } from 'wasmscope/api';
import { checkpoint, preinitialize, readCheckpoint, restore, withDirtyPageTracking, writeCheckpoint } from 'wasmscope/snapshot';

export const WORLD_WASM = fileURLToPath(new URL('./world.wasm', import.meta.url));

/** What the example found. */
export interface SnapshotDemo {
  readonly plainStartMs: number;
  readonly preStartMs: number;
  readonly fullPages: number;
  readonly deltaPages: number;
  readonly deltaFileBytes: number;
  /** The checksum after 100 steps: live, after a rewind and replay, and restored on the interpreter. */
  readonly checksums: readonly [live: bigint, replayed: bigint, otherEngine: bigint];
}

const checksum = (m: Module): bigint => m.exportedFunction('checksum')!.call()[0]!;

/** Runs the example, writing its files into `outDir`. */
export async function snapshotDemo(outDir: string, log: (line: string) => void = console.log): Promise<SnapshotDemo> {
  mkdirSync(outDir, { recursive: true });
  const bytes = new Uint8Array(readFileSync(WORLD_WASM));
  const r = newRuntime();

  // 1. Pre-initialise: the terrain is generated once, here, instead of at every start-up.
  const pre = await preinitialize(bytes);
  writeFileSync(join(outDir, 'world.pre.wasm'), pre);
  let t = performance.now();
  const plain = await r.instantiateWithConfig(bytes, newModuleConfig().withName(''));
  plain.exportedFunction('_initialize')!.call();
  plain.exportedFunction('wizer.initialize')!.call();
  const plainStartMs = performance.now() - t;
  t = performance.now();
  const ready = await r.instantiateWithConfig(pre, newModuleConfig().withName(''));
  const preStartMs = performance.now() - t;
  if (checksum(ready) !== checksum(plain)) throw new Error('the pre-initialised world differs');
  log(`start-up: ${plainStartMs.toFixed(1)} ms with the terrain generated, ${preStartMs.toFixed(1)} ms pre-initialised`);

  // 2. Checkpoints: dirty-page tracking is chosen when the module is compiled.
  const compiled = await r.compileModule(pre, withDirtyPageTracking(Context.background()));
  const world = await r.instantiateModule(compiled, newModuleConfig().withName('world'));
  const base = checkpoint(world);
  await writeCheckpoint(join(outDir, 'base.wscp'), base);
  world.exportedFunction('step')!.call(100);
  const delta = checkpoint(world, { base });
  await writeCheckpoint(join(outDir, 'delta.wscp'), delta);
  const live = checksum(world);
  const deltaFileBytes = statSync(join(outDir, 'delta.wscp')).size;
  log(`checkpoints: ${base.storedPages} pages in full, ${delta.storedPages} changed after 100 steps (${deltaFileBytes} bytes on disk)`);

  // 3. Rewind and replay: the world is deterministic, its random state is in memory too.
  restore(world, base);
  world.exportedFunction('step')!.call(100);
  const replayed = checksum(world);
  log(`rewound and replayed: ${replayed === live ? 'same' : 'different'} state`);

  // 4. The files restore into a fresh instance on the interpreter engine.
  const ri = newRuntimeWithConfig(newRuntimeConfigInterpreter());
  const other = await ri.instantiateWithConfig(pre, newModuleConfig().withName('world'));
  const b = await readCheckpoint(join(outDir, 'base.wscp'));
  restore(other, await readCheckpoint(join(outDir, 'delta.wscp'), { base: b }));
  const otherEngine = checksum(other);
  log(
    `restored on the interpreter: ${otherEngine === live ? 'same' : 'different'} state (steps: ${other.exportedFunction('steps')!.call()[0]})`,
  );
  await r.close();
  await ri.close();
  return {
    plainStartMs,
    preStartMs,
    fullPages: base.storedPages,
    deltaPages: delta.storedPages,
    deltaFileBytes,
    checksums: [live, replayed, otherEngine],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await snapshotDemo(process.argv[2] ?? 'snapshot-out');
}
