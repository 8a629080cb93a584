/**
 * The instruction walker against the outside corpora: in every function body of the modules the
 * core spec suites instantiate and of every guest, the walk from instruction to instruction meets
 * only known opcodes, and the `end` that closes the function's own block is the body's last byte.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_SUITES, GUESTS_DIR, SPECTEST_DIR, SPECTEST_MISSING } from '../../../test/paths.js';
import { CoreFeaturesThreads, CoreFeaturesV3 } from '../api/features.js';
import { decodeModule } from './decoder.js';
import { IMM_OF, IMM_UNKNOWN, nextInstr } from './instr.js';
import type { Module } from './module.js';

const ALL = CoreFeaturesV3 | CoreFeaturesThreads;

/** Walks every body of `m`; returns the number of instructions, or throws where the walk goes wrong. */
function walkBodies(m: Module): number {
  const out = new Int32Array(1);
  let n = 0;
  for (let i = 0; i < m.codes.length; i++) {
    const body = m.codes[i]!;
    let depth = 1;
    let p = body.codeStart;
    while (depth > 0) {
      if (p >= body.codeEnd) throw new Error(`body ${i}: the walk passed the end at ${p}`);
      p = nextInstr(m.bytes, p, out);
      const code = out[0]!;
      if (IMM_OF[code] === IMM_UNKNOWN) throw new Error(`body ${i}: unknown opcode code 0x${code.toString(16)} before ${p}`);
      if (code === 0x02 || code === 0x03 || code === 0x04 || code === 0x06 || code === 0x1f) depth++;
      else if (code === 0x0b || code === 0x18) depth--;
      n++;
    }
    if (p !== body.codeEnd) throw new Error(`body ${i}: the function's end at ${p}, the body ends at ${body.codeEnd}`);
  }
  return n;
}

describe('instruction walker', () => {
  it('walks every body of the spec suites’ modules to its end', () => {
    if (!existsSync(SPECTEST_DIR)) {
      console.warn(SPECTEST_MISSING);
      return;
    }
    let n = 0;
    for (const dir of ALL_SUITES) {
      const path = join(SPECTEST_DIR, dir);
      if (!existsSync(path)) continue;
      for (const f of readdirSync(path).filter((x) => x.endsWith('.json'))) {
        const json = JSON.parse(readFileSync(join(path, f), 'utf8')) as { commands: Array<{ type: string; filename?: string }> };
        for (const c of json.commands) {
          if (c.type !== 'module' || c.filename === undefined || !c.filename.endsWith('.wasm')) continue;
          n += walkBodies(decodeModule(new Uint8Array(readFileSync(join(path, c.filename))), ALL));
        }
      }
    }
    expect(n).toBeGreaterThan(50_000);
  });

  it('walks every body of the guests to its end', () => {
    const files = readdirSync(join(GUESTS_DIR, 'nowasi')).map((f) => join(GUESTS_DIR, 'nowasi', f));
    files.push(...readdirSync(GUESTS_DIR).map((f) => join(GUESTS_DIR, f)));
    let n = 0;
    for (const f of files.filter((x) => x.endsWith('.wasm'))) n += walkBodies(decodeModule(new Uint8Array(readFileSync(f)), ALL));
    expect(n).toBeGreaterThan(10_000);
  });
});
