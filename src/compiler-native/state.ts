/**
 * The call state of one compiler engine (one runtime): everything that changes while calls run.
 * Nothing of it is module-level, so two runtimes in one process never see each other's frames,
 * contexts or handles.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from '../runtime/api/context.js';
import type { Module as ApiModule } from '../runtime/api/module.js';
import { ListenerStack } from '../runtime/store/hooks.js';
import { Boundary } from './boundary.js';
import { References } from './references.js';
import { GUEST_NAME_PREFIX } from './rewrite.js';
import type { FrameSource, FrameSources } from './traps.js';

export class EngineState implements FrameSources {
  readonly boundary = new Boundary();
  readonly refs = new References();
  /** Open listened frames (the shadow stack of listened calls; host frames included). */
  readonly listeners = new ListenerStack();
  /** The context of the innermost call in progress (host functions and hooks receive it). */
  ctx: Context | undefined = undefined;
  /** Engine invocations in progress (JS → wasm entries, instantiations included). */
  callDepth = 0;
  /** The module whose function the outermost call in progress called (closed by timeouts). */
  callModule: ApiModule | undefined = undefined;
  /**
   * The module-name prefix of this engine's guests in V8 frame URLs: `wasmscopeguest<tag>_<id>`, with
   * a random tag, so frames of another engine's guests on the same V8 stack are told apart.
   */
  readonly namePrefix = `${GUEST_NAME_PREFIX}${randomBytes(6).toString('hex')}_`;
  #nextId = 1;
  readonly #code = new Map<number, WeakRef<FrameSource>>();
  readonly #registry = new FinalizationRegistry<number>((id) => this.#code.delete(id));

  /** A new compiled-module id (its frames' URLs carry `namePrefix + id`). */
  newModuleId(): number {
    return this.#nextId++;
  }

  /** Makes `code`'s frames known to trap mapping and stack iterators. */
  register(id: number, code: FrameSource): void {
    this.#code.set(id, new WeakRef(code));
    this.#registry.register(code, id);
  }

  sourceOf(url: string): FrameSource | undefined {
    if (!url.startsWith(this.namePrefix)) return undefined;
    const dash = url.indexOf('-', this.namePrefix.length);
    const id = Number(url.slice(this.namePrefix.length, dash < 0 ? undefined : dash));
    return this.#code.get(id)?.deref();
  }
}
