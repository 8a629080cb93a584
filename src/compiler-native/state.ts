/**
 * The call state of one compiler engine (one runtime): everything that changes while calls run.
 * Nothing of it is module-level, so two runtimes in one process never see each other's frames,
 * contexts or handles.
 */
import type { Context } from '../runtime/api/context.js';
import type { Module as ApiModule } from '../runtime/api/module.js';
import { ListenerStack } from '../runtime/store/hooks.js';
import { Boundary } from './boundary.js';
import type { EngineFunction } from '../runtime/store/engine.js';
import { References } from './references.js';
import { newCompilerEventRing, type CompilerEventRing } from './sink.js';
import { ExceptionBridge } from './exceptions.js';
import { GUEST_NAME_PREFIX } from './rewrite.js';
import { RewindStack, type InvocationSnapshots } from './rewind-stack.js';
import type { FrameSource, FrameSources } from './traps.js';

/**
 * What belongs to the call whose wasm is running. An async call that suspends takes it along and
 * puts back what was running before; when it resumes it installs its own again (instances.ts).
 */
export interface CallState {
  readonly ctx: Context | undefined;
  readonly callModule: ApiModule | undefined;
  readonly callDepth: number;
  readonly listeners: ListenerStack;
  /** The running async call, if the innermost invocation is one (only then may a host call suspend). */
  readonly asyncCall: AsyncCall | undefined;
  /** The snapshotter of the innermost invocation, when it takes snapshots (a synchronous call). */
  readonly snap?: InvocationSnapshots | undefined;
}

/** One async call (`callAsync`) in progress. */
export class AsyncCall {
  /** Its own state while it is not running (suspended). */
  saved: CallState | undefined = undefined;
  /** The state to put back when it stops running (suspends, returns or fails). */
  interrupted: CallState | undefined = undefined;
  constructor(
    /** Open listened frames of this call (its own stack: other calls run while it waits). */
    readonly listeners: ListenerStack,
  ) {}
}

export class EngineState implements FrameSources {
  readonly boundary = new Boundary();
  readonly refs = new References();
  /** Exceptions and host errors across the JS boundary (exceptions.ts). */
  readonly exceptions = new ExceptionBridge(this.refs);
  /**
   * The function each V8 function object of this engine's instances stands for (imports, exports
   * and the entries element segments put into tables), so a table entry found by `lookupFunction`
   * has a type and a definition.
   */
  readonly functionOf = new WeakMap<object, EngineFunction>();
  /** Open listened frames of the running call (the shadow stack of listened calls; host frames included). */
  listeners = new ListenerStack();
  /** The context of the innermost call in progress (host functions and hooks receive it). */
  ctx: Context | undefined = undefined;
  /** Engine invocations in progress (JS → wasm entries, instantiations included). */
  callDepth = 0;
  /** The module whose function the outermost call in progress called (closed by timeouts). */
  callModule: ApiModule | undefined = undefined;
  /** The running async call, when the innermost invocation is one. */
  asyncCall: AsyncCall | undefined = undefined;
  /** The snapshotter of the innermost invocation in progress, when it was made with `withSnapshotter`. */
  snap: InvocationSnapshots | undefined = undefined;
  #rewind: RewindStack | undefined = undefined;
  /** The event ring of `withFunctionEventSink` (made with the first recorded instance). */
  ring: CompilerEventRing | undefined = undefined;

  /** The event ring (made on first use). */
  get eventRing(): CompilerEventRing {
    return (this.ring ??= newCompilerEventRing());
  }

  /** The rewind stack of modules compiled for snapshots (made on first use). */
  get rewind(): RewindStack {
    return (this.#rewind ??= new RewindStack(this.boundary, (e) => this.exceptions.toGuest(e)));
  }
  /**
   * Finished async host calls by token, until the resumed adapter takes them: the call to make
   * running again, and a function writing the results to scratch (returning the reference results).
   */
  readonly tokens = new Map<number, { readonly call: AsyncCall; readonly results: () => unknown }>();
  #nextToken = 1;
  /** Stacks of async calls in progress by id, for their entry helper's `done`. */
  readonly calls = new Map<number, (scratch: BigUint64Array) => void>();
  #nextCall = 1;

  /** A new token or call id (small positive i32s, reused only after 2^31). */
  newToken(): number {
    const t = this.#nextToken;
    this.#nextToken = t === 0x7fffffff ? 1 : t + 1;
    return t;
  }

  newCallId(): number {
    const t = this.#nextCall;
    this.#nextCall = t === 0x7fffffff ? 1 : t + 1;
    return t;
  }

  /** The `done(callId)` import of async entry helpers: the call's results are in scratch. */
  readonly done = (callId: number): void => {
    this.calls.get(callId)?.(this.boundary.u64);
  };

  /** The running call's state. */
  capture(): CallState {
    return {
      ctx: this.ctx,
      callModule: this.callModule,
      callDepth: this.callDepth,
      listeners: this.listeners,
      asyncCall: this.asyncCall,
      snap: this.snap,
    };
  }

  /** Makes `s` the running call's state. */
  install(s: CallState): void {
    this.ctx = s.ctx;
    this.callModule = s.callModule;
    this.callDepth = s.callDepth;
    this.listeners = s.listeners;
    this.asyncCall = s.asyncCall;
    this.snap = s.snap;
  }
  /**
   * The module-name prefix of this engine's guests in V8 frame URLs: `wasmscopeguest<tag>_<id>`, with
   * a random tag (Math.random: it only has to differ between the engines of one process), so frames
   * of another engine's guests on the same V8 stack are told apart.
   */
  readonly namePrefix = `${GUEST_NAME_PREFIX}${Math.floor(Math.random() * 2 ** 48).toString(16)}_`;
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
