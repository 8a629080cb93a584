#!/usr/bin/env node
// The wasmscope command. Runs the built CLI from dist/ (`npm run build` compiles it and bundles it
// into dist/cli/wasmscope.js for start-up; shipped in the package); in a source checkout without a
// build, use `npx tsx src/cli/bin.ts`.
try {
  await import('../dist/cli/wasmscope.js');
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli/wasmscope.js')) {
    process.stderr.write('wasmscope: dist/ is missing: run `npm run build` first (or `npx tsx src/cli/bin.ts`)\n');
    process.exit(1);
  }
  throw e;
}
