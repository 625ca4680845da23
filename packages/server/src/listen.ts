/**
 * startServer: builds the app and listens, by default on 127.0.0.1:3777 (settings.server.host /
 * port). A non-loopback host is only used when settings.server.host names it explicitly; every
 * route but health still needs the token.
 */
import { effectiveServer, loadSettings } from '@tinyagi/core';
import { buildServer, type TinyServer } from './app.ts';
import type { BuildServerOptions } from './options.ts';

export interface StartServerOptions extends BuildServerOptions {
  /** Overrides settings.server.host. */
  host?: string;
  /** Overrides settings.server.port; 0 picks a free port. */
  port?: number;
}

export interface RunningServer {
  app: TinyServer;
  host: string;
  port: number;
  /** http://host:port, for clients. */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const settings = options.getSettings?.() ?? loadSettings(options.settingsFile).settings;
  const configured = effectiveServer(settings);
  const host = options.host ?? configured.host;
  const app = await buildServer(options);
  if (!LOOPBACK.has(host)) app.tiny.log.warn(`the API listens beyond loopback on ${host}; every route except /api/health requires the token`);
  await app.listen({ host, port: options.port ?? configured.port });
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : (options.port ?? configured.port);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { app, host, port, url: `http://${urlHost}:${port}`, close: () => app.close() };
}
