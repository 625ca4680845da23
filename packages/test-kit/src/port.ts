import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago, for the caller to bind next (core's
 * invoker/loopback-port.ts is the product's copy, for OpenCode's port; core cannot be imported here).
 *
 * Picked below the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range,
 * 32768–60999 by default), not by the kernel (port 0): the kernel hands ports of that range to
 * every outgoing connection, so on a busy machine one of them could take the port between this
 * answer and the bind (a daemon's model proxy, bound a second later, failed with EADDRINUSE so).
 * A port below the range is taken only by a process that binds it on purpose; the one picked is
 * bound here first to make sure none holds it.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralStart();
  if (below !== undefined && below > LOWEST + 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = LOWEST + Math.floor(Math.random() * (below - LOWEST));
      if (await canBind(port)) return port;
    }
  }
  return bindAndRelease(0);
}

/** The lowest port tests pick: above the registered services most machines run (PostgreSQL's 5432, 8080 …). */
const LOWEST = 10_000;

function ephemeralStart(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

function canBind(port: number): Promise<boolean> {
  return bindAndRelease(port).then(
    () => true,
    () => false,
  );
}

function bindAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port assigned'))));
    });
  });
}
