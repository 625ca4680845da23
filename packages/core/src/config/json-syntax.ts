/**
 * Locating the first syntax error in a JSON text, with a plain-words reason.
 *
 * Why not JSON.parse's message: V8 omits the position for some errors ("Unexpected token … is
 * not valid JSON") and quotes a slice of the input, which for settings.json may be an API key.
 * This scanner runs only after JSON.parse has failed, so its speed does not matter.
 */

export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  reason: string;
}

class ScanError extends Error {
  readonly offset: number;
  readonly reason: string;
  constructor(offset: number, reason: string) {
    super(reason);
    this.offset = offset;
    this.reason = reason;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The scanner recurses per level; deeper input is reported here instead of overflowing the stack. */
const MAX_SCAN_DEPTH = 512;

function describe(char: string | undefined): string {
  if (char === undefined) return 'the end of the file';
  if (char === "'") return `"'" (JSON strings and names need double quotes)`;
  if (char === '/') return '"/" (comments are not allowed in JSON)';
  return JSON.stringify(char);
}

function scan(text: string): void {
  let i = 0;
  let depth = 0;
  const fail = (reason: string): never => {
    throw new ScanError(i, reason);
  };
  const skipWhitespace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const string = (): void => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('unterminated string');
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('invalid escape sequence in string');
      } else if ((c as string).charCodeAt(0) < 0x20) {
        fail('raw control character in string (write a line break as \\n, a tab as \\t)');
      } else i++;
    }
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe(text[i])} (did you mean ${word}?)`);
  };
  const nested = (parse: () => void): void => {
    if (++depth > MAX_SCAN_DEPTH) fail(`nested more than ${MAX_SCAN_DEPTH} levels deep (settings need about 8)`);
    parse();
    depth--;
  };
  const value = (): void => {
    skipWhitespace();
    const c = text[i];
    if (c === '{') nested(object);
    else if (c === '[') nested(array);
    else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail('invalid number');
      i = NUMBER.lastIndex;
    } else fail(c === undefined ? 'unexpected end of file: a value is missing' : `unexpected ${describe(c)} where a value should be`);
  };
  const object = (): void => {
    i++;
    skipWhitespace();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      skipWhitespace();
      const c = text[i];
      if (c !== '"') fail(c === '}' ? 'trailing comma before "}"' : `expected a double-quoted property name, found ${describe(c)}`);
      string();
      skipWhitespace();
      if (text[i] !== ':') fail(`expected ":" after the property name, found ${describe(text[i])}`);
      i++;
      value();
      skipWhitespace();
      if (text[i] === ',') i++;
      else if (text[i] === '}') {
        i++;
        return;
      } else fail(`expected "," or "}" after a property value, found ${describe(text[i])} (a missing comma?)`);
    }
  };
  const array = (): void => {
    i++;
    skipWhitespace();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (;;) {
      skipWhitespace();
      if (text[i] === ']') fail('trailing comma before "]"');
      value();
      skipWhitespace();
      if (text[i] === ',') i++;
      else if (text[i] === ']') {
        i++;
        return;
      } else fail(`expected "," or "]" after an array element, found ${describe(text[i])} (a missing comma?)`);
    }
  };

  value();
  skipWhitespace();
  if (i < text.length) fail(`unexpected ${describe(text[i])} after the end of the JSON value`);
}

/** 1-based line and column of a UTF-16 offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - lastBreak };
}

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    scan(text);
    return undefined;
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    return { offset: err.offset, reason: err.reason, ...lineAndColumn(text, err.offset) };
  }
}
