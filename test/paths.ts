/**
 * Where the outside corpora live. The spec suites come from `../shared/spectest` next to the repo
 * (override with WASMSCOPE_SPECTEST_DIR); the guest corpus is committed in test/fixtures/guests
 * (override with WASMSCOPE_GUESTS_DIR).
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export const SPECTEST_DIR: string = process.env['WASMSCOPE_SPECTEST_DIR'] ?? resolve(repoRoot, '../shared/spectest');
export const GUESTS_DIR: string = process.env['WASMSCOPE_GUESTS_DIR'] ?? resolve(repoRoot, 'test/fixtures/guests');

/** The core suites of WebAssembly 1.0, 2.0, threads and tail calls. */
export const CORE_SUITES = ['v1', 'v2', 'threads', 'tail-call'] as const;

/** The WebAssembly 3.0 suites beside them (`README-v3.md` in the spec-test directory). */
export const V3_SUITES = ['exceptions', 'exceptions-legacy', 'extended-const', 'memory64', 'multi-memory', 'relaxed-simd'] as const;

/** A suite, as a directory of the spec-test tree. */
export type SuiteName = (typeof CORE_SUITES)[number] | (typeof V3_SUITES)[number];

export const ALL_SUITES: readonly SuiteName[] = [...CORE_SUITES, ...V3_SUITES];

/** The message printed when the spec suites are absent. */
export const SPECTEST_MISSING =
  `spec tests skipped: ${SPECTEST_DIR} not found. Get the official WebAssembly/testsuite, run wast2json on it, ` +
  'and lay the output out as v1/, v2/, threads/, tail-call/ plus spectest.wasm; or set WASMSCOPE_SPECTEST_DIR.';

/**
 * The official WASI test suite (prebuilt wasm32-wasip1 tests and their runner, run-wasi-testsuite.mjs):
 * `../shared/wasi-testsuite` next to the repo (override with WASMSCOPE_WASI_TESTSUITE_DIR).
 */
export const WASI_TESTSUITE_DIR: string = process.env['WASMSCOPE_WASI_TESTSUITE_DIR'] ?? resolve(repoRoot, '../shared/wasi-testsuite');

/** The message printed when the WASI test suite is absent. */
export const WASI_TESTSUITE_MISSING =
  `wasi-testsuite skipped: ${WASI_TESTSUITE_DIR} not found. Get WebAssembly/wasi-testsuite (branch prod/testsuite-base: ` +
  'tests/{assemblyscript,c,rust}/testsuite/wasm32-wasip1 with their JSON specs and fs-tests.dir) plus the dependency-free ' +
  'run-wasi-testsuite.mjs runner beside it; or set WASMSCOPE_WASI_TESTSUITE_DIR.';
