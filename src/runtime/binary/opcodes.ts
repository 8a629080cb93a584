/**
 * Every instruction wasmscope knows, with its immediate kind, its stack signature when fixed, and the
 * feature that gates it. One table serves the validator, the instruction walker (instr.ts) that
 * lowering and instrumentation use, the encoder's emitters and error messages.
 *
 * Opcode numbering ("code"): single-byte opcodes are their byte; prefixed opcodes are
 * `0x100 + sub` for 0xFC, `0x200 + sub` for 0xFD (SIMD) sub-opcodes below 0x100, `0x300 + sub` for
 * 0xFE (atomics) and `0x400 + (sub - 0x100)` for 0xFD sub-opcodes from 0x100 (relaxed SIMD).
 */
import {
  CoreFeatureBulkMemoryOperations,
  CoreFeaturesExceptionHandling,
  CoreFeaturesRelaxedSIMD,
  CoreFeatureNonTrappingFloatToIntConversion,
  CoreFeatureReferenceTypes,
  CoreFeatureSIMD,
  CoreFeatureSignExtensionOps,
  CoreFeaturesTailCall,
  CoreFeaturesThreads,
  type CoreFeatures,
} from '../api/features.js';

export const PREFIX_FC = 0xfc;
export const PREFIX_FD = 0xfd;
export const PREFIX_FE = 0xfe;
export const CODE_FC = 0x100;
export const CODE_FD = 0x200;
export const CODE_FE = 0x300;
/** Codes of the 0xFD sub-opcodes 0x100 and above (relaxed SIMD): `CODE_FD_HI + sub - 0x100`. */
export const CODE_FD_HI = 0x400;
export const NUM_CODES = 0x500;

/**
 * Immediate kinds.
 * - none; blocktype; label (u32); brtable (vec u32 + default); func (u32); callind (type u32, table u32);
 * - local, global, table, tag (u32); memarg (align u32 with bit 6 announcing a memory index u32, offset
 *   u32, or u64 for 64-bit memories); memidx (one 0x00 byte, or u32 with multi-memory);
 * - i32 (s32 LEB), i64 (s64 LEB), f32 (4 bytes), f64 (8 bytes), v128 (16 bytes), shuffle (16 lane bytes);
 * - lane (u8); memlane (memarg then u8 lane); reftype (one byte); selectt (vec of valtypes);
 * - dataidx, elemidx (u32); meminit (dataidx u32, memidx byte); memcopy (2 memidx bytes);
 * - tableinit (elemidx u32, tableidx u32); tablecopy (dst tableidx u32, src tableidx u32); fence (one 0x00 byte);
 * - trytable (blocktype, then a vector of catch clauses: a kind byte 0..3, a tag index u32 for kinds 0
 *   and 1, a label u32).
 */
export const IMM_KINDS = [
  'none',
  'blocktype',
  'label',
  'brtable',
  'func',
  'callind',
  'local',
  'global',
  'table',
  'memarg',
  'memidx',
  'i32',
  'i64',
  'f32',
  'f64',
  'v128',
  'shuffle',
  'lane',
  'memlane',
  'reftype',
  'selectt',
  'dataidx',
  'elemidx',
  'meminit',
  'memcopy',
  'tableinit',
  'tablecopy',
  'fence',
  'tag',
  'trytable',
] as const;
export type ImmKind = (typeof IMM_KINDS)[number];

export interface OpInfo {
  readonly code: number;
  readonly name: string;
  readonly imm: ImmKind;
  /** Operand types popped, when fixed (`undefined` for instructions the validator types by hand). */
  readonly params: readonly number[] | undefined;
  /** Result types pushed, when fixed. */
  readonly results: readonly number[] | undefined;
  /** Feature bit required, 0 for WebAssembly 1.0. */
  readonly feature: CoreFeatures;
  /** For memory instructions: the natural access size in bytes (max alignment = log2 of it). */
  readonly memBytes: number;
}

const T: Record<string, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v: 0x7b, fr: 0x70, er: 0x6f };

