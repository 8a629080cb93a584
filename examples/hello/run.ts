/**
 * The quick-start example: `npm start` runs it. Instantiates a small guest on each engine, calls a
 * host function from wasm, calls wasm from the host, and shows a trap with its wasm stack trace.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { newRuntimeConfigInterpreter, newRuntimeWithConfig, newRuntime, WasmRuntimeError, type Runtime } from '../../src/index.js';
import { ValueType, type Module } from '../../src/api.js';

export async function runExample(out: (line: string) => void = console.log): Promise<void> {
  const wabt = await wabtInit();
  const text = readFileSync(fileURLToPath(new URL('./hello.wat', import.meta.url)), 'utf8');
  const parsed = wabt.parseWat('hello.wat', text);
  const binary = new Uint8Array(parsed.toBinary({ write_debug_names: true }).buffer);
  parsed.destroy();

  const runtimes: Array<[string, () => Runtime]> = [
    ['interpreter', () => newRuntimeWithConfig(newRuntimeConfigInterpreter())],
    ['default', () => newRuntime()],
  ];
  for (const [label, make] of runtimes) {
    let r: Runtime;
    try {
      r = make();
    } catch (e) {
      out(`[${label}] ${(e as Error).message}`);
      continue;
    }
    await r
      .newHostModuleBuilder('env')
      .newFunctionBuilder()
      .withFunc(
        (_ctx, mod: Module, ptr: number, len: number) => {
          const bytes = mod.memory()!.read(ptr, len)!;
          out(`[${label}] guest says: ${new TextDecoder().decode(bytes)}`);
        },
        [ValueType.I32, ValueType.I32],
        [],
      )
      .withParameterNames('ptr', 'len')
      .export('log')
      .instantiate();
    const mod = await r.instantiate(binary);
    mod.exportedFunction('greet')!.call();
    out(`[${label}] fact(20) = ${mod.exportedFunction('fact')!.call(20n)[0]}`);
    try {
      mod.exportedFunction('div')!.call(1, 0);
    } catch (e) {
      if (!(e instanceof WasmRuntimeError)) throw e;
      out(`[${label}] div(1, 0) trapped:\n${e.message}`);
    }
    await r.close();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runExample();
}
