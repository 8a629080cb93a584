// Lint: the house's import directions (STYLE.md "Layout shows the architecture") and a few
// correctness rules. `npm run lint`; CI runs it (.ci/run).
//
// Layers, bottom up: runtime/api ← binary ← validate, dwarf ← sys ← store ← the two engines
// (runtime/interpreter, compiler-native) ← entry points (src/*.ts) ← toolkit (listeners, wasi, cli,
// bench, …). Each layer imports only layers below it; the engines never import each other nor an
// entry point; no file imports itself through a circle.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve, relative } from 'node:path';
import tseslint from 'typescript-eslint';

/** Forbids relative imports matching `patterns` from the (non-test) files in `files`. */
function layer(files, message, patterns) {
  return {
    files,
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }] },
  };
}

const ENTRY_POINTS = [
  '**/src/index.js',
  '**/src/api.js',
  '**/src/experimental*.js',
  '**/src/wasi.js',
  '**/src/sys.js',
  '**/src/bench.js',
  '**/src/assemblyscript.js',
  '**/src/emscripten.js',
];
const TOOLKIT = [
  '**/src/listeners/**',
  '**/src/wasi/**',
  '**/src/cli/**',
  '**/src/bench/**',
  '**/src/otel/**',
  '**/src/snapshot/**',
  '**/src/wazerotest/**',
  '**/src/vitest/**',
  '**/src/profile/**',
  '**/src/assemblyscript/**',
  '**/src/emscripten/**',
];
const ENGINES = ['**/runtime/interpreter/**', '**/compiler-native/**'];

const IMPORT_RE = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm;

/** The relative imports of a file, resolved to .ts paths (memoized). */
const importsCache = new Map();
function importsOf(file) {
  let out = importsCache.get(file);
  if (out !== undefined) return out;
  out = [];
  importsCache.set(file, out);
  if (!existsSync(file)) return out;
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    if (existsSync(target)) out.push(target);
  }
  return out;
}

/** A rule reporting a file that reaches itself again through its relative imports. */
const noImportCircle = {
  meta: { type: 'problem', messages: { circle: 'import circle: {{path}}' }, schema: [] },
  create(context) {
    const start = context.filename;
    return {
      Program(node) {
        // Depth-first from each import, looking for a way back to this file.
        const seen = new Set();
        const path = [];
        const visit = (f) => {
          if (f === start) return true;
          if (seen.has(f)) return false;
          seen.add(f);
          path.push(f);
          for (const g of importsOf(f)) if (visit(g)) return true;
          path.pop();
          return false;
        };
        for (const g of importsOf(start)) {
          path.length = 0;
          if (visit(g)) {
            const names = [start, ...path, start].map((p) => relative(process.cwd(), p));
            context.report({ node, messageId: 'circle', data: { path: names.join(' → ') } });
            return;
          }
        }
      },
    };
  },
};

export default tseslint.config(
  // AssemblyScript sources are not TypeScript.
  { ignores: ['dist/**', 'node_modules/**', 'docs/**', 'scratch-exp/**', 'examples/*/assembly/**', 'test/fixtures/*/assembly/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin, house: { rules: { 'no-import-circle': noImportCircle } } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/types/**'],
    rules: {
      'house/no-import-circle': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  // runtime/api is the bottom layer with one exception, as in wazero: ExitError lives in sys (sys/exit.ts, which imports nothing).
  layer(['src/runtime/api/**/*.ts'], 'runtime/api imports nothing of ours but sys/exit.ts (it is the bottom layer)', [
    '../*',
    '!../..',
    '../../*',
    '!../../sys',
    '../../sys/*',
    '!../../sys/exit.js',
  ]),
  layer(['src/runtime/binary/**/*.ts'], 'runtime/binary imports only runtime/api', [
    '../validate/*',
    '../dwarf/*',
    '../store/*',
    '../interpreter/*',
    '../../*',
  ]),
  layer(['src/runtime/validate/**/*.ts', 'src/runtime/dwarf/**/*.ts'], 'validate and dwarf import only api and binary', [
    '../validate/*',
    '../dwarf/*',
    '../store/*',
    '../interpreter/*',
    '../../*',
  ]),
  layer(['src/sys/**/*.ts'], 'sys sits below the store and the engines', [
    '../runtime/store/*',
    '../runtime/interpreter/*',
    '../compiler-native/*',
    ...ENTRY_POINTS,
    ...TOOLKIT,
  ]),
  layer(['src/runtime/store/**/*.ts'], 'the store never imports an engine, an entry point or the toolkit', [
    ...ENGINES,
    ...ENTRY_POINTS,
    ...TOOLKIT,
  ]),
  layer(['src/runtime/interpreter/**/*.ts'], 'the interpreter never imports the compiler engine, an entry point or the toolkit', [
    '**/compiler-native/**',
    ...ENTRY_POINTS,
    ...TOOLKIT,
  ]),
  layer(['src/compiler-native/**/*.ts'], 'the compiler engine never imports the interpreter, an entry point or the toolkit', [
    '**/runtime/interpreter/**',
    ...ENTRY_POINTS,
    ...TOOLKIT,
  ]),
);
