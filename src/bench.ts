/**
 * The benchmark suites as a library (`wasmscope/bench`): each prints figures as ratios against raw V8
 * measured in the same process. `npm run bench` runs them from a checkout.
 * @packageDocumentation
 */
export { BENCH_SUITES } from './bench/suites.js';
export { boundarySuite } from './bench/boundary.js';
export { compilerSuite } from './bench/compiler.js';
export { interpreterSuite } from './bench/interpreter.js';
export { listenerOverheadSuite } from './bench/listener-overhead.js';
export { listenerSuite } from './bench/listeners.js';
export { preciseTrapsSuite } from './bench/precise-traps.js';
export { wasiSuite } from './bench/wasi.js';
export { GUEST_NAMES, expectedChecksum, guestsDir, loadNowasiGuest } from './bench/guests.js';
export type { GuestName, GuestSize, NowasiGuest } from './bench/guests.js';
export { geomean, medianOf } from './bench/stats.js';
