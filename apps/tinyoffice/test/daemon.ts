/**
 * A real TinyAGI daemon for the browser tests: the built CLI (packages/cli/dist) in a temp
 * TINYAGI_HOME and HOME, a free loopback port, and mock agents:
 * - coder leads team dev; "handoff" replies after a while with a handoff to reviewer, "slow"
 *   works for minutes (to be cancelled), "broken" fails for good (a dead letter);
 * - reviewer answers "please check" after a while.
 * Channels run a stand-in runner (test/fixtures/channel-runner.mjs) that connects to nothing.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));
export const OFFICE_OUT = fileURLToPath(new URL('../out', import.meta.url));
/** Enabled channels run this instead of the real runner: no network, the test plants their state. */
export const CHANNEL_RUNNER = fileURLToPath(new URL('./fixtures/channel-runner.mjs', import.meta.url));

/** A provider key planted in settings: the page may show it only masked. */
export const PLANTED_KEY = 'sk-ant-PLANTED-office-0123456789abcdefXYZW';

export const SETTINGS = (root: string) => ({
  workspace: { path: join(root, 'workspace') },
  models: { provider: 'mock', anthropic: { api_key: PLANTED_KEY } },
  channels: { enabled: [] },
  agents: {
    coder: {
      name: 'Coder',
      provider: 'mock',
      mock: {
        reply: 'coder done',
        rules: [
          { match: 'handoff', latency_ms: 4000, reply: 'Drafted it. [@reviewer: please check the draft]' },
          { match: 'slow', latency_ms: 600_000, reply: 'finally done' },
          { match: 'broken', fail: 'permanent' },
          { match: 'quick', latency_ms: 1500, reply: 'quick done' },
        ],
      },
    },
    reviewer: { name: 'Reviewer', provider: 'mock', mock: { reply: 'reviewed', rules: [{ match: 'please check', latency_ms: 4000, reply: 'looks good' }] } },
  },
  teams: { dev: { name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface Daemon {
  url: string;
  home: string;
  /** Runs `tinyagi <args>` against this home; resolves with stdout, rejects on a non-zero exit. */
  cli(args: string[]): Promise<string>;
  /** A fresh one-time login link from `tinyagi office --no-open`. */
  loginLink(): Promise<string>;
  start(): Promise<void>;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startDaemon(): Promise<Daemon> {
  const root = mkdtempSync(join(tmpdir(), 'tinyoffice-e2e-'));
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'settings.json'), JSON.stringify(SETTINGS(root), null, 2), { mode: 0o600 });
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: root,
    TINYAGI_HOME: home,
    TINYAGI_API_PORT: String(port),
    TINYAGI_CHANNEL_RUNNER: CHANNEL_RUNNER,
    NO_COLOR: '1',
  };
  const cli = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(process.execPath, [CLI_BIN, ...args], { env: env as NodeJS.ProcessEnv, timeout: 90_000 }, (err, stdout: string, stderr: string) => {
        if (err) reject(new Error(`tinyagi ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      });
    });
  const daemon: Daemon = {
    url: `http://127.0.0.1:${port}`,
    home,
    cli,
    async loginLink() {
      const out = await cli(['office', '--no-open']);
      const link = /http:\/\/\S+\/login#code=\S+/.exec(out)?.[0];
      if (!link) throw new Error(`tinyagi office printed no link:\n${out}`);
      return link;
    },
    start: async () => void (await cli(['start'])),
    stop: async () => void (await cli(['stop', '--timeout', '20'])),
    async cleanup() {
      await cli(['stop', '--timeout', '20']).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
  await daemon.start();
  return daemon;
}
