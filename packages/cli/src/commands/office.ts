/**
 * `tinyagi office [--port]`: serve TinyOffice on localhost with a login link.
 */
import type { Command } from 'commander';
import { contextOf, parsePositiveInt } from './options.ts';

export function registerOfficeCommands(program: Command): void {
  program
    .command('office')
    .description('serve TinyOffice, the web portal, on localhost and print a login link')
    .option('--port <port>', 'port (default 3000)', parsePositiveInt)
    .action(async (options: { port?: number }, cmd: Command) => {
      const { serveOffice } = await import('../office/serve.ts');
      await serveOffice(contextOf(cmd), options.port);
    });
}
