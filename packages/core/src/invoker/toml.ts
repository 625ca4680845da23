/**
 * A TOML reader for the agent CLIs' own config files (Codex's `config.toml`), which TinyAGI reads
 * but never writes. It reads the whole TOML 1.0 grammar (tables, arrays of tables, dotted and
 * quoted keys, the four string forms, integers, floats, booleans, arrays, inline tables; dates
 * and times stay strings) and TOML 1.1's relaxed inline tables, so any file the CLI accepts can
 * be read. Tables are null-prototype objects: a key such as `__proto__` is a plain key. It is not
 * a validator (a few redefinitions TOML forbids are accepted; the CLI refuses those itself).
 * Invalid input throws a TomlError that names the line.
 */
export class TomlError extends Error {}

export type TomlTable = Record<string, unknown>;

export function parseToml(text: string): TomlTable {
  return new Reader(text).document();
}

function newTable(): TomlTable {
  return Object.create(null) as TomlTable;
}

function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const BARE_KEY = /[A-Za-z0-9_-]/;
const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', e: '\u001b', '"': '"', '\\': '\\' };
const DATE_TIME = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$|^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const DECIMAL = /^[+-]?(0|[1-9](_?\d)*)$/;
const PREFIXED = /^0(x[0-9A-Fa-f](_?[0-9A-Fa-f])*|o[0-7](_?[0-7])*|b[01](_?[01])*)$/;
const FLOAT = /^[+-]?(0|[1-9](_?\d)*)(\.\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?$/;
const SPECIAL_FLOAT = /^[+-]?(inf|nan)$/;

class Reader {
  readonly #src: string;
  #pos = 0;

  constructor(src: string) {
    this.#src = src;
  }

  document(): TomlTable {
    const root = newTable();
    let current = root;
    for (;;) {
      this.#skipBlank();
      if (this.#pos >= this.#src.length) return root;
      if (this.#src.startsWith('[[', this.#pos)) {
        this.#pos += 2;
        const keys = this.#key();
        this.#expect(']]');
        current = this.#appendArrayTable(root, keys);
      } else if (this.#peek() === '[') {
        this.#pos++;
        const keys = this.#key();
        this.#expect(']');
        current = this.#descend(root, keys);
      } else {
        this.#keyValue(current);
      }
      this.#endOfLine();
    }
  }

  #fail(message: string): never {
    const line = this.#src.slice(0, this.#pos).split('\n').length;
    throw new TomlError(`line ${line}: ${message}`);
  }

  #peek(): string | undefined {
    return this.#src[this.#pos];
  }

  #expect(text: string): void {
    this.#skipSpaces();
    if (!this.#src.startsWith(text, this.#pos)) this.#fail(`expected "${text}"`);
    this.#pos += text.length;
  }

  #skipSpaces(): void {
    while (this.#peek() === ' ' || this.#peek() === '\t') this.#pos++;
  }

  #skipComment(): void {
    if (this.#peek() !== '#') return;
    while (this.#pos < this.#src.length && this.#peek() !== '\n') this.#pos++;
  }

  #newline(): boolean {
    if (this.#peek() === '\n') this.#pos++;
    else if (this.#src.startsWith('\r\n', this.#pos)) this.#pos += 2;
    else return false;
    return true;
  }

  /** Spaces, comments and newlines. */
  #skipBlank(): void {
    do {
      this.#skipSpaces();
      this.#skipComment();
    } while (this.#newline());
  }

  #endOfLine(): void {
    this.#skipSpaces();
    this.#skipComment();
    if (this.#pos < this.#src.length && !this.#newline()) this.#fail('expected the end of the line');
  }

  /** A dotted key: `a`, `"a b".c`, `'x'.y`. */
  #key(): string[] {
    const keys: string[] = [];
    for (;;) {
      this.#skipSpaces();
      keys.push(this.#simpleKey());
      this.#skipSpaces();
      if (this.#peek() !== '.') return keys;
      this.#pos++;
    }
  }

  #simpleKey(): string {
    const c = this.#peek();
    if (c === '"') return this.#basicString();
    if (c === "'") return this.#literalString();
    const start = this.#pos;
    while (this.#pos < this.#src.length && BARE_KEY.test(this.#src[this.#pos]!)) this.#pos++;
    if (this.#pos === start) this.#fail('expected a key');
    return this.#src.slice(start, this.#pos);
  }

  #keyValue(table: TomlTable): void {
    const keys = this.#key();
    this.#expect('=');
    this.#skipSpaces();
    const value = this.#value();
    const parent = this.#descend(table, keys.slice(0, -1));
    const last = keys.at(-1)!;
    if (Object.hasOwn(parent, last)) this.#fail(`"${keys.join('.')}" is defined twice`);
    parent[last] = value;
  }

  /** The table at `keys` below `table`, created where missing; an array of tables descends into its last table. */
  #descend(table: TomlTable, keys: string[]): TomlTable {
    let current = table;
    for (const key of keys) {
      if (!Object.hasOwn(current, key)) current[key] = newTable();
      let next = current[key];
      if (Array.isArray(next)) next = next.at(-1);
      if (!isTable(next)) this.#fail(`"${key}" is not a table`);
      current = next;
    }
    return current;
  }

  #appendArrayTable(root: TomlTable, keys: string[]): TomlTable {
    const parent = this.#descend(root, keys.slice(0, -1));
    const last = keys.at(-1)!;
    if (!Object.hasOwn(parent, last)) parent[last] = [];
    const list = parent[last];
    if (!Array.isArray(list)) this.#fail(`"${keys.join('.')}" is not an array of tables`);
    const table = newTable();
    list.push(table);
    return table;
  }

  #value(): unknown {
    const c = this.#peek();
    if (c === '"') return this.#src.startsWith('"""', this.#pos) ? this.#multilineString('"""') : this.#basicString();
    if (c === "'") return this.#src.startsWith("'''", this.#pos) ? this.#multilineString("'''") : this.#literalString();
    if (c === '[') return this.#array();
    if (c === '{') return this.#inlineTable();
    return this.#scalar();
  }

  #basicString(): string {
    this.#pos++;
    let out = '';
    for (;;) {
      const c = this.#peek();
      if (c === undefined || c === '\n') this.#fail('unterminated string');
      this.#pos++;
      if (c === '"') return out;
      out += c === '\\' ? this.#escape() : c;
    }
  }

  #escape(): string {
    const c = this.#peek();
    this.#pos++;
    if (c !== undefined && Object.hasOwn(ESCAPES, c)) return ESCAPES[c]!;
    const digits = c === 'u' ? 4 : c === 'U' ? 8 : c === 'x' ? 2 : 0;
    const hex = this.#src.slice(this.#pos, this.#pos + digits);
    if (digits === 0 || !/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== digits) this.#fail(`invalid escape "\\${c ?? ''}"`);
    this.#pos += digits;
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.#fail(`invalid code point \\${c}${hex}`);
    return String.fromCodePoint(code);
  }

  #literalString(): string {
    const start = ++this.#pos;
    for (;;) {
      const c = this.#peek();
      if (c === undefined || c === '\n') this.#fail('unterminated string');
      this.#pos++;
      if (c === "'") return this.#src.slice(start, this.#pos - 1);
    }
  }

  /** `"""…"""` (escapes, line-ending backslashes) or `'''…'''` (literal); a newline right after the opening is dropped. */
  #multilineString(delimiter: '"""' | "'''"): string {
    const basic = delimiter === '"""';
    const quote = delimiter[0]!;
    this.#pos += 3;
    this.#newline();
    let out = '';
    for (;;) {
      if (this.#pos >= this.#src.length) this.#fail('unterminated string');
      if (this.#src.startsWith(delimiter, this.#pos)) {
        // Up to two quotes right before the closing delimiter belong to the content.
        let run = 3;
        while (run < 5 && this.#src[this.#pos + run] === quote) run++;
        this.#pos += run;
        return out + quote.repeat(run - 3);
      }
      const c = this.#src[this.#pos]!;
      this.#pos++;
      if (basic && c === '\\') {
        const rest = /^[ \t]*\r?\n/.exec(this.#src.slice(this.#pos));
        if (rest) {
          // A line-ending backslash trims the newline and the whitespace after it.
          this.#pos += rest[0].length;
          while (/[ \t\r\n]/.test(this.#peek() ?? '')) this.#pos++;
        } else {
          out += this.#escape();
        }
      } else {
        out += c;
      }
    }
  }

  #array(): unknown[] {
    this.#pos++;
    const items: unknown[] = [];
    for (;;) {
      this.#skipBlank();
      if (this.#peek() === ']') {
        this.#pos++;
        return items;
      }
      items.push(this.#value());
      this.#skipBlank();
      if (this.#peek() === ',') this.#pos++;
      else if (this.#peek() !== ']') this.#fail('expected "," or "]" in an array');
    }
  }

  #inlineTable(): TomlTable {
    this.#pos++;
    const table = newTable();
    for (;;) {
      this.#skipBlank();
      if (this.#peek() === '}') {
        this.#pos++;
        return table;
      }
      this.#keyValue(table);
      this.#skipBlank();
      if (this.#peek() === ',') this.#pos++;
      else if (this.#peek() !== '}') this.#fail('expected "," or "}" in an inline table');
    }
  }

  #scalar(): unknown {
    const token = /^[0-9A-Za-z_+\-.:]+/.exec(this.#src.slice(this.#pos))?.[0];
    if (token === undefined) this.#fail('expected a value');
    this.#pos += token.length;
    if (token === 'true') return true;
    if (token === 'false') return false;
    // A date and a time may be separated by a space: `1979-05-27 07:32:00Z`.
    let text = token;
    const time = /^ \d{2}:[0-9:.Zz+-]+/.exec(this.#src.slice(this.#pos));
    if (/^\d{4}-\d{2}-\d{2}$/.test(token) && time) {
      text += time[0];
      this.#pos += time[0].length;
    }
    if (DATE_TIME.test(text)) return text;
    if (DECIMAL.test(text)) return Number(text.replaceAll('_', ''));
    if (PREFIXED.test(text)) return Number.parseInt(text.slice(2).replaceAll('_', ''), { x: 16, o: 8, b: 2 }[text[1] as 'x' | 'o' | 'b']);
    if (FLOAT.test(text)) return Number(text.replaceAll('_', ''));
    if (SPECIAL_FLOAT.test(text)) return text.endsWith('nan') ? Number.NaN : text.startsWith('-') ? -Infinity : Infinity;
    return this.#fail(`invalid value "${text}"`);
  }
}
