/**
 * Marks the characters that are inside Markdown code (fenced blocks and inline code spans), so
 * the tag parser can ignore `[@x: …]` written as an example. Linear time on any input.
 *
 * - A fence is a line starting (after up to 3 spaces) with 3+ backticks or tildes; it closes at
 *   a line starting with at least as many of the same character, or runs to the end of the text.
 * - An inline span opens with a run of N backticks and closes at the next run of exactly N
 *   backticks; a run without a partner is literal text (CommonMark).
 */
export function codeMask(text: string): Uint8Array {
  const mask = new Uint8Array(text.length);
  markFences(text, mask);
  markInlineSpans(text, mask);
  return mask;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

function markFences(text: string, mask: Uint8Array): void {
  let lineStart = 0;
  let open: { char: string; length: number; start: number } | undefined;
  while (lineStart <= text.length) {
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl === -1 ? text.length : nl;
    const fence = FENCE.exec(text.slice(lineStart, Math.min(lineEnd, lineStart + 64)));
    if (open === undefined) {
      if (fence?.[1] !== undefined) open = { char: fence[1][0]!, length: fence[1].length, start: lineStart };
    } else if (fence?.[1] !== undefined && fence[1][0] === open.char && fence[1].length >= open.length) {
      mask.fill(1, open.start, lineEnd);
      open = undefined;
    }
    if (nl === -1) break;
    lineStart = nl + 1;
  }
  if (open !== undefined) mask.fill(1, open.start, text.length);
}

function markInlineSpans(text: string, mask: Uint8Array): void {
  // Failed searches are remembered per run length: if no closing run of length N exists after
  // position p, none exists after any later position either, which keeps this linear.
  const noCloserAfter = new Map<number, number>();
  let i = 0;
  while (i < text.length) {
    if (text.charCodeAt(i) !== 96 /* ` */ || mask[i] === 1) {
      i++;
      continue;
    }
    let runEnd = i;
    while (runEnd < text.length && text.charCodeAt(runEnd) === 96) runEnd++;
    const length = runEnd - i;
    const failedFrom = noCloserAfter.get(length);
    const closer = failedFrom !== undefined && failedFrom <= runEnd ? -1 : findRun(text, mask, runEnd, length);
    if (closer === -1) {
      if (failedFrom === undefined || runEnd < failedFrom) noCloserAfter.set(length, runEnd);
      i = runEnd;
      continue;
    }
    mask.fill(1, i, closer + length);
    i = closer + length;
  }
}

/** Start of the next run of exactly `length` backticks at or after `from`, outside fences. */
function findRun(text: string, mask: Uint8Array, from: number, length: number): number {
  let i = from;
  while (i < text.length) {
    if (text.charCodeAt(i) !== 96 || mask[i] === 1) {
      i++;
      continue;
    }
    let end = i;
    while (end < text.length && text.charCodeAt(end) === 96) end++;
    if (end - i === length) return i;
    i = end;
  }
  return -1;
}
