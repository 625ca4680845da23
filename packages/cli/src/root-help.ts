/**
 * `tinyagi --help` (and `-h`, `help`) without loading a command: the root's command list is
 * written into the bundle when it is built (scripts/bundle.mjs calls `rootHelpIndex` on the full
 * tree and defines `__TINYAGI_ROOT_HELP__`), and commander prints it from stand-in commands with
 * the same names, aliases, arguments and descriptions. The full tree's root help names the
 * channel kinds registered when it is built, so the index is used only while TINYAGI_HOME/kinds/
 * holds no kind module (main.ts); sources run without a bundle have no index and build the tree.
 */
import { Command, Help, Option } from 'commander';
import { createRootCommand } from './program-root.ts';

/** One top-level command as the root help shows it. */
export interface RootHelpEntry {
  name: string;
  alias?: string;
  /** The command has options (commander shows `[options]` for any). */
  options: boolean;
  /** Its arguments as the help writes them: `<message...>`, `[target]`. */
  args: string;
  description: string;
}

/** The index as JSON text (a string: an object defined by esbuild would be a module of every chunk). */
declare const __TINYAGI_ROOT_HELP__: string | undefined;

/** The index written into the bundle; undefined when running from sources. */
export function bundledRootHelp(): readonly RootHelpEntry[] | undefined {
  return typeof __TINYAGI_ROOT_HELP__ === 'undefined' ? undefined : (JSON.parse(__TINYAGI_ROOT_HELP__) as RootHelpEntry[]);
}

/** argv that asks for the root help only. */
export function isRootHelp(args: readonly string[]): boolean {
  return args.length === 1 && (args[0] === '--help' || args[0] === '-h' || args[0] === 'help');
}

/** What the root help lists of `program`'s commands (visible ones, in order; not commander's own `help`). */
export function rootHelpIndex(program: Command): RootHelpEntry[] {
  const help = new Help();
  return program.commands
    .filter((cmd) => help.visibleCommands(program).includes(cmd))
    .map((cmd) => ({
      name: cmd.name(),
      ...(cmd.aliases()[0] !== undefined ? { alias: cmd.aliases()[0] } : {}),
      options: cmd.options.length > 0,
      args: cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)).join(' '),
      description: help.subcommandDescription(cmd),
    }));
}

/** The root with a stand-in command for each entry: enough to print the root help, nothing to run. */
export function rootHelpProgram(index: readonly RootHelpEntry[]): Command {
  const program = createRootCommand();
  for (const entry of index) {
    const cmd = new Command(entry.name).description(entry.description);
    if (entry.alias !== undefined) cmd.alias(entry.alias);
    if (entry.args !== '') cmd.arguments(entry.args);
    if (entry.options) cmd.addOption(new Option('--stand-in').hideHelp());
    program.addCommand(cmd);
  }
  return program;
}
