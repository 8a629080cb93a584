import { expect, it } from 'vitest';
import { runExample } from './run.js';

it('the otel example nests the guest, its internal call, the host call and the host span under the HTTP span', async () => {
  const lines: string[] = [];
  const tree = await runExample((l) => lines.push(l));
  expect(lines[0]).toBe('quote(1000, region 1) = 1200');
  expect(tree).toEqual([
    'GET /quote',
    '  .quote guest /example/pricing.c:10',
    '    .tax guest /example/pricing.c:6',
    '      env.lookup_rate host',
    '        rates.lookup',
  ]);
});
