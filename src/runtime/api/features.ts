/**
 * WebAssembly core feature flags, with wazero's bit values.
 * @see https://webassembly.github.io/spec/core/appendix/changes.html
 */
export type CoreFeatures = number;

/** `memory.copy`, `memory.fill`, passive segments, `data.drop`, `elem.drop`, `table.copy`, `table.init`. */
export const CoreFeatureBulkMemoryOperations: CoreFeatures = 1 << 0;
/** Blocks and functions with more than one result, and block parameters. */
export const CoreFeatureMultiValue: CoreFeatures = 1 << 1;
/** Importing and exporting mutable globals. */
export const CoreFeatureMutableGlobal: CoreFeatures = 1 << 2;
/** `i32.trunc_sat_f32_s` and friends. */
export const CoreFeatureNonTrappingFloatToIntConversion: CoreFeatures = 1 << 3;
/** `externref`, `ref.*`, `table.*`, multiple tables, typed `select`. */
export const CoreFeatureReferenceTypes: CoreFeatures = 1 << 4;
/** `i32.extend8_s` and friends. */
export const CoreFeatureSignExtensionOps: CoreFeatures = 1 << 5;
/** The 128-bit packed SIMD instructions (`v128`). */
export const CoreFeatureSIMD: CoreFeatures = 1 << 6;
/** Shared memories and atomic instructions (threads proposal). */
export const CoreFeaturesThreads: CoreFeatures = 1 << 7;
/** `return_call` and `return_call_indirect` (tail-call proposal). */
export const CoreFeaturesTailCall: CoreFeatures = 1 << 8;

/**
 * Exception handling: tags, `throw`, `throw_ref`, `try_table` and `exnref` (WebAssembly 3.0), and the
 * legacy encoding (`try`/`catch`/`catch_all`/`delegate`/`rethrow`) that toolchains still emit.
 */
export const CoreFeaturesExceptionHandling: CoreFeatures = 1 << 9;
/** Extended constant expressions: `i32`/`i64` `add`, `sub`, `mul` in constant expressions. */
export const CoreFeaturesExtendedConst: CoreFeatures = 1 << 10;
/** Multiple memories: a memory index on every memory instruction, data segment and export. */
export const CoreFeaturesMultiMemory: CoreFeatures = 1 << 11;
/** 64-bit memories and tables: `i64` addresses, 64-bit limits and memarg offsets. */
export const CoreFeaturesMemory64: CoreFeatures = 1 << 12;
/** Relaxed SIMD: SIMD instructions whose results may differ between platforms within a fixed set. */
export const CoreFeaturesRelaxedSIMD: CoreFeatures = 1 << 13;

/** WebAssembly 1.0 (20191205): only mutable globals beyond the MVP. */
export const CoreFeaturesV1: CoreFeatures = CoreFeatureMutableGlobal;
/** WebAssembly 2.0: 1.0 plus bulk memory, multi-value, non-trapping f2i, reference types, sign-ext, SIMD. */
export const CoreFeaturesV2: CoreFeatures =
  CoreFeaturesV1 |
  CoreFeatureBulkMemoryOperations |
  CoreFeatureMultiValue |
  CoreFeatureNonTrappingFloatToIntConversion |
  CoreFeatureReferenceTypes |
  CoreFeatureSignExtensionOps |
  CoreFeatureSIMD;

/**
 * WebAssembly 3.0 as far as wasmscope implements it: 2.0 plus exception handling, extended constants,
 * multiple memories, 64-bit memories, relaxed SIMD and tail calls (garbage collection and typed
 * function references are not part of it yet).
 */
export const CoreFeaturesV3: CoreFeatures =
  CoreFeaturesV2 |
  CoreFeaturesExceptionHandling |
  CoreFeaturesExtendedConst |
  CoreFeaturesMultiMemory |
  CoreFeaturesMemory64 |
  CoreFeaturesRelaxedSIMD |
  CoreFeaturesTailCall;

const featureNames: ReadonlyArray<readonly [CoreFeatures, string]> = [
  [CoreFeatureBulkMemoryOperations, 'bulk-memory-operations'],
  [CoreFeatureMultiValue, 'multi-value'],
  [CoreFeatureMutableGlobal, 'mutable-global'],
  [CoreFeatureNonTrappingFloatToIntConversion, 'nontrapping-float-to-int-conversion'],
  [CoreFeatureReferenceTypes, 'reference-types'],
  [CoreFeatureSignExtensionOps, 'sign-extension-ops'],
  [CoreFeatureSIMD, 'simd'],
  [CoreFeaturesThreads, 'threads'],
  [CoreFeaturesTailCall, 'tail-call'],
  [CoreFeaturesExceptionHandling, 'exception-handling'],
  [CoreFeaturesExtendedConst, 'extended-const'],
  [CoreFeaturesMultiMemory, 'multi-memory'],
  [CoreFeaturesMemory64, 'memory64'],
  [CoreFeaturesRelaxedSIMD, 'relaxed-simd'],
];

/** Names the enabled features joined by `|`, e.g. `bulk-memory-operations|multi-value|mutable-global`. */
export function coreFeaturesString(f: CoreFeatures): string {
  const names: string[] = [];
  for (const [bit, name] of featureNames) if ((f & bit) !== 0) names.push(name);
  return names.join('|');
}

/** Whether every bit of `required` is set in `f`. */
export function coreFeaturesHas(f: CoreFeatures, required: CoreFeatures): boolean {
  return (f & required) === required;
}

/**
 * The features a list names: feature names as {@link coreFeaturesString} writes them, and the sets
 * `v1`, `v2`, `v3`, separated by `,` or `|`; e.g. `v2,exception-handling`.
 * @throws Error naming an unknown feature.
 */
export function parseCoreFeatures(list: string): CoreFeatures {
  let f: CoreFeatures = 0;
  for (const raw of list.split(/[,|]/)) {
    const name = raw.trim();
    if (name === '') continue;
    if (name === 'v1') f |= CoreFeaturesV1;
    else if (name === 'v2') f |= CoreFeaturesV2;
    else if (name === 'v3') f |= CoreFeaturesV3;
    else {
      const bit = featureNames.find(([, n]) => n === name)?.[0];
      if (bit === undefined) {
        throw new Error(`unknown feature "${name}" (use v1, v2, v3 or ${featureNames.map(([, n]) => n).join(', ')})`);
      }
      f |= bit;
    }
  }
  return f;
}

/** The name of one feature bit, for error messages. */
export function coreFeatureName(bit: CoreFeatures): string {
  for (const [b, name] of featureNames) if (b === bit) return name;
  return `feature(${bit})`;
}
