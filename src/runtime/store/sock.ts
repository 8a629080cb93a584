/**
 * Pre-opened TCP listeners through the instantiation context (wazero's `experimental/sock`), and
 * where a module's listeners listen.
 */
import type { Context } from '../api/context.js';
import type { Module } from '../api/module.js';
import { TcpListenerFile } from '../../sys/sockets.js';
import { ModuleInstance } from './module-instance.js';

/** TCP listeners to pre-open (wazero's `sock.Config`). Immutable: `withTCPListener` returns a copy. @experimental */
export interface SockConfig {
  /** A config that also listens on `host:port` (port 0: any free port). */
  withTCPListener(host: string, port: number): SockConfig;
}

class SockConfigImpl implements SockConfig {
  constructor(readonly listeners: ReadonlyArray<{ readonly host: string; readonly port: number }>) {}
  withTCPListener(host: string, port: number): SockConfig {
    return new SockConfigImpl([...this.listeners, { host, port }]);
  }
}

/** An empty socket configuration. @experimental */
export function newSockConfig(): SockConfig {
  return new SockConfigImpl([]);
}

const sockConfigKey = Symbol('wasmscope.sockConfig');

/**
 * A context whose `instantiateModule` pre-opens `config`'s listeners (after those of the module
 * config's `withTCPListener`); a config without listeners leaves `ctx` unchanged.
 * @experimental
 */
export function withSockConfig(ctx: Context, config: SockConfig): Context {
  if (!(config instanceof SockConfigImpl) || config.listeners.length === 0) return ctx;
  return ctx.withValue(sockConfigKey, config);
}

/** The listeners an instantiation context asks for. */
export function sockListenersOf(ctx: Context): ReadonlyArray<{ readonly host: string; readonly port: number }> {
  return ctx.value<SockConfigImpl>(sockConfigKey)?.listeners ?? [];
}

/** A pre-opened TCP listener of a module (`tcpListeners`). @experimental */
export interface TcpListenerInfo {
  /** The guest's descriptor of the listening socket. */
  readonly fd: number;
  /** The address it is bound to. */
  readonly host: string;
  /** The port it is bound to (port 0 resolved to the port the system chose). */
  readonly port: number;
}

/** Where a module's pre-opened TCP listeners listen, by descriptor (port 0 resolved to the port bound). @experimental */
export function tcpListeners(mod: Module): TcpListenerInfo[] {
  const out: TcpListenerInfo[] = [];
  if (!(mod instanceof ModuleInstance) || mod.sys === undefined) return out;
  for (const fd of mod.sys.files.fds()) {
    const f = mod.sys.files.get(fd)!.file;
    if (f instanceof TcpListenerFile) out.push({ fd, host: f.address, port: f.port });
  }
  return out;
}
