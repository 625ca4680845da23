/**
 * The host's side of the bridges to its loopback (docs/sandbox-design.md, "The agent's network
 * and its bridges"): per socket path (`<run dir>/tcp-<port>.sock`), a Unix socket of the sandbox
 * host (host.ts) that forwards each connection to 127.0.0.1:`port` (the node's API, a port of
 * TINYAGI_SANDBOX_LOOPBACK_PORTS). Made once per path, closed with the host; a socket is removed
 * only while it is still the one this host listens on (another host may have taken the path over).
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

interface Bridge {
  server: Server;
  /** The socket file's inode as this bridge made it. */
  ino: number;
}

/** Pipes two connections into each other; either one's error or end closes both. */
export function joinSockets(a: Socket, b: Socket): void {
  const end = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.pipe(b);
  b.pipe(a);
}

export class HostBridges {
  readonly #made = new Map<string, Promise<Bridge>>();
  /** The bridges listening, by socket path (what the synchronous `unlinkAll` removes). */
  readonly #listening = new Map<string, Bridge>();

  /** A Unix socket at `socket` forwarding each connection to 127.0.0.1:`port`, made once per socket path. */
  async open(socket: string, port: number): Promise<Server> {
    let made = this.#made.get(socket);
    if (made === undefined) {
      made = listenBridge(socket, port);
      this.#made.set(socket, made);
      const current = made;
      current.then(
        (bridge) => {
          if (this.#made.get(socket) === current) this.#listening.set(socket, bridge);
        },
        () => {
          if (this.#made.get(socket) === current) this.#made.delete(socket);
        },
      );
    }
    return (await made).server;
  }

  /** The socket paths listening now. */
  paths(): string[] {
    return [...this.#listening.keys()];
  }

  /** Closes the bridges whose socket lies in `dir` (every one without), their sockets removed. */
  async close(dir?: string): Promise<void> {
    const closing: Array<Promise<Bridge | undefined>> = [];
    for (const [socket, made] of this.#made) {
      if (dir !== undefined && !socket.startsWith(`${dir}/`)) continue;
      this.#made.delete(socket);
      this.#listening.delete(socket);
      closing.push(
        made.then(
          (bridge) => {
            unlinkIfOurs(socket, bridge);
            return bridge;
          },
          () => undefined,
        ),
      );
    }
    for (const bridge of await Promise.all(closing)) bridge?.server.close();
  }

  /** Removes the sockets listening (synchronous: the process's exit). */
  unlinkAll(): void {
    for (const [socket, bridge] of this.#listening) unlinkIfOurs(socket, bridge);
  }
}

function unlinkIfOurs(socket: string, bridge: Bridge): void {
  try {
    if (lstatSync(socket).ino === bridge.ino) unlinkSync(socket);
  } catch {}
}

function listenBridge(socket: string, port: number): Promise<Bridge> {
  return new Promise<Bridge>((resolve, reject) => {
    const server = createServer((inside) => joinSockets(inside, createConnection({ host: '127.0.0.1', port })));
    try {
      unlinkSync(socket);
    } catch {}
    server.once('error', reject);
    server.listen(socket, () => {
      server.unref();
      let ino = -1;
      try {
        ino = lstatSync(socket).ino;
      } catch {}
      resolve({ server, ino });
    });
  });
}
