/**
 * Profiles, traces and coverage of wasm guests that people can look at: pprof CPU and memory
 * profiles (Go's and Google's pprof tools), speedscope and Chrome/Perfetto timelines, lcov and
 * Istanbul line coverage from DWARF, and self-contained flame graphs. Every recorder is a
 * function-listener factory (give it to `withFunctionListenerFactory`, alone or combined with
 * `multiFunctionListenerFactory`); line coverage is asked for at compile time with
 * {@link withLineCoverage}. pprof output needs the optional package `pprof-format`.
 * @experimental
 * @packageDocumentation
 */
export { newCpuProfiler } from './profile/cpu.js';
export type { CpuProfiler, CpuProfilerOptions } from './profile/cpu.js';
export { newMemoryProfiler } from './profile/memory.js';
export type { AllocatorNames, MemoryProfiler, MemoryProfilerOptions } from './profile/memory.js';
export type { ProfileSample, ProfileValueType, StackProfile } from './profile/profile.js';
export type { ProfileFrame } from './profile/symbols.js';
export { decodePprof, encodePprof } from './profile/pprof.js';
export { newTimelineRecorder } from './profile/timeline.js';
export type { Timeline, TimelineEvent, TimelineOptions, TimelineRecorder } from './profile/timeline.js';
export { toSpeedscope } from './profile/speedscope.js';
export type { SpeedscopeEvent, SpeedscopeFile, SpeedscopeFrame } from './profile/speedscope.js';
export { toTraceEvents } from './profile/trace-events.js';
export type { TraceEvent, TraceEventFile } from './profile/trace-events.js';
export { formatLcov, newCoverage, toIstanbul, withLineCoverage } from './profile/coverage.js';
export type {
  Coverage,
  CoverageReport,
  CoverageReportOptions,
  FileCoverage,
  FunctionCoverage,
  IstanbulFileCoverage,
  IstanbulPosition,
  IstanbulRange,
  LineCount,
} from './profile/coverage.js';
export { flameGraphHtml, flameGraphSvg } from './profile/flamegraph.js';
export type { FlameGraphOptions } from './profile/flamegraph.js';
