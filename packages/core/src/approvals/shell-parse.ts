/**
 * Reads a shell command line with bash's grammar, for the permission rules (rules.ts): which
 * simple commands it runs, each with its words as bash would pass them, its `NAME=value`
 * assignments and its redirections. A rule may allow a line only when this reading is complete;
 * whatever it cannot read for certain makes the line `opaque` (a person decides), and a word
 * whose value bash computes when it runs (a variable, a substitution, a glob, a brace or tilde
 * expansion, `$'…'`) has no value here. Checked against bash itself: test/shell-oracle.test.ts.
 *
 * What it understands as bash does: single and double quotes, `$'…'` and `$"…"`, backslashes
 * (and backslash-newline), the separators `;` `&` `&&` `||` `|` `|&` and newlines, comments,
 * subshells `( … )` and groups `{ …; }`, `$(…)`, backticks, `$((…))`, `${…}`, `<(…)` and `>(…)`
 * (the commands inside are read too, so deny and ask rules see them), brace expansion, tilde
 * expansion, redirections (`>`, `>>`, `>|`, `<`, `<>`, `&>`, `&>>`, `>&`, `<&`, with a file
 * descriptor number), here-documents (`<<`, `<<-`, quoted or not) and here-strings (`<<<`), and
 * assignments before a command. Opaque: keywords (`if`, `for`, `while`, `case`, `[[`, `function`,
 * …), function definitions, arithmetic commands, array assignments, syntax errors, unterminated
 * quotes, control characters, a backslash ending the line, a here-document a substitution leaves
 * open, and commands that run code they are given (`eval`, `exec`, `source`, `.`, a shell such
 * as `bash -c`, `trap`, `alias`, `command`, `builtin`, `enable`): their code, when it is a plain
 * word, is read too, for deny and ask rules.
 */
import { type Deadline, OUT_OF_TIME, OutOfTime } from './deadline.ts';

/** One word of a command. */
export interface ShellWord {
  /** The word as bash passes it (quotes removed); undefined when bash computes it when it runs. */
  value: string | undefined;
  /** The word with quotes removed and its expansions as written (`$HOME/x`, `~/.ssh`): what deny and ask rules read. */
  text: string;
}

export interface ShellRedirect {
  /** `>`, `>>`, `>|`, `<`, `<>`, `&>`, `&>>`, `>&`, `<&`, `<<`, `<<-` or `<<<`. */
  op: string;
  /** The file descriptor written before the operator (`2>`), if any. */
  fd: number | undefined;
  /** The file (a here-document: its body; a here-string: its word). */
  target: ShellWord;
}

export interface SimpleCommand {
  /** `NAME=value` words before the command name. */
  assignments: ShellWord[];
  words: ShellWord[];
  redirects: ShellRedirect[];
}

export interface ParsedLine {
  /** Every simple command found, at any depth (in substitutions, subshells, the code given to `eval`), in the order written. */
  commands: SimpleCommand[];
  /** Why the line cannot be read for certain; undefined when it can. */
  opaque: string | undefined;
}

/** Lines longer than this are not read (opaque); shorter ones are read within the caller's deadline (deadline.ts). */
export const MAX_LINE_LENGTH = 100_000;
/** Nesting deeper than this (substitutions in substitutions) is not read (opaque). */
const MAX_DEPTH = 32;

const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'select', 'while', 'until', 'do', 'done', 'in', 'function', 'coproc', '[[', ']]', '{', '}', '!', 'time']);
/** Commands that run code given to them, or change what later commands mean. */
const CODE_RUNNERS = new Set(['eval', 'exec', 'source', '.', 'trap', 'alias', 'command', 'builtin', 'enable']);
/** Shells: given `-c`, a script or standard input, they run code the line does not show as commands. */
const SHELLS = /^(?:.*\/)?(?:ba|da|z|k|mk|c|tc|fi|)sh$|^(?:.*\/)?busybox$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*\+?=/;

/**
 * `known`: variables whose values the caller knows for certain in the shell that runs the line
 * (`{ TINYAGI_CLI: 'tinyagi' }`): a command name that is exactly one of them, double-quoted
 * (`"$NAME"`, `"${NAME}"`), is read as that value; anywhere else they are computed as any
 * variable is.
 */
