/**
 * `tinyagi office`: builds TinyOffice if needed and serves it on localhost, printing a one-time
 * login link (the API token travels in the URL fragment, which browsers never send to a server).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../context.ts';
import { readApiToken } from '../daemon/api-token.ts';
import { connect } from '../daemon/connection.ts';
import { CliError } from '../output/cli-error.ts';
import { println } from '../output/print.ts';
import { style } from '../output/style.ts';
import { tinyOfficeDir } from './locate.ts';

export const DEFAULT_OFFICE_PORT = 3000;

export function officeNotInstalled(): CliError {
  return new CliError('NOT_AVAILABLE', 'TinyOffice is not part of this installation (apps/tinyoffice was not found).', {
    hint: 'Everything it shows is available from the CLI: `tinyagi status`, `tinyagi conversation list`, `tinyagi team visualize`, `tinyagi chat`.',
  });
}

function loginUrl(port: number, apiUrl: string, token: string | undefined): string {
  const fragment = new URLSearchParams({ api: apiUrl, ...(token ? { token } : {}) }).toString();
  return `http://127.0.0.1:${port}/login#${fragment}`;
}

export async function serveOffice(ctx: CliContext, port = DEFAULT_OFFICE_PORT): Promise<void> {
  const dir = tinyOfficeDir();
  if (dir === undefined) throw officeNotInstalled();
  const { apiUrl } = connect(ctx);
  const next = join(dir, 'node_modules', '.bin', 'next');
  if (!existsSync(next)) throw new CliError('NOT_AVAILABLE', 'TinyOffice dependencies are not installed.', { hint: 'Run `pnpm install` at the repository root.' });
  if (!existsSync(join(dir, '.next', 'BUILD_ID'))) {
    println(style.dim('Building TinyOffice (first run)…'));
    const build = spawnSync(next, ['build'], { cwd: dir, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
    if (build.status !== 0) throw new CliError('FAILED', 'Building TinyOffice failed (see the output above).');
  }
  const child = spawn(next, ['start', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NEXT_PUBLIC_API_URL: apiUrl },
  });
  println(`TinyOffice: ${style.cyan(loginUrl(port, apiUrl, readApiToken(ctx.paths.apiToken, ctx.env)))}`);
  println(style.dim('Open the link once to log in; Ctrl-C stops TinyOffice (the daemon keeps running).'));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => child.kill('SIGTERM'));
    child.once('exit', () => resolve());
  });
}

/** `start --open`: serve TinyOffice when it exists; otherwise say so. */
export async function openOffice(ctx: CliContext): Promise<void> {
  if (tinyOfficeDir() === undefined) {
    println(style.yellow(officeNotInstalled().message));
    return;
  }
  await serveOffice(ctx);
}
