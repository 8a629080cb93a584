/**
 * Interfaces and helpers shared by users and engines (wazero's `api` package).
 * @packageDocumentation
 */
export { ValueType, valueTypeName } from './runtime/api/value-type.js';
export {
  coreFeaturesString,
  CoreFeatureBulkMemoryOperations,
  CoreFeatureMultiValue,
  CoreFeatureMutableGlobal,
  CoreFeatureNonTrappingFloatToIntConversion,
  CoreFeatureReferenceTypes,
  CoreFeatureSignExtensionOps,
  CoreFeatureSIMD,
  CoreFeaturesV1,
  CoreFeaturesV2,
  CoreFeaturesThreads,
  CoreFeaturesTailCall,
} from './runtime/api/features.js';
export type { CoreFeatures } from './runtime/api/features.js';
export type {
  CustomSection,
  Function,
  FunctionDefinition,
  Global,
  InternalModule,
  Memory,
  MemoryDefinition,
  Module,
  MutableGlobal,
} from './runtime/api/module.js';
export {
  decodeExternref,
  decodeF32,
  decodeF64,
  decodeI32,
  decodeI64,
  decodeU32,
  encodeExternref,
  encodeF32,
  encodeF64,
  encodeI32,
  encodeI64,
  encodeU32,
} from './runtime/api/encoding.js';
