/**
 * startServer: builds the app and listens, by default on 127.0.0.1:3777 (settings.server.host /
 * port). A host beyond loopback needs two things: settings.server.host (or TINYAGI_API_HOST)
 * naming it, and the operator's opt-in at start (`allowRemote`: `--listen-any` or
 * TINYAGI_ALLOW_REMOTE=1) — a settings PATCH through the API alone cannot expose the daemon.
 * Every route but health still needs the token. `localhost` is served on every address it names
 * (Fastify binds 127.0.0.1 and ::1 where both exist).
 */
import { loadSettings } from '@tinyagi/core';
import { assertListenAllowed, effectiveServer, isLoopbackHost } from './core-internal.ts';
import { buildServer, type TinyServer } from './app.ts';
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
  close(): Promise<void>;
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const settings = options.settings?.get() ?? loadSettings(options.settingsFile).settings;
  const configured = effectiveServer(settings);
  const host = options.host ?? configured.host;
  assertListenAllowed(host, options.allowRemote === true);
  const app = await buildServer(options);
  if (!isLoopbackHost(host)) app.tiny.log.warn(`the API listens beyond loopback on ${host} (remote access enabled at start); every route except /api/health requires the token`);
  await app.listen({ host, port: options.port ?? configured.port });
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : (options.port ?? configured.port);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { app, host, port, url: `http://${urlHost}:${port}`, close: () => app.close() };
}
