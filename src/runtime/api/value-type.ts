/** WebAssembly value types, by their binary encoding. */
export const ValueType = {
  /** 32-bit integer (natural value: a signed number). */
  I32: 0x7f,
  /** 64-bit integer (natural value: a bigint). */
  I64: 0x7e,
  /** 32-bit float. */
  F32: 0x7d,
  /** 64-bit float. */
  F64: 0x7c,
  /** 128-bit vector (SIMD); two raw slots, low half first. */
  V128: 0x7b,
  /** A function reference (raw: an opaque handle, 0 is null). */
  Funcref: 0x70,
  /** A host reference (raw: an opaque handle, 0 is null; natural value: the JS value). */
  Externref: 0x6f,
} as const;

/** The value type bytes as plain numeric constants, for internal `switch`es and tables. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export const FUNCREF = 0x70;
export const EXTERNREF = 0x6f;
/** `exnref` (exception handling): a caught exception; lives only inside guests. */
export const EXNREF = 0x69;

/** One of the {@link ValueType} bytes. */
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** The spec name of a value type (`i32`, `externref`, …) or `unknown`. */
export function valueTypeName(t: number): string {
  switch (t) {
    case 0x7f:
      return 'i32';
    case 0x7e:
      return 'i64';
    case 0x7d:
      return 'f32';
    case 0x7c:
      return 'f64';
    case 0x7b:
      return 'v128';
    case 0x70:
      return 'funcref';
    case 0x6f:
      return 'externref';
    case 0x69:
      return 'exnref';
    default:
      return 'unknown';
  }
}

/** Whether `t` is a reference type (`funcref`, `externref` or `exnref`). */
export function isRefType(t: number): boolean {
  return t === 0x70 || t === 0x6f || t === 0x69;
}

/**
 * Raw stack slots (64 bits each) a value of type `t` takes: two for `v128`, one for any other type.
 * The raw stack of `Function.callWithStack`, listener params and results and both engines' value
 * stacks share this layout.
 */
export function slotsOf(t: number): number {
  return t === 0x7b ? 2 : 1;
}

/** Raw stack slots a list of values takes (see {@link slotsOf}). */
export function slotsOfTypes(types: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < types.length; i++) n += slotsOf(types[i]!);
  return n;
}

/** Kinds of external values, by their binary encoding in import/export descriptors. */
export const ExternKind = { Func: 0, Table: 1, Memory: 2, Global: 3, Tag: 4 } as const;
export type ExternKind = (typeof ExternKind)[keyof typeof ExternKind];

export function externKindName(k: number): string {
  return k === 0 ? 'func' : k === 1 ? 'table' : k === 2 ? 'memory' : k === 3 ? 'global' : k === 4 ? 'tag' : 'unknown';
}
