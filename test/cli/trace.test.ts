/**
 * `wasmscope run --trace-otlp URL` and `--trace-file FILE`: the spans of a real WASI run, exported
 * over OTLP/HTTP (JSON) to a receiver this test starts on 127.0.0.1, and written as OTLP JSON lines.
 * Both engines; the CLI runs in-process through `main()`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../../src/cli/main.js';
import { startTracing } from '../../src/cli/tracing.js';
import { engines } from '../helpers.js';

const HELLO = fileURLToPath(new URL('../../examples/wasi-hello/hello.wasm', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'wasmscope-trace-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An OTLP JSON `AnyValue`. */
interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: AnyValue }>;
  status?: { code?: number; message?: string };
}
interface ExportRequest {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: AnyValue }> };
    scopeSpans: Array<{ scope: { name: string; version?: string }; spans: OtlpSpan[] }>;
  }>;
}

function attr(attrs: ReadonlyArray<{ key: string; value: AnyValue }>, key: string): string | number | boolean | undefined {
  const v = attrs.find((a) => a.key === key)?.value;
  if (v === undefined) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}

/** The spans of export requests, with their resource's service.name and scope name. */
function spansOf(requests: readonly ExportRequest[]): Array<OtlpSpan & { service: unknown; scope: string }> {
  return requests.flatMap((r) =>
    r.resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) =>
        ss.spans.map((s) => ({ ...s, service: attr(rs.resource.attributes, 'service.name'), scope: ss.scope.name })),
      ),
    ),
  );
}

/** A receiver of OTLP/HTTP trace exports: records each request's path, content type and body. */
class Receiver {
  readonly requests: Array<{ path: string; type: string; body: ExportRequest }> = [];
  readonly #server: Server;
  constructor() {
    this.#server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({
          path: req.url ?? '',
          type: String(req.headers['content-type']),
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
  }
  listen(): Promise<string> {
    return new Promise((resolve) => {
      this.#server.listen(0, '127.0.0.1', () => {
        const a = this.#server.address();
        resolve(`http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}/v1/traces`);
      });
    });
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const o: Uint8Array[] = [];
  const e: Uint8Array[] = [];
  const io: CliIO = { stdout: { write: (c) => o.push(c.slice()) }, stderr: { write: (c) => e.push(c.slice()) }, stdin: '', env };
  const code = await main(argv, io);
  return { code, stdout: Buffer.concat(o).toString(), stderr: Buffer.concat(e).toString() };
}

let receiver: Receiver;
let url: string;
beforeAll(async () => {
  receiver = new Receiver();
  url = await receiver.listen();
});
afterAll(() => receiver.close());

const engineFlags = engines.map((e) => [e.name, e.name === 'interpreter' ? ['--interpreter'] : []] as const);

