import { expect, it } from 'vitest';
import { runExample } from './run.js';

it('the http-server example: a C guest answers HTTP requests over a pre-opened listener', async () => {
  const lines: string[] = [];
  await runExample((l) => lines.push(l), ['ping', 'pong']);
  expect(lines[0]).toMatch(/^guest listening on 127\.0\.0\.1:\d+$/);
  // The guest may finish before the last answer reaches the client.
  expect(lines.slice(1).sort()).toEqual(['answer: POST /0 4 | ping', 'answer: POST /1 4 | pong', 'guest: served 2']);
});