// Each entry: "hex name imm sig [membytes]"; sig is "params>results" with comma-separated types,
// or "*" for instructions typed by hand in the validator (among them those whose address or index
// type is the memory's or table's: i64 for 64-bit ones). A memarg instruction's first param is its
// address, given as i32 here; the validator makes it i64 for a 64-bit memory.
const CORE = `
00 unreachable none *
01 nop none >
02 block blocktype *
03 loop blocktype *
04 if blocktype *
05 else none *
06 try blocktype *
07 catch tag *
08 throw tag *
09 rethrow label *
0a throw_ref none *
0b end none *
0c br label *
0d br_if label *
0e br_table brtable *
0f return none *
10 call func *
11 call_indirect callind *
12 return_call func *
13 return_call_indirect callind *
18 delegate label *
19 catch_all none *
1a drop none *
1b select none *
1c select selectt *
1f try_table trytable *
20 local.get local *
21 local.set local *
22 local.tee local *
23 global.get global *
24 global.set global *
25 table.get table *
26 table.set table *
28 i32.load memarg i32>i32 4
29 i64.load memarg i32>i64 8
2a f32.load memarg i32>f32 4
2b f64.load memarg i32>f64 8
2c i32.load8_s memarg i32>i32 1
2d i32.load8_u memarg i32>i32 1
2e i32.load16_s memarg i32>i32 2
2f i32.load16_u memarg i32>i32 2
30 i64.load8_s memarg i32>i64 1
31 i64.load8_u memarg i32>i64 1
32 i64.load16_s memarg i32>i64 2
33 i64.load16_u memarg i32>i64 2
34 i64.load32_s memarg i32>i64 4
35 i64.load32_u memarg i32>i64 4
36 i32.store memarg i32,i32> 4
37 i64.store memarg i32,i64> 8
38 f32.store memarg i32,f32> 4
39 f64.store memarg i32,f64> 8
3a i32.store8 memarg i32,i32> 1
3b i32.store16 memarg i32,i32> 2
3c i64.store8 memarg i32,i64> 1
3d i64.store16 memarg i32,i64> 2
3e i64.store32 memarg i32,i64> 4
3f memory.size memidx *
40 memory.grow memidx *
41 i32.const i32 >i32
42 i64.const i64 >i64
43 f32.const f32 >f32
44 f64.const f64 >f64
45 i32.eqz none i32>i32
46 i32.eq none i32,i32>i32
47 i32.ne none i32,i32>i32
48 i32.lt_s none i32,i32>i32
49 i32.lt_u none i32,i32>i32
4a i32.gt_s none i32,i32>i32
4b i32.gt_u none i32,i32>i32
4c i32.le_s none i32,i32>i32
4d i32.le_u none i32,i32>i32
4e i32.ge_s none i32,i32>i32
4f i32.ge_u none i32,i32>i32
50 i64.eqz none i64>i32
51 i64.eq none i64,i64>i32
52 i64.ne none i64,i64>i32
53 i64.lt_s none i64,i64>i32
54 i64.lt_u none i64,i64>i32
55 i64.gt_s none i64,i64>i32
56 i64.gt_u none i64,i64>i32
57 i64.le_s none i64,i64>i32
58 i64.le_u none i64,i64>i32
59 i64.ge_s none i64,i64>i32
5a i64.ge_u none i64,i64>i32
5b f32.eq none f32,f32>i32
5c f32.ne none f32,f32>i32
5d f32.lt none f32,f32>i32
5e f32.gt none f32,f32>i32
5f f32.le none f32,f32>i32
60 f32.ge none f32,f32>i32
61 f64.eq none f64,f64>i32
62 f64.ne none f64,f64>i32
63 f64.lt none f64,f64>i32
64 f64.gt none f64,f64>i32
65 f64.le none f64,f64>i32
66 f64.ge none f64,f64>i32
67 i32.clz none i32>i32
68 i32.ctz none i32>i32
69 i32.popcnt none i32>i32
6a i32.add none i32,i32>i32
6b i32.sub none i32,i32>i32
6c i32.mul none i32,i32>i32
6d i32.div_s none i32,i32>i32
6e i32.div_u none i32,i32>i32
6f i32.rem_s none i32,i32>i32
70 i32.rem_u none i32,i32>i32
71 i32.and none i32,i32>i32
72 i32.or none i32,i32>i32
73 i32.xor none i32,i32>i32
74 i32.shl none i32,i32>i32
75 i32.shr_s none i32,i32>i32
76 i32.shr_u none i32,i32>i32
77 i32.rotl none i32,i32>i32
78 i32.rotr none i32,i32>i32
79 i64.clz none i64>i64
7a i64.ctz none i64>i64
7b i64.popcnt none i64>i64
7c i64.add none i64,i64>i64
7d i64.sub none i64,i64>i64
7e i64.mul none i64,i64>i64
7f i64.div_s none i64,i64>i64
80 i64.div_u none i64,i64>i64
81 i64.rem_s none i64,i64>i64
82 i64.rem_u none i64,i64>i64
83 i64.and none i64,i64>i64
84 i64.or none i64,i64>i64
85 i64.xor none i64,i64>i64
86 i64.shl none i64,i64>i64
87 i64.shr_s none i64,i64>i64
88 i64.shr_u none i64,i64>i64
89 i64.rotl none i64,i64>i64
8a i64.rotr none i64,i64>i64
8b f32.abs none f32>f32
8c f32.neg none f32>f32
8d f32.ceil none f32>f32
8e f32.floor none f32>f32
8f f32.trunc none f32>f32
90 f32.nearest none f32>f32
91 f32.sqrt none f32>f32
92 f32.add none f32,f32>f32
93 f32.sub none f32,f32>f32
94 f32.mul none f32,f32>f32
95 f32.div none f32,f32>f32
96 f32.min none f32,f32>f32
97 f32.max none f32,f32>f32
98 f32.copysign none f32,f32>f32
99 f64.abs none f64>f64
9a f64.neg none f64>f64
9b f64.ceil none f64>f64
9c f64.floor none f64>f64
9d f64.trunc none f64>f64
9e f64.nearest none f64>f64
9f f64.sqrt none f64>f64
a0 f64.add none f64,f64>f64
a1 f64.sub none f64,f64>f64
a2 f64.mul none f64,f64>f64
a3 f64.div none f64,f64>f64
a4 f64.min none f64,f64>f64
a5 f64.max none f64,f64>f64
a6 f64.copysign none f64,f64>f64
a7 i32.wrap_i64 none i64>i32
a8 i32.trunc_f32_s none f32>i32
a9 i32.trunc_f32_u none f32>i32
aa i32.trunc_f64_s none f64>i32
ab i32.trunc_f64_u none f64>i32
ac i64.extend_i32_s none i32>i64
ad i64.extend_i32_u none i32>i64
ae i64.trunc_f32_s none f32>i64
af i64.trunc_f32_u none f32>i64
b0 i64.trunc_f64_s none f64>i64
b1 i64.trunc_f64_u none f64>i64
b2 f32.convert_i32_s none i32>f32
b3 f32.convert_i32_u none i32>f32
b4 f32.convert_i64_s none i64>f32
b5 f32.convert_i64_u none i64>f32
b6 f32.demote_f64 none f64>f32
b7 f64.convert_i32_s none i32>f64
b8 f64.convert_i32_u none i32>f64
b9 f64.convert_i64_s none i64>f64
ba f64.convert_i64_u none i64>f64
bb f64.promote_f32 none f32>f64
bc i32.reinterpret_f32 none f32>i32
bd i64.reinterpret_f64 none f64>i64
be f32.reinterpret_i32 none i32>f32
bf f64.reinterpret_i64 none i64>f64
c0 i32.extend8_s none i32>i32
c1 i32.extend16_s none i32>i32
c2 i64.extend8_s none i64>i64
c3 i64.extend16_s none i64>i64
c4 i64.extend32_s none i64>i64
d0 ref.null reftype *
d1 ref.is_null none *
d2 ref.func func *
`;

