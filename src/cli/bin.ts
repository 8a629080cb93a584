/**
 * Process entry of the CLI: `bin/wasmscope.mjs` loads the built copy (dist/cli/bin.js); in a source
 * checkout run it with `npx tsx src/cli/bin.ts ...`.
 */
import { main } from './main.js';

const code = await main(process.argv.slice(2));
process.exit(code);
