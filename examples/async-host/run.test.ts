import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runExample } from './run.js';

it('the async-host example counts the words of a file read by an async host function', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'wasmscope-async-host-')), 'words.txt');
  writeFileSync(file, 'one two  three\nfour\tfive\n');
  const lines: string[] = [];
  await runExample(file, (l) => lines.push(l));
  expect(lines).toContain(`[interpreter] ${file}: 5 words`);
  const hasJspi = typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';
  expect(lines).toContain(
    hasJspi ? `[compiler] ${file}: 5 words` : '[compiler] skipped: async host functions need JS Promise Integration (Node >= 24)',
  );
  lines.length = 0;
  await runExample(join(file, 'missing'), (l) => lines.push(l));
  expect(lines).toContain(`[interpreter] ${join(file, 'missing')}: -1 words`);
});
