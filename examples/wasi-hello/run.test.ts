import { expect, it } from 'vitest';
import { runExample } from './run.js';

it('the WASI example greets through the CLI, prints its args and a real clock', async () => {
  const out: Uint8Array[] = [];
  const io = { stdout: { write: (c: Uint8Array) => out.push(c.slice()) }, stderr: { write: () => undefined }, stdin: '', env: {} };
  const code = await runExample([], io);
  const text = Buffer.concat(out).toString();
  expect(code).toBe(0);
  expect(text).toMatch(/^hello from WASI, wasmscope!\narg 1: one\narg 2: two\nthe guest's clock says \d+\n$/);
  const sec = Number(/says (\d+)/.exec(text)?.[1]);
  expect(Math.abs(sec - Date.now() / 1000)).toBeLessThan(60);
  expect(await runExample(['three'], io)).toBe(3);
});