const FC = `
00 i32.trunc_sat_f32_s none f32>i32
01 i32.trunc_sat_f32_u none f32>i32
02 i32.trunc_sat_f64_s none f64>i32
03 i32.trunc_sat_f64_u none f64>i32
04 i64.trunc_sat_f32_s none f32>i64
05 i64.trunc_sat_f32_u none f32>i64
06 i64.trunc_sat_f64_s none f64>i64
07 i64.trunc_sat_f64_u none f64>i64
08 memory.init meminit *
09 data.drop dataidx >
0a memory.copy memcopy *
0b memory.fill memidx *
0c table.init tableinit *
0d elem.drop elemidx >
0e table.copy tablecopy *
0f table.grow table *
10 table.size table *
11 table.fill table *
`;

// SIMD: "v" is v128.
const FD = `
00 v128.load memarg i32>v 16
01 v128.load8x8_s memarg i32>v 8
02 v128.load8x8_u memarg i32>v 8
03 v128.load16x4_s memarg i32>v 8
04 v128.load16x4_u memarg i32>v 8
05 v128.load32x2_s memarg i32>v 8
06 v128.load32x2_u memarg i32>v 8
07 v128.load8_splat memarg i32>v 1
08 v128.load16_splat memarg i32>v 2
09 v128.load32_splat memarg i32>v 4
0a v128.load64_splat memarg i32>v 8
0b v128.store memarg i32,v> 16
0c v128.const v128 >v
0d i8x16.shuffle shuffle v,v>v
0e i8x16.swizzle none v,v>v
0f i8x16.splat none i32>v
10 i16x8.splat none i32>v
11 i32x4.splat none i32>v
12 i64x2.splat none i64>v
13 f32x4.splat none f32>v
14 f64x2.splat none f64>v
15 i8x16.extract_lane_s lane v>i32 16
16 i8x16.extract_lane_u lane v>i32 16
17 i8x16.replace_lane lane v,i32>v 16
18 i16x8.extract_lane_s lane v>i32 8
19 i16x8.extract_lane_u lane v>i32 8
1a i16x8.replace_lane lane v,i32>v 8
1b i32x4.extract_lane lane v>i32 4
1c i32x4.replace_lane lane v,i32>v 4
1d i64x2.extract_lane lane v>i64 2
1e i64x2.replace_lane lane v,i64>v 2
1f f32x4.extract_lane lane v>f32 4
20 f32x4.replace_lane lane v,f32>v 4
21 f64x2.extract_lane lane v>f64 2
22 f64x2.replace_lane lane v,f64>v 2
23 i8x16.eq none v,v>v
24 i8x16.ne none v,v>v
25 i8x16.lt_s none v,v>v
26 i8x16.lt_u none v,v>v
27 i8x16.gt_s none v,v>v
28 i8x16.gt_u none v,v>v
29 i8x16.le_s none v,v>v
2a i8x16.le_u none v,v>v
2b i8x16.ge_s none v,v>v
2c i8x16.ge_u none v,v>v
2d i16x8.eq none v,v>v
2e i16x8.ne none v,v>v
2f i16x8.lt_s none v,v>v
30 i16x8.lt_u none v,v>v
31 i16x8.gt_s none v,v>v
32 i16x8.gt_u none v,v>v
33 i16x8.le_s none v,v>v
34 i16x8.le_u none v,v>v
35 i16x8.ge_s none v,v>v
36 i16x8.ge_u none v,v>v
37 i32x4.eq none v,v>v
38 i32x4.ne none v,v>v
39 i32x4.lt_s none v,v>v
3a i32x4.lt_u none v,v>v
3b i32x4.gt_s none v,v>v
3c i32x4.gt_u none v,v>v
3d i32x4.le_s none v,v>v
3e i32x4.le_u none v,v>v
3f i32x4.ge_s none v,v>v
40 i32x4.ge_u none v,v>v
41 f32x4.eq none v,v>v
42 f32x4.ne none v,v>v
43 f32x4.lt none v,v>v
44 f32x4.gt none v,v>v
45 f32x4.le none v,v>v
46 f32x4.ge none v,v>v
47 f64x2.eq none v,v>v
48 f64x2.ne none v,v>v
49 f64x2.lt none v,v>v
4a f64x2.gt none v,v>v
4b f64x2.le none v,v>v
4c f64x2.ge none v,v>v
4d v128.not none v>v
4e v128.and none v,v>v
4f v128.andnot none v,v>v
50 v128.or none v,v>v
51 v128.xor none v,v>v
52 v128.bitselect none v,v,v>v
53 v128.any_true none v>i32
54 v128.load8_lane memlane i32,v>v 1
55 v128.load16_lane memlane i32,v>v 2
56 v128.load32_lane memlane i32,v>v 4
57 v128.load64_lane memlane i32,v>v 8
58 v128.store8_lane memlane i32,v> 1
59 v128.store16_lane memlane i32,v> 2
5a v128.store32_lane memlane i32,v> 4
5b v128.store64_lane memlane i32,v> 8
5c v128.load32_zero memarg i32>v 4
5d v128.load64_zero memarg i32>v 8
5e f32x4.demote_f64x2_zero none v>v
5f f64x2.promote_low_f32x4 none v>v
60 i8x16.abs none v>v
61 i8x16.neg none v>v
62 i8x16.popcnt none v>v
63 i8x16.all_true none v>i32
64 i8x16.bitmask none v>i32
65 i8x16.narrow_i16x8_s none v,v>v
66 i8x16.narrow_i16x8_u none v,v>v
67 f32x4.ceil none v>v
68 f32x4.floor none v>v
69 f32x4.trunc none v>v
6a f32x4.nearest none v>v
6b i8x16.shl none v,i32>v
6c i8x16.shr_s none v,i32>v
6d i8x16.shr_u none v,i32>v
6e i8x16.add none v,v>v
6f i8x16.add_sat_s none v,v>v
70 i8x16.add_sat_u none v,v>v
71 i8x16.sub none v,v>v
72 i8x16.sub_sat_s none v,v>v
73 i8x16.sub_sat_u none v,v>v
74 f64x2.ceil none v>v
75 f64x2.floor none v>v
76 i8x16.min_s none v,v>v
77 i8x16.min_u none v,v>v
78 i8x16.max_s none v,v>v
79 i8x16.max_u none v,v>v
7a f64x2.trunc none v>v
7b i8x16.avgr_u none v,v>v
7c i16x8.extadd_pairwise_i8x16_s none v>v
7d i16x8.extadd_pairwise_i8x16_u none v>v
7e i32x4.extadd_pairwise_i16x8_s none v>v
7f i32x4.extadd_pairwise_i16x8_u none v>v
80 i16x8.abs none v>v
81 i16x8.neg none v>v
82 i16x8.q15mulr_sat_s none v,v>v
83 i16x8.all_true none v>i32
84 i16x8.bitmask none v>i32
85 i16x8.narrow_i32x4_s none v,v>v
86 i16x8.narrow_i32x4_u none v,v>v
87 i16x8.extend_low_i8x16_s none v>v
88 i16x8.extend_high_i8x16_s none v>v
89 i16x8.extend_low_i8x16_u none v>v
8a i16x8.extend_high_i8x16_u none v>v
8b i16x8.shl none v,i32>v
8c i16x8.shr_s none v,i32>v
8d i16x8.shr_u none v,i32>v
8e i16x8.add none v,v>v
8f i16x8.add_sat_s none v,v>v
90 i16x8.add_sat_u none v,v>v
91 i16x8.sub none v,v>v
92 i16x8.sub_sat_s none v,v>v
93 i16x8.sub_sat_u none v,v>v
94 f64x2.nearest none v>v
95 i16x8.mul none v,v>v
96 i16x8.min_s none v,v>v
97 i16x8.min_u none v,v>v
98 i16x8.max_s none v,v>v
99 i16x8.max_u none v,v>v
9b i16x8.avgr_u none v,v>v
9c i16x8.extmul_low_i8x16_s none v,v>v
9d i16x8.extmul_high_i8x16_s none v,v>v
9e i16x8.extmul_low_i8x16_u none v,v>v
9f i16x8.extmul_high_i8x16_u none v,v>v
a0 i32x4.abs none v>v
a1 i32x4.neg none v>v
a3 i32x4.all_true none v>i32
a4 i32x4.bitmask none v>i32
a7 i32x4.extend_low_i16x8_s none v>v
a8 i32x4.extend_high_i16x8_s none v>v
a9 i32x4.extend_low_i16x8_u none v>v
aa i32x4.extend_high_i16x8_u none v>v
ab i32x4.shl none v,i32>v
ac i32x4.shr_s none v,i32>v
ad i32x4.shr_u none v,i32>v
ae i32x4.add none v,v>v
b1 i32x4.sub none v,v>v
b5 i32x4.mul none v,v>v
b6 i32x4.min_s none v,v>v
b7 i32x4.min_u none v,v>v
b8 i32x4.max_s none v,v>v
b9 i32x4.max_u none v,v>v
ba i32x4.dot_i16x8_s none v,v>v
bc i32x4.extmul_low_i16x8_s none v,v>v
bd i32x4.extmul_high_i16x8_s none v,v>v
be i32x4.extmul_low_i16x8_u none v,v>v
bf i32x4.extmul_high_i16x8_u none v,v>v
c0 i64x2.abs none v>v
c1 i64x2.neg none v>v
c3 i64x2.all_true none v>i32
c4 i64x2.bitmask none v>i32
c7 i64x2.extend_low_i32x4_s none v>v
c8 i64x2.extend_high_i32x4_s none v>v
c9 i64x2.extend_low_i32x4_u none v>v
ca i64x2.extend_high_i32x4_u none v>v
cb i64x2.shl none v,i32>v
cc i64x2.shr_s none v,i32>v
cd i64x2.shr_u none v,i32>v
ce i64x2.add none v,v>v
d1 i64x2.sub none v,v>v
d5 i64x2.mul none v,v>v
d6 i64x2.eq none v,v>v
d7 i64x2.ne none v,v>v
d8 i64x2.lt_s none v,v>v
d9 i64x2.gt_s none v,v>v
da i64x2.le_s none v,v>v
db i64x2.ge_s none v,v>v
dc i64x2.extmul_low_i32x4_s none v,v>v
dd i64x2.extmul_high_i32x4_s none v,v>v
de i64x2.extmul_low_i32x4_u none v,v>v
df i64x2.extmul_high_i32x4_u none v,v>v
e0 f32x4.abs none v>v
e1 f32x4.neg none v>v
e3 f32x4.sqrt none v>v
e4 f32x4.add none v,v>v
e5 f32x4.sub none v,v>v
e6 f32x4.mul none v,v>v
e7 f32x4.div none v,v>v
e8 f32x4.min none v,v>v
e9 f32x4.max none v,v>v
ea f32x4.pmin none v,v>v
eb f32x4.pmax none v,v>v
ec f64x2.abs none v>v
ed f64x2.neg none v>v
ef f64x2.sqrt none v>v
f0 f64x2.add none v,v>v
f1 f64x2.sub none v,v>v
f2 f64x2.mul none v,v>v
f3 f64x2.div none v,v>v
f4 f64x2.min none v,v>v
f5 f64x2.max none v,v>v
f6 f64x2.pmin none v,v>v
f7 f64x2.pmax none v,v>v
f8 i32x4.trunc_sat_f32x4_s none v>v
f9 i32x4.trunc_sat_f32x4_u none v>v
fa f32x4.convert_i32x4_s none v>v
fb f32x4.convert_i32x4_u none v>v
fc i32x4.trunc_sat_f64x2_s_zero none v>v
fd i32x4.trunc_sat_f64x2_u_zero none v>v
fe f64x2.convert_low_i32x4_s none v>v
ff f64x2.convert_low_i32x4_u none v>v
`;

