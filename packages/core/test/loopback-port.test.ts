/**
 * The port OpenCode's warm session is told to bind (invoker/loopback-port.ts): free, on loopback,
 * and below the kernel's ephemeral range, where no outgoing connection is given a port.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { reserveLoopbackPort } from '../src/invoker/loopback-port.ts';

function listen(port: number): Promise<ReturnType<typeof createServer>> {
  const server = createServer();
  return new Promise((resolve, reject) => server.once('error', reject).listen({ host: '127.0.0.1', port }, () => resolve(server)));
}

describe('reserveLoopbackPort', () => {
  it('gives a port below the ephemeral range that can be bound on loopback', async () => {
    const port = await reserveLoopbackPort();
    const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    expect(port).toBeGreaterThanOrEqual(10_000);
    expect(port).toBeLessThan(ephemeralStart);
    const server = await listen(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('never gives a port another process holds', async () => {
    const held = await Promise.all(Array.from({ length: 20 }, async () => listen(await reserveLoopbackPort())));
    const ports = held.map((s) => (s.address() as { port: number }).port);
    for (let i = 0; i < 50; i++) expect(ports).not.toContain(await reserveLoopbackPort());
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });
});
