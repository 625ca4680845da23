/**
 * A real daemon for end-to-end tests: the built CLI (packages/cli/dist, built by turbo before
 * these tests) in a temp HOME/TINYAGI_HOME on a free loopback port, with mock agents.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../../cli/dist/bin.js', import.meta.url));

export interface TestDaemon {
  env: Record<string, string>;
  url: string;
  /** Runs the CLI and returns stdout; throws on a non-zero exit. */
  cli(...args: string[]): string;
  token(): string;
  cleanup(): void;
}

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

export async function startDaemon(): Promise<TestDaemon> {
  if (!existsSync(CLI)) throw new Error(`the built CLI (${CLI}) is missing: run pnpm build`);
  const root = mkdtempSync(join(tmpdir(), 'tinyagi-vis-'));
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: root,
    TINYAGI_HOME: join(root, 'home'),
    TINYAGI_API_PORT: String(port),
    TERM: 'xterm-256color',
    LANG: 'C.UTF-8',
  };
  const cli = (...args: string[]): string => {
    const result = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new Error(`tinyagi ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  cli('start');
  // The leader answers slowly enough to be seen working, then hands off to the reviewer.
  cli('agent', 'add', 'coder', '--provider', 'mock', '--config', JSON.stringify({ mock: { rules: [{ match: 'build', latency_ms: 800, reply: 'Built it. [@reviewer: please review the build]' }] } }));
  cli('agent', 'add', 'reviewer', '--provider', 'mock', '--config', JSON.stringify({ mock: { latency_ms: 800, reply: 'Reviewed: looks good.' } }));
  cli('team', 'add', 'dev', '--agents', 'coder,reviewer', '--leader', 'coder');
  return {
    env,
    url: `http://127.0.0.1:${port}`,
    cli,
    token: () => readFileSync(join(env['TINYAGI_HOME']!, 'api-token'), 'utf8').trim(),
    cleanup() {
      spawnSync(process.execPath, [CLI, 'stop', '--timeout', '10'], { env, timeout: 30_000 });
      rmSync(root, { recursive: true, force: true });
    },
  };
}
