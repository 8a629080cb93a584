/**
 * The package as its users meet it. Builds `dist/` and the CLI's bundle (as `npm run build`, into a staging copy so the
 * checkout is untouched and parallel runs cannot collide), packs it once with `npm pack`, installs
 * the tarball offline into a fresh project, and then, as a user would there:
 * - runs the examples' test files unchanged and a small suite of a user's own (exportsOf, natural
 *   imports, traps as `WasmRuntimeError`, host errors, `console.log` of a module) with Vitest, on
 *   Node 20 and on Node 24, after `tsc --strict` type-checked it;
 * - type-checks an import of the package under `moduleResolution: node10`, and `require`s it;
 * - checks that every source map of `dist/` resolves to a shipped source, that entry points not
 *   built yet are not exported, that the bench suites find their guests, and runs the CLI.
 * The dev tools and optional peers (Vitest, AssemblyScript, TypeScript, Node's types,
 * `@opentelemetry/api`) come from this repository,
 * linked from a `node_modules` above the project, so npm cannot prune them. CI=true makes Vitest
 * compare against the committed snapshots instead of writing new ones.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wat } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-pack-'));
const project = join(tmp, 'project');
const installed = join(project, 'node_modules/wasmscope');
const node24 = join(root, 'node_modules/node24/bin/node');
/** The machine's Node (20 in CI), whatever runs this test: the first \`node\` on PATH outside node_modules. */
const node20 = ((): string => {
  const PATH = (process.env['PATH'] ?? '')
    .split(':')
    .filter((d) => !d.includes('node_modules'))
    .join(':');
  const found = spawnSync('sh', ['-c', 'command -v node'], { env: { PATH }, encoding: 'utf8' }).stdout.trim();
  return found === '' ? process.execPath : found;
})();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** A user's own suite: TypeScript, strict, importing the package by name. */
const USER_TEST = `import { inspect } from 'node:util';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  exportsOf,
  HostFunctionError,
  newRuntimeConfigCompiler,
  newRuntimeConfigInterpreter,
  newRuntimeWithConfig,
  WasmRuntimeError,
  type RuntimeConfig,
} from 'wasmscope';
import { ValueType } from 'wasmscope/api';
import { matchers } from 'wasmscope/vitest';

expect.extend(matchers);
const wasm = (name: string): Uint8Array => readFileSync(new URL(\`./\${name}.wasm\`, import.meta.url));

for (const [engine, config] of [['compiler', newRuntimeConfigCompiler], ['interpreter', newRuntimeConfigInterpreter]] as Array<[string, () => RuntimeConfig]>) {
  describe(engine, () => {
    it('calls exports with natural values', async () => {
      const r = newRuntimeWithConfig(config());
      const { add } = exportsOf<{ add(a: number, b: number): number }>(await r.instantiate(wasm('add')));
      expect(add(2, -5)).toBe(-3);
      expect(() => add(1.5, 0)).toThrow(RangeError);
      await r.close();
    });

    it('gives imports as JS functions', async () => {
      const r = newRuntimeWithConfig(config());
      const seen: number[] = [];
      await r.instantiateWithImports(wasm('env'), { env: { log: (x: number) => void seen.push(x) } });
      expect(seen).toEqual([42]);
      await r.close();
    });

    it('rejects a trap in _start with a WasmRuntimeError', async () => {
      const r = newRuntimeWithConfig(config());
      await expect(r.instantiate(wasm('trap'))).rejects.toThrow(WasmRuntimeError);
      await expect(r.instantiate(wasm('trap'))).rejects.toTrap('unreachable');
      await r.close();
    });

    it('reports a host error with the wasm stack trace', async () => {
      const r = newRuntimeWithConfig(config());
      await r
        .newHostModuleBuilder('env')
        .newFunctionBuilder()
        .withFunc(() => {
          throw new Error('no');
        }, [ValueType.I32], [])
        .export('log')
        .instantiate();
      const err = await r.instantiate(wasm('env')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostFunctionError);
      expect((err as Error).message).toContain('no\\nwasm stack trace:\\n\\tenv.log(i32)');
      await r.close();
    });

    it('prints a module briefly', async () => {
      const r = newRuntimeWithConfig(config());
      expect(inspect(await r.instantiate(wasm('add')))).toBe('Module[] {\\n  add(i32,i32) i32\\n}');
      await r.close();
    });
  });
}
`;

