/**
 * The compiler engine's compilation-cache artifact: the rewrite of a module (rewrite.ts) as bytes,
 * so a cache hit skips validation and the rewrite and only hands V8 the rewritten binary again.
 *
 * The rewritten binary names the module after the engine that made it (frame URLs map V8 frames
 * back to their module: state.ts); a module compiled from an artifact is renamed for the engine
 * loading it. Only the name section changes, and it must come after the code section (else code
 * offsets, which trap mapping relies on, would move): modules whose name section comes first are
 * not cached.
 */
import { deserialize, serialize } from 'node:v8';
import { ByteWriter } from '../runtime/binary/encoder.js';
import type { InstrumentedBody } from './instrument.js';
import { renameModule, type Rewritten } from './rewrite.js';

const MAGIC = 'wasmscope-compiler-1';

/** Where the name section lies in `bytes` (its whole section, header included), if after the code section. */
function nameSection(bytes: Uint8Array): { start: number; end: number; payload: number } | undefined {
  let p = 8;
  let sawCode = false;
  let found: { start: number; end: number; payload: number } | undefined;
  const leb = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      if (b === undefined || shift > 28) throw new Error('malformed');
      v |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) return v >>> 0;
    }
  };
  while (p < bytes.length) {
    const start = p;
    const id = bytes[p++]!;
    const size = leb();
    const body = p;
    const end = body + size;
    if (end > bytes.length) throw new Error('malformed');
    if (id === 10) sawCode = true;
    if (id === 0) {
      const n = leb();
      const name = new TextDecoder().decode(bytes.subarray(p, p + n));
      if (name === 'name') {
        if (!sawCode) return undefined;
        found = { start, end, payload: p + n };
      }
    }
    p = end;
  }
  return found;
}

/** The artifact of a rewrite, or undefined when it cannot be renamed later. */
export function rewriteArtifact(rw: Rewritten): Uint8Array | undefined {
  try {
    if (nameSection(rw.bytes) === undefined) return undefined;
  } catch {
    return undefined;
  }
  // Most bodies are copied untouched: only the instrumented ones are listed (a dense array of
  // 20,000 holes costs more to serialize than the rest of the rewrite).
  const instrumented: Array<[number, InstrumentedBody]> = [];
  rw.instrumented.forEach((b, i) => {
    if (b !== undefined) instrumented.push([i, b]);
  });
  return serialize({ magic: MAGIC, rw: { ...rw, instrumented: rw.instrumented.length }, instrumented });
}

/** The rewrite an artifact holds, its module renamed `moduleName`; undefined for anything else. */
export function rewriteFromArtifact(artifact: Uint8Array, moduleName: string): Rewritten | undefined {
  let value: unknown;
  try {
    value = deserialize(artifact);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || (value as { magic?: unknown }).magic !== MAGIC) return undefined;
  const stored = value as {
    rw: Omit<Rewritten, 'instrumented'> & { instrumented: number };
    instrumented: Array<[number, InstrumentedBody]>;
  };
  const n = stored.rw.instrumented;
  if (typeof n !== 'number' || !Array.isArray(stored.instrumented)) return undefined;
  const list = new Array<InstrumentedBody | undefined>(n).fill(undefined);
  for (const [i, b] of stored.instrumented) list[i] = b;
  const rw: Rewritten = { ...stored.rw, instrumented: list };
  if (!(rw.bytes instanceof Uint8Array) || !(rw.bodyDelta instanceof Int32Array) || !(rw.newCodeStart instanceof Int32Array))
    return undefined;
  let at: ReturnType<typeof nameSection>;
  try {
    at = nameSection(rw.bytes);
  } catch {
    return undefined;
  }
  if (at === undefined) return undefined;
  const section = new ByteWriter(64 + at.end - at.payload)
    .u8(0)
    .sized(new ByteWriter().name('name').bytes(renameModule(rw.bytes.subarray(at.payload, at.end), moduleName)));
  const renamed = section.finish();
  const bytes = new Uint8Array(at.start + renamed.length + rw.bytes.length - at.end);
  bytes.set(rw.bytes.subarray(0, at.start));
  bytes.set(renamed, at.start);
  bytes.set(rw.bytes.subarray(at.end), at.start + renamed.length);
  return { ...rw, bytes };
}