export function parseCommandLine(line: string, known: Readonly<Record<string, string>> = {}, deadline?: Deadline): ParsedLine {
  const out: ParsedLine = { commands: [], opaque: undefined };
  if (line.length > MAX_LINE_LENGTH) {
    out.opaque = `a command line longer than ${MAX_LINE_LENGTH} characters`;
    return out;
  }
  // NUL and other control characters: bash drops or reads some of them otherwise than they show.
  if (CONTROL_CHARACTER.test(line)) out.opaque = 'a control character';
  try {
    new Parser(line, out, 0, known, deadline).parseTop();
  } catch (err) {
    // Past the deadline inside a word: what was read stays, the rest is not read.
    if (!(err instanceof OutOfTime)) throw err;
    out.opaque ??= OUT_OF_TIME;
  }
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds.
const CONTROL_CHARACTER = /[\x00-\x08\x0b-\x1f\x7f]/;

/** Characters between two reads of the clock in a loop over one word. */
const CLOCK_EVERY = 4096;

/** Quotes a value so that bash reads it back as one word with that value (`it's` → `'it'\''s'`). */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A word being read: its value so far, its text for rules, and what bash would expand in it. */
interface WordBuilder {
  value: string;
  text: string;
  /** Each character of `value`, and whether it was quoted (so a glob or brace character in it is literal); undefined while none is. */
  quoted: boolean[] | undefined;
  dynamic: boolean;
  /** True once any part of the word was quoted (an empty `''` is still a word). */
  anyQuote: boolean;
  /** True when a character of the word came from the line as written (not only an expansion). */
  started: boolean;
}

const METACHARS = new Set([' ', '\t', '\n', ';', '&', '|', '(', ')', '<', '>']);
/** Characters a word takes as they are (no quote, escape, expansion or metacharacter), in a run. */
const PLAIN_RUN = /[^\\'"$`<> \t\n;&|()]+/y;

class Parser {
  readonly #src: string;
  readonly #out: ParsedLine;
  readonly #depth: number;
  readonly #known: Readonly<Record<string, string>>;
  readonly #deadline: Deadline | undefined;
  #pos = 0;
  /** Subshells and groups open at the cursor. */
  #nesting = 0;
  /** Here-documents whose bodies start after the next newline. */
  #heredocs: Array<{ delimiter: string; stripTabs: boolean; quoted: boolean; redirect: ShellRedirect }> = [];

  constructor(src: string, out: ParsedLine, depth: number, known: Readonly<Record<string, string>>, deadline: Deadline | undefined) {
    this.#src = src;
    this.#out = out;
    this.#depth = depth;
    this.#known = known;
    this.#deadline = deadline;
  }

  /** One step of reading (a command, a word); past the deadline the rest of the line is not read (opaque). */
  #outOfTime(): boolean {
    if (this.#deadline?.step() !== true) return false;
    this.#opaque(OUT_OF_TIME);
    this.#pos = this.#src.length;
    return true;
  }

  parseTop(): void {
    if (this.#depth > MAX_DEPTH) {
      this.#opaque('nesting too deep');
      return;
    }
    this.#parseList(null);
    if (this.#heredocs.length > 0) this.#readHeredocBodies();
  }

  #opaque(reason: string): void {
    this.#out.opaque ??= reason;
  }

  #peek(offset = 0): string | undefined {
    return this.#src[this.#pos + offset];
  }

  #atEnd(): boolean {
    return this.#pos >= this.#src.length;
  }

  /** Spaces, tabs and backslash-newlines. */
  #skipBlanks(): void {
    for (;;) {
      const c = this.#peek();
      if (c === ' ' || c === '\t') this.#pos++;
      else if (c === '\\' && this.#peek(1) === '\n') this.#pos += 2;
      else return;
    }
  }

  #skipComment(): void {
    while (!this.#atEnd() && this.#peek() !== '\n') this.#pos++;
  }

  /**
   * A list of pipelines, up to `end` (`)` of a subshell or substitution, `}` of a group) or the
   * end of the input. Returns at its terminator, consumed.
   */
  #parseList(end: ')' | '}' | null): void {
    this.#nested(() => this.#parseListBody(end));
  }

  /** Runs `read` one level deeper; past MAX_DEPTH levels the rest of the line is not read (opaque). */
  #nested(read: () => void): void {
    if (this.#depth + ++this.#nesting > MAX_DEPTH) {
      this.#opaque('nesting too deep');
      this.#pos = this.#src.length;
    } else read();
    this.#nesting--;
  }

  #parseListBody(end: ')' | '}' | null): void {
    let needSeparator = false;
    for (;;) {
      if (this.#outOfTime()) return;
      this.#skipBlanks();
      if (this.#atEnd()) {
        if (end !== null) this.#opaque(`no closing ${end}`);
        return;
      }
      const c = this.#peek()!;
      if (c === '#') {
        this.#skipComment();
        continue;
      }
      if (c === '\n') {
        this.#pos++;
        this.#readHeredocBodies();
        needSeparator = false;
        continue;
      }
      if (c === ';') {
        if (this.#peek(1) === ';' || this.#peek(1) === '&') {
          this.#opaque('a case clause');
          this.#pos += 2;
          continue;
        }
        if (!needSeparator) this.#opaque('a syntax error near ;');
        this.#pos++;
        needSeparator = false;
        continue;
      }
      if (c === '&' && this.#peek(1) !== '>') {
        if (!needSeparator) this.#opaque('a syntax error near &');
        this.#pos += this.#peek(1) === '&' ? 2 : 1;
        needSeparator = false;
        continue;
      }
      if (c === '|') {
        // `||` after a pipeline; a `|` here has no command before it.
        if (!(needSeparator && this.#peek(1) === '|')) this.#opaque('a syntax error near |');
        this.#pos += this.#peek(1) === '|' ? 2 : 1;
        this.#skipNewlines();
        needSeparator = false;
        continue;
      }
      if (c === ')') {
        this.#pos++;
        if (end === ')') return;
        this.#opaque('a syntax error near )');
        continue;
      }
      if (needSeparator) {
        // A command right after another with no separator (after a subshell or group): a syntax error.
        this.#opaque('a syntax error: a command follows another');
      }
      if (end === '}' && this.#atWord('}')) {
        this.#pos++;
        return;
      }
      this.#parsePipeline();
      needSeparator = true;
      this.#skipBlanks();
      if (this.#peek() === '&' && this.#peek(1) === '&') {
        this.#pos += 2;
        this.#skipNewlines();
        needSeparator = false;
      }
    }
  }

  #skipNewlines(): void {
    for (;;) {
      this.#skipBlanks();
      if (this.#peek() === '\n') {
        this.#pos++;
        this.#readHeredocBodies();
      } else if (this.#peek() === '#') this.#skipComment();
      else return;
    }
  }

  /** True when the input at the cursor is the unquoted word `word`, ended by a metacharacter or the end. */
  #atWord(word: string): boolean {
    if (!this.#src.startsWith(word, this.#pos)) return false;
    const after = this.#src[this.#pos + word.length];
    return after === undefined || METACHARS.has(after);
  }

  #parsePipeline(): void {
    this.#skipBlanks();
    // `!` and `time [-p]` at the start of a pipeline are keywords, not commands.
    for (;;) {
      if (this.#atWord('!')) this.#pos++;
      else if (this.#atWord('time')) {
        this.#pos += 4;
        this.#skipBlanks();
        if (this.#atWord('-p')) this.#pos += 2;
      } else break;
      this.#skipBlanks();
    }
    for (;;) {
      this.#parseCommand();
      this.#skipBlanks();
      if (this.#peek() === '|' && this.#peek(1) !== '|') {
        this.#pos += this.#peek(1) === '&' ? 2 : 1;
        this.#skipNewlines();
        if (this.#atEnd() || ';&|)'.includes(this.#peek()!)) {
          this.#opaque('a pipe with no command after it');
          return;
        }
        continue;
      }
      return;
    }
  }

  #parseCommand(): void {
    this.#skipBlanks();
    const c = this.#peek();
    if (c === '(') {
      if (this.#peek(1) === '(') this.#opaque('an arithmetic command');
      this.#pos++;
      this.#parseList(')');
      this.#compoundRedirects();
      return;
    }
    if (this.#atWord('{')) {
      this.#pos++;
      this.#parseList('}');
      this.#compoundRedirects();
      return;
    }
    if (this.#atWord('}')) {
      this.#opaque('a syntax error near }');
      this.#pos++;
      return;
    }
    this.#parseSimpleCommand();
  }

  /** Redirections after a subshell or group: harmless ones only, else the line is opaque. */
  #compoundRedirects(): void {
    const cmd: SimpleCommand = { assignments: [], words: [], redirects: [] };
    for (;;) {
      this.#skipBlanks();
      if (!this.#parseRedirect(cmd)) break;
    }
    if (cmd.redirects.some((r) => !r.op.startsWith('<<') && !isHarmlessRedirect(r))) this.#opaque('a redirection of a subshell or group');
    // A here-document's body is read after the line: keep it as a command of its own (with no name, no rule allows it).
    if (cmd.redirects.some((r) => r.op.startsWith('<<'))) this.#out.commands.push(cmd);
    this.#skipBlanks();
    const next = this.#peek();
    if (next !== undefined && !METACHARS.has(next) && next !== '#') this.#opaque('a syntax error after a subshell or group');
  }

  #parseSimpleCommand(): void {
    const cmd: SimpleCommand = { assignments: [], words: [], redirects: [] };
    const at = this.#out.commands.length;
    for (;;) {
      this.#skipBlanks();
      if (this.#atEnd()) break;
      const c = this.#peek()!;
      if (c === '\n' || c === ';' || c === '|' || c === ')') break;
      if (c === '&' && this.#peek(1) !== '>') break;
      if (c === '#') {
        // A `#` that starts a word starts a comment.
        this.#skipComment();
        break;
      }
      if (this.#parseRedirect(cmd)) continue;
      if (c === '(') {
        this.#pos++;
        const close = /[ \t]*\)/y;
        close.lastIndex = this.#pos;
        if (cmd.words.length === 1 && close.test(this.#src)) {
          // `name() body`: a function definition; its body is read as the command it is.
          this.#opaque('a function definition');
          this.#pos = close.lastIndex;
          this.#skipNewlines();
          this.#nested(() => this.#parseCommand());
          break;
        }
        this.#opaque('a syntax error near (');
        this.#parseList(')');
        continue;
      }
      const start = this.#pos;
      const word = this.#parseWord();
      if (word === undefined) {
        // Not a word (a metacharacter the loop above does not handle): step over it.
        this.#opaque(`a syntax error near ${this.#src[this.#pos]}`);
        this.#pos++;
        continue;
      }
      if (cmd.words.length === 0) {
        const raw = this.#src.slice(start, this.#pos);
        if (raw.includes('=') && ASSIGNMENT.test(raw)) {
          if (this.#peek() === '(' && raw.endsWith('=')) {
            this.#opaque('an array assignment');
            this.#pos++;
            this.#parseList(')');
          }
          cmd.assignments.push(word);
          continue;
        }
        if (cmd.assignments.length === 0 && cmd.redirects.length === 0 && RESERVED.has(raw)) {
          // A keyword: compound commands are not read for certain. What follows is still read as commands (for deny and ask rules).
          this.#opaque(`the keyword ${raw}`);
          continue;
        }
        // A command name that is one double-quoted variable the caller knows: bash runs its value.
        const variable = raw.startsWith('"$') ? /^"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})"$/.exec(raw) : null;
        const name = variable ? (variable[1] ?? variable[2])! : undefined;
        if (name !== undefined && Object.hasOwn(this.#known, name)) {
          addWord(cmd, { value: this.#known[name]!, text: this.#known[name]! });
          continue;
        }
      }
      addWord(cmd, word);
    }
    // In the order written: before the commands of its own substitutions, which were added while its words were read.
    if (cmd.words.length + cmd.assignments.length + cmd.redirects.length > 0) {
      if (at === this.#out.commands.length) this.#out.commands.push(cmd);
      else this.#out.commands.splice(at, 0, cmd);
    }
    this.#readCode(cmd);
  }

  /** `eval`, `bash -c`, `source` and the like: opaque; a plain-word code argument is read too (for deny and ask rules). */
  #readCode(cmd: SimpleCommand): void {
    const name = cmd.words[0]?.value;
    if (name === undefined) {
      if (cmd.words.length > 0) this.#opaque('a command name bash computes');
      return;
    }
    const isShell = (name.endsWith('sh') || name.endsWith('busybox')) && SHELLS.test(name);
    if (!CODE_RUNNERS.has(name) && !isShell) return;
    this.#opaque(`${name} runs code the line does not show`);
    let code: string | undefined;
    if (name === 'eval') {
      const args = cmd.words.slice(1).map((w) => w.value);
      if (args.every((a) => a !== undefined)) code = args.join(' ');
    } else if (isShell) {
      const c = cmd.words.findIndex((w, i) => i > 0 && w.value !== undefined && /^-[a-z]*c[a-z]*$/.test(w.value));
      if (c !== -1) code = cmd.words[c + 1]?.value;
    } else if (name === 'exec' || name === 'command' || name === 'builtin') {
      const rest = cmd.words.slice(1).filter((w) => !w.value?.startsWith('-'));
      if (rest.length > 0 && rest.every((w) => w.value !== undefined)) code = rest.map((w) => shellQuote(w.value!)).join(' ');
    }
    if (code !== undefined) new Parser(code, this.#out, this.#depth + 1, this.#known, this.#deadline).parseTop();
  }

  /** A redirection at the cursor (with its file descriptor number), added to `cmd`; false when there is none. */
  #parseRedirect(cmd: SimpleCommand): boolean {
    const start = this.#pos;
    let i = this.#pos;
    while (i < this.#src.length && this.#src[i]! >= '0' && this.#src[i]! <= '9') i++;
    const first = this.#src[i];
    // Most words start with none of these: no redirection.
    if (first !== '<' && first !== '>' && first !== '&' && first !== '{') return false;
    let fd: number | undefined = i > start ? Number(this.#src.slice(start, i)) : undefined;
    if (first === '{' && /^\{[A-Za-z_][A-Za-z0-9_]*\}[<>]/.test(this.#src.slice(i, i + 40))) {
      // `{var}>file`: bash allocates a descriptor.
      this.#opaque('a redirection to a named file descriptor');
      i = this.#src.indexOf('}', i) + 1;
      fd = undefined;
    }
    const rest = this.#src.slice(i, i + 3);
    const op = ['&>>', '<<<', '<<-', '&>', '>>', '>|', '<>', '>&', '<&', '<<', '>', '<'].find((o) => rest.startsWith(o));
    if (op === undefined) return false;
    if (op.startsWith('&') && fd !== undefined) return false; // `2&>x` is `2 &>x`: the digits are a word
    // `<(` and `>(`: a process substitution, a word.
    if ((op === '<' || op === '>') && this.#src[i + 1] === '(') return false;
    this.#pos = i + op.length;
    this.#skipBlanks();
    if (op === '<<' || op === '<<-') {
      const start2 = this.#pos;
      const delimiter = this.#parseWord(true);
      if (delimiter === undefined) {
        this.#opaque('a here-document without its word');
        return true;
      }
      const raw = this.#src.slice(start2, this.#pos);
      const redirect: ShellRedirect = { op, fd, target: { value: '', text: '' } };
      cmd.redirects.push(redirect);
      this.#heredocs.push({ delimiter: delimiter.value ?? raw, stripTabs: op === '<<-', quoted: /['"\\]/.test(raw), redirect });
      return true;
    }
    const target = this.#parseWord();
    if (target === undefined) {
      this.#opaque(`a redirection ${op} without its file`);
      return true;
    }
    cmd.redirects.push({ op, fd, target });
    return true;
  }

  /** Reads the bodies of the here-documents of the line just ended (the cursor is after its newline). */
  #readHeredocBodies(): void {
    const pending = this.#heredocs;
    this.#heredocs = [];
    for (const doc of pending) {
      const lines: string[] = [];
      let closed = false;
      while (!this.#atEnd()) {
        const nl = this.#src.indexOf('\n', this.#pos);
        const lineEnd = nl === -1 ? this.#src.length : nl;
        let text = this.#src.slice(this.#pos, lineEnd);
        this.#pos = nl === -1 ? this.#src.length : nl + 1;
        if (doc.stripTabs) text = text.replace(/^\t+/, '');
        if (text === doc.delimiter) {
          closed = true;
          break;
        }
        lines.push(text);
      }
      const body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
      if (!closed) this.#opaque('a here-document without its end');
      if (doc.quoted || !/[$`\\]/.test(body)) doc.redirect.target = { value: body, text: body };
      else {
        // An unquoted body expands like a double-quoted string (without treating `"` specially).
        const sub = new Parser(body, this.#out, this.#depth + 1, this.#known, this.#deadline);
        const w = sub.#expandingText();
        doc.redirect.target = w;
      }
    }
  }

  /** The whole input as the body of an unquoted here-document. */
  #expandingText(): ShellWord {
    if (this.#depth > MAX_DEPTH) {
      this.#opaque('nesting too deep');
      return { value: undefined, text: this.#src };
    }
    const w = newWord();
    while (!this.#atEnd()) this.#doubleQuotedChar(w, true);
    return finish(w);
  }

  /**
   * A word at the cursor, or undefined when the cursor is at a metacharacter. `delimiter`: a
   * here-document's word (no expansions happen in it).
   */
  #parseWord(delimiter = false): ShellWord | undefined {
    if (this.#outOfTime()) return undefined;
    const w = newWord();
    const wordStart = this.#pos;
    for (;;) {
      if (this.#atEnd()) break;
      if (this.#deadline?.step() === true) throw new OutOfTime();
      const c = this.#peek()!;
      if (c === '\\') {
        const next = this.#peek(1);
        if (next === '\n') {
          this.#pos += 2;
          continue;
        }
        if (next === undefined) {
          // Literal at the very end; joined to whatever a runtime might append after the line.
          this.#opaque('a backslash at the end of the line');
          this.#pos++;
          add(w, '\\', true);
          continue;
        }
        this.#pos += 2;
        add(w, next, true);
        continue;
      }
      if (c === "'") {
        const close = this.#src.indexOf("'", this.#pos + 1);
        if (close === -1) {
          this.#opaque('an unterminated quote');
          this.#pos = this.#src.length;
          return finish(w);
        }
        w.anyQuote = true;
        add(w, this.#src.slice(this.#pos + 1, close), true);
        this.#pos = close + 1;
        continue;
      }
      if (c === '"') {
        this.#pos++;
        w.anyQuote = true;
        let closed = false;
        while (!this.#atEnd()) {
          if (this.#peek() === '"') {
            this.#pos++;
            closed = true;
            break;
          }
          if (delimiter) {
            add(w, this.#peek()!, true);
            this.#pos++;
          } else this.#doubleQuotedChar(w, false);
        }
        if (!closed) {
          this.#opaque('an unterminated quote');
          return finish(w);
        }
        continue;
      }
      if (c === '$' && !delimiter) {
        const next = this.#peek(1);
        if (next === "'") {
          // ANSI-C quoting: `\'` does not end it. Its value (escapes) is not worked out here.
          let j = this.#pos + 2;
          while (j < this.#src.length && this.#src[j] !== "'") j += this.#src[j] === '\\' ? 2 : 1;
          if (j >= this.#src.length) {
            this.#opaque('an unterminated quote');
            this.#pos = this.#src.length;
            return finish(w);
          }
          expansion(w, this.#src.slice(this.#pos, j + 1));
          w.anyQuote = true;
          this.#pos = j + 1;
          continue;
        }
        if (next === '"') {
          // Locale translation: read like a double-quoted string, its value not worked out.
          const start = this.#pos;
          this.#pos++;
          const inner = newWord();
          this.#pos++;
          let closed = false;
          while (!this.#atEnd()) {
            if (this.#peek() === '"') {
              this.#pos++;
              closed = true;
              break;
            }
            this.#doubleQuotedChar(inner, false);
          }
          if (!closed) this.#opaque('an unterminated quote');
          expansion(w, this.#src.slice(start, this.#pos));
          w.anyQuote = true;
          continue;
        }
        if (this.#dollar(w)) continue;
      }
      if (c === '`' && !delimiter) {
        this.#backtick(w);
        continue;
      }
      if ((c === '<' || c === '>') && this.#peek(1) === '(' && !delimiter) {
        // Process substitution.
        const start = this.#pos;
        this.#pos += 2;
        this.#sub(')');
        expansion(w, this.#src.slice(start, this.#pos));
        continue;
      }
      if (METACHARS.has(c)) break;
      // A run of characters with no meaning here is added at once.
      PLAIN_RUN.lastIndex = this.#pos;
      const run = PLAIN_RUN.exec(this.#src);
      const end = run === null ? this.#pos + 1 : PLAIN_RUN.lastIndex;
      add(w, this.#src.slice(this.#pos, end), false);
      this.#pos = end;
    }
    if (this.#pos === wordStart) return undefined;
    if (!delimiter) markExpansions(w, this.#deadline);
    return finish(w);
  }

  /** One character (or escape, or expansion) inside double quotes (`heredoc`: an unquoted here-document body, where `"` is plain). */
  #doubleQuotedChar(w: WordBuilder, heredoc: boolean): void {
    const c = this.#peek()!;
    if (c === '\\') {
      const next = this.#peek(1);
      if (next === '\n') {
        this.#pos += 2;
        return;
      }
      if (next !== undefined && ('$`\\'.includes(next) || (next === '"' && !heredoc))) {
        add(w, next, true);
        this.#pos += 2;
        return;
      }
      add(w, '\\', true);
      this.#pos++;
      return;
    }
    if (c === '$' && this.#dollar(w)) return;
    if (c === '`') {
      this.#backtick(w);
      return;
    }
    add(w, c, true);
    this.#pos++;
  }

  /** A `$` expansion at the cursor (false: a plain `$`). */
  #dollar(w: WordBuilder): boolean {
    const start = this.#pos;
    const next = this.#peek(1);
    if (next === '(') {
      this.#pos += 2;
      if (this.#peek() === '(') this.#opaque('arithmetic expansion');
      this.#sub(')');
    } else if (next === '{') {
      this.#pos += 2;
      this.#braceExpansionBody();
    } else if (next !== undefined && /[A-Za-z_]/.test(next)) {
      this.#pos++;
      while (!this.#atEnd() && /[A-Za-z0-9_]/.test(this.#peek()!)) this.#pos++;
    } else if (next !== undefined && /[0-9@*#?$!-]/.test(next)) {
      this.#pos += 2;
    } else return false;
    expansion(w, this.#src.slice(start, this.#pos));
    return true;
  }

  /** `${…}` after its `${`: up to its `}`, reading the substitutions inside it. */
  #braceExpansionBody(): void {
    let depth = 1;
    const scratch = newWord();
    while (!this.#atEnd()) {
      const c = this.#peek()!;
      if (c === '}') {
        this.#pos++;
        if (--depth === 0) return;
        continue;
      }
      if (c === '\\') {
        this.#pos += 2;
        continue;
      }
      if (c === "'") {
        const close = this.#src.indexOf("'", this.#pos + 1);
        if (close === -1) break;
        this.#pos = close + 1;
        continue;
      }
      if (c === '"') {
        this.#pos++;
        while (!this.#atEnd() && this.#peek() !== '"') this.#doubleQuotedChar(scratch, false);
        this.#pos++;
        continue;
      }
      if (c === '$' && this.#peek(1) === '{') {
        this.#pos += 2;
        depth++;
        continue;
      }
      if (c === '$' && this.#dollar(scratch)) continue;
      if (c === '`') {
        this.#backtick(scratch);
        continue;
      }
      this.#pos++;
    }
    this.#opaque('an unterminated ${');
  }

  /** A backtick substitution at the cursor: its text (with `\\`, `` \` `` and `\$` unescaped) read as a line of its own. */
  #backtick(w: WordBuilder): void {
    const start = this.#pos;
    let code = '';
    let j = this.#pos + 1;
    for (; j < this.#src.length && this.#src[j] !== '`'; j++) {
      if (this.#src[j] === '\\' && j + 1 < this.#src.length) {
        const next = this.#src[j + 1]!;
        code += '$`\\'.includes(next) ? next : `\\${next}`;
        j++;
      } else code += this.#src[j];
    }
    if (j >= this.#src.length) {
      this.#opaque('an unterminated backtick');
      this.#pos = this.#src.length;
    } else this.#pos = j + 1;
    new Parser(code, this.#out, this.#depth + 1, this.#known, this.#deadline).parseTop();
    expansion(w, this.#src.slice(start, this.#pos));
  }

  /** A substitution's commands, after its opening `$(` or `<(`, up to its `)`. */
  #sub(end: ')'): void {
    if (this.#depth + 1 > MAX_DEPTH) {
      this.#opaque('nesting too deep');
      this.#pos = this.#src.length;
      return;
    }
    // The same input, one level deeper: here-documents inside end inside.
    const inner = new Parser(this.#src, this.#out, this.#depth + 1, this.#known, this.#deadline);
    inner.#pos = this.#pos;
    inner.#parseList(end);
    // A here-document started in the substitution whose body would follow it on a later line.
    if (inner.#heredocs.length > 0) this.#opaque('a here-document left open by a substitution');
    this.#pos = inner.#pos;
  }
}

/** Adds a word to a command (the first as an array of one: most commands have few words, and a long line many commands). */
function addWord(cmd: SimpleCommand, word: ShellWord): void {
  if (cmd.words.length === 0) cmd.words = [word];
  else cmd.words.push(word);
}

function newWord(): WordBuilder {
  return { value: '', text: '', quoted: undefined, dynamic: false, anyQuote: false, started: false };
}

function add(w: WordBuilder, chars: string, quoted: boolean): void {
  w.value += chars;
  w.text += chars;
  if (quoted || w.quoted !== undefined) {
    w.quoted ??= new Array<boolean>(w.value.length - chars.length).fill(false);
    for (let i = 0; i < chars.length; i++) w.quoted.push(quoted);
  }
  w.started = true;
}

/** An expansion: the word's value is what bash computes; its text keeps the expansion as written. */
function expansion(w: WordBuilder, source: string): void {
  w.dynamic = true;
  w.text += source;
  w.started = true;
}

function finish(w: WordBuilder): ShellWord {
  return { value: w.dynamic ? undefined : w.value, text: w.text };
}

/** Marks a word whose unquoted characters bash expands: globs, braces, a leading tilde (or one after `=` or `:`). */
function markExpansions(w: WordBuilder, deadline: Deadline | undefined): void {
  if (w.dynamic) return;
  const v = w.value;
  const quoted = w.quoted;
  for (let i = 0; i < v.length; i++) {
    if (i % CLOCK_EVERY === CLOCK_EVERY - 1) deadline?.check();
    if (quoted?.[i] === true) continue;
    const c = v[i]!;
    if (c === '*' || c === '?' || c === '[') w.dynamic = true;
    if (c === '~' && (i === 0 || ((v[i - 1] === '=' || v[i - 1] === ':') && quoted?.[i - 1] !== true))) w.dynamic = true;
  }
  if (!w.dynamic && v.includes('{') && v.includes('}') && hasBraceExpansion(v, quoted, deadline)) w.dynamic = true;
}

/** A brace sequence's inside (`1..5`, `a..e`, `10..1..-2`), matched where it starts and must end. */
const BRACE_SEQUENCE = /(?:-?\d+|[A-Za-z])\.\.(?:-?\d+|[A-Za-z])(?:\.\.-?\d+)?/y;

/**
 * True when bash would brace-expand the word: an unquoted `{…}` holding an unquoted top-level
 * comma, or a sequence `a..b`. One pass with a stack of the open braces, so a word of unmatched
 * `{` costs its length, not its length squared.
 */
function hasBraceExpansion(v: string, quoted: readonly boolean[] | undefined, deadline: Deadline | undefined): boolean {
  // Each open brace: where it is, whether it may open an expansion (`${` does not) and whether it holds a top-level comma.
  const open: { at: number; opens: boolean; comma: boolean }[] = [];
  for (let i = 0; i < v.length; i++) {
    if (i % CLOCK_EVERY === CLOCK_EVERY - 1) deadline?.check();
    if (quoted?.[i] === true) continue;
    const c = v[i];
    if (c === '{') open.push({ at: i, opens: !(i > 0 && v[i - 1] === '$' && quoted?.[i - 1] !== true), comma: false });
    else if (c === ',' && open.length > 0) open[open.length - 1]!.comma = true;
    else if (c === '}') {
      const brace = open.pop();
      if (brace === undefined || !brace.opens) continue;
      if (brace.comma) return true;
      BRACE_SEQUENCE.lastIndex = brace.at + 1;
      if (BRACE_SEQUENCE.test(v) && BRACE_SEQUENCE.lastIndex === i) return true;
    }
  }
  return false;
}

/**
 * A redirection that neither reads nor writes a file: descriptor duplication and closing
 * (`2>&1`, `>&2`, `<&-`), `/dev/null`, standard output and error, and here-documents and
 * here-strings whose text bash does not expand.
 */
export function isHarmlessRedirect(r: ShellRedirect): boolean {
  const target = r.target.value;
  if (target === undefined) return false;
  if (r.op === '<<' || r.op === '<<-' || r.op === '<<<') return true;
  if ((r.op === '>&' || r.op === '<&') && /^(?:\d+|-)$/.test(target)) return true;
  if (target === '/dev/null') return true;
  if (r.op !== '<' && (target === '/dev/stdout' || target === '/dev/stderr')) return true;
  return false;
}