/** A CommonJS-era consumer: node10 resolution finds the types through \`types\` and \`typesVersions\`. */
const NODE10 = `import { exportsOf, newRuntime, type Runtime } from 'wasmscope';
import { ValueType, type Module } from 'wasmscope/api';
import type { FS } from 'wasmscope/sys';
export async function go(bytes: Uint8Array, fs?: FS): Promise<number> {
  const r: Runtime = newRuntime();
  const m: Module = await r.instantiate(bytes);
  const t: number = ValueType.I32;
  return t + Object.keys(exportsOf(m)).length + (fs === undefined ? 0 : 1);
}
`;

beforeAll(async () => {
  // Stage the package: what package.json "files" ships, with a freshly compiled dist.
  const pkg = join(tmp, 'pkg');
  mkdirSync(pkg);
  for (const f of ['package.json', 'README.md', 'bin', 'src', 'test/fixtures/guests']) {
    cpSync(join(root, f), join(pkg, f), { recursive: true, filter: (p) => !p.endsWith('.test.ts') });
  }
  // Built from the staged sources (as \`npm run build\` in a checkout), so the source maps name \`../src/…\`.
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  writeFileSync(
    join(pkg, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.build.json'),
      compilerOptions: { rootDir: 'src', outDir: 'dist', paths: {} },
      include: ['src'],
      exclude: ['src/**/*.test.ts'],
    }),
  );
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(pkg, 'tsconfig.json')], pkg);
  run(process.execPath, [join(root, 'scripts/bundle-cli.mjs'), join(pkg, 'dist')], root);
  run('npm', ['pack', '--silent', '--pack-destination', tmp], pkg);
  const tarball = readdirSync(tmp).find((f) => f.startsWith('wasmscope-') && f.endsWith('.tgz'));
  expect(tarball).toMatch(/^wasmscope-\d+\.\d+\.\d+\.tgz$/);

  // The dev tools, above the project.
  mkdirSync(join(tmp, 'node_modules/@types'), { recursive: true });
  mkdirSync(join(tmp, 'node_modules/@opentelemetry'), { recursive: true });
  for (const dep of ['vitest', 'assemblyscript', 'typescript', '@types/node', '@opentelemetry/api']) {
    symlinkSync(join(root, 'node_modules', dep), join(tmp, 'node_modules', dep), 'dir');
  }
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'pack-test', private: true, type: 'module' }));
  // Its one dependency from this repository's copy (the install is offline).
  run('npm', ['pack', '--silent', '--pack-destination', tmp, join(root, 'node_modules/tinybench')], tmp);
  const tinybench = readdirSync(tmp).find((f) => f.startsWith('tinybench-') && f.endsWith('.tgz'))!;
  run(
    'npm',
    ['install', `../${tarball}`, `../${tinybench}`, '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', '--no-package-lock'],
    project,
  );

  for (const ex of ['vitest-c', 'vitest-assemblyscript']) cpSync(join(root, 'examples', ex), join(project, ex), { recursive: true });
  const user = join(project, 'user');
  mkdirSync(user);
  writeFileSync(join(user, 'user.test.ts'), USER_TEST);
  writeFileSync(
    join(user, 'add.wasm'),
    await wat('(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))'),
  );
  writeFileSync(
    join(user, 'env.wasm'),
    await wat('(module (import "env" "log" (func $log (param i32))) (func (export "_start") (call $log (i32.const 42))))'),
  );
  writeFileSync(join(user, 'trap.wasm'), await wat('(module (func (export "_start") unreachable))'));
  writeFileSync(
    join(user, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'] },
      include: ['*.ts'],
    }),
  );
  const node10 = join(project, 'node10');
  mkdirSync(node10);
  writeFileSync(join(node10, 'index.ts'), NODE10);
  writeFileSync(
    join(node10, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'commonjs', moduleResolution: 'node10', target: 'es2022', types: ['node'] },
      include: ['*.ts'],
    }),
  );
}, 400_000);

const vitest = (nodeBin: string, filter: string): SpawnSyncReturns<string> =>
  run(nodeBin, [join(tmp, 'node_modules/vitest/vitest.mjs'), 'run', '--root', project, filter], project, {
    ...process.env,
    PATH: `${dirname(nodeBin)}:${process.env['PATH'] ?? ''}`,
    CI: 'true',
    NO_COLOR: '1',
  });

