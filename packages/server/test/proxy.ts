/**
 * A TCP proxy in front of the test server that can drop connections the way a flaky network or
 * a restarting server does: cut each connection after some bytes (usually in the middle of an
 * event), or refuse connections for a while. It rewrites the Host header to the server's own
 * (the server accepts a loopback Host only with its port).
 */
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface DroppingProxy {
  url: string;
  /** Connections accepted and forwarded. */
  readonly connections: number;
  /** Connections cut by `cutAfterBytes`. */
  readonly cuts: number;
  /** Per connection: forward this many bytes of the answer, then end it (undefined: never). */
  cutAfterBytes: (() => number) | undefined;
  /** Accept and immediately drop every connection (the server looks down). */
  refuse: boolean;
  /** Drops every open connection now. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startDroppingProxy(targetPort: number): Promise<DroppingProxy> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let cuts = 0;
  const proxy: DroppingProxy = {
    url: '',
    get connections() {
      return connections;
    },
    get cuts() {
      return cuts;
    },
    cutAfterBytes: undefined,
    refuse: false,
    dropAll() {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (proxy.refuse) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    let cut = false;
    upstream.on('close', () => {
      sockets.delete(upstream);
      // A cut ends the client side itself, after the partial chunk is flushed.
      if (!cut) client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    // The server only accepts its own port in a loopback Host header: say the request came to it.
    client.on('data', (chunk: Buffer) => upstream.write(Buffer.from(chunk.toString('latin1').replaceAll(ownHost, targetHost), 'latin1')));
    client.on('end', () => upstream.end());
    const limit = proxy.cutAfterBytes?.();
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      // `>`: a chunk that ends exactly at the limit goes through whole; a cut always loses bytes.
      if (limit !== undefined && sent + chunk.length > limit) {
        cuts++;
        cut = true;
        client.end(chunk.subarray(0, limit - sent));
        upstream.destroy();
        return;
      }
      sent += chunk.length;
      client.write(chunk);
    });
  });
  const targetHost = `127.0.0.1:${targetPort}`;
  let ownHost = '';
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ownHost = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.url = `http://${ownHost}`;
  return proxy;
}
