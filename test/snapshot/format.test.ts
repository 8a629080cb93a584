/**
 * The checkpoint format (src/snapshot/format.ts, README "Snapshots"): its header fields, zero pages
 * left out of full checkpoints, every byte covered by the checksum, and files written atomically.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newModuleConfig, newRuntime } from '../../src/index.js';
import {
  CHECKPOINT_FORMAT_VERSION,
  Checkpoint,
  CheckpointError,
  checkpoint,
  readCheckpoint,
  restore,
  writeCheckpoint,
} from '../../src/snapshot.js';
import { thrown, wat } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmscope-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GUEST = `(module (memory (export "memory") 64)
  (global $g (mut i32) (i32.const 0))
  (func (export "w") (param i32 i32) (i32.store (local.get 0) (local.get 1)) (global.set $g (local.get 1)))
  (func (export "g") (result i32) (global.get $g)))`;

async function guest(): Promise<{ m: Awaited<ReturnType<ReturnType<typeof newRuntime>['instantiate']>>; bytes: Uint8Array }> {
  const bytes = await wat(GUEST);
  return { m: await newRuntime().instantiateWithConfig(bytes, newModuleConfig().withName('')), bytes };
}

describe('checkpoint format', () => {
  it('starts with magic, version, flags, the module sha256, its id and its base id, and ends with a sha256 of the rest', async () => {
    const { m, bytes } = await guest();
    m.exportedFunction('w')!.call(70000, 7);
    const full = checkpoint(m);
    m.exportedFunction('w')!.call(8, 9);
    const delta = checkpoint(m, { base: full });
    const { createHash } = await import('node:crypto');
    for (const cp of [full, delta]) {
      const b = cp.toBytes();
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      expect(Buffer.from(b.subarray(0, 4)).toString()).toBe('WSCP');
      expect(dv.getUint32(4, true)).toBe(CHECKPOINT_FORMAT_VERSION);
      expect(dv.getUint32(8, true)).toBe(cp.kind === 'delta' ? 1 : 0);
      expect(Buffer.from(b.subarray(16, 48)).toString('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(Buffer.from(b.subarray(48, 64)).toString('hex')).toBe(cp.id);
      expect(Buffer.from(b.subarray(64, 80)).toString('hex')).toBe(cp.kind === 'delta' ? full.id : '0'.repeat(32));
      expect(Number(dv.getBigUint64(80, true))).toBe(b.length - 88 - 32);
      expect(Buffer.from(b.subarray(b.length - 32)).toString('hex')).toBe(
        createHash('sha256')
          .update(b.subarray(0, b.length - 32))
          .digest('hex'),
      );
    }
  });

  it('leaves the zero pages of a full checkpoint out of its bytes (64 pages, 1 written: about one page of bytes)', async () => {
    const { m } = await guest();
    m.exportedFunction('w')!.call(70000, 7);
    const b = checkpoint(m).toBytes();
    expect(b.length).toBeGreaterThan(65536);
    expect(b.length).toBeLessThan(65536 + 400);
  });

  it('refuses a flip of any byte (header, payload or checksum), and bytes appended', async () => {
    const { m } = await guest();
    m.exportedFunction('w')!.call(8, 1);
    const b = checkpoint(m).toBytes();
    for (let i = 0; i < b.length; i += Math.max(1, Math.floor(b.length / 257))) {
      const x = b.slice();
      x[i] = x[i]! ^ 0x40;
      const e = thrown(() => Checkpoint.fromBytes(x));
      expect(e, `byte ${i}`).toBeInstanceOf(CheckpointError);
      expect((e as CheckpointError).reason).toBe('corrupt');
    }
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    expect((thrown(() => Checkpoint.fromBytes(longer)) as Error).message).toBe('corrupted checkpoint: 1 bytes after its end');
  });
});

describe('checkpoint files', () => {
  it('writeCheckpoint replaces the file atomically and leaves no temporary file; readCheckpoint reads it back', async () => {
    const { m } = await guest();
    const path = join(dir, 'state.wscp');
    writeFileSync(path, 'old contents');
    m.exportedFunction('w')!.call(8, 5);
    const full = checkpoint(m);
    await writeCheckpoint(path, full);
    expect(readdirSync(dir)).toEqual(['state.wscp']);
    m.exportedFunction('w')!.call(8, 6);
    const delta = checkpoint(m, { base: full });
    await writeCheckpoint(join(dir, 'delta.wscp'), delta);
    const base = await readCheckpoint(path);
    expect(base.id).toBe(full.id);
    const d = await readCheckpoint(join(dir, 'delta.wscp'), { base });
    restore(m, base);
    expect(m.exportedFunction('g')!.call()).toEqual([5n]);
    restore(m, d);
    expect(m.exportedFunction('g')!.call()).toEqual([6n]);
  });

  it('a failed write keeps the old file and removes its temporary file', async () => {
    const { m } = await guest();
    const path = join(dir, 'kept.wscp');
    writeFileSync(path, 'old contents');
    const broken = Object.assign(Object.create(Object.getPrototypeOf(checkpoint(m)) as object) as Checkpoint, {
      toBytes: (): Uint8Array => new Uint8Array(10),
    });
    // A rename over a directory fails after the temporary file was written.
    const target = join(dir, 'a-directory');
    (await import('node:fs')).mkdirSync(target);
    (await import('node:fs')).writeFileSync(join(target, 'x'), '');
    await expect(writeCheckpoint(target, broken)).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(path, 'utf8')).toBe('old contents');
    expect(existsSync(join(target, 'x'))).toBe(true);
  });

  it('readCheckpoint refuses a truncated file', async () => {
    const { m } = await guest();
    const path = join(dir, 'cut.wscp');
    await writeCheckpoint(path, checkpoint(m));
    writeFileSync(path, readFileSync(path).subarray(0, 100));
    await expect(readCheckpoint(path)).rejects.toThrow(/^truncated checkpoint: 100 bytes, less than its header and checksum \(120\)$/);
  });
});
