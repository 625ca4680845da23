/**
 * A command typed as one line, stored as argv (docs/git-tasks.md: a binding's setup and checks
 * are argument vectors, never shell strings). The splitter knows quotes and nothing else of a
 * shell: words split on whitespace; '…' keeps everything literally; "…" keeps everything but a
 * backslash before " or \; outside quotes a backslash keeps the next character. `$`, `|`, `;`,
 * `*` and the rest are plain characters: nothing is ever run through a shell.
 */

export type Split = { argv: string[]; error?: undefined } | { argv?: undefined; error: string };

export function splitCommand(line: string): Split {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return { error: 'ends with a lone backslash' };
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null) return { error: `a ${quote === "'" ? 'single' : 'double'} quote is not closed` };
  if (inWord) argv.push(word);
  return { argv };
}

/** argv as one line the splitter reads back the same (a word with spaces, quotes or backslashes quoted). */
export function joinArgv(argv: readonly string[]): string {
  return argv.map((arg) => (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`)).join(' ');
}
