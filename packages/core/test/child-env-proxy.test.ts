/**
 * A daemon started with a proxy in its environment (HTTP_PROXY, as behind a company proxy): an
 * agent's tools still reach the daemon's API on the loopback directly. The real curl, as an
 * agent's script calls `$TINYAGI_API_URL`, with the environment the daemon gives its CLIs; the
 * proxy a port where nothing listens, so going through it fails.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { baseChildEnv } from '../src/invoker/child-env.ts';

const run = promisify(execFile);

it('with a proxy set, the loopback goes direct; the hosts already listed stay, once each', async () => {
  const server = createServer((_req, res) => res.end('direct'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const deadProxy = 'http://127.0.0.1:9';
    // Without the exemption, curl asks the dead proxy and fails: the check can fail.
    await expect(run('curl', ['-sS', '--max-time', '5', url], { env: { PATH: process.env.PATH ?? '', http_proxy: deadProxy } })).rejects.toThrow();
    const env = baseChildEnv({ PATH: process.env.PATH, http_proxy: deadProxy, HTTPS_PROXY: deadProxy, NO_PROXY: 'corp.example, localhost' });
    expect(env.NO_PROXY).toBe('corp.example,localhost,127.0.0.1,::1');
    expect(env.no_proxy).toBe(env.NO_PROXY);
    expect((await run('curl', ['-sS', '--max-time', '5', url], { env })).stdout).toBe('direct');
    // No proxy set: nothing added.
    expect(baseChildEnv({ PATH: '/usr/bin' })).not.toHaveProperty('NO_PROXY');
  } finally {
    server.close();
  }
});
