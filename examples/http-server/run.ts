/**
 * A C guest serving HTTP over WASI sockets (server.c, built by build.sh with wasi-libc): the host
 * pre-opens a TCP listener with `withTCPListener` (port 0: any free port), runs the guest's `_start`
 * as an async call with async WASI — so this same process's event loop can be its client — and
 * makes a few requests. The interpreter runs it on every Node version (the compiler engine needs JS
 * Promise Integration, Node >= 24, for async WASI).
 *
 *   npx tsx examples/http-server/run.ts
 *
 * From the command line, the same guest serves blocking requests without async WASI:
 *
 *   npx tsx src/cli/bin.ts run --listen 127.0.0.1:8080 examples/http-server/server.wasm
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { newModuleConfig, newRuntimeConfigInterpreter, newRuntimeWithConfig } from 'wasmscope';
import { tcpListeners } from 'wasmscope/experimental';
import * as wasi from 'wasmscope/wasi';

function post(port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Serves `requests.length` requests from the guest and prints each answer. */
export async function runExample(out: (line: string) => void = console.log, requests = ['hello', 'from', 'node']): Promise<void> {
  const r = newRuntimeWithConfig(newRuntimeConfigInterpreter());
  try {
    await wasi.instantiate(r, undefined, { asyncIO: true });
    const guest = await r.instantiateWithConfig(
      readFileSync(new URL('./server.wasm', import.meta.url)),
      newModuleConfig()
        .withArgs('server', '--max', String(requests.length))
        .withTCPListener('127.0.0.1', 0)
        .withStderr({ write: (b: Uint8Array) => out(`guest: ${new TextDecoder().decode(b).trimEnd()}`) })
        .withStartFunctions(),
    );
    const { port } = tcpListeners(guest)[0]!;
    out(`guest listening on 127.0.0.1:${port}`);
    const serving = guest.exportedFunction('_start')!.callAsync();
    for (const [i, body] of requests.entries()) out(`answer: ${(await post(port, `/${i}`, body)).replace(/\n/g, ' | ')}`);
    await serving;
  } finally {
    await r.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runExample();
