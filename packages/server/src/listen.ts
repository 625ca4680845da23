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
 * `localhost` names both 127.0.0.1 and ::1 here; Fastify binds only the first when it was given its
 * server (late-server.ts), so the others get a server of their own, on the same port and handler,
 * closed with the app. One that cannot bind (no IPv6) is left out, as Fastify does.
 */
async function listenOnOtherLoopbacks(app: TinyServer, bound: string, port: number): Promise<void> {
  const addresses = await new Promise<LookupAddress[]>((resolve) => builtin('node:dns').lookup('localhost', { all: true }, (err, found) => resolve(err ? [] : found)));
  for (const { address } of addresses) {
    if (address === bound) continue;
    const extra = builtin('node:http').createServer(app.routing);
    extra.keepAliveTimeout = app.server.keepAliveTimeout;
    extra.requestTimeout = app.server.requestTimeout;
    const listening = await new Promise<boolean>((resolve) => {
      extra.once('error', () => resolve(false));
      extra.listen({ host: address, port }, () => resolve(true));
    });
    if (!listening) continue;
    // As Fastify closes its own secondary servers: with the main one.
    app.server.once('close', () => {
      extra.close();
      extra.closeAllConnections();
    });
  }
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
  if (host.toLowerCase() === 'localhost') await listenOnOtherLoopbacks(app, address !== null && typeof address === 'object' ? address.address : '', port);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { app, host, port, url: `http://${urlHost}:${port}`, fromSnapshot, close: () => app.close() };
}
