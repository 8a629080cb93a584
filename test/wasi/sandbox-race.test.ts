/**
 * The filesystem sandbox against a racing host: a thread swaps a directory of the mount for a
 * symlink to a directory outside it, in a loop, while a guest (test/fixtures/wasi/fsprobe.c) opens,
 * reads, truncates and writes files through that directory, on every engine. Our path walk and the
 * kernel's open are two steps, so some opens do land outside; the open's descriptor is checked
 * before anything is read or written through it (DirFS), so no byte outside the mount is ever read
 * or written (at most an empty file is created there: README limits).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { newFSConfig } from '../../src/index.js';
import { engines, runtimeFor } from '../helpers.js';
import { runGuest } from './run-guest.js';

const probe = readFileSync(new URL('../fixtures/wasi/fsprobe.wasm', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-race-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Swaps `<dir>/m/real` between a directory and a symlink to `<dir>/outside` until `stop[0]` is set. */
const SWAPPER = `
const { renameSync } = require('node:fs');
const { workerData, parentPort } = require('node:worker_threads');
const { dir, stop } = workerData;
let swaps = 0;
while (Atomics.load(stop, 0) === 0) {
  renameSync(dir + '/m/real', dir + '/m/real.dir');
  renameSync(dir + '/m/real.link', dir + '/m/real');
  renameSync(dir + '/m/real', dir + '/m/real.link');
  renameSync(dir + '/m/real.dir', dir + '/m/real');
  swaps++;
}
parentPort.postMessage(swaps);
`;

describe.each(engines)('the sandbox against a symlink swapped in a loop, $name engine', (engine) => {
  it('no byte outside the mount is read or written', async () => {
    const dir = join(tmp, engine.name);
    mkdirSync(join(dir, 'm', 'real'), { recursive: true });
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'm', 'real', 'f'), 'inside\n');
    writeFileSync(join(dir, 'm', 'real', 'w'), 'mine\n');
    writeFileSync(join(dir, 'outside', 'f'), 'SECRET\n');
    writeFileSync(join(dir, 'outside', 'w'), 'keep\n');
    symlinkSync('../outside', join(dir, 'm', 'real.link'));

    const args = ['fsprobe'];
    for (let i = 0; i < 1500; i++) args.push('cat', '/m/real/f', 'write', '/m/real/w', `x${i}`, 'write', `/m/real/n${i % 50}`, 'new');
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const swapper = new Worker(SWAPPER, { eval: true, workerData: { dir, stop } });
    const swaps = new Promise<number>((resolve) => swapper.once('message', resolve));
    const r = runtimeFor(engine);
    let stdout: string;
    try {
      stdout = (await runGuest(r, probe, { args, fs: newFSConfig().withDirMount(join(dir, 'm'), '/m') })).stdout;
    } finally {
      Atomics.store(stop, 0, 1);
      await r.close();
    }
    expect(await swaps).toBeGreaterThan(0);
    await swapper.terminate();

    expect(stdout).not.toContain('SECRET');
    expect(stdout).toContain('inside');
    expect(readFileSync(join(dir, 'outside', 'f'), 'utf8')).toBe('SECRET\n');
    expect(readFileSync(join(dir, 'outside', 'w'), 'utf8')).toBe('keep\n');
    for (const name of readdirSync(join(dir, 'outside'))) {
      if (name !== 'f' && name !== 'w') expect(statSync(join(dir, 'outside', name)).size, name).toBe(0);
    }
  });
});
