/**
 * pprof output and input: a {@link StackProfile} as a gzip-compressed `perftools.profiles.Profile`
 * (the format of Go's and Google's pprof tools), written and read with the `pprof-format` package,
 * an optional dependency loaded on first use.
 *
 * Layout: `string_table[0]` is `""`; functions, locations and the one mapping have ids from 1;
 * each sample lists its locations leaf first; a location is one frame (inlined code is folded into
 * its caller's line, see symbols.ts); `time_nanos`, `duration_nanos`, `period_type` and `period` are set.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { StackProfile, ProfileSample, ProfileValueType } from './profile.js';
import type { ProfileFrame } from './symbols.js';

type PprofFormat = typeof import('pprof-format');

let loaded: Promise<PprofFormat> | undefined;

/** The `pprof-format` module, loaded once. */
async function pprofFormat(): Promise<PprofFormat> {
  loaded ??= import('pprof-format').catch((e: unknown) => {
    loaded = undefined;
    throw new Error('not supported: pprof output needs the optional package pprof-format (npm install pprof-format)', { cause: e });
  });
  return loaded;
}

/**
 * Encodes `profile` as a gzip-compressed pprof protocol buffer.
 * @throws Error when the optional package `pprof-format` is not installed.
 * @experimental
 */
export async function encodePprof(profile: StackProfile): Promise<Uint8Array> {
  const pf = await pprofFormat();
  const strings = new pf.StringTable();
  const s = (x: string): number => strings.dedup(x);
  const functions: InstanceType<PprofFormat['Function']>[] = [];
  const functionIds = new Map<string, number>();
  const locations: InstanceType<PprofFormat['Location']>[] = [];
  const locationIds = new Map<ProfileFrame, number>();
  const locationOf = (f: ProfileFrame): number => {
    let id = locationIds.get(f);
    if (id !== undefined) return id;
    const fkey = `${f.systemName}\0${f.file}\0${f.startLine}\0${f.host}`;
    let fid = functionIds.get(fkey);
    if (fid === undefined) {
      fid = functions.length + 1;
      functions.push(
        new pf.Function({ id: fid, name: s(f.function), systemName: s(f.systemName), filename: s(f.file), startLine: f.startLine }),
      );
      functionIds.set(fkey, fid);
    }
    id = locations.length + 1;
    locations.push(new pf.Location({ id, mappingId: 1, address: f.address, line: [{ functionId: fid, line: f.line }] }));
    locationIds.set(f, id);
    return id;
  };
  const samples = profile.samples.map(
    (x) => new pf.Sample({ locationId: x.stack.map(locationOf), value: x.values.map((v) => Math.round(v)) }),
  );
  const vt = (t: ProfileValueType): InstanceType<PprofFormat['ValueType']> => new pf.ValueType({ type: s(t.type), unit: s(t.unit) });
  const modules = [...new Set(profile.samples.flatMap((x) => x.stack.filter((f) => !f.host).map((f) => f.module)))];
  const p = new pf.Profile({
    sampleType: profile.sampleTypes.map(vt),
    sample: samples,
    mapping: [
      new pf.Mapping({
        id: 1,
        filename: s(modules.length === 1 ? modules[0]! || 'wasm' : 'wasm'),
        hasFunctions: true,
        hasFilenames: true,
        hasLineNumbers: true,
      }),
    ],
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: profile.timeNanos,
    durationNanos: profile.durationNanos,
    periodType: vt(profile.periodType),
    period: profile.period,
    comment: profile.comments.map(s),
    defaultSampleType: s(profile.defaultSampleType),
  });
  return gzipSync(p.encode());
}

/**
 * Decodes a pprof profile (gzip-compressed or not), from wasmscope or any other producer, into a
 * {@link StackProfile}. A location with inlined lines becomes one frame per line, leaf first.
 * @throws Error when the optional package `pprof-format` is not installed, or the bytes are not a profile.
 * @experimental
 */
export async function decodePprof(bytes: Uint8Array): Promise<StackProfile> {
  const pf = await pprofFormat();
  const raw = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = pf.Profile.decode(raw);
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? '';
  const fns = new Map<number, InstanceType<PprofFormat['Function']>>();
  for (const f of p.function) fns.set(Number(f.id), f);
  const frames = new Map<number, ProfileFrame[]>();
  for (const l of p.location) {
    const out: ProfileFrame[] = [];
    for (const line of l.line) {
      const f = fns.get(Number(line.functionId));
      const name = f === undefined ? '?' : str(f.name);
      out.push({
        function: name,
        systemName: f === undefined ? name : str(f.systemName) || name,
        module: '',
        file: f === undefined ? '' : str(f.filename),
        line: Number(line.line),
        startLine: f === undefined ? 0 : Number(f.startLine),
        host: false,
        address: Number(l.address),
      });
    }
    if (out.length === 0) {
      const a = `0x${Number(l.address).toString(16)}`;
      out.push({ function: a, systemName: a, module: '', file: '', line: 0, startLine: 0, host: false, address: Number(l.address) });
    }
    frames.set(Number(l.id), out);
  }
  const samples: ProfileSample[] = p.sample.map((x) => ({
    stack: x.locationId.flatMap((id) => frames.get(Number(id)) ?? []),
    values: x.value.map(Number),
  }));
  const sampleTypes = p.sampleType.map((t) => ({ type: str(t.type), unit: str(t.unit) }));
  return {
    sampleTypes,
    defaultSampleType: str(p.defaultSampleType) || (sampleTypes[sampleTypes.length - 1]?.type ?? ''),
    samples,
    timeNanos: BigInt(p.timeNanos),
    durationNanos: Number(p.durationNanos),
    periodType: p.periodType === undefined ? { type: '', unit: '' } : { type: str(p.periodType.type), unit: str(p.periodType.unit) },
    period: Number(p.period),
    comments: p.comment.map(str),
  };
}