describe.each(engineFlags)('wasmscope run --trace-* (%s)', (_name, flags) => {
  it('--trace-otlp exports the start function and its WASI calls as one trace, flushed before exit', async () => {
    receiver.requests.length = 0;
    // Three args: hello exits with proc_exit(3).
    const r = await cli(['run', ...flags, '--trace-otlp', url, HELLO, 'a', 'b', 'c'], { OTEL_SERVICE_NAME: 'hello-svc' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('hello from WASI, world!');
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const q of receiver.requests) {
      expect(q.path).toBe('/v1/traces');
      expect(q.type).toBe('application/json');
    }
    const spans = spansOf(receiver.requests.map((q) => q.body));
    // The root: `_start`, which clang names `_start.command_export` in the name section.
    const roots = spans.filter((s) => (s.parentSpanId ?? '') === '');
    expect(roots.map((s) => s.name)).toEqual(['._start.command_export']);
    const start = roots[0]!;
    expect(start.kind).toBe(1); // SPAN_KIND_INTERNAL
    expect(start.status).toMatchObject({ code: 2, message: 'module closed with exit_code(3)' }); // ERROR
    expect(attr(start.attributes, 'wasm.exit_code')).toBe(3);
    expect(attr(start.attributes, 'wasm.call.kind')).toBe('guest');
    expect(start.service).toBe('hello-svc');
    expect(start.scope).toBe('wasmscope');
    const hostCalls = spans.filter((s) => s !== start);
    const names = new Set(hostCalls.map((s) => s.name));
    expect(names).toContain('wasi_snapshot_preview1.fd_write');
    expect(names).toContain('wasi_snapshot_preview1.args_get');
    expect(names).toContain('wasi_snapshot_preview1.proc_exit');
    for (const s of hostCalls) {
      expect(s.traceId).toBe(start.traceId);
      expect(s.parentSpanId).toBe(start.spanId);
      expect(attr(s.attributes, 'wasm.call.kind')).toBe('host');
      expect(attr(s.attributes, 'wasm.module.name')).toBe('wasi_snapshot_preview1');
    }
    const exit = hostCalls.find((s) => s.name === 'wasi_snapshot_preview1.proc_exit')!;
    expect(exit.status?.code).toBe(2);
    expect(attr(exit.attributes, 'wasm.exit_code')).toBe(3);
  });

  it('--trace-file writes OTLP JSON lines (one export request per line); both flags together', async () => {
    receiver.requests.length = 0;
    const file = join(tmp, `spans-${flags.length}.jsonl`);
    const r = await cli(['run', ...flags, '--trace-file', file, '--trace-otlp', url, HELLO]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const fromFile = spansOf(lines.map((l) => JSON.parse(l) as ExportRequest));
    const start = fromFile.find((s) => s.name === '._start.command_export')!;
    // A normal return: status unset, no exit code.
    expect(start.status?.code ?? 0).toBe(0);
    expect(attr(start.attributes, 'wasm.exit_code')).toBeUndefined();
    expect(start.service).toBe('wasmscope');
    expect(fromFile.filter((s) => s.name === 'wasi_snapshot_preview1.fd_write').length).toBeGreaterThan(0);
    // The same spans went over OTLP/HTTP.
    const fromHttp = spansOf(receiver.requests.map((q) => q.body));
    expect(fromHttp.map((s) => s.spanId).sort()).toEqual(fromFile.map((s) => s.spanId).sort());
  });
});

describe('wasmscope run --trace-* errors', () => {
  it('a receiver that is down is a warning; the exit code stays the guest', async () => {
    const down = new Receiver();
    const deadUrl = await down.listen();
    await down.close();
    // The exporter reads its timeout from the process environment (it retries until then).
    const saved = process.env['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'];
    process.env['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'] = '500';
    let r;
    try {
      r = await cli(['run', '--trace-otlp', deadUrl, HELLO]);
    } finally {
      if (saved === undefined) delete process.env['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'];
      else process.env['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'] = saved;
    }
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^warning: exporting spans to ${deadUrl.replace(/[.]/g, '\\.')} failed: .+\\n$`));
  });

  it('rejects a --trace-otlp that is not an http(s) URL', async () => {
    expect((await cli(['run', '--trace-otlp', 'localhost:4318', HELLO])).stderr).toBe(
      'error: invalid --trace-otlp "localhost:4318": use an http(s) URL (see wasmscope run --help)\n',
    );
  });

  it('names the missing optional packages and how to install them', async () => {
    const missing = (name: string) => async (specifier: string) => {
      if (specifier === name) throw Object.assign(new Error(`Cannot find package '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' });
      return import(specifier);
    };
    await expect(startTracing({ otlpUrl: url, serviceName: 'x' }, missing('@opentelemetry/exporter-trace-otlp-http'))).rejects.toThrow(
      '--trace-otlp needs the optional package @opentelemetry/exporter-trace-otlp-http, which is not installed: ' +
        'npm install @opentelemetry/api @opentelemetry/sdk-trace-base @opentelemetry/resources @opentelemetry/exporter-trace-otlp-http',
    );
    const o: Uint8Array[] = [];
    const e: Uint8Array[] = [];
    const io: CliIO = {
      stdout: { write: (c) => o.push(c.slice()) },
      stderr: { write: (c) => e.push(c.slice()) },
      stdin: '',
      env: {},
      importer: missing('@opentelemetry/otlp-transformer'),
    };
    expect(await main(['run', '--trace-file', join(tmp, 'x.jsonl'), HELLO], io)).toBe(1);
    expect(Buffer.concat(e).toString()).toBe(
      'error: --trace-file needs the optional package @opentelemetry/otlp-transformer, which is not installed: ' +
        'npm install @opentelemetry/api @opentelemetry/sdk-trace-base @opentelemetry/resources @opentelemetry/otlp-transformer\n',
    );
    expect(o).toEqual([]);
  });
});
