/**
 * `tinyagi version`.
 */
import type { Command } from 'commander';
import { printJson, println } from '../output/print.ts';
import { VERSION } from '../version.ts';
import { withJson } from './options.ts';

export function registerVersionCommand(program: Command): void {
  withJson(program.command('version').description('print the version')).action((options: { json?: boolean }) => {
    if (options.json) return printJson({ version: VERSION, node: process.versions.node });
    println(`tinyagi v${VERSION}`);
  });
}
