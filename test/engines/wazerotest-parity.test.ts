/**
 * Mock memory parity: ONE table of host-function cases, each run against a `wasmscope/wazerotest`
 * mock module and against a real guest module on every engine, with the same expected observations.
 *
 * Semantics fixed here (mocks and real modules alike):
 * - an access is in bounds when `offset + width <= size()`: a zero-length read at the very end is an
 *   empty view, one byte further is `undefined`;
 * - `writeUint64Le` needs all 8 bytes (wazero's mock checks 4, a bug we do not copy);
 * - negative or fractional offsets read `undefined` and write `false`;
 * - `grow` returns the previous page count, `undefined` past the maximum (never the previous count);
 * - `read` returns a write-through view, not a copy.
 */
import { describe, expect, it } from 'vitest';
import { newModuleConfig, type Runtime } from '../../src/index.js';
import type { Memory, Module } from '../../src/api.js';
import { newFixedMemory, newFunction, newMemory, newModule } from '../../src/wazerotest.js';
import { engines, runtimeFor, wat } from '../helpers.js';

const PAGE = 65536;

interface Case {
  readonly name: string;
  readonly pages: number;
  /** Maximum pages (a fixed memory when equal to `pages`); unbounded when absent. */
  readonly max?: number;
  /** The host function body: what it observes, as plain values. */
  readonly probe: (mem: Memory, size: number) => unknown[];
  readonly expected: unknown[];
}

const plain = (v: Uint8Array | undefined): number[] | undefined => (v === undefined ? undefined : Array.from(v));

const cases: Case[] = [
  {
    name: 'a zero-length read at the end of memory is an empty view; one byte past is undefined',
    pages: 1,
    probe: (m, size) => [plain(m.read(size, 0)), m.read(size + 1, 0), plain(m.read(size - 2, 2)), m.read(size - 1, 2)],
    expected: [[], undefined, [0, 0], undefined],
  },
  {
    name: 'each read width fits exactly at the end and fails one byte further',
    pages: 1,
    probe: (m, s) => [
      m.readByte(s - 1),
      m.readByte(s),
      m.readUint16Le(s - 2),
      m.readUint16Le(s - 1),
      m.readUint32Le(s - 4),
      m.readUint32Le(s - 3),
      m.readFloat32Le(s - 4),
      m.readFloat32Le(s - 3),
      m.readFloat64Le(s - 8),
      m.readFloat64Le(s - 7),
      m.readUint64Le(s - 8),
      m.readUint64Le(s - 7),
    ],
    expected: [0, undefined, 0, undefined, 0, undefined, 0, undefined, 0, undefined, 0n, undefined],
  },
  {
    name: 'writeUint64Le needs all 8 bytes: 4 bytes before the end it fails and writes nothing',
    pages: 1,
    probe: (m, s) => [
      m.writeUint64Le(s - 4, 0x0102030405060708n),
      plain(m.read(s - 4, 4)),
      m.writeUint64Le(s - 8, 0x0102030405060708n),
      plain(m.read(s - 8, 8)),
    ],
    expected: [false, [0, 0, 0, 0], true, [8, 7, 6, 5, 4, 3, 2, 1]],
  },
  {
    name: 'each write width fits exactly at the end and fails one byte further',
    pages: 1,
    probe: (m, s) => [
      m.writeByte(s - 1, 1),
      m.writeByte(s, 1),
      m.writeUint16Le(s - 2, 1),
      m.writeUint16Le(s - 1, 1),
      m.writeUint32Le(s - 4, 1),
      m.writeUint32Le(s - 3, 1),
      m.writeFloat32Le(s - 4, 1.5),
      m.writeFloat32Le(s - 3, 1.5),
      m.writeFloat64Le(s - 8, 1.5),
      m.writeFloat64Le(s - 7, 1.5),
      m.write(s - 2, new Uint8Array([1, 2])),
      m.write(s - 1, new Uint8Array([1, 2])),
      m.write(s, new Uint8Array(0)),
      m.writeString(s - 3, 'abc'),
      m.writeString(s - 2, 'abc'),
    ],
    expected: [true, false, true, false, true, false, true, false, true, false, true, false, true, true, false],
  },
  {
    name: 'negative and fractional offsets and counts read undefined and write false',
    pages: 1,
    probe: (m) => [
      m.readByte(-1),
      m.readUint32Le(1.5),
      m.read(0, -1),
      m.read(0.5, 1),
      m.writeByte(-1, 0),
      m.writeUint32Le(2.5, 0),
      m.write(-4, new Uint8Array(1)),
    ],
    expected: [undefined, undefined, undefined, undefined, false, false, false],
  },
  {
    name: 'values round-trip little-endian; u32 writes wrap negative numbers; floats keep their bits',
    pages: 1,
    probe: (m) => {
      m.writeUint32Le(0, -1);
      m.writeUint16Le(8, 0x1234);
      m.writeFloat64Le(16, -0);
      m.writeUint64Le(24, -1n);
      m.writeString(32, 'hé');
      return [m.readUint32Le(0), plain(m.read(8, 2)), Object.is(m.readFloat64Le(16), -0), m.readUint64Le(24), plain(m.read(32, 3))];
    },
    expected: [0xffffffff, [0x34, 0x12], true, 0xffffffffffffffffn, [0x68, 0xc3, 0xa9]],
  },
  {
    name: 'read returns a write-through view, not a copy',
    pages: 1,
    probe: (m) => {
      const v = m.read(100, 4)!;
      v[0] = 42;
      return [m.readByte(100)];
    },
    expected: [42],
  },
  {
    name: 'grow returns the previous page count; 0 pages is a no-op; past the maximum it is undefined and nothing changes',
    pages: 1,
    max: 3,
    probe: (m) => [m.grow(1), m.size() / PAGE, m.grow(0), m.grow(2), m.size() / PAGE, m.grow(1), m.size() / PAGE, m.readByte(3 * PAGE - 1)],
    expected: [1, 2, 2, undefined, 2, 2, 3, 0],
  },
  {
    name: 'a fixed memory cannot grow',
    pages: 1,
    max: 1,
    probe: (m) => [m.grow(1), m.size(), m.definition().min(), m.definition().max()],
    expected: [undefined, PAGE, 1, [1, true]],
  },
  {
    name: 'an unbounded memory reports the 65536-page limit as an unencoded maximum',
    pages: 2,
    probe: (m) => [m.size(), m.definition().min(), m.definition().max()],
    expected: [2 * PAGE, 2, [65536, false]],
  },
];