// Relaxed SIMD: 0xFD sub-opcodes from 0x100, coded from CODE_FD_HI (the hex is the sub-opcode).
const FD_RELAXED = `
100 i8x16.relaxed_swizzle none v,v>v
101 i32x4.relaxed_trunc_f32x4_s none v>v
102 i32x4.relaxed_trunc_f32x4_u none v>v
103 i32x4.relaxed_trunc_f64x2_s_zero none v>v
104 i32x4.relaxed_trunc_f64x2_u_zero none v>v
105 f32x4.relaxed_madd none v,v,v>v
106 f32x4.relaxed_nmadd none v,v,v>v
107 f64x2.relaxed_madd none v,v,v>v
108 f64x2.relaxed_nmadd none v,v,v>v
109 i8x16.relaxed_laneselect none v,v,v>v
10a i16x8.relaxed_laneselect none v,v,v>v
10b i32x4.relaxed_laneselect none v,v,v>v
10c i64x2.relaxed_laneselect none v,v,v>v
10d f32x4.relaxed_min none v,v>v
10e f32x4.relaxed_max none v,v>v
10f f64x2.relaxed_min none v,v>v
110 f64x2.relaxed_max none v,v>v
111 i16x8.relaxed_q15mulr_s none v,v>v
112 i16x8.relaxed_dot_i8x16_i7x16_s none v,v>v
113 i32x4.relaxed_dot_i8x16_i7x16_add_s none v,v,v>v
`;

