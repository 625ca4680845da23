/**
 * Listening beyond loopback needs the operator's opt-in at start (`--listen-any` or
 * TINYAGI_ALLOW_REMOTE=1): settings alone (server.host, TINYAGI_API_HOST) are refused with a
 * clear message, a token holder cannot grant it through the API, and an exposed daemon is
 * announced in the log, in `tinyagi status` and by `tinyagi doctor`. `start` runs as a built
 * `tinyagi` process; status and doctor run in this process (`cliHere`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDaemon, type TestDaemon } from '@tinyagi/test-kit';

const homes: TestDaemon[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((h) => h.cleanup()));
});

async function newHome(): Promise<TestDaemon> {
  const h = await createDaemon();
  homes.push(h);
  await h.cliHereOk(['doctor', '--fix']);
  return h;
}

interface Finding {
  check: string;
  status: string;
  message: string;
}

async function exposureFinding(h: TestDaemon, env: Record<string, string> = {}): Promise<Finding | undefined> {
  const result = await h.cliHere(['doctor', '--json'], { env });
  return (JSON.parse(result.stdout) as { findings: Finding[] }).findings.find((f) => f.check === 'exposure');
}

describe('listening beyond loopback', () => {
  it('TINYAGI_API_HOST=0.0.0.0 without the opt-in: start refuses with a clear message and doctor flags it', async () => {
    const h = await newHome();
    const env = { TINYAGI_API_HOST: '0.0.0.0' };
    const result = await h.cli(['start'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Refusing to listen on 0.0.0.0');
    expect(result.stderr).toContain('--listen-any');
    expect(await exposureFinding(h, env)).toMatchObject({ status: 'fail' });
    expect(await exposureFinding(h)).toMatchObject({ status: 'ok' });
  });

  it('with --listen-any it listens on 0.0.0.0, and says so in the log, in status and in doctor', async () => {
    const h = await newHome();
    const env = { TINYAGI_API_HOST: '0.0.0.0' };
    await h.cliOk(['start', '--listen-any'], { env });
    const status = await h.cliHereOk(['status']);
    expect(status).toMatch(/Exposure:\s+listening on 0\.0\.0\.0, beyond loopback/);
    expect(JSON.parse(await h.cliHereOk(['status', '--json']))).toMatchObject({ running: true, remote: true });
    expect(readFileSync(join(h.home, 'logs', 'daemon.log'), 'utf8')).toMatch(/WARN\s+\[api\] the API listens beyond loopback on 0\.0\.0\.0/);
    expect(await exposureFinding(h)).toMatchObject({ status: 'warn', message: expect.stringContaining('0.0.0.0') });
  });

  it('a token holder cannot grant it: server.host set through the API, then a restart through the API, is refused', async () => {
    const h = await newHome();
    h.env['TINYAGI_API_TOKEN'] = randomBytes(32).toString('base64url');
    await h.start();
    const client = h.api;
    await client.patchSettings({ body: { server: { host: '0.0.0.0' } } });
    await client.restartDaemon();
    const exit = await h.exited;
    expect(exit.code).toBe(1);
    expect(h.output()).toContain('Refusing to listen on 0.0.0.0');
    expect(readFileSync(join(h.home, 'logs', 'daemon.log'), 'utf8')).toContain('server.host/port changed to 0.0.0.0');
  });
});
