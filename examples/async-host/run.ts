/**
 * An async host function: the guest calls `host.read_file`, which reads a file with
 * `fs.promises` (the event loop keeps going while it waits), and counts the words. Runs on the
 * interpreter everywhere and on the compiler engine where V8 has JS Promise Integration (Node ≥ 24).
 *
 *   npx tsx examples/async-host/run.ts [file]
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { newRuntimeConfigCompiler, newRuntimeConfigInterpreter, newRuntimeWithConfig, type RuntimeConfig } from '../../src/index.js';
import { ValueType, type Module } from '../../src/api.js';

const { I32 } = ValueType;
const hasJspi = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';

/** Counts the words of `file` through the guest on each engine that can; returns one line per engine. */
export async function runExample(file: string, out: (line: string) => void = console.log): Promise<void> {
  const wabt = await wabtInit();
  const text = readFileSync(fileURLToPath(new URL('./wordcount.wat', import.meta.url)), 'utf8');
  const parsed = wabt.parseWat('wordcount.wat', text);
  const binary = new Uint8Array(parsed.toBinary({ write_debug_names: true }).buffer);
  parsed.destroy();
  const engines: Array<[string, () => RuntimeConfig]> = [['interpreter', newRuntimeConfigInterpreter]];
  if (hasJspi) engines.push(['compiler', newRuntimeConfigCompiler]);
  else out('[compiler] skipped: async host functions need JS Promise Integration (Node >= 24)');
  for (const [label, config] of engines) {
    const r = newRuntimeWithConfig(config());
    try {
      await r
        .newHostModuleBuilder('host')
        .newFunctionBuilder()
        .withAsyncFunc(
          async (_ctx, mod: Module, path: number, pathLen: number, buf: number, cap: number) => {
            const name = new TextDecoder().decode(mod.memory()!.read(path, pathLen));
            let data: Uint8Array;
            try {
              data = await readFile(name);
            } catch {
              return -1;
            }
            const n = Math.min(data.length, cap);
            mod.memory()!.write(buf, data.subarray(0, n));
            return n;
          },
          [I32, I32, I32, I32],
          [I32],
        )
        .withParameterNames('path', 'path_len', 'buf', 'cap')
        .export('read_file')
        .instantiate();
      const mod = await r.instantiate(binary);
      const path = new TextEncoder().encode(file);
      mod.memory()!.write(0, path);
      const [words] = await mod.exportedFunction('words')!.callAsync(0, path.length);
      out(`[${label}] ${file}: ${Number(BigInt.asIntN(32, words!))} words`);
    } finally {
      await r.close();
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runExample(process.argv[2] ?? fileURLToPath(new URL('./wordcount.wat', import.meta.url)));
}
