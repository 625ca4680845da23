/**
 * A real daemon (`tinyagi run`, from source) in a temp TINYAGI_HOME on a free port, as a child
 * of the test; its supervisor starts the real channel process (@tinyagi/channels/runner).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiClient, isApiError, type ApiClient } from '@tinyagi/client';

const CLI_BIN = fileURLToPath(new URL('../../../cli/src/bin.ts', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Polls `check` until it returns a value (state, not time: the deadline only bounds a failure). */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestDaemon {
  root: string;
  home: string;
  token: string;
  api: ApiClient;
  child: ChildProcess;
  output(): string;
  start(): Promise<void>;
  /** SIGKILL (no cleanup at all), then wait until it is gone. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createDaemon(settings: (root: string, home: string) => Record<string, unknown>): Promise<TestDaemon> {
  const root = mkdtempSync(join(tmpdir(), 'tinyagi-channels-'));
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true });
  const port = await freePort();
  const token = randomBytes(32).toString('base64url');
  writeFileSync(join(home, 'settings.json'), JSON.stringify(settings(root, home), null, 2));
  const env: Record<string, string> = {
    PATH: dirname(process.execPath),
    HOME: root,
    TINYAGI_HOME: home,
    TINYAGI_API_PORT: String(port),
    TINYAGI_API_TOKEN: token,
    NO_COLOR: '1',
  };
  const api = createApiClient({ baseUrl: `http://127.0.0.1:${port}`, token });
  let out = '';
  let exited: Promise<void> = Promise.resolve();
  const d: TestDaemon = {
    root,
    home,
    token,
    api,
    child: undefined as unknown as ChildProcess,
    output: () => out,
    async start() {
      const child = spawn(process.execPath, ['--conditions=tinyagi-source', CLI_BIN, 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      d.child = child;
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      let gone = false;
      exited = new Promise((resolve) =>
        child.once('exit', () => {
          gone = true;
          resolve();
        }),
      );
      await waitFor(
        async () => {
          if (gone) throw new Error(`tinyagi run exited before it was healthy\n${out}`);
          try {
            await api.health({ signal: AbortSignal.timeout(2000) });
            return true;
          } catch (err) {
            if (!isApiError(err, 'NETWORK_ERROR')) throw err;
            return false;
          }
        },
        'the daemon to answer',
        60_000,
      );
    },
    async kill() {
      d.child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (d.child.exitCode !== null || d.child.signalCode !== null) return;
      d.child.kill('SIGTERM');
      await exited;
    },
    async cleanup() {
      await d.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return d;
}
