#!/usr/bin/env node
// The wasmscope command. Runs the built CLI's bundle from dist/ (`npm run build` compiles it and
// bundles it into dist/cli/wasmscope.js, for start-up; shipped in the package). In a source checkout
// without a build it runs the sources when Node can load TypeScript (`node --import tsx
// bin/wasmscope.mjs …`, as the tests do).
try {
  await import('../dist/cli/wasmscope.js');
} catch (e) {
  if (!(e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli/wasmscope.js'))) throw e;
  try {
    await import('../src/cli/bin.ts');
  } catch (e2) {
    if (e2 && (e2.code === 'ERR_UNKNOWN_FILE_EXTENSION' || e2.code === 'ERR_MODULE_NOT_FOUND')) {
      process.stderr.write('error: dist/ is missing: run `npm run build` first (or `node --import tsx bin/wasmscope.mjs`)\n');
      process.exit(1);
    }
    throw e2;
  }
}