const FE = `
00 memory.atomic.notify memarg i32,i32>i32 4
01 memory.atomic.wait32 memarg i32,i32,i64>i32 4
02 memory.atomic.wait64 memarg i32,i64,i64>i32 8
03 atomic.fence fence >
10 i32.atomic.load memarg i32>i32 4
11 i64.atomic.load memarg i32>i64 8
12 i32.atomic.load8_u memarg i32>i32 1
13 i32.atomic.load16_u memarg i32>i32 2
14 i64.atomic.load8_u memarg i32>i64 1
15 i64.atomic.load16_u memarg i32>i64 2
16 i64.atomic.load32_u memarg i32>i64 4
17 i32.atomic.store memarg i32,i32> 4
18 i64.atomic.store memarg i32,i64> 8
19 i32.atomic.store8 memarg i32,i32> 1
1a i32.atomic.store16 memarg i32,i32> 2
1b i64.atomic.store8 memarg i32,i64> 1
1c i64.atomic.store16 memarg i32,i64> 2
1d i64.atomic.store32 memarg i32,i64> 4
`;

const RMW_OPS = ['add', 'sub', 'and', 'or', 'xor', 'xchg', 'cmpxchg'];
const RMW_SHAPES: ReadonlyArray<readonly [string, string, number, string]> = [
  // [prefix, suffix, bytes, value type]
  ['i32.atomic.rmw', '', 4, 'i32'],
  ['i64.atomic.rmw', '', 8, 'i64'],
  ['i32.atomic.rmw8', '_u', 1, 'i32'],
  ['i32.atomic.rmw16', '_u', 2, 'i32'],
  ['i64.atomic.rmw8', '_u', 1, 'i64'],
  ['i64.atomic.rmw16', '_u', 2, 'i64'],
  ['i64.atomic.rmw32', '_u', 4, 'i64'],
];

