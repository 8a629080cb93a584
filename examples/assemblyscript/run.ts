/**
 * An AssemblyScript guest on wasmscope: compiles assembly/index.ts with the `assemblyscript`
 * compiler, instantiates `wasmscope/assemblyscript` (the `env.abort`/`trace`/`seed` every
 * AssemblyScript program may import) with traces sent to stdout, and runs the guest on both
 * engines. A failed `assert` prints its message and location on the guest's stderr and exits with
 * 255.
 *
 *   npx tsx examples/assemblyscript/run.ts
 */
import { readFileSync } from 'node:fs';
import { ExitError, newModuleConfig, newRuntimeConfigCompiler, newRuntimeConfigInterpreter, newRuntimeWithConfig } from 'wasmscope';
import { newBuilder } from 'wasmscope/assemblyscript';
import { cryptoRandom } from 'wasmscope/sys';

/** The part of the `assemblyscript/asc` API used here. */
interface Asc {
  compileString(
    sources: Record<string, string>,
    options: Record<string, unknown>,
  ): Promise<{ error: Error | null; binary: Uint8Array | null; stderr: { toString(): string } }>;
}

/** Compiles the guest, runs it on both engines; `random: true` seeds Math.random from crypto. */
export async function runExample(out: (line: string) => void = console.log, opts: { random?: boolean } = {}): Promise<void> {
  const compiler = 'assemblyscript/asc';
  const asc = ((await import(compiler)) as { default: Asc }).default;
  const source = readFileSync(new URL('./assembly/index.ts', import.meta.url), 'utf8');
  const { error, binary, stderr } = await asc.compileString({ 'index.ts': source }, { runtime: 'stub', optimizeLevel: 3 });
  if (error !== null || binary === null) throw new Error(`asc: ${error?.message}\n${stderr.toString()}`);

  for (const [engine, config] of [
    ['compiler', newRuntimeConfigCompiler],
    ['interpreter', newRuntimeConfigInterpreter],
  ] as const) {
    const r = newRuntimeWithConfig(config());
    try {
      await newBuilder(r).withTraceToStdout().instantiate();
      const lines = (prefix: string) => ({
        write: (b: Uint8Array) =>
          new TextDecoder()
            .decode(b)
            .trimEnd()
            .split('\n')
            .forEach((l) => out(`[${engine}] ${prefix}${l}`)),
      });
      let config = newModuleConfig().withStdout(lines('')).withStderr(lines('stderr: '));
      if (opts.random === true) config = config.withRandSource(cryptoRandom);
      const guest = await r.instantiateWithConfig(binary, config);
      out(`[${engine}] collatz(27) = ${guest.exportedFunction('collatz')!.call(27)[0]} steps`);
      const rolls = [6, 6, 20].map((sides) => guest.exportedFunction('roll')!.call(sides)[0]);
      out(`[${engine}] rolls: ${rolls.join(' ')}`);
      try {
        guest.exportedFunction('collatz')!.call(0);
      } catch (e) {
        if (!(e instanceof ExitError)) throw e;
        out(`[${engine}] collatz(0) exited with ${e.exitCode}`);
      }
    } finally {
      await r.close();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runExample(console.log, { random: true });
