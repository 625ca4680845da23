/**
 * `tinyagi office`: TinyOffice is served by the daemon itself (its static export at the API's
 * own origin), so this command only mints a one-time login code with the API token, prints the
 * link and opens it. The code travels in the URL fragment (never sent to a server or logged);
 * the page exchanges it for an HttpOnly session cookie and replaces the URL at once.
 */
import { spawn } from 'node:child_process';
import type { CliContext } from '../context.ts';
import { connect } from '../daemon/connection.ts';
import { CliError } from '../output/cli-error.ts';
import { println } from '../output/print.ts';
import { style } from '../output/style.ts';
import { tinyOfficeDir, tinyOfficeState } from './locate.ts';

export interface OfficeOptions {
  /** Open the link in the default browser (default true). */
  open?: boolean;
  /** Where the page is served instead of the daemon (the dev server, http://localhost:3000). */
  url?: string;
}

export function officeNotInstalled(): CliError {
  return new CliError('NOT_AVAILABLE', "TinyOffice is not part of this installation (neither apps/tinyoffice nor the package's office/ folder was found).", {
    hint: 'Everything it shows is available from the CLI: `tinyagi status`, `tinyagi conversation list`, `tinyagi team visualize`, `tinyagi chat`.',
  });
}

export function loginUrl(base: string, code: string): string {
  return `${base.replace(/\/+$/, '')}/login#code=${encodeURIComponent(code)}`;
}

/** Whether the daemon serves the page (it does when the export existed when it started: locate.ts). */
async function servesOffice(apiUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${apiUrl.replace(/\/+$/, '')}/login`, { headers: { accept: 'text/html' } });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

function openInBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No browser opener here (a server, a container): the printed link is enough.
  }
}

export async function serveOffice(ctx: CliContext, options: OfficeOptions = {}): Promise<void> {
  const { client, apiUrl } = connect(ctx);
  const base = options.url ?? apiUrl;
  if (options.url === undefined && !(await servesOffice(apiUrl))) {
    const state = tinyOfficeState();
    if (state === 'absent') throw officeNotInstalled();
    throw new CliError('NOT_AVAILABLE', 'The running daemon does not serve TinyOffice (it was not there when the daemon started).', {
      hint: tinyOfficeDir() === undefined || state === 'built' ? 'Run `tinyagi restart`.' : 'Run `pnpm build` at the repository root, then `tinyagi restart`.',
    });
  }
  const { code, expiresAt } = await client.createLoginCode();
  const url = loginUrl(base, code);
  println(`TinyOffice: ${style.cyan(url)}`);
  println(style.dim(`The link logs in once and expires at ${new Date(expiresAt).toLocaleTimeString()}; run \`tinyagi office\` again for a new one.`));
  if (options.open !== false) openInBrowser(url);
}

/** `start --open`: open TinyOffice when it exists; otherwise say so. */
export async function openOffice(ctx: CliContext): Promise<void> {
  if (tinyOfficeState() === 'absent') {
    println(style.yellow(officeNotInstalled().message));
    return;
  }
  await serveOffice(ctx);
}
