/**
 * Regression fixtures: a reduced module (`<name>.wasm`) and its calls with V8's observations
 * (`<name>.json`), replayed on every engine by `regressions.test.ts`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprint } from '../helpers.js';
import { runCase, type Call, type Expected, type Mismatch, type Variant } from './harness.js';

export const REGRESSIONS = new URL('./regressions', import.meta.url).pathname;

export interface Fixture {
  /** What the mismatch was and, once fixed, what fixed it. */
  readonly description: string;
  /** Where it came from (source and seed). */
  readonly origin: string;
  /** The mismatch as found (after reduction). */
  readonly found: Mismatch;
  /** Whether the module runs with canonical NaNs (nan.ts). */
  readonly canonicalNaN: boolean;
  /** How our engines run it (default `plain`). */
  readonly variant?: Variant;
  /** Set while the engines still disagree: the replay is skipped with this reason. */
  readonly open?: string;
  /** The replay is skipped on older Node majors (their V8 gets the case wrong: see `description`). */
  readonly skipBelowNode?: number;
  readonly calls: readonly Call[];
  /** V8's observations after instantiation and after each call. */
  readonly expected: readonly Expected[];
}

/** V8's observations of `bytes` under `calls`. */
export async function recordV8(bytes: Uint8Array, calls: readonly Call[], canonicalNaN: boolean): Promise<Expected[]> {
  const r = await runCase(bytes, () => calls, { engines: [], record: true, canonicalNaN, fingerprint });
  if (r.expected === undefined) throw new Error(`recording on V8 alone failed: ${r.status} ${r.reason ?? ''}`);
  return r.expected;
}

/** Writes a fixture; returns its name (the first free `<base>`, `<base>-2`, …). */
export function saveFixture(base: string, bytes: Uint8Array, fixture: Fixture, dir = REGRESSIONS): string {
  mkdirSync(dir, { recursive: true });
  let name = base;
  for (let i = 2; existsSync(join(dir, `${name}.json`)); i++) name = `${base}-${i}`;
  writeFileSync(join(dir, `${name}.wasm`), bytes);
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
  return name;
}

export function loadFixtures(dir = REGRESSIONS): Array<{ name: string; bytes: Uint8Array; fixture: Fixture }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -5);
      return {
        name,
        bytes: new Uint8Array(readFileSync(join(dir, `${name}.wasm`))),
        fixture: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture,
      };
    });
}

/** Rewrites fixture `name`'s expected observations with the running V8's (after checking a case by hand). */
export async function rerecord(name: string, dir = REGRESSIONS): Promise<void> {
  const f = loadFixtures(dir).find((x) => x.name === name);
  if (f === undefined) throw new Error(`no fixture ${name}`);
  const expected = await recordV8(f.bytes, f.fixture.calls, f.fixture.canonicalNaN);
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ ...f.fixture, expected }, null, 2)}\n`);
}