describe('the packed package in a fresh project', () => {
  it('passes the examples’ tests unchanged', { timeout: 300_000 }, () => {
    const out = vitest(node20, 'vitest-').stdout;
    expect(out).toMatch(/Test Files\s+2 passed \(2\)/);
    expect(out).toMatch(/Tests\s+20 passed \(20\)/);
  });

  it("type-checks a user's suite with tsc --strict and passes it with Vitest on Node 20 and Node 24", { timeout: 300_000 }, () => {
    run(process.execPath, [join(tmp, 'node_modules/typescript/bin/tsc'), '-p', join(project, 'user')], project);
    const versions: string[] = [];
    for (const nodeBin of [node20, node24]) {
      versions.push(run(nodeBin, ['--version'], project).stdout.trim());
      const out = vitest(nodeBin, 'user').stdout;
      expect(out, nodeBin).toMatch(/Tests\s+10 passed \(10\)/);
    }
    expect(versions.map((v) => v.split('.')[0])).toEqual(['v20', 'v24']);
  });

  it('finds its types under moduleResolution node10 and can be required (require(esm)) on Node 20 and 24', () => {
    run(process.execPath, [join(tmp, 'node_modules/typescript/bin/tsc'), '-p', join(project, 'node10')], project);
    const script =
      "const w = require('wasmscope'); const api = require('wasmscope/api');" +
      "if (typeof w.newRuntime !== 'function' || api.ValueType.I32 !== 0x7f) process.exit(2); console.log('required')";
    for (const nodeBin of [node20, node24]) {
      expect(run(nodeBin, ['-e', script], project).stdout, nodeBin).toBe('required\n');
    }
  });

  it('ships the sources its source maps name, and exports only entry points that are built', () => {
    const maps: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.map')) maps.push(join(dir, e.name));
      }
    };
    walk(join(installed, 'dist'));
    expect(maps.length).toBeGreaterThan(100);
    const missing = maps.flatMap((m) =>
      (JSON.parse(readFileSync(m, 'utf8')) as { sources: string[] }).sources
        .map((s) => resolve(dirname(m), s))
        .filter((s) => !existsSync(s)),
    );
    expect(missing).toEqual([]);
    expect(existsSync(join(installed, 'src/compiler-native/traps.ts'))).toBe(true);
    expect(readdirSync(join(installed, 'src/runtime/store')).filter((f) => f.endsWith('.test.ts'))).toEqual([]);

    const exports = (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports;
    // Every entry point loads (wasmscope/vitest only inside a Vitest run: the suite above loads it).
    for (const entry of Object.keys(exports).filter((e) => e !== './package.json' && e !== './vitest')) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `await import('wasmscope${entry.slice(1)}')`], {
        cwd: project,
        encoding: 'utf8',
      });
      expect(r.stderr, entry).toBe('');
    }
    const snapshot = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('wasmscope/snapshot')"], {
      cwd: project,
      encoding: 'utf8',
    });
    if (!Object.keys(exports).includes('./snapshot')) expect(snapshot.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it("runs the bench suites' guests from the installed package", () => {
    const script = `import { GUEST_NAMES, loadNowasiGuest } from 'wasmscope/bench';
      import { newRuntime } from 'wasmscope';
      const r = newRuntime();
      for (const name of GUEST_NAMES) {
        const g = loadNowasiGuest(name, 'tiny');
        const m = await r.instantiate(g.bytes);
        const [sum] = m.exportedFunction('run').call();
        if (sum !== g.checksum) throw new Error(name + ': ' + sum + ' != ' + g.checksum);
        loadNowasiGuest(name, 'default');
      }
      console.log('guests ok');`;
    expect(run(process.execPath, ['--input-type=module', '-e', script], project).stdout).toBe('guests ok\n');
  });

  it('runs the CLI installed as a bin', () => {
    // From its bundle (start-up), which the build made beside tsc's output.
    expect(existsSync(join(project, 'node_modules/wasmscope/dist/cli/wasmscope.js'))).toBe(true);
    const cli = join(project, 'node_modules/.bin/wasmscope');
    expect(run(cli, ['--version'], project).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(run(cli, ['compile', join(project, 'user/add.wasm')], project).stdout).toContain('  add(i32,i32) i32\n');
  });
});
