/**
 * Process entry of the CLI: `bin/wasmscope.mjs` loads the built copy, bundled from dist/cli/bin.js into
 * dist/cli/wasmscope.js (scripts/bundle-cli.mjs); in a source checkout run it with `npx tsx src/cli/bin.ts ...`.
 */
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exit(code);
