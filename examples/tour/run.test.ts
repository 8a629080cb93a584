/** `npm start`: the tour shows a call tree, a trap with C source lines, a span tree, natural values and a checkpoint. */
import { expect, it } from 'vitest';
import { runTour } from './run.js';

it('shows the call tree, the trap with DWARF lines, the spans of a traced call, plain-JS calls and a checkpoint rewound and replayed', async () => {
  let text = '';
  await runTour((t) => (text += t));
  expect(text).toContain('--> .quote(1000,1)\n\t--> .tax(1000,1)\n\t\t==> env.lookup_rate(region=1)\n\t\t<== 20\n\t<-- 200\n<-- 1200\n');
  expect(text).toMatch(
    /module\[\] function\[_start\] failed: wasm error: integer divide by zero\nwasm stack trace:\n\t\.divide\(i32,i32\) i32\n\t\t0x54: \/fixtures\/trap\.c:4:13\n/,
  );
  expect(text).toContain(
    'GET /quote\n  .quote (guest) /example/pricing.c:10\n    .tax (guest) /example/pricing.c:6\n      env.lookup_rate (host)\n',
  );
  expect(text).toContain('quote(1000, 1) = 1200; quote(1000, 2) = 1070\n');
  expect(text).toContain('Module[] {\n  memory: memory, 2 pages\n  quote(i32,i32) i32\n}');
  const m =
    /\nCheckpoint\(full \w+, \d+ pages\): (steps 0, checksum \d+)\nafter step\(100\): (steps 100, checksum \d+)\nrestored: +(.*)\nreplayed: +(.*)\n/.exec(
      text,
    );
  expect(m).not.toBeNull();
  const [, atCheckpoint, afterSteps, restored, replayed] = m!;
  expect(afterSteps).not.toBe(atCheckpoint);
  expect(restored).toBe(atCheckpoint);
  expect(replayed).toBe(afterSteps);
});
