/**
 * The globs of permission rules (docs/approvals.md): `*` any run of characters (on a path: within
 * one name), `**` any run including `/` (paths), `?` one character (on a path: not `/`), `\` takes
 * the next character literally (`\*` is a star), and in a command `…` stands for one masked secret:
 * a run of the characters a secret is made of (letters, digits, `._~+/=%-`; never a space, a quote,
 * `@`, `:` or a shell operator), which is what a masked request showed (`Bearer sk-…wxyz`). The
 * whole text must match. Matching takes time proportional to the text's length times the
 * pattern's, whatever either holds.
 */
import type { Deadline } from './deadline.ts';

/** The mask character of a masked secret (config/secrets.ts). */
export const MASK = '\u2026';

const SECRET_CHAR = /[A-Za-z0-9._~+/=%-]/;

type Token = { kind: 'char'; char: string } | { kind: 'one' } | { kind: 'star' } | { kind: 'globstar' } | { kind: 'secret' };

/** Patterns read before, per mode (a request checks each rule against many commands and paths): looked up by the pattern itself, whose hash the string keeps. */
const tokenCache = { text: new Map<string, Token[]>(), path: new Map<string, Token[]>() };
const TOKEN_CACHE_SIZE = 1_000;

function tokenize(pattern: string, mode: 'text' | 'path'): Token[] {
  const cache = tokenCache[mode];
  const cached = cache.get(pattern);
  if (cached) return cached;
  const tokens = readPattern(pattern, mode);
  if (cache.size >= TOKEN_CACHE_SIZE) cache.clear();
  cache.set(pattern, tokens);
  return tokens;
}

function readPattern(pattern: string, mode: 'text' | 'path'): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) tokens.push({ kind: 'char', char: pattern[++i]! });
    else if (c === '*') {
      if (mode === 'path' && pattern[i + 1] === '*') {
        i++;
        tokens.push({ kind: 'globstar' });
      } else tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'one' });
    else if (c === MASK && mode === 'text') tokens.push({ kind: 'secret' });
    else tokens.push({ kind: 'char', char: c });
  }
  return tokens;
}

/** `deadline`: a long text's match reads the clock as it goes (deadline.ts) and throws OutOfTime past it. */
export function globMatch(pattern: string, text: string, mode: 'text' | 'path', deadline?: Deadline): boolean {
  const tokens = tokenize(pattern, mode);
  // The characters before the first wildcard must start the text (most patterns fail here, at once).
  let literal = 0;
  while (literal < tokens.length && tokens[literal]!.kind === 'char') {
    if (text[literal] !== (tokens[literal] as { char: string }).char) return false;
    literal++;
  }
  if (literal === tokens.length) return literal === text.length;
  // A prefix and one trailing wildcard (`ls *`, `src/**`: most rules): the rest of the text, read once.
  if (literal === tokens.length - 1) {
    const last = tokens[literal]!.kind;
    if (last === 'globstar' || (last === 'star' && mode === 'text')) return true;
    if (last === 'star') return !text.includes('/', literal);
  }
  const n = text.length;
  // reach[i]: the pattern read so far can match text[0..i).
  let reach = new Uint8Array(n + 1);
  reach[literal] = 1;
  for (const token of tokens.slice(literal)) {
    const next = new Uint8Array(n + 1);
    let any = false;
    const free = (c: string): boolean => token.kind === 'globstar' || mode === 'text' || c !== '/';
    for (let i = 0; i <= n; i++) {
      if ((i & 4095) === 4095) deadline?.check();
      switch (token.kind) {
        case 'char':
          if (i > 0 && reach[i - 1] && text[i - 1] === token.char) next[i] = 1;
          break;
        case 'one':
          if (i > 0 && reach[i - 1] && free(text[i - 1]!)) next[i] = 1;
          break;
        case 'star':
        case 'globstar':
          if (reach[i] || (i > 0 && next[i - 1] && free(text[i - 1]!))) next[i] = 1;
          break;
        case 'secret':
          if (i > 0 && (reach[i - 1] || next[i - 1]) && SECRET_CHAR.test(text[i - 1]!)) next[i] = 1;
          break;
      }
      if (next[i]) any = true;
    }
    if (!any) return false;
    reach = next;
  }
  return reach[n] === 1;
}

/** True when the pattern holds `*` or `?` (a mask `…` stands for one secret only). */
export function hasStar(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') i++;
    else if (c === '*' || c === '?') return true;
  }
  return false;
}

/** `text` as a pattern that matches exactly it; with `keepMasks`, a mask `…` still stands for its secret. */
export function escapeGlob(text: string, keepMasks = false): string {
  return text.replace(keepMasks ? /[\\*?]/g : /[\\*?\u2026]/g, '\\$&');
}
