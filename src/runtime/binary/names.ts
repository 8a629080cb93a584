/**
 * The `name` custom section: module, function and local names.
 * @see https://webassembly.github.io/spec/core/appendix/custom.html#name-section
 */
import type { NameSection } from './module.js';
import { Reader } from './reader.js';

const SUBSECTION_MODULE = 0;
const SUBSECTION_FUNCTIONS = 1;
const SUBSECTION_LOCALS = 2;

/**
 * Parses the payload of a `name` custom section (the bytes after the section name).
 *
 * Note: the name section is advisory, so this never throws: a malformed section yields `undefined`
 * and the module still decodes, as engines do. Unknown subsections (labels, types, …) are skipped.
 *
 * @param bytes - the whole module binary (offsets in errors stay absolute).
 * @param start - offset of the payload.
 * @param end - one past the payload.
 * @returns the names, or `undefined` when the section is malformed.
 */
export function parseNameSection(bytes: Uint8Array, start: number, end: number): NameSection | undefined {
  try {
    return parse(new Reader(bytes, start, end));
  } catch {
    return undefined;
  }
}

function parse(r: Reader): NameSection {
  r.section = 'custom:name';
  const sectionEnd = r.end;
  let moduleName: string | undefined;
  const functionNames = new Map<number, string>();
  const localNames = new Map<number, ReadonlyMap<number, string>>();
  while (r.pos < sectionEnd) {
    const id = r.u8();
    const size = r.u32();
    if (size > sectionEnd - r.pos) r.fail('length out of bounds');
    const subEnd = r.pos + size;
    r.end = subEnd;
    switch (id) {
      case SUBSECTION_MODULE:
        moduleName = r.name();
        break;
      case SUBSECTION_FUNCTIONS:
        readNameMap(r, functionNames);
        break;
      case SUBSECTION_LOCALS: {
        // Each entry is at least a function index and an empty name map.
        const n = r.count(2);
        for (let i = 0; i < n; i++) {
          const funcIndex = r.u32();
          const names = new Map<number, string>();
          readNameMap(r, names);
          localNames.set(funcIndex, names);
        }
        break;
      }
      default:
        r.pos = subEnd;
    }
    if (r.pos !== subEnd) r.fail('section size mismatch');
    r.end = sectionEnd;
  }
  return { moduleName, functionNames, localNames };
}

function readNameMap(r: Reader, into: Map<number, string>): void {
  // Each entry is at least an index byte and an empty name.
  const n = r.count(2);
  for (let i = 0; i < n; i++) {
    const index = r.u32();
    into.set(index, r.name());
  }
}
