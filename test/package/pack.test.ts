/**
 * The packed package from a fresh project: builds `dist/` and the CLI's bundle (as `npm run build`, into a staging copy
 * so the checkout is untouched and parallel runs cannot collide), packs it with `npm pack`, installs
 * the tarball offline into a temporary project, and runs the examples' test files there unchanged,
 * with this repository's Vitest and AssemblyScript (linked from a `node_modules` above the project,
 * so npm cannot prune them). CI=true makes Vitest compare against the committed snapshots instead of
 * writing new ones.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-pack-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

it('installs from the packed tarball and passes the examples’ tests unchanged in a fresh project', { timeout: 300_000 }, () => {
  // Stage the package: package.json, README, bin and a freshly compiled dist.
  const pkg = join(tmp, 'pkg');
  mkdirSync(pkg);
  for (const f of ['package.json', 'README.md', 'bin']) cpSync(join(root, f), join(pkg, f), { recursive: true });
  run(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')],
    root,
  );
  run(process.execPath, [join(root, 'scripts/bundle-cli.mjs'), join(pkg, 'dist')], root);
  run('npm', ['pack', '--silent', '--pack-destination', tmp], pkg);
  const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  expect(tarball).toMatch(/^wasmscope-\d+\.\d+\.\d+\.tgz$/);

  // The dev tools the examples need, above the project.
  mkdirSync(join(tmp, 'node_modules'));
  for (const dep of ['vitest', 'assemblyscript']) symlinkSync(join(root, 'node_modules', dep), join(tmp, 'node_modules', dep), 'dir');

  const project = join(tmp, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'pack-test', private: true, type: 'module' }));
  run('npm', ['install', `../${tarball}`, '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', '--no-package-lock'], project);
  const installed = JSON.parse(readFileSync(join(project, 'node_modules/wasmscope/package.json'), 'utf8')) as {
    version: string;
    exports: Record<string, unknown>;
  };
  expect(Object.keys(installed.exports)).toContain('./vitest');
  // The command runs from its bundle.
  expect(run(process.execPath, [join(project, 'node_modules/wasmscope/bin/wasmscope.mjs'), 'version'], project).stdout.trim()).toBe(
    installed.version,
  );

  for (const ex of ['vitest-c', 'vitest-assemblyscript']) cpSync(join(root, 'examples', ex), join(project, ex), { recursive: true });
  const r = run(process.execPath, [join(tmp, 'node_modules/vitest/vitest.mjs'), 'run', '--root', project], project, {
    ...process.env,
    CI: 'true',
    NO_COLOR: '1',
  });
  const out = r.stdout + r.stderr;
  expect(out).toMatch(/Test Files\s+2 passed \(2\)/);
  expect(out).toMatch(/Tests\s+20 passed \(20\)/);
});
