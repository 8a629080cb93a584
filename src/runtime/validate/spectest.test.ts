/**
 * Conformance of decode + validate against the spec test suites (wast2json output): every module the
 * suites instantiate must be accepted, every binary `assert_invalid` / `assert_malformed` rejected.
 * Suites live in ../shared/spectest beside the repo (override with WASMSCOPE_SPECTEST_DIR); absent suites are
 * skipped with a message.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompileError } from '../api/errors.js';
import {
  CoreFeaturesExceptionHandling,
  CoreFeaturesExtendedConst,
  CoreFeaturesMemory64,
  CoreFeaturesMultiMemory,
  CoreFeaturesRelaxedSIMD,
  CoreFeaturesTailCall,
  CoreFeaturesThreads,
  CoreFeaturesV1,
  CoreFeaturesV2,
  type CoreFeatures,
} from '../api/features.js';
import { decodeModule } from '../binary/decoder.js';
import { validateModule } from './validate.js';
import { SPECTEST_DIR } from '../../../test/paths.js';

const ROOT = SPECTEST_DIR;

const SUITES: ReadonlyArray<readonly [string, CoreFeatures]> = [
  ['v1', CoreFeaturesV1],
  ['v2', CoreFeaturesV2],
  ['threads', CoreFeaturesV2 | CoreFeaturesThreads],
  ['tail-call', CoreFeaturesV2 | CoreFeaturesTailCall],
  ['exceptions', CoreFeaturesV2 | CoreFeaturesExceptionHandling | CoreFeaturesTailCall],
  ['exceptions-legacy', CoreFeaturesV2 | CoreFeaturesExceptionHandling | CoreFeaturesTailCall],
  ['extended-const', CoreFeaturesV2 | CoreFeaturesExtendedConst],
  ['memory64', CoreFeaturesV2 | CoreFeaturesMemory64],
  ['multi-memory', CoreFeaturesV2 | CoreFeaturesMultiMemory],
  ['relaxed-simd', CoreFeaturesV2 | CoreFeaturesRelaxedSIMD],
];

interface Command {
  readonly type: string;
  readonly line: number;
  readonly filename?: string;
  readonly module_type?: string;
  readonly text?: string;
}

/** Modules that must be accepted: plain modules and those whose failure comes only at link or instantiation. */
const MUST_ACCEPT = new Set(['module', 'assert_unlinkable', 'assert_uninstantiable']);
const MUST_REJECT = new Set(['assert_invalid', 'assert_malformed']);

/**
 * Validator rejections whose reason legitimately differs from the suite's text, with the reason why.
 * Everywhere else a module the decoder accepts but the validator rejects must be rejected with the
 * spec's text (as a prefix: the validator may add details).
 */
const REASON_EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  ['v2/select.json:324', 'wast2json encodes `select (result)` as the untyped select, which then has no operands to check'],
  ['extended-const/global.json:285', "the 3.0 reference interpreter says 'immutable global', the 2.0 suites 'global is immutable'"],
  ['extended-const/global.json:290', "the 3.0 reference interpreter says 'immutable global', the 2.0 suites 'global is immutable'"],
]);

/**
 * Whether `reason` gives the spec's `text`: as a prefix, except that the 3.0 suites' type mismatches
 * spell out the stacks in the reference interpreter's words ("type mismatch: instruction requires
 * [i32] but stack has []"), where only "type mismatch" is the spec's.
 */
function reasonMatches(text: string, reason: string): boolean {
  if (text.startsWith('type mismatch:')) return reason.startsWith('type mismatch');
  return reason.startsWith(text);
}

interface Outcome {
  readonly error: CompileError | undefined;
  /** Whether the error came from the validator (the decoder accepted the bytes). */
  readonly byValidator: boolean;
}

function check(bytes: Uint8Array, features: CoreFeatures): Outcome {
  let m;
  try {
    m = decodeModule(bytes, features);
  } catch (e) {
    if (e instanceof CompileError) return { error: e, byValidator: false };
    throw e;
  }
  try {
    validateModule(m, features);
    return { error: undefined, byValidator: false };
  } catch (e) {
    if (e instanceof CompileError) return { error: e, byValidator: true };
    throw e;
  }
}

for (const [suite, features] of SUITES) {
  const dir = join(ROOT, suite);
  const present = existsSync(dir);
  describe.skipIf(!present)(`spec suite ${suite}`, () => {
    it('accepts every valid module and rejects every invalid or malformed binary', () => {
      const failures: string[] = [];
      let accepted = 0;
      let rejected = 0;
      for (const file of readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()) {
        const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { commands: Command[] };
        for (const cmd of json.commands) {
          if (cmd.filename === undefined || cmd.module_type === 'text') continue;
          const where = `${suite}/${file}:${cmd.line}`;
          if (MUST_ACCEPT.has(cmd.type)) {
            let err: CompileError | undefined;
            try {
              err = check(new Uint8Array(readFileSync(join(dir, cmd.filename))), features).error;
            } catch (e) {
              failures.push(`${where} ${cmd.type}: crashed: ${String(e)}`);
              continue;
            }
            if (err === undefined) accepted++;
            else failures.push(`${where} ${cmd.type}: rejected valid module: ${err.message}`);
          } else if (MUST_REJECT.has(cmd.type)) {
            let out: Outcome;
            try {
              out = check(new Uint8Array(readFileSync(join(dir, cmd.filename))), features);
            } catch (e) {
              failures.push(`${where} ${cmd.type}: crashed: ${String(e)}`);
              continue;
            }
            const err = out.error;
            const text = cmd.text ?? '';
            if (err === undefined) {
              failures.push(`${where} ${cmd.type} "${text}": accepted`);
              continue;
            }
            rejected++;
            if (cmd.type === 'assert_invalid' && out.byValidator && !reasonMatches(text, err.reason)) {
              if (!REASON_EXCEPTIONS.has(where)) failures.push(`${where}: want "${text}", got "${err.reason}"`);
            }
          }
        }
      }
      console.log(`spec ${suite}: ${accepted} modules accepted, ${rejected} invalid/malformed rejected, ${failures.length} failures`);
      expect(failures.slice(0, 50)).toEqual([]);
    });
  });
  if (!present) console.log(`spec suite ${suite}: skipped, ${dir} not found`);
}
