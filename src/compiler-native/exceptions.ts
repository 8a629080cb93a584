/**
 * Exceptions across the JS boundary of the compiler engine, so it behaves as the interpreter does:
 *
 * - a guest exception leaving an invocation is V8's `WebAssembly.Exception`; it becomes a
 *   {@link WasmException} (its tag found among the engine's tags, its payload read back as raw
 *   values), the same object each time it passes;
 * - a WasmException a host function throws becomes V8's exception of its tag, so a guest catches it
 *   like one of its own (the same V8 object when it came out of a guest);
 * - any other error leaving a host function or a hook (an exit, a trap of a nested call, a listener's
 *   error) must not be caught by a guest's `catch_all`, which catches JS exceptions in V8: it is
 *   kept aside and a trap thrown instead — V8 never lets a guest catch an error a trap made, even
 *   when JS rethrows it — and the invocation boundary puts the original back ({@link fromGuest}).
 *   A snapshot restore is such an error too: the snapshot adapters and the invocation that took
 *   the snapshot stop it on its way out ({@link ExceptionBridge.kept}).
 */
import { WasmException } from '../runtime/api/tag.js';
import { F32, F64, I32, I64, V128 } from '../runtime/api/value-type.js';
import { hasJsExceptions, jsEh, type JsException, type TagInst } from '../runtime/store/tags.js';
import type { References } from './references.js';

const scratch = new DataView(new ArrayBuffer(8));

/** The exports of the stash module (see {@link ExceptionBridge.stashHelper}). */
export interface StashHelper {
  /** `(exnref) → ()`: only wasm calls it (through the hook table). */
  readonly stash: unknown;
  rethrow(): void;
  clear(): void;
}

/** The engine-wide part of the conversions: its tags, references and the error kept aside. */
export class ExceptionBridge {
  /** Every tag V8 saw from this engine (instances' tag spaces, host-thrown exceptions). */
  readonly #tags = new Set<TagInst>();
  /** A host error kept aside while the uncatchable trap standing for it unwinds guest frames. */
  #pending: unknown = undefined;
  #trap: Error | undefined;
  readonly #apiOf = new WeakMap<object, WasmException>();
  readonly #jsOf = new WeakMap<WasmException, JsException>();

  constructor(readonly refs: References) {}

  #stash: StashHelper | undefined;

  /**
   * The stash of listened bodies' unwind wrappers (exnref): `stash(exnref)` keeps the exception a
   * wrapper caught, `rethrow()` throws it into JS (so the abort hook can read it), `clear()` lets it go.
   */
  stashHelper(): StashHelper {
    if (this.#stash === undefined) {
      // (global $p (mut exnref) (ref.null exn)) (func $stash (param exnref) (global.set $p (local.get 0)))
      // (func $rethrow (throw_ref (global.get $p))) (func $clear (global.set $p (ref.null exn)))
      const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
      const bytes = new Uint8Array([
        ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
        ...[1, 8, 2, 0x60, 1, 0x69, 0, 0x60, 0, 0],
        ...[3, 4, 3, 0, 1, 1],
        ...[6, 6, 1, 0x69, 1, 0xd0, 0x69, 0x0b],
        ...[7, 0x1b, 3, ...name('stash'), 0, 0, ...name('rethrow'), 0, 1, ...name('clear'), 0, 2],
        ...[10, 0x15, 3, 6, 0, 0x20, 0, 0x24, 0, 0x0b, 5, 0, 0x23, 0, 0x0a, 0x0b, 6, 0, 0xd0, 0x69, 0x24, 0, 0x0b],
      ]);
      this.#stash = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as StashHelper;
    }
    return this.#stash;
  }

  /** The exception a wrapper stashed, at the API (and lets the stash go). */
  stashed(): unknown {
    const h = this.stashHelper();
    let err: unknown;
    try {
      h.rethrow();
    } catch (e) {
      err = this.fromGuest(e);
    }
    h.clear();
    return err;
  }

  /** Remembers tags an instance can throw or catch. */
  addTags(tags: readonly TagInst[]): void {
    for (const t of tags) this.#tags.add(t);
  }

