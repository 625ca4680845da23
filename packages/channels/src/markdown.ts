/**
 * The Markdown agents write, parsed into the few things chat platforms render: fenced code
 * blocks, inline code, bold, italic, strikethrough, links and headings (shown bold). Everything
 * else is text, kept as written. The rules follow CommonMark where it matters for chat text: an
 * underscore inside a word (`snake_case`, `a_b.py`) never starts or ends emphasis, a `*` or `_`
 * followed by a space opens nothing (list bullets, `2 * 3`), code spans take their content
 * literally, a backslash escapes punctuation, and an opener without its closer is text.
 *
 * Every node carries its source range, so the splitter (chunk.ts) can cut between them and never
 * inside one.
 */

export type MdNode =
  | { kind: 'text'; text: string; from: number; to: number }
  | { kind: 'code'; text: string; from: number; to: number }
  | { kind: 'pre'; text: string; lang: string; from: number; to: number }
  | { kind: 'bold' | 'italic' | 'strike'; children: MdNode[]; from: number; to: number }
  | { kind: 'link'; url: string; children: MdNode[]; from: number; to: number };

const FENCE = /^(```|~~~)([^\n`]*)\n([\s\S]*?)(?:\n\1[ \t]*(?=\n|$)|$(?![\s\S]))/gm;
const HEADING = /^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm;
const PUNCTUATION = /[!-/:-@[-`{-~]/;
const WORD = /[\p{L}\p{N}]/u;

/** Parses a whole reply: blocks (fences, headings), then inline Markdown within them. */
export function parseMarkdown(src: string): MdNode[] {
  const nodes: MdNode[] = [];
  let at = 0;
  for (const m of src.matchAll(FENCE)) {
    if (m.index > at) nodes.push(...parseHeadings(src, at, m.index));
    nodes.push({ kind: 'pre', lang: m[2]!.trim(), text: m[3]!, from: m.index, to: m.index + m[0].length });
    at = m.index + m[0].length;
  }
  if (at < src.length) nodes.push(...parseHeadings(src, at, src.length));
  return nodes;
}

function parseHeadings(src: string, from: number, to: number): MdNode[] {
  const part = src.slice(from, to);
  const nodes: MdNode[] = [];
  let at = 0;
  for (const m of part.matchAll(HEADING)) {
    if (m.index > at) nodes.push(...parseInline(src, from + at, from + m.index));
    const start = from + m.index + m[0].indexOf(m[1]!);
    nodes.push({ kind: 'bold', children: parseInline(src, start, start + m[1]!.length), from: from + m.index, to: from + m.index + m[0].length });
    at = m.index + m[0].length;
  }
  if (at < part.length) nodes.push(...parseInline(src, from + at, to));
  return nodes;
}

/** Inline Markdown of src[from, to). */
export function parseInline(src: string, from: number, to: number): MdNode[] {
  const nodes: MdNode[] = [];
  let text = '';
  let textFrom = from;
  const flush = (end: number): void => {
    if (text !== '') nodes.push({ kind: 'text', text, from: textFrom, to: end });
    text = '';
  };
  let i = from;
  while (i < to) {
    const c = src[i]!;
    const found = c === '\\' ? undefined : inlineAt(src, i, to);
    if (found !== undefined) {
      flush(i);
      nodes.push(found);
      i = found.to;
      textFrom = i;
      continue;
    }
    if (c === '\\' && i + 1 < to && PUNCTUATION.test(src[i + 1]!)) {
      text += src[i + 1]!;
      i += 2;
      continue;
    }
    // A delimiter run that opened nothing is text as a whole (`***`, `__init__`).
    const run = /^(\*+|_+|~+|`+)/.exec(src.slice(i, Math.min(to, i + 64)))?.[0] ?? c;
    text += run;
    i += run.length;
  }
  flush(to);
  return nodes;
}

