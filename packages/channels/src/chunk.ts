/**
 * Splits a reply into messages of at most `limit` characters (UTF-16 code units, as the platforms
 * count): on a paragraph break if one is in the second half of the window, else a line break,
 * else a space, else a hard cut on a grapheme boundary (Intl.Segmenter: never inside a surrogate
 * pair, a ZWJ emoji sequence or a letter with its combining marks). A cut never falls inside an
 * inline Markdown span (code, bold, a link: markdown.ts) when one can be avoided. A fenced code
 * block (```) cut in two is closed at the end of one chunk and reopened (with its language) at
 * the start of the next, so every chunk renders on its own. Nothing is ever dropped: joining the
 * chunks' text (without the added fences) gives back the input, up to the whitespace at cuts.
 */

import { inlineSpans } from './markdown.ts';

const FENCE = /^```([^\n`]*)$/gm;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The fence still open at the end of `text` (its info string), or undefined. */
function openFence(text: string): string | undefined {
  let open: string | undefined;
  for (const match of text.matchAll(FENCE)) open = open === undefined ? match[1]!.trim() : undefined;
  return open;
}

/** The last grapheme boundary at or before `limit` (past the first grapheme if that one is longer). */
export function graphemeCut(text: string, limit: number): number {
  let last = 0;
  for (const { index, segment } of graphemes.segment(text.slice(0, limit + 64))) {
    if (index > limit) break;
    last = index + segment.length <= limit ? index + segment.length : index;
  }
  if (last > 0) return last;
  // One "grapheme" longer than the limit (pathological): cut it, but never between surrogates.
  return /[\uD800-\uDBFF]/.test(text[limit - 1] ?? '') ? limit - 1 : limit;
}

function cutPoint(text: string, limit: number): number {
  const window = text.slice(0, limit + 1);
  const half = Math.floor(limit / 2);
  const spans = inlineSpans(text.slice(0, 2 * limit));
  const inside = (at: number): number | undefined => spans.find(([from, to]) => from < at && at < to)?.[0];
  for (const sep of ['\n\n', '\n', ' ']) {
    for (let at = window.lastIndexOf(sep, limit - 1); at >= half; at = window.lastIndexOf(sep, at - 1)) {
      if (inside(at) === undefined) return at;
    }
  }
  const hard = graphemeCut(text, limit);
  const start = inside(hard);
  return start !== undefined && start >= half ? start : hard;
}

export function splitMessage(text: string, limit: number): string[] {
  if (limit < 32) throw new RangeError('chunk limit must be at least 32 characters');
  const chunks: string[] = [];
  let rest = text;
  let reopen = '';
  while (rest.length > 0) {
    const body = reopen + rest;
    if (body.length <= limit) {
      chunks.push(body);
      break;
    }
    // Room for a closing fence if this chunk ends inside a code block.
    const budget = limit - 4;
    const at = cutPoint(body, budget);
    const fence = openFence(body.slice(0, at));
    const chunk = body.slice(0, at).replace(/\s+$/, '');
    chunks.push(fence !== undefined ? `${chunk}\n\`\`\`` : chunk);
    rest = body.slice(at).replace(/^\s+/, '');
    reopen = fence !== undefined ? `\`\`\`${fence}\n` : '';
  }
  return chunks.filter((c) => c.trim() !== '');
}
