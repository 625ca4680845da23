/**
 * An HTTP(S) proxy on 127.0.0.1 that refuses everything and records what was refused: CONNECT
 * tunnels (HTTPS) get 403 and are closed, plain proxied requests (absolute URLs) get 403. Point a
 * program's HTTP_PROXY / HTTPS_PROXY (and the lower-case spellings) at it and every attempt to
 * reach the internet fails at once, visibly, instead of hanging on a timeout or leaking.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RefusedRequest {
  /** CONNECT, or the proxied request's method. */
  method: string;
  /** Host name (or address) without the port. */
  host: string;
  port: number;
  /** The full URL of a plain proxied request; absent for CONNECT (the path is inside TLS). */
  url?: string;
  at: number;
}

export interface DenyProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  refused: RefusedRequest[];
  /** The distinct refused hosts, sorted. */
  hosts(): string[];
  /** HTTP_PROXY, HTTPS_PROXY and their lower-case spellings pointing here; NO_PROXY names loopback. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startDenyProxy(): Promise<DenyProxy> {
  const refused: RefusedRequest[] = [];
  const server = createServer((req, res) => {
    let host = '';
    let port = 80;
    try {
      const url = new URL(req.url ?? '');
      host = url.hostname;
      port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    } catch {
      host = req.headers.host ?? '';
    }
    refused.push({ method: req.method ?? '', host, port, url: req.url ?? '', at: Date.now() });
    res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' }).end('refused by the test proxy\n');
  });
  server.on('connect', (req, socket) => {
    const target = req.url ?? '';
    const colon = target.lastIndexOf(':');
    refused.push({ method: 'CONNECT', host: (colon > 0 ? target.slice(0, colon) : target).replace(/^\[|\]$/g, ''), port: Number(target.slice(colon + 1)) || 443, at: Date.now() });
    socket.on('error', () => {});
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    refused,
    hosts: () => [...new Set(refused.map((r) => r.host))].sort(),
    env: () => ({
      HTTP_PROXY: url,
      HTTPS_PROXY: url,
      http_proxy: url,
      https_proxy: url,
      NO_PROXY: '127.0.0.1,localhost,::1',
      no_proxy: '127.0.0.1,localhost,::1',
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
