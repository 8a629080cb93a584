/** Every bench suite by name (`npm run bench -- <name>`). */
import { boundarySuite } from './boundary.js';
import { asyncSuite } from './async.js';
import { compileCacheSuite } from './cache.js';
import { compileLatency, compilerSuite, interruptCost } from './compiler.js';
import { interpreterSuite } from './interpreter.js';
import { listenerOverheadSuite } from './listener-overhead.js';
import { listenerSuite } from './listeners.js';
import { preciseTrapsSuite } from './precise-traps.js';
import { profileSuite } from './profile.js';
import { recorderSuite } from './recorder.js';
import { rewindSuite } from './rewind.js';
import { snapshotSuite } from './snapshot.js';
import { startupSuite } from './startup.js';
import { wasiSuite } from './wasi.js';

/** Every bench suite by name (`npm run bench -- <name>`). */
export const BENCH_SUITES: Readonly<Record<string, () => Promise<void>>> = {
  interpreter: interpreterSuite,
  compiler: compilerSuite,
  'compile-latency': compileLatency,
  'compile-cache': compileCacheSuite,
  startup: startupSuite,
  interrupts: interruptCost,
  async: asyncSuite,
  boundary: boundarySuite,
  'precise-traps': preciseTrapsSuite,
  wasi: wasiSuite,
  listeners: listenerSuite,
  'listener-overhead': listenerOverheadSuite,
  recorder: recorderSuite,
  rewind: rewindSuite,
  // Loaded on use: it needs the OpenTelemetry SDK (dev dependencies), which wasmscope/bench must not load.
  otel: async () => (await import('./otel.js')).otelSuite(),
  profile: profileSuite,
  snapshot: snapshotSuite,
};
