/**
 * `tinyagi office [--no-open] [--url <dev server>]`: print and open a one-time login link to
 * TinyOffice, which the running daemon serves.
 */
import type { Command } from 'commander';
import { contextOf } from './options.ts';

export function registerOfficeCommands(program: Command): void {
  program
    .command('office')
    .description('open TinyOffice, the web portal served by the daemon, with a one-time login link')
    .option('--no-open', 'only print the link')
    .option('--url <url>', 'the page is served elsewhere (the dev server: http://localhost:3000)')
    .action(async (options: { open: boolean; url?: string }, cmd: Command) => {
      const { serveOffice } = await import('../office/serve.ts');
      await serveOffice(contextOf(cmd), { open: options.open, ...(options.url !== undefined ? { url: options.url } : {}) });
    });
}