function rmwLines(): string {
  const lines: string[] = [];
  let code = 0x1e;
  for (const op of RMW_OPS) {
    for (const [prefix, suffix, bytes, t] of RMW_SHAPES) {
      const sig = op === 'cmpxchg' ? `i32,${t},${t}>${t}` : `i32,${t}>${t}`;
      lines.push(`${code.toString(16)} ${prefix}.${op}${suffix} memarg ${sig} ${bytes}`);
      code++;
    }
  }
  return lines.join('\n');
}

function types(list: string): number[] {
  if (list === '') return [];
  return list.split(',').map((n) => {
    const t = T[n];
    if (t === undefined) throw new Error(`opcodes: unknown type ${n}`);
    return t;
  });
}

function coreFeature(byte: number): CoreFeatures {
  if (byte >= 0xc0 && byte <= 0xc4) return CoreFeatureSignExtensionOps;
  if (byte === 0x1c || byte === 0x25 || byte === 0x26 || (byte >= 0xd0 && byte <= 0xd2)) return CoreFeatureReferenceTypes;
  if (byte === 0x12 || byte === 0x13) return CoreFeaturesTailCall;
  if ((byte >= 0x06 && byte <= 0x0a) || byte === 0x18 || byte === 0x19 || byte === 0x1f) return CoreFeaturesExceptionHandling;
  return 0;
}

