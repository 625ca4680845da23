/**
 * docs/benchmarks.md is written by hand except for the blocks `pnpm bench` fills. Each benchmark it
 * runs has two, each between a start and an end marker on lines of their own:
 *
 *   <!-- bench:B1:measured -->   the line saying when, with which command and on what machine
 *   <!-- /bench:B1:measured -->
 *   <!-- bench:B1:results -->    what the benchmark prints: its tables and any short line it generates
 *   <!-- /bench:B1:results -->
 *
 * A run replaces what is between the markers of the benchmarks it ran and leaves every other byte
 * of the file as it is: the headings, what each benchmark measures, how to run it, the readings.
 */

export const BLOCK_KINDS = ['measured', 'results'] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];

/** A block's inside: from the character after its start marker's line to the start of its end marker's line. */
interface Block {
  key: string;
  from: number;
  to: number;
}

const MARKER = /^<!-- (\/?)bench:(B\d+):(\w+) -->$/gm;

export const startMarker = (id: string, kind: BlockKind): string => `<!-- bench:${id}:${kind} -->`;
export const endMarker = (id: string, kind: BlockKind): string => `<!-- /bench:${id}:${kind} -->`;
const blockKey = (id: string, kind: BlockKind): string => `${id}:${kind}`;

/** The doc's blocks by `Bn:kind`; a marker without its partner, a block inside another, an unknown kind or a block twice is an error naming the line. */
function findBlocks(doc: string): Map<string, Block> {
  const blocks = new Map<string, Block>();
  let open: { key: string; from: number; line: number } | undefined;
  const lineOf = (index: number) => doc.slice(0, index).split('\n').length;
  for (const m of doc.matchAll(MARKER)) {
    const [text, slash, id, kind] = m as unknown as [string, string, string, string];
    const line = lineOf(m.index);
    if (!(BLOCK_KINDS as readonly string[]).includes(kind)) throw new Error(`line ${line}: ${text}: the kinds of block are ${BLOCK_KINDS.join(' and ')}`);
    const key = `${id}:${kind}`;
    if (slash === '') {
      if (open) throw new Error(`line ${line}: ${text} inside the block opened on line ${open.line}, which has no end marker before it`);
      if (blocks.has(key)) throw new Error(`line ${line}: a second ${text}`);
      open = { key, from: m.index + text.length + 1, line };
    } else {
      if (open?.key !== key) throw new Error(`line ${line}: ${text} ends no open block${open ? ` (line ${open.line} opened ${open.key})` : ''}`);
      blocks.set(key, { key, from: Math.min(open.from, m.index), to: m.index });
      open = undefined;
    }
  }
  if (open) throw new Error(`line ${open.line}: the block ${open.key} has no end marker`);
  return blocks;
}

/**
 * Checks that the doc is well formed and has both blocks of every benchmark in `ids`; throws
 * naming what is missing. Run before measuring, so a run is not spent on figures it cannot write.
 */
export function checkBlocks(doc: string, ids: Iterable<string>): void {
  const blocks = findBlocks(doc);
  const missing = [...ids].flatMap((id) => BLOCK_KINDS.filter((kind) => !blocks.has(blockKey(id, kind))).map((kind) => `${startMarker(id, kind)} … ${endMarker(id, kind)}`));
  if (missing.length > 0) {
    throw new Error(
      `the doc has no block for ${missing.join(', ')}: pnpm bench writes only between these markers (each on a line of its own), below the benchmark's heading and hand-written text (bench/src/doc-blocks.ts)`,
    );
  }
}

/** The doc with the inside of each block of `filled` (`{ id, kind } → text`) replaced by the text and a newline; nothing else changes. */
export function fillBlocks(doc: string, filled: Array<{ id: string; kind: BlockKind; text: string }>): string {
  checkBlocks(
    doc,
    filled.map((f) => f.id),
  );
  const blocks = findBlocks(doc);
  const edits = filled.map((f) => ({ block: blocks.get(blockKey(f.id, f.kind))!, text: `${f.text.replace(/\s+$/, '')}\n` })).sort((a, b) => b.block.from - a.block.from);
  let out = doc;
  for (const { block, text } of edits) out = out.slice(0, block.from) + text + out.slice(block.to);
  return out;
}

/** The inside of a block, or undefined if the doc has none. */
export function blockText(doc: string, id: string, kind: BlockKind): string | undefined {
  const block = findBlocks(doc).get(blockKey(id, kind));
  return block && doc.slice(block.from, block.to);
}
