/**
 * Raw value encoding: every value crosses the API as a uint64 `bigint`, exactly as wazero's
 * `api.Encode*` (i32 zero-extended, f32/f64 as IEEE bits, v128 as two slots, refs as opaque handles).
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** i32 (signed or unsigned number) → raw, zero-extended. */
export function encodeI32(v: number): bigint {
  return BigInt(v >>> 0);
}
/** raw → signed i32. */
export function decodeI32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}
/** u32 → raw. */
export function encodeU32(v: number): bigint {
  return BigInt(v >>> 0);
}
/** raw → u32. */
export function decodeU32(v: bigint): number {
  return Number(BigInt.asUintN(32, v));
}
/** i64 (signed) → raw. */
export function encodeI64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}
/** raw → signed i64. */
export function decodeI64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}
/** f32 → raw bits (low 32 bits). */
export function encodeF32(v: number): bigint {
  f32[0] = v;
  return BigInt(u32[0]!);
}
/** raw bits → f32 value. Note: a JS number cannot keep a signalling NaN's payload exactly. */
export function decodeF32(v: bigint): number {
  u32[0] = Number(BigInt.asUintN(32, v));
  return f32[0]!;
}
/** f64 → raw bits. */
export function encodeF64(v: number): bigint {
  f64[0] = v;
  return u64[0]!;
}
/** raw bits → f64 value. */
export function decodeF64(v: bigint): number {
  u64[0] = BigInt.asUintN(64, v);
  return f64[0]!;
}

// Externref handles: raw bigints given by the host pass through unchanged; encodeExternref gives any
// JS value a stable non-zero handle (from the top of the u64 range, so it rarely collides with small
// raw handles tests pass, such as the spec runner's n+1).
const handleOf = new Map<unknown, bigint>();
const valueOf = new Map<bigint, unknown>();
let nextHandle = 0xffff_ffff_0000_0000n;

/** Any JS value → an externref handle (`null`/`undefined` → 0n, the null reference). */
export function encodeExternref(v: unknown): bigint {
  if (v === null || v === undefined) return 0n;
  let h = handleOf.get(v);
  if (h === undefined) {
    h = nextHandle++;
    handleOf.set(v, h);
    valueOf.set(h, v);
  }
  return h;
}

/** An externref handle → the JS value given to {@link encodeExternref} (or the raw handle itself). */
export function decodeExternref(raw: bigint): unknown {
  if (raw === 0n) return null;
  return valueOf.has(raw) ? valueOf.get(raw) : raw;
}
