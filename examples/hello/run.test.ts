import { expect, it } from 'vitest';
import { runExample } from './run.js';

it('the hello example greets, computes fact(20) and shows a trap with its stack trace', async () => {
  const lines: string[] = [];
  await runExample((l) => lines.push(l));
  expect(lines).toContain('[interpreter] guest says: hello from wasm');
  expect(lines).toContain('[interpreter] fact(20) = 2432902008176640000');
  expect(lines).toContain(
    '[interpreter] div(1, 0) trapped:\nwasm error: integer divide by zero\nwasm stack trace:\n\thello.div(i32,i32) i32',
  );
});
