/**
 * Exception tags and exceptions at the API (exception handling, WebAssembly 3.0).
 */
import { valueTypeName, type ValueType } from './value-type.js';

/**
 * An exception tag: the identity of a kind of exception and the types of its payload. A tag is
 * defined by a guest module (and may be exported), imported, or made by the host (`newTag` in `wasmscope/experimental`);
 * `catch $t` in a guest catches exactly the exceptions thrown with the same tag object.
 * @experimental
 */
export interface Tag {
  /** The payload's value types, in order (a `v128` takes two raw slots). */
  params(): ValueType[];
}

/**
 * An exception thrown by `throw` or `throw_ref` that no guest frame caught: it left the guest and
 * reached the host. Distinct from a trap ({@link WasmRuntimeError}): guests can catch exceptions,
 * never traps. A host function may throw one (made with `new WasmException(tag, payload)`) into the
 * guest that called it, which can catch it like one of its own.
 */
export class WasmException extends Error {
  /** Always `'WasmException'`. */
  override readonly name = 'WasmException';
  /** The exception's tag. */
  readonly tag: Tag;
  /**
   * The payload as raw values, one slot per value (two for a `v128`, low half first), encoded like
   * `Function.call` results: i32/f32 zero-extended bits, references as their raw handles.
   */
  readonly payload: readonly bigint[];

  /**
   * @param tag - the exception's tag.
   * @param payload - raw values matching `tag.params()` (a `v128` takes two slots).
   * @throws TypeError when the payload does not have one slot per value of the tag's types.
   */
  constructor(tag: Tag, payload: readonly bigint[] = []) {
    const types = tag.params();
    let slots = 0;
    for (const t of types) slots += t === 0x7b ? 2 : 1;
    if (payload.length !== slots) {
      throw new TypeError(`WasmException: the tag takes ${slots} payload slot(s), got ${payload.length}`);
    }
    super(`wasm exception: uncaught exception (tag with params [${types.map(valueTypeName).join(', ')}])`);
    this.tag = tag;
    this.payload = Object.freeze(payload.map((v) => BigInt.asUintN(64, v)));
  }
}
