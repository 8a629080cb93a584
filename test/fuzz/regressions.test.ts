/**
 * Replays every regression fixture of the fuzzer (`test/fuzz/regressions/*.json` + `.wasm`) on both
 * engines and on raw V8: all sides must agree after every step, and V8's observations must still be
 * the recorded ones (the fixture pins what correct means, not just agreement).
 */
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../helpers.js';
import { loadFixtures } from './fixtures.js';
import { runCase } from './harness.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

describe('fuzz regressions', () => {
  const fixtures = loadFixtures();
  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });
  for (const { name, bytes, fixture } of fixtures) {
    const skip =
      fixture.open !== undefined
        ? `open: ${fixture.open}`
        : fixture.skipBelowNode !== undefined && NODE_MAJOR < fixture.skipBelowNode
          ? `V8 of Node ${NODE_MAJOR} gets it wrong (see the fixture)`
          : undefined;
    it.skipIf(skip !== undefined)(`${name}: ${skip ?? fixture.description}`, async () => {
      const r = await runCase(bytes, () => fixture.calls, {
        record: true,
        canonicalNaN: fixture.canonicalNaN,
        variant: fixture.variant,
        fingerprint,
      });
      expect({ status: r.status, mismatch: r.mismatch }).toEqual({ status: 'ok', mismatch: undefined });
      expect(r.expected).toEqual(fixture.expected);
    });
  }
});
