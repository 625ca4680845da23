/**
 * Splits a reply into messages of at most `limit` characters: on a paragraph break if one is in
 * the second half of the window, else a line break, else a space, else a hard cut. A fenced code
 * block (```) cut in two is closed at the end of one chunk and reopened (with its language) at
 * the start of the next, so every chunk renders on its own. Nothing is ever dropped: joining the
 * chunks' text (without the added fences) gives back the input, up to the whitespace at cuts.
 */

const FENCE = /^```([^\n`]*)$/gm;

/** The fence still open at the end of `text` (its info string), or undefined. */
function openFence(text: string): string | undefined {
  let open: string | undefined;
  for (const match of text.matchAll(FENCE)) open = open === undefined ? match[1]!.trim() : undefined;
  return open;
}

function cutPoint(text: string, limit: number): number {
  const window = text.slice(0, limit + 1);
  const half = Math.floor(limit / 2);
  for (const sep of ['\n\n', '\n', ' ']) {
    const at = window.lastIndexOf(sep, limit - 1);
    if (at >= half) return at;
  }
  return limit;
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