function fcFeature(sub: number): CoreFeatures {
  if (sub <= 7) return CoreFeatureNonTrappingFloatToIntConversion;
  if (sub <= 0x0e) return CoreFeatureBulkMemoryOperations;
  return CoreFeatureReferenceTypes;
}

/** Opcode table indexed by code; `undefined` for unknown opcodes. */
export const OPS: ReadonlyArray<OpInfo | undefined> = buildTable();

function buildTable(): Array<OpInfo | undefined> {
  const table: Array<OpInfo | undefined> = new Array<OpInfo | undefined>(NUM_CODES).fill(undefined);
  const add = (base: number, text: string, feature: (sub: number) => CoreFeatures): void => {
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '') continue;
      const [hex, name, imm, sig, bytes] = line.split(' ');
      if (hex === undefined || name === undefined || imm === undefined || sig === undefined) {
        throw new Error(`opcodes: bad line ${line}`);
      }
      const sub = parseInt(hex, 16);
      let params: number[] | undefined;
      let results: number[] | undefined;
      if (sig !== '*') {
        const [p, r] = sig.split('>');
        params = types(p ?? '');
        results = types(r ?? '');
      }
      if (!(IMM_KINDS as readonly string[]).includes(imm)) throw new Error(`opcodes: unknown immediate kind ${imm}`);
      table[base + sub] = {
        code: base + sub,
        name,
        imm: imm as ImmKind,
        params,
        results,
        feature: feature(sub),
        memBytes: bytes === undefined ? 0 : parseInt(bytes, 10),
      };
    }
  };
  add(0, CORE, coreFeature);
  add(CODE_FC, FC, fcFeature);
  add(CODE_FD, FD, () => CoreFeatureSIMD);
  add(CODE_FD_HI - 0x100, FD_RELAXED, () => CoreFeatureSIMD | CoreFeaturesRelaxedSIMD);
  add(CODE_FE, FE + '\n' + rmwLines(), () => CoreFeaturesThreads);
  return table;
}

