/**
 * Property test of snapshots across exception handling (`try_table`, `throw`, `throw_ref`), on every
 * engine: a guest full of handlers (catch, catch_ref, catch_all, catch_all_ref, a catch to a loop
 * label, try_table with params and multi-value results, exceptions from the guest and from the host)
 * calls the host function `h.tick` everywhere. Taking a snapshot at every tick, and restoring some of
 * them at once (the same host call, results unchanged), must leave the execution as it was: the same
 * result and memory as without snapshots — on the compiler engine each snapshot unwinds and rewinds
 * every frame, so every handler on the stack is entered again by the rewind and must catch what it
 * caught before. Restoring the previous tick's snapshot now and then (the code between the two runs
 * again; memory and globals keep their values) must do what the interpreter does. Plain, with
 * interrupt checks, and listened (the compiler's listened bodies get unwind wrappers of their own;
 * the listener's events must match too).
 */
import { describe, expect, it } from 'vitest';
import { Context, newModuleConfig, WasmException, type Runtime } from '../../src/index.js';
import {
  CoreFeaturesV3,
  functionListenerFactoryFunc,
  getSnapshotter,
  newTag,
  withFunctionListenerFactory,
  withSnapshotter,
  type FunctionListener,
  type Snapshot,
} from '../../src/experimental.js';
import { v8Features } from '../../src/compiler-native/support.js';
import { engines, runtimeFor, wat3 } from '../helpers.js';

const I32 = 0x7f;

const GUEST = `(module
  (import "h" "tick" (func $tick))
  (import "h" "raise" (func $raise (param i32)))
  (import "h" "t" (tag $ht (param i32)))
  (tag $e (param i32))
  (tag $e2 (param i32 i64))
  (tag $z)
  (type $ii (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) func $thrower $retry)
  (memory (export "memory") 1)
  (global $acc (mut i32) (i32.const 0))
  ;; Throws one of several ways by n % 5, or returns 2n.
  (func $thrower (param $n i32) (result i32) (local $k i32)
    (call $tick)
    (local.set $k (i32.rem_u (local.get $n) (i32.const 5)))
    (if (i32.eqz (local.get $k)) (then (throw $e (local.get $n))))
    (if (i32.eq (local.get $k) (i32.const 1)) (then (call $raise (local.get $n))))
    (if (i32.eq (local.get $k) (i32.const 2)) (then (throw $e2 (local.get $n) (i64.const 5))))
    (if (i32.eq (local.get $k) (i32.const 3)) (then (return (call $rethrower (local.get $n)))))
    (global.set $acc (i32.add (global.get $acc) (i32.const 1)))
    (call $tick)
    (i32.mul (local.get $n) (i32.const 2)))
  ;; catch_all_ref into a block holding a site (its exnref result), then throw_ref.
  (func $rethrower (param $n i32) (result i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h)
        (call $tick)
        (throw $e (i32.add (local.get $n) (i32.const 7))))
      (unreachable))
    (throw_ref))
  ;; One handler per clause kind; the handlers' code ticks too; an operand lives across it all.
  (func $body (param $i i32) (result i32) (local $r i32)
    (i32.const 1000)
    (block $out
      (block $ca
        (block $ch (result i32)
          (block $ce (result i32)
            (try_table (result i32) (catch $e $ce) (catch $ht $ch) (catch_all $ca)
              (call $tick)
              (call_indirect (type $ii) (local.get $i) (i32.const 0)))
            (local.set $r)
            (br $out))
          (call $tick)
          (local.set $r (i32.add (i32.const 100)))
          (br $out))
        (call $tick)
        (local.set $r (i32.add (i32.const 200)))
        (br $out))
      (call $tick)
      (local.set $r (i32.const 300)))
    (call $tick)
    (i32.add (local.get $r)))
  ;; try_table with params and two results, an operand below it, a multi-value payload.
  (func $multi (param $n i32) (result i32)
    (i32.const 5)
    (local.get $n)
    (block $h (param i32) (result i32 i64)
      (try_table (param i32) (result i32 i64) (catch $e2 $h)
        (call $tick)
        (if (i32.and (local.get $n) (i32.const 1)) (then (throw $e2 (local.get $n) (i64.const 9))))
        (i64.const 1)))
    (i32.wrap_i64)
    (i32.add)
    (i32.add))
  ;; A catch to a loop label: the loop starts again.
  (func $retry (param $n i32) (result i32) (local $tries i32)
    (loop $again
      (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
      (try_table (catch $z $again)
        (call $tick)
        (if (i32.lt_u (local.get $tries) (i32.add (i32.const 1) (i32.rem_u (local.get $n) (i32.const 3))))
          (then (throw $z)))))
    (local.get $tries))
  ;; Nested try_tables; an exception escaping the inner one crosses a frame to the outer.
  (func $nested (param $n i32) (result i32)
    (block $any
      (block $outer (result i32)
        (try_table (result i32) (catch $e $outer) (catch_all $any)
          (block $inner (result i32 i64)
            (try_table (result i32) (catch $e2 $inner)
              (call $tick)
              (call $thrower (local.get $n)))
            (return))
          (drop)
          (i32.const 50)
          (i32.add)))
      (i32.const 3)
      (i32.mul)
      (return))
    (call $tick)
    (i32.const 77))
  (func (export "run") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s
        (i32.add (i32.mul (local.get $s) (i32.const 31))
          (i32.add (call $body (local.get $i))
            (i32.add (call $multi (local.get $i))
              (i32.add (call_indirect (type $ii) (local.get $i) (i32.const 1)) (call $nested (local.get $i)))))))
      (i32.store (i32.mul (i32.rem_u (local.get $i) (i32.const 64)) (i32.const 4)) (local.get $s))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (local.get $s) (global.get $acc)))
)`;

