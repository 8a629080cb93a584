/**
 * `npm run bench`: every figure is a ratio against raw V8 measured in the same process, because the
 * machines are shared and noisy. Select suites with `npm run bench -- <suite>...`; default: all.
 */
import { BENCH_SUITES } from './suites.js';

const wanted = process.argv.slice(2).filter((a) => a !== '--');
for (const name of wanted.length === 0 ? Object.keys(BENCH_SUITES) : wanted) {
  const suite = BENCH_SUITES[name];
  if (suite === undefined) {
    console.error(`unknown bench suite ${name}; known: ${Object.keys(BENCH_SUITES).join(', ')}`);
    process.exit(1);
  }
  await suite();
}