  /**
   * What a host function's (or a hook's) error becomes as it enters guest frames: a WasmException
   * V8's exception of its tag; anything else the uncatchable trap, the error kept aside.
   */
  toGuest(e: unknown): unknown {
    if (e instanceof WasmException) return this.#toJs(e);
    // A snapshot restore (snapshots.ts) goes the same way: guests compiled for snapshots may have
    // `catch_all` handlers, which must not catch it; its adapters find it with {@link kept}.
    if (e === this.#trap) return e;
    this.#pending = e;
    return this.#uncatchable();
  }

  /**
   * The error kept aside when `e` is the uncatchable trap standing for it (else undefined), left
   * kept: the snapshot adapters look at a restore on its way out and {@link take} the one they stop.
   */
  kept(e: unknown): unknown {
    return e === this.#trap && this.#trap !== undefined ? this.#pending : undefined;
  }

  /** Whether `e` is V8's exception of a tag (what {@link toGuest} makes of a WasmException). */
  isTagged(e: unknown): boolean {
    return hasJsExceptions && e instanceof (WebAssembly as unknown as { Exception: new () => object }).Exception;
  }

  /** Lets the error kept aside go (its trap was stopped: see {@link kept}). */
  take(): void {
    this.#pending = undefined;
  }

  /**
   * What an error leaving guest frames at an invocation boundary is: the error kept aside for the
   * uncatchable trap, a WasmException for V8's exception, else itself.
   */
  fromGuest(e: unknown): unknown {
    if (e === this.#trap && this.#trap !== undefined) {
      const p = this.#pending;
      this.#pending = undefined;
      return p;
    }
    if (hasJsExceptions && e instanceof (WebAssembly as unknown as { Exception: new () => object }).Exception) {
      return this.#toApi(e as unknown as JsException);
    }
    return e;
  }

  /** A trap error (V8 marks it uncatchable for guests), made once. */
  #uncatchable(): Error {
    if (this.#trap === undefined) {
      // (module (func (export "t") unreachable))
      const bytes = new Uint8Array([
        0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 116, 0, 0, 10, 5, 1, 3, 0, 0, 11,
      ]);
      const t = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports['t'] as () => void;
      try {
        t();
      } catch (e) {
        this.#trap = e as Error;
      }
    }
    return this.#trap!;
  }

  #toJs(e: WasmException): JsException {
    const known = this.#jsOf.get(e);
    if (known !== undefined) return known;
    const tag = e.tag as TagInst;
    if (typeof tag.wasmTag !== 'function') throw new TypeError('WasmException: the tag was not made by wasmscope (newTag)');
    this.#tags.add(tag);
    const args: unknown[] = [];
    let s = 0;
    for (const t of tag.type.params) {
      const v = e.payload[s] ?? 0n;
      switch (t) {
        case I32:
          args.push(Number(BigInt.asIntN(32, v)));
          break;
        case I64:
          args.push(BigInt.asIntN(64, v));
          break;
        case F32:
          scratch.setUint32(0, Number(v & 0xffffffffn));
          args.push(scratch.getFloat32(0));
          break;
        case F64:
          scratch.setBigUint64(0, v);
          args.push(scratch.getFloat64(0));
          break;
        case V128:
          throw new TypeError('not supported: a v128 in the payload of an exception thrown by the host on the compiler engine');
        default:
          args.push(this.refs.fromRaw(t, v));
      }
      s += t === V128 ? 2 : 1;
    }
    const js = new (jsEh().Exception)(tag.wasmTag(), args);
    this.#jsOf.set(e, js);
    this.#apiOf.set(js, e);
    return js;
  }

  #toApi(js: JsException): WasmException {
    const known = this.#apiOf.get(js);
    if (known !== undefined) return known;
    let tag: TagInst | undefined;
    for (const t of this.#tags) {
      if (js.is(t.wasmTag())) {
        tag = t;
        break;
      }
    }
    if (tag === undefined) throw new Error('internal error: a wasm exception of a tag this engine never made');
    const payload: bigint[] = [];
    tag.type.params.forEach((t, i) => {
      if (t === V128) {
        // V8's JS API cannot read a v128 (nor an exnref) back: zeros stand for it.
        payload.push(0n, 0n);
        return;
      }
      let v: unknown;
      try {
        v = js.getArg(tag.wasmTag(), i);
      } catch {
        payload.push(0n);
        return;
      }
      switch (t) {
        case I32:
          payload.push(BigInt((v as number) >>> 0));
          break;
        case I64:
          payload.push(BigInt.asUintN(64, v as bigint));
          break;
        case F32:
          scratch.setFloat32(0, v as number);
          payload.push(BigInt(scratch.getUint32(0)));
          break;
        case F64:
          scratch.setFloat64(0, v as number);
          payload.push(scratch.getBigUint64(0));
          break;
        default:
          payload.push(this.refs.toRaw(t, v));
      }
    });
    const e = new WasmException(tag, payload);
    this.#apiOf.set(js, e);
    this.#jsOf.set(e, js);
    return e;
  }
}