/** The inline node starting at src[i], if one does. */
function inlineAt(src: string, i: number, to: number): MdNode | undefined {
  const c = src[i]!;
  if (c === '`') {
    const ticks = /^`+/.exec(src.slice(i, to))![0];
    const close = findCodeClose(src, i + ticks.length, to, ticks);
    if (close === -1) return undefined;
    const raw = src.slice(i + ticks.length, close);
    const text = /^ .* $/s.test(raw) && raw.trim() !== '' ? raw.slice(1, -1) : raw;
    return { kind: 'code', text, from: i, to: close + ticks.length };
  }
  if (c === '[') {
    const m = /^\[((?:\\.|[^\]\\\n])+)\]\((https?:\/\/[^\s)]+|mailto:[^\s)]+|tg:\/\/[^\s)]+)\)/.exec(src.slice(i, to));
    if (m === null) return undefined;
    const inner = i + 1;
    return { kind: 'link', url: m[2]!, children: parseInline(src, inner, inner + m[1]!.length), from: i, to: i + m[0].length };
  }
  if (c === '*' || c === '_' || c === '~') {
    for (const marker of c === '~' ? ['~~'] : [c + c, c]) {
      if (!src.startsWith(marker, i)) continue;
      const close = findEmphasisClose(src, i, to, marker);
      if (close === -1) continue;
      const kind = marker === '~~' ? 'strike' : marker.length === 2 ? 'bold' : 'italic';
      return { kind, children: parseInline(src, i + marker.length, close), from: i, to: close + marker.length };
    }
  }
  return undefined;
}

function findCodeClose(src: string, from: number, to: number, ticks: string): number {
  for (let at = src.indexOf(ticks, from); at !== -1 && at < to; at = src.indexOf(ticks, at + 1)) {
    // Exactly as many backticks, not part of a longer run; a code span does not cross a blank line.
    if (src.slice(from, at).includes('\n\n')) return -1;
    if (src[at + ticks.length] !== '`' && src[at - 1] !== '`') return at;
  }
  return -1;
}

/**
 * Where `marker` opened at `open` closes, or -1. It opens only when followed by a non-space
 * (and, for `_`, not preceded by a letter or digit) and not as part of a longer run; it closes
 * after a non-space (for `_`, not followed by a letter or digit), within the paragraph.
 */
function findEmphasisClose(src: string, open: number, to: number, marker: string): number {
  const ch = marker[0]!;
  const before = src[open - 1] ?? ' ';
  const after = src[open + marker.length] ?? ' ';
  if (/\s/.test(after) || after === ch) return -1;
  if (before === ch) return -1;
  if (ch === '_' && WORD.test(before)) return -1;
  for (let at = src.indexOf(marker, open + marker.length); at !== -1 && at < to; at = src.indexOf(marker, at + 1)) {
    if (src.slice(open, at).includes('\n\n')) return -1;
    const prev = src[at - 1]!;
    const next = src[at + marker.length] ?? ' ';
    if (at + marker.length > to) return -1;
    if (/\s/.test(prev) || next === ch || prev === ch) continue;
    // `__init__.py`, `_x_y`: an underscore closes only before a space or the end of a clause.
    if (ch === '_' && !/^(?:[\s,;:!?)\]}'"]|\.(?:\s|$)|$)/.test(src.slice(at + marker.length, at + marker.length + 2))) continue;
    // Skip over a code span: its backticks are literal inside it.
    const tick = src.lastIndexOf('`', at);
    if (tick > open && findCodeClose(src, tick + 1, to, '`') > at) continue;
    return at;
  }
  return -1;
}

/** Source ranges of the inline nodes (code, emphasis, links) a cut must not fall inside. */
export function inlineSpans(src: string): Array<[number, number]> {
  return parseMarkdown(src)
    .filter((n) => n.kind !== 'text' && n.kind !== 'pre')
    .map((n) => [n.from, n.to] as [number, number]);
}