/** Calls of run: enough for every n % 5 and n % 3 case several times. */
const N = 40;

type Mode = 'none' | 'compiled' | 'sameCall' | 'back';

interface Outcome {
  readonly result: bigint;
  readonly memory: string;
  readonly ticks: number;
  readonly restores: number;
  /** The listener's events (B before, A after, X abort with the reason's name), when listened. */
  readonly events: string;
}

async function runMode(r: Runtime, mode: Mode, listened: boolean): Promise<Outcome> {
  const log: string[] = [];
  const listener: FunctionListener = {
    before: (_c, _m, d) => void log.push(`B ${d.name()}`),
    after: (_c, _m, d) => void log.push(`A ${d.name()}`),
    abort: (_c, _m, d, err) => void log.push(`X ${d.name()} ${(err as Error).name}`),
  };
  const base = listened
    ? withFunctionListenerFactory(
        Context.background(),
        functionListenerFactoryFunc(() => listener),
      )
    : Context.background();
  const tag = newTag([I32]);
  let ticks = 0;
  let restores = 0;
  let prev: { s: Snapshot; at: number; done: boolean } | undefined;
  await r
    .newHostModuleBuilder('h')
    .exportTag('t', tag)
    .newFunctionBuilder()
    .withFunc(
      (ctx: Context) => {
        ticks++;
        if (mode === 'none' || mode === 'compiled') return;
        const s = getSnapshotter(ctx)!.snapshot();
        if (mode === 'sameCall') {
          if (ticks % 3 === 0) {
            restores++;
            s.restore([]);
          }
          return;
        }
        // back: every 7th tick restores the previous tick's snapshot (once).
        const p = prev;
        prev = { s, at: ticks, done: false };
        if (ticks % 7 === 0 && p !== undefined && p.at === ticks - 1 && !p.done) {
          p.done = true;
          restores++;
          p.s.restore([]);
        }
      },
      [],
      [],
    )
    .export('tick')
    .newFunctionBuilder()
    .withFunc(
      (ctx: Context, _mod: unknown, n: number) => {
        // A snapshot before the throw: never restored (sameCall), or restored by the next tick
        // now and then (back: the call returns instead).
        if (mode === 'sameCall' || mode === 'back') {
          const s = getSnapshotter(ctx)!.snapshot();
          if (mode === 'back') prev = { s, at: ticks, done: false };
        }
        throw new WasmException(tag, [BigInt(n >>> 0)]);
      },
      [I32],
      [],
    )
    .export('raise')
    .instantiate();
  const snap = withSnapshotter(Context.background());
  const compileCtx = mode === 'none' ? base : withSnapshotter(base);
  const m = await r.instantiateModule(await r.compileModule(await wat3(GUEST), compileCtx), newModuleConfig(), compileCtx);
  const res = m.exportedFunction('run')!.callWithContext(mode === 'none' || mode === 'compiled' ? Context.background() : snap, N);
  const mem = m.memory()!.read(0, 256)!;
  return { result: res[0]!, memory: Buffer.from(mem).toString('hex'), ticks, restores, events: log.join('\n') };
}

describe('snapshots across try_table: every tick a snapshot, handlers entered again by each rewind', () => {
  for (const variant of ['', 'interrupt checks on', 'listened'] as const) {
    const backs: Outcome[] = [];
    for (const engine of engines) {
      it(`${engine.name}: snapshots (restored at once) leave run() and memory as without; restoring back matches the interpreter${variant === '' ? '' : ` (${variant})`}`, async (t) => {
        if (engine.name === 'compiler' && !v8Features().exnref)
          return t.skip('the compiler engine refuses try_table without exnref (Node 20)');
        const outcome = async (mode: Mode): Promise<Outcome> => {
          const r = runtimeFor(engine, (c) => c.withCoreFeatures(CoreFeaturesV3).withCloseOnContextDone(variant === 'interrupt checks on'));
          try {
            return await runMode(r, mode, variant === 'listened');
          } finally {
            await r.close();
          }
        };
        const none = await outcome('none');
        expect(none.ticks).toBeGreaterThan(300);
        // Listened: frames exceptions unwind get abort.
        if (variant === 'listened') expect(none.events).toMatch(/^X thrower WasmException$/m);
        const strip = (o: Outcome): Omit<Outcome, 'restores'> => ({ result: o.result, memory: o.memory, ticks: o.ticks, events: o.events });
        expect(strip(await outcome('compiled'))).toEqual(strip(none));
        const same = await outcome('sameCall');
        expect(same.restores).toBeGreaterThan(100);
        expect(strip(same)).toEqual(strip(none));
        const back = await outcome('back');
        expect(back.restores).toBeGreaterThan(10);
        expect(back.result).not.toBe(none.result);
        backs.push(back);
        // The engines agree (the interpreter runs first).
        expect(back).toEqual(backs[0]);
      });
    }
  }
});
