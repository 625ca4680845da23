/**
 * The network between a channel and its platform's stand-in, cut and restored: a relay on a
 * loopback port of its own that is either not listening at all (a connection is refused, as with
 * no route) or passes every connection through to the stand-in. `cut()` also drops the
 * connections open through it, as a network that goes away does.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '@tinyagi/test-kit';

export class CutNetwork {
  readonly port: number;
  readonly #target: () => number;
  readonly #open = new Set<Socket>();
  #server: Server | undefined;

  private constructor(port: number, target: () => number) {
    this.port = port;
    this.#target = target;
  }

  /** A relay to the stand-in listening on `target()`, cut to begin with. */
  static async create(target: () => number): Promise<CutNetwork> {
    return new CutNetwork(await freePort(), target);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections go through to the stand-in from now on. */
  async restore(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer((inbound) => {
      const outbound = createConnection({ host: '127.0.0.1', port: this.#target() });
      for (const socket of [inbound, outbound]) {
        this.#open.add(socket);
        socket.on('close', () => this.#open.delete(socket));
        socket.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.#server = server;
  }

  /** Nothing listens any more (connecting is refused) and the open connections drop. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#open) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
