/**
 * A loopback port that was free a moment ago, for a process we start to bind next (OpenCode's
 * HTTP API: `opencode acp --port N`; the port must be known before the start, for the sandbox's
 * inbound forwarding).
 *
 * Picked below the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range,
 * 32768–60999 by default), not by the kernel (port 0): the kernel hands ports of that range to
 * every outgoing connection, so on a busy machine one could take the port between this answer
 * and the child's bind (test-kit's `freePort` met exactly that: EADDRINUSE a second later). A
 * port below the range is taken only by a process that binds it on purpose; the one picked is
 * bound here first to make sure none holds it. Without the range (not Linux), port 0.
 * (test-kit keeps its own copy: core depends on test-kit for its tests, so it cannot import core.)
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The lowest port picked: above the registered services most machines run (PostgreSQL's 5432, 8080 …). */
const LOWEST = 10_000;

export async function reserveLoopbackPort(): Promise<number> {
  const below = ephemeralStart();
  if (below !== undefined && below > LOWEST + 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = LOWEST + Math.floor(Math.random() * (below - LOWEST));
      if (
        await bindAndRelease(port).then(
          () => true,
          () => false,
        )
      )
        return port;
    }
  }
  return bindAndRelease(0);
}

function ephemeralStart(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
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
