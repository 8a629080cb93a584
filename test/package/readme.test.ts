/**
 * The README is read by someone who installed the package: it points at nothing outside the
 * repository, and every entry point its examples import is one the package exports.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');

it('names no file outside the repository', () => {
  expect(readme.match(/\.\.\/[\w.-]+/g) ?? []).toEqual([]);
});

it('imports only exported entry points, and starts with install, a Vitest example and the CLI', () => {
  const exports = Object.keys((JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown> }).exports);
  const imported = [...new Set([...readme.matchAll(/from '(wasmscope[^']*)'/g)].map((m) => m[1]!))];
  expect(imported.length).toBeGreaterThan(5);
  for (const name of imported) expect(exports, name).toContain(`.${name.slice('wasmscope'.length)}`);
  const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
  expect(headings.slice(0, 4)).toEqual(['Install', 'Call a guest from JS', 'Test a guest with Vitest', 'The CLI']);
  expect(headings.indexOf('Working on wasmscope (a source checkout)')).toBeGreaterThan(3);
});
