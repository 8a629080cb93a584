/**
 * Compiles AssemblyScript sources with the `assemblyscript` npm compiler (a devDependency), as the
 * tests' set-up does for real AssemblyScript guests.
 */
import { readFileSync } from 'node:fs';

/** The part of the `assemblyscript/asc` API used here (its own typings declare conflicting globals). */
interface Asc {
  compileString(
    sources: Record<string, string>,
    options: Record<string, unknown>,
  ): Promise<{ error: Error | null; binary: Uint8Array | null; stderr: { toString(): string } }>;
}

/** The binary of the AssemblyScript program at `source` (`runtime: 'stub'`, unoptimized, with debug names). */
export async function compileAssemblyScript(source: URL, options: Record<string, unknown> = {}): Promise<Uint8Array> {
  const compiler = 'assemblyscript/asc';
  const asc = ((await import(compiler)) as { default: Asc }).default;
  const text = readFileSync(source, 'utf8');
  const result = await asc.compileString({ 'index.ts': text }, { runtime: 'stub', debug: true, optimizeLevel: 0, ...options });
  if (result.error !== null || result.binary === null) throw new Error(`asc failed: ${result.error?.message}\n${result.stderr.toString()}`);
  return result.binary;
}
