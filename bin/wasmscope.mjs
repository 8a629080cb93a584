#!/usr/bin/env node
// The wasmscope command. Runs the compiled CLI from dist/ (built by `npm run build`, shipped in the
// package); in a source checkout without a build, use `npx tsx src/cli/bin.ts`.
try {
  await import('../dist/cli/bin.js');
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli/bin.js')) {
    process.stderr.write('wasmscope: dist/ is missing: run `npm run build` first (or `npx tsx src/cli/bin.ts`)\n');
    process.exit(1);
  }
  throw e;
}
