/**
 * The root of the `tinyagi` command tree, without its commands: the name, description, version
 * and root options, how errors and help print. The full tree (program.ts), a tree with one
 * command group (main.ts, command-groups.ts) and the root help without any group (root-help.ts)
 * all start from it, so their root behaves the same. Loads commander and nothing of TinyAGI.
 */
import { Command } from 'commander';
import { errStyle } from './output/style.ts';
import { VERSION } from './version.ts';

export function createRootCommand(): Command {
  return new Command('tinyagi')
    .description('Run TinyAGI, a team of AI agents, and talk to it from the terminal.\nWith no command, `tinyagi` starts the daemon.')
    .version(VERSION, '-v, --version', 'print the version')
    .option('--debug', 'print stack traces and causes of errors')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(errStyle.red(text)) })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .helpCommand('help [command]', 'show help for a command');
}
