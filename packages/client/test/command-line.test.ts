/**
 * The one splitter of a command typed as a line (src/command-line.ts), used by `tinyagi project
 * bind` and TinyOffice's binding form: quotes, never a shell.
 */
import { describe, expect, it } from 'vitest';
import { joinArgv, splitCommand } from '../src/command-line.ts';

describe('splitCommand', () => {
  it('splits on blanks and keeps quoted text whole; shell characters are plain characters', () => {
    expect(splitCommand('  pnpm   test --filter web ').argv).toEqual(['pnpm', 'test', '--filter', 'web']);
    expect(splitCommand(`sh -c 'grep -q "ok" out.txt && echo $HOME'`).argv).toEqual(['sh', '-c', 'grep -q "ok" out.txt && echo $HOME']);
    expect(splitCommand(String.raw`echo "a \"b\" \\ \n" it\'s '' x""y`).argv).toEqual(['echo', String.raw`a "b" \ \n`, "it's", '', 'xy']);
    expect(splitCommand('make lint; rm -rf *').argv).toEqual(['make', 'lint;', 'rm', '-rf', '*']);
  });

  it('says what is wrong with a line it cannot split', () => {
    expect(splitCommand(`sh -c 'oops`)).toEqual({ error: 'a single quote is not closed' });
    expect(splitCommand('echo "oops')).toEqual({ error: 'a double quote is not closed' });
    expect(splitCommand('echo \\')).toEqual({ error: 'ends with a lone backslash' });
  });

  it('joinArgv writes words that split back into the same words', () => {
    for (const argv of [
      ['pnpm', 'test'],
      ['sh', '-c', `it's "quoted" && $X`],
      ['a b', '', 'c\\d'],
    ])
      expect(splitCommand(joinArgv(argv)).argv).toEqual(argv);
    expect(joinArgv(['node', '--test', 'a b'])).toBe("node --test 'a b'");
  });
});
