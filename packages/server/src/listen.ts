/**
 * startServer: builds the app and listens, by default on 127.0.0.1:3777 (settings.server.host /
 * port). A host beyond loopback needs two things: settings.server.host (or TINYAGI_API_HOST)
 * naming it, and the operator's opt-in at start (`allowRemote`: `--listen-any` or
 * TINYAGI_ALLOW_REMOTE=1) — a settings PATCH through the API alone cannot expose the daemon.
 * Every route but health still needs the token.
 */
import type { LookupAddress } from 'node:dns';
import { loadSettings } from '@tinyagi/core';
import { assertListenAllowed, effectiveServer, isLoopbackHost } from '@tinyagi/core/internal';
import { buildServerFrom, type TinyServer } from './app.ts';
import { builtin } from './late-server.ts';
import type { BuildServerOptions } from './options.ts';

export interface StartServerOptions extends BuildServerOptions {
  /** Overrides settings.server.host. */
  host?: string;
  /** Overrides settings.server.port; 0 picks a free port. */
  port?: number;
  /** The operator's opt-in to a host beyond loopback (see remoteAllowed); default false. */
  allowRemote?: boolean;
}

export interface RunningServer {
  app: TinyServer;
  host: string;
  port: number;
  /** http://host:port, for clients. */
  url: string;
  /** Whether the app was the one the daemon's start-up snapshot holds prepared (docs/startup-snapshot.md). */
  fromSnapshot: boolean;
  close(): Promise<void>;
}

/**
 * Serves `app` on more addresses, on its port and with its handler; each is closed with the app.
 * `localhost` names 127.0.0.1 and ::1 on many machines, and Fastify binds only the first when it
 * was given its server (late-server.ts), so startServer binds the others here. An address that
 * cannot be bound (no IPv6) is left out, as Fastify does. Returns the addresses bound.
 */
export async function alsoListenOn(app: TinyServer, addresses: readonly string[], port: number): Promise<string[]> {
  const bound: string[] = [];
  for (const address of addresses) {
    const extra = builtin('node:http').createServer(app.routing);
    extra.keepAliveTimeout = app.server.keepAliveTimeout;
    extra.requestTimeout = app.server.requestTimeout;
    // Malformed HTTP is answered in the API's shape there too (buildServer's clientErrorHandler).
    for (const listener of app.server.listeners('clientError')) extra.on('clientError', listener as (...args: unknown[]) => void);
    const listening = await new Promise<boolean>((resolve) => {
      extra.once('error', () => resolve(false));
      extra.listen({ host: address, port }, () => resolve(true));
    });
    if (!listening) continue;
    bound.push(address);
    // As Fastify closes its own secondary servers: with the main one.
    app.server.once('close', () => {
      extra.close();
      extra.closeAllConnections();
    });
  }
  return bound;
}

function lookupAll(name: string): Promise<string[]> {
  return new Promise((resolve) => builtin('node:dns').lookup(name, { all: true }, (err, found: LookupAddress[]) => resolve(err ? [] : found.map((a) => a.address))));
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const settings = options.getSettings?.() ?? loadSettings(options.settingsFile).settings;
  const configured = effectiveServer(settings);
  const host = options.host ?? configured.host;
  assertListenAllowed(host, options.allowRemote === true);
  const { app, fromSnapshot } = await buildServerFrom(options);
  if (!isLoopbackHost(host)) app.tiny.log.warn(`the API listens beyond loopback on ${host} (remote access enabled at start); every route except /api/health requires the token`);
  await app.listen({ host, port: options.port ?? configured.port });
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : (options.port ?? configured.port);
  if (host.toLowerCase() === 'localhost') {
    const first = address !== null && typeof address === 'object' ? address.address : '';
    await alsoListenOn(
      app,
      (await lookupAll(host)).filter((a) => a !== first),
      port,
    );
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { app, host, port, url: `http://${urlHost}:${port}`, fromSnapshot, close: () => app.close() };
}
