/**
 * Exception tags (exception handling): one object per tag, shared by both engines and every module
 * that imports it, so `catch` compares tags by identity whichever engine runs. The compiler engine
 * hands V8 the `WebAssembly.Tag` made here (a guest's defined tags become imports in its rewrite),
 * so an exception keeps its tag across modules and across the JS boundary.
 */
import type { Module } from '../api/module.js';
import type { Tag } from '../api/tag.js';
import type { ValueType } from '../api/value-type.js';
import type { FuncType } from '../binary/module.js';

/** V8's name of each value type a tag can carry. */
const JS_TYPE_NAMES: Readonly<Record<number, string>> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'anyfunc',
  0x6f: 'externref',
  0x69: 'exnref',
};

/** V8's `WebAssembly.Tag` (not in the TypeScript library yet). */
export interface JsTag {
  readonly __jsTag?: never;
}

/** V8's `WebAssembly.Exception`. */
export interface JsException {
  is(tag: JsTag): boolean;
  getArg(tag: JsTag, index: number): unknown;
}

interface JsEh {
  Tag: new (type: { parameters: string[] }) => JsTag;
  Exception: new (tag: JsTag, payload: unknown[], options?: { traceStack?: boolean }) => JsException;
}

/** Whether the running V8 has exception handling's JS API (`WebAssembly.Tag` and `Exception`). */
export const hasJsExceptions: boolean =
  typeof (WebAssembly as unknown as Partial<JsEh>).Tag === 'function' &&
  typeof (WebAssembly as unknown as Partial<JsEh>).Exception === 'function';

/** V8's exception-handling JS API. */
export function jsEh(): JsEh {
  return WebAssembly as unknown as JsEh;
}

/** An exception tag: its type and, once asked for, V8's tag object for it. */
export class TagInst implements Tag {
  /** The tag's function type: the payload as params, no results. */
  readonly type: FuncType;
  #wasm: JsTag | undefined;

  constructor(type: FuncType) {
    this.type = type;
  }

  params(): ValueType[] {
    return this.type.params.slice() as ValueType[];
  }

  /** V8's `WebAssembly.Tag` standing for this tag (made on first use). */
  wasmTag(): JsTag {
    if (this.#wasm === undefined) {
      const parameters = this.type.params.map((t) => JS_TYPE_NAMES[t] ?? `0x${t.toString(16)}`);
      this.#wasm = new (jsEh().Tag)({ parameters });
      byWasmTag.set(this.#wasm, this);
    }
    return this.#wasm;
  }
}

const byWasmTag = new WeakMap<JsTag, TagInst>();

const TAG_PARAM_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/**
 * A new exception tag made by the host, whose exceptions carry values of `params`: export it from a
 * host module (`HostModuleBuilder.exportTag`) for guests to import, and throw `new WasmException(tag,
 * payload)` from host functions.
 * @param params - the payload's value types.
 * @throws TypeError for a type a tag cannot carry.
 * @experimental
 */
export function newTag(params: readonly ValueType[]): Tag {
  params.forEach((t, i) => {
    if (!TAG_PARAM_TYPES.has(t)) throw new TypeError(`newTag: param[${i}] is unsupported: ${t}`);
  });
  return new TagInst({ params: params.slice(), results: [] });
}

/**
 * The tag module `mod` exports as `name` (exception handling), or undefined.
 * @experimental
 */
export function exportedTag(mod: Module, name: string): Tag | undefined {
  return (mod as Partial<{ exportedTag(name: string): Tag | undefined }>).exportedTag?.(name);
}

/** The tag a `WebAssembly.Tag` made by {@link TagInst.wasmTag} stands for. */
export function tagOfWasmTag(t: JsTag): TagInst | undefined {
  return byWasmTag.get(t);
}