/** Name of an opcode code, or a hex form for unknown codes. */
export function opName(code: number): string {
  return OPS[code]?.name ?? `opcode 0x${code.toString(16)}`;
}

/** Looks up an instruction by its text name (for tests and tools). */
export function opByName(name: string): OpInfo | undefined {
  return byName.get(name);
}

const byName = new Map<string, OpInfo>();
for (const info of OPS) if (info !== undefined) byName.set(info.name, info);

/** Codes of the instructions the run loops and rewriters switch on by name. */
export const Op = {
  Unreachable: 0x00,
  Nop: 0x01,
  Block: 0x02,
  Loop: 0x03,
  If: 0x04,
  Else: 0x05,
  End: 0x0b,
  Br: 0x0c,
  BrIf: 0x0d,
  BrTable: 0x0e,
  Return: 0x0f,
  Call: 0x10,
  CallIndirect: 0x11,
  ReturnCall: 0x12,
  ReturnCallIndirect: 0x13,
  Drop: 0x1a,
  Select: 0x1b,
  SelectT: 0x1c,
  LocalGet: 0x20,
  LocalSet: 0x21,
  LocalTee: 0x22,
  GlobalGet: 0x23,
  GlobalSet: 0x24,
  TableGet: 0x25,
  TableSet: 0x26,
  MemorySize: 0x3f,
  MemoryGrow: 0x40,
  I32Const: 0x41,
  I64Const: 0x42,
  F32Const: 0x43,
  F64Const: 0x44,
  RefNull: 0xd0,
  RefIsNull: 0xd1,
  RefFunc: 0xd2,
  Try: 0x06,
  Catch: 0x07,
  Throw: 0x08,
  Rethrow: 0x09,
  ThrowRef: 0x0a,
  Delegate: 0x18,
  CatchAll: 0x19,
  TryTable: 0x1f,
  TableGrow: CODE_FC + 0x0f,
  TableSize: CODE_FC + 0x10,
  TableFill: CODE_FC + 0x11,
} as const;
