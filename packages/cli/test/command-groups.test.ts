/**
 * A command is parsed by a tree with its own group only (command-groups.ts, main.ts), and the
 * root help comes from an index of the full tree (root-help.ts). Both stand in for the full tree
 * (program.ts): these tests fail when a group registers a name its entry does not list, when the
 * order differs from the full tree's, or when the root help from the index differs from the full
 * tree's in any character.
 */
import { type Command, Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS, commandOf } from '../src/command-groups.ts';
import { buildProgram } from '../src/program.ts';
import { createRootCommand } from '../src/program-root.ts';
import { isRootHelp, rootHelpIndex, rootHelpProgram } from '../src/root-help.ts';

const namesOf = (program: Command): string[] => program.commands.flatMap((c) => [c.name(), ...c.aliases()]);

describe('command groups', () => {
  it('each group registers exactly the names its entry lists, and together they are the full tree in its order', async () => {
    const all: string[] = [];
    for (const group of COMMAND_GROUPS) {
      const program = createRootCommand();
      (await group.register())(program);
      expect(namesOf(program), `group ${group.names[0]}`).toEqual(group.names);
      all.push(...namesOf(program));
    }
    expect(all).toEqual(namesOf(buildProgram()));
  });

  it('finds the command argv names, after --debug and after help; none for help alone, an option first or an unknown word', () => {
    expect(commandOf(['status'])?.group.names).toContain('status');
    expect(commandOf(['--debug', 'send', 'hi'])?.name).toBe('send');
    expect(commandOf(['help', 'channels'])?.group.names).toContain('channel');
    expect(commandOf(['conv', 'list'])?.name).toBe('conv');
    expect(commandOf(['status', '--help'])?.name).toBe('status');
    for (const argv of [[], ['help'], ['--help'], ['-x', 'status'], ['nope'], ['help', 'nope']]) expect(commandOf(argv), JSON.stringify(argv)).toBeUndefined();
  });

  it('runs status, send and version without the kinds, every other command with them', () => {
    expect(COMMAND_GROUPS.flatMap((g) => g.names).filter((name) => commandOf([name])?.kinds === false)).toEqual(['status', 'send', 'version']);
  });
});

describe('the root help from the index', () => {
  const full = buildProgram();
  const index = rootHelpIndex(full);

  it('lists every visible command of the full tree', () => {
    expect(index.map((e) => e.name)).toEqual(full.commands.filter((c) => new Help().visibleCommands(full).includes(c)).map((c) => c.name()));
    expect(index.find((e) => e.name === 'send')).toEqual(expect.objectContaining({ args: '<message...>', options: true }));
    expect(index.find((e) => e.name === 'channel')?.alias).toBe('channels');
  });

  it('prints what the full tree prints, at any width', () => {
    for (const width of [40, 80, 200]) {
      const stand = rootHelpProgram(index).configureHelp({ helpWidth: width });
      const real = buildProgram().configureHelp({ helpWidth: width });
      expect(stand.helpInformation()).toBe(real.helpInformation());
    }
  });

  it('survives JSON, as the bundle carries it', () => {
    expect(rootHelpProgram(JSON.parse(JSON.stringify(index))).helpInformation()).toBe(full.helpInformation());
  });

  it('is what --help, -h and help alone ask for', () => {
    expect(['--help', '-h', 'help'].every((a) => isRootHelp([a]))).toBe(true);
    expect([['help', 'status'], ['--debug', '--help'], ['status', '--help'], []].some((argv) => isRootHelp(argv))).toBe(false);
  });
});
