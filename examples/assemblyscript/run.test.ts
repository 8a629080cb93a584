import { expect, it } from 'vitest';
import { runExample } from './run.js';

it('the AssemblyScript example traces, rolls deterministic dice and exits 255 on a failed assert, on both engines', async () => {
  const lines: string[] = [];
  await runExample((l) => lines.push(l));
  for (const engine of ['compiler', 'interpreter']) {
    const mine = lines.filter((l) => l.startsWith(`[${engine}] `)).map((l) => l.slice(engine.length + 3));
    expect(mine.slice(0, 4)).toEqual(['trace: collatz 25,310', 'trace: collatz 50,566', 'trace: collatz 75,6154', 'trace: collatz 100,53']);
    expect(mine).toContain('collatz(27) = 111 steps');
    expect(mine).toContain('stderr: collatz needs a positive start at index.ts:7:3');
    expect(mine).toContain('collatz(0) exited with 255');
    expect(mine.filter((l) => l.startsWith('rolls: '))).toHaveLength(1);
  }
  const rolls = lines.filter((l) => l.includes('rolls: ')).map((l) => l.split('rolls: ')[1]);
  expect(rolls).toEqual(['2 1 20', '2 1 20']);
}, 60_000);