/** Runs `probe` from a host function called by a guest with the case's memory. */
async function runReal(r: Runtime, c: Case): Promise<unknown[]> {
  let seen: unknown[] = [];
  await r
    .newHostModuleBuilder('env')
    .newFunctionBuilder()
    .withFunc(
      (_ctx, mod: Module) => {
        const m = mod.memory()!;
        seen = c.probe(m, m.size());
      },
      [],
      [],
    )
    .export('probe')
    .instantiate();
  const limits = c.max === undefined ? `${c.pages}` : `${c.pages} ${c.max}`;
  const bin = await wat(`(module (import "env" "probe" (func $p)) (memory (export "memory") ${limits}) (func (export "run") call $p))`);
  const m = await r.instantiateWithConfig(bin, newModuleConfig().withName('guest'));
  m.exportedFunction('run')!.call();
  return seen;
}

function runMock(c: Case): unknown[] {
  const size = c.pages * PAGE;
  const memory = c.max === c.pages ? newFixedMemory(size) : newMemory(size, c.max);
  let seen: unknown[] = [];
  const probe = newFunction(
    (_ctx, mod) => {
      const m = mod.memory()!;
      seen = c.probe(m, m.size());
    },
    [],
    [],
    { name: 'probe' },
  );
  const mod = newModule(memory, probe);
  mod.exportedFunction('probe')!.call();
  return seen;
}

describe('mock memory parity with real memories', () => {
  for (const c of cases) {
    it(`mock: ${c.name}`, () => {
      expect(runMock(c)).toEqual(c.expected);
    });
    for (const e of engines) {
      it(`${e.name}: ${c.name}`, async () => {
        const r = runtimeFor(e);
        try {
          expect(await runReal(r, c)).toEqual(c.expected);
        } finally {
          await r.close();
        }
      });
    }
  }
});
