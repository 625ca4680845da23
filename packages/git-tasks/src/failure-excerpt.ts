/**
 * What of a failed check's output its agent is sent (docs/git-tasks-design.md, "The excerpt").
 * Contract:
 * - while the output streams, each **failing unit** is kept: from a runner's header for one
 *   failing test (pytest's `___ name ___` and `[doctest]` sections, unittest's `FAIL:`/`ERROR:`,
 *   go's `--- FAIL:`, cargo's `---- name stdout ----`, mocha's `  1) `, jest's `●`, vitest's
 *   `FAIL … >`, TAP's `not ok`) to the next one or the runner's summary; a failing line no runner
 *   header starts (`error:`, `FAILED`, `✗`) is a unit of its own with a few lines around it. Go's
 *   `-v` prints a test's lines before its `--- FAIL`: those since its `=== RUN` join its unit;
 * - a unit's lines are ranked: what names the failure (its header, `Expected:`/`Got:`,
 *   `Received:`, `left:`/`right:`, `panicked at`, a diff's `- Snapshot`/`+ expected - actual`,
 *   an error line, pytest's `file:line: Error`, go's lines that say what was wanted) and the line
 *   before such a line; their bodies (the next lines, pytest's `E`/`>` lines, a diff's `-`/`+`
 *   lines); the rest. Each rank is bounded per unit while streaming, all of it by
 *   `FAILING_KEPT_BYTES` (units past it are counted, not kept);
 * - the excerpt is the whole output when it fits the budget; else the units (at most 60 %,
 *   shared so that each gets its part, best rank first) and the end, in output order, each cut said
 *   in bytes, and the units left out counted.
 */

/** At most this much of failing units is kept while a check streams. */
export const FAILING_KEPT_BYTES = 32 * 1024;

/** A line that is a failure, whatever the runner (a unit of its own when no runner's unit holds it). */
const FAILING_LINE = [
  /^\s*not ok\b/, // TAP (tape, node:test)
  /^\s*(?:FAIL|FAILED|ERROR)\b/, // vitest/jest files, pytest's summary, go's package line
  /^\s*(?:[✗×✕✖●]|❯.*\bFAIL\b)/u, // vitest/jest/mocha tests
  /^E {3}/, // pytest's assertion lines
  /(?:^|[\s:[(])[A-Za-z]*(?:error|Error|ERROR)(?:\[[^\]]*\]| TS\d+| \[[A-Z_]+\])?:/, // error: / Error: / AssertionError [ERR_ASSERTION]: / error TS2345:
];

/** A runner's header for one failing test. */
const UNIT_START = [
  /^_{3,} .+ _{3,}\s*$/, // pytest: a test's or a doctest's section
  /^(?:FAIL|ERROR): \S+ \(.+\)\s*$/, // unittest
  /^\s*--- FAIL: \S/, // go test
  /^---- \S+ stdout ----\s*$/, // cargo test
  /^ {2}\d+\) \S/, // mocha's spec reporter, the failures' details
  /^\s*● (?!Console\s*$)\S/u, // jest
  /^\s*(?:FAIL|[×✗✕✖])\s+\S.* > /u, // vitest
  /^\s*not ok\b/, // TAP
];

/** Where a unit ends: a runner's section rule or summary (the next header ends it too). */
const UNIT_END = [
  /^={3,}/, // pytest's sections, unittest's rule, go's `=== RUN`
  /^Ran \d+ tests? in /, // unittest
  /^(?:ok|FAIL)\s+\S+\s+[\d.]+s\s*$|^FAIL\s*$|^PASS\s*$/, // go's package lines
  /^failures:\s*$|^test result: /, // cargo
  /^Snapshot Summary|^Test Suites: |^\s*PASS\s+\S+\s*$/, // jest
  /^\s*ok \d+\b|^\s*\d+\.\.\d+\s*$|^# (?:tests|pass|fail)\b/, // TAP
];

/** Go's `-v`: a test starts; what it prints until its `--- FAIL` is its own. */
const RUN_START = /^=== (?:RUN|CONT|PAUSE|NAME)\s/;

/** Lines that name what failed (rank 0). */
const EVIDENCE = [
  /^\s*(?:Expected|Got|Received|Actual|expected|actual|left|right)\s*:/, // doctest, jest, TAP's YAML, cargo
  /^Got nothing\s*$|^UNEXPECTED EXCEPTION:/, // doctest
  /panicked at |^assertion .* failed/, // cargo
  /^\s*[-+] (?:Expected|Received|Snapshot)\b|^\s*\+ expected - actual|^\s*Snapshot name:/, // jest/vitest, mocha
  /^\S.*:\d+: \w+$/, // pytest's `file.py:12: AssertionError`
  /^\s*expect\(/, // jest/vitest's matcher
  /\b(?:want|got|expected|mismatch)\b/i, // go's t.Errorf, most messages
];

/** Lines that are a failure's body (rank 1). */
const BODY = [/^E\s/, /^>\s/, /^\s*> \d+ \|/, /^\s*(?![-=]{3,}\s*$)[-+?][ \t]*\S/];

/** How many lines after an evidence line are its body. */
const BODY_LINES = 6;
/** Per unit and rank, at most this much is kept while streaming. */
const RANK_BYTES = [4096, 4096, 2048] as const;
const LINES_BEFORE = 2;
const LINES_AFTER = 4;
/** Go's lines since `=== RUN` held for a `--- FAIL` that may follow. */
const PENDING_LINES = 40;
/** A line longer than this is kept cut (a minified bundle's line names nothing). */
const LINE_BYTES = 400;
/** A unit shown gets at least this many characters, or is left out and counted. */
const MIN_UNIT_CHARS = 300;

type Rank = 0 | 1 | 2;

interface KeptLine {
  /** Byte offsets of the line in the whole output (end after its newline). */
  start: number;
  end: number;
  text: string;
  unit: number;
  rank: Rank;
}

type Line = Omit<KeptLine, 'unit' | 'rank'>;

const matches = (res: readonly RegExp[], text: string): boolean => res.some((re) => re.test(text));
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colours are taken out before matching.
const plainText = (text: string): string => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

/** Keeps, while the output streams, each failing unit's ranked lines (bounded). */
export class FailingUnits {
  readonly kept: KeptLine[] = [];
  /** Units seen after the bound was reached. */
  dropped = 0;
  private keptBytes = 0;
  /** A line was refused for the bound: from then on a new unit is counted, not kept. */
  private full = false;
  private partial: Buffer[] = [];
  private partialLength = 0;
  private lineStart = 0;
  private pending: Line[] = [];
  private units = 0;
  /** The open unit: its id, lines left when it is a failing line's own (else -1), its body lines left, its bytes per rank. */
  private unit = -1;
  private shortLeft = -1;
  private bodyLeft = 0;
  private rankBytes = [0, 0, 0];

  push(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      this.addPart(chunk.subarray(from, nl + 1));
      this.endLine();
      from = nl + 1;
    }
    if (from < chunk.length) this.addPart(chunk.subarray(from));
  }

  /** The last line, when the output did not end with a newline. */
  finish(): void {
    if (this.partialLength > 0) this.endLine();
  }

  private addPart(part: Buffer): void {
    // Only the start of a long line is kept; its length still counts.
    if (this.partialLength < LINE_BYTES) this.partial.push(part.subarray(0, LINE_BYTES - this.partialLength));
    this.partialLength += part.length;
  }

  private endLine(): void {
    const text = Buffer.concat(this.partial)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    const line: Line = { start: this.lineStart, end: this.lineStart + this.partialLength, text };
    this.lineStart = line.end;
    this.partial = [];
    this.partialLength = 0;
    this.take(line, plainText(text));
  }

  private take(line: Line, plain: string): void {
    if (matches(UNIT_START, plain)) {
      this.open(line, plain, -1);
      return;
    }
    if (this.unit >= 0 && this.shortLeft < 0 && matches(UNIT_END, plain)) this.close();
    if (this.unit >= 0 && this.shortLeft >= 0 && matches(FAILING_LINE, plain)) this.shortLeft = LINES_AFTER;
    if (this.unit >= 0) {
      this.add(line, plain);
      if (this.shortLeft >= 0 && this.shortLeft-- === 0) this.close();
      return;
    }
    if (matches(FAILING_LINE, plain)) {
      this.open(line, plain, LINES_AFTER);
      return;
    }
    if (RUN_START.test(plain)) this.pending = [];
    this.pending.push(line);
    if (this.pending.length > PENDING_LINES) this.pending.shift();
  }

  /** Opens a unit at `line`: a runner's (`shortLeft` -1, with the lines its test printed before) or a failing line's own. */
  private open(line: Line, plain: string, shortLeft: number): void {
    this.close();
    // Past the bound a unit is still followed (its lines are its own), only not kept.
    if (this.full) this.dropped += 1;
    this.unit = this.units++;
    this.shortLeft = shortLeft;
    const before = this.pending;
    this.pending = [];
    before.forEach((earlier, i) => {
      const rank = this.rankOf(plainText(earlier.text));
      if (rank < 2 || i >= before.length - LINES_BEFORE) this.keep(earlier, rank);
    });
    this.keep(line, 0);
    this.bodyLeft = matches(EVIDENCE, plain) ? BODY_LINES : 0;
  }

  private close(): void {
    this.unit = -1;
    this.shortLeft = -1;
    this.bodyLeft = 0;
    this.rankBytes = [0, 0, 0];
  }

  private rankOf(plain: string): Rank {
    if (matches(EVIDENCE, plain) || matches(FAILING_LINE, plain)) return 0;
    return matches(BODY, plain) ? 1 : 2;
  }

  private add(line: Line, plain: string): void {
    const last = this.kept.at(-1);
    const mine = last?.unit === this.unit ? last : undefined;
    if (plain.trim() === '') {
      // A blank line goes with the line before it, so a block is not cut at each blank.
      this.keep(line, mine?.rank ?? 2);
      return;
    }
    let rank = this.rankOf(plain);
    if (rank === 0) {
      // The line before what names the failure is what failed (a doctest's example, the asserting call).
      if (mine !== undefined && mine.rank === 2 && mine.end === line.start) mine.rank = 1;
      this.bodyLeft = BODY_LINES;
    } else if (this.bodyLeft > 0) {
      rank = 1;
      this.bodyLeft -= 1;
    }
    this.keep(line, rank);
  }

  private keep(line: Line, rank: Rank): void {
    const bytes = line.end - line.start;
    if (this.keptBytes + bytes > FAILING_KEPT_BYTES) this.full = true;
    if (this.full || this.rankBytes[rank]! + bytes > RANK_BYTES[rank]) return;
    this.kept.push({ ...line, unit: this.unit, rank });
    this.keptBytes += bytes;
    this.rankBytes[rank]! += bytes;
  }
}

const cutLine = (n: number): string => `… ${n.toLocaleString('en-US')} bytes cut …`;
const charsOf = (lines: readonly KeptLine[]): number => lines.reduce((sum, l) => sum + l.text.length + 1, 0);

/** Each unit's share of `budget` characters: all it needs when that is less than an even share, else the even share; units past `MIN_UNIT_CHARS` each left out (0). */
function shares(needs: readonly number[], budget: number): number[] {
  const out = needs.map(() => 0);
  let open = needs.map((_, i) => i).filter((i) => needs[i]! > 0);
  let left = budget;
  for (;;) {
    const share = Math.floor(left / Math.max(open.length, 1));
    const small = open.filter((i) => needs[i]! <= share);
    if (small.length === 0 || open.length === 0) break;
    for (const i of small) {
      out[i] = needs[i]!;
      left -= needs[i]!;
    }
    open = open.filter((i) => needs[i]! > share);
  }
  const shown = Math.min(open.length, Math.floor(left / MIN_UNIT_CHARS));
  for (const i of open.slice(0, shown)) out[i] = Math.floor(left / shown);
  return out;
}

/** A unit's lines within `chars`: best rank first, in output order within a rank. */
function pick(lines: readonly KeptLine[], chars: number): KeptLine[] {
  const chosen: KeptLine[] = [];
  let used = 0;
  for (const rank of [0, 1, 2] as const) {
    for (const line of lines) {
      if (line.rank !== rank || used + line.text.length + 1 > chars) continue;
      chosen.push(line);
      used += line.text.length + 1;
    }
  }
  return chosen.sort((a, b) => a.start - b.start);
}

/** The chosen lines in output order, each gap said in bytes, then the end. */
function render(chosen: readonly KeptLine[], endText: string, endStart: number, droppedUnits: number): string {
  const parts: string[] = [];
  let at = 0;
  for (const line of chosen) {
    // A blank line after a cut goes into the cut.
    if (line.start > at && line.text.trim() === '') continue;
    if (line.start > at) parts.push(cutLine(line.start - at));
    parts.push(line.text);
    at = line.end;
  }
  if (endStart > at) parts.push(cutLine(endStart - at) + (droppedUnits > 0 ? ` (${droppedUnits} more ${droppedUnits === 1 ? 'failure' : 'failures'} not shown)` : ''));
  return `${parts.join('\n')}${parts.length > 0 ? '\n' : ''}${endText}`;
}

/** The end of the output, given what the failing units take: it starts at a whole line when it can. */
function endOf(end: string, total: number, chars: number): string {
  let endText = end.length > chars ? end.slice(end.length - chars) : end;
  const firstNl = endText.indexOf('\n');
  if ((endText.length < end.length || Buffer.byteLength(end) < total) && firstNl !== -1 && firstNl < endText.length - 1) endText = endText.slice(firstNl + 1);
  return endText;
}

/**
 * The output as a feedback message carries it, within `budget` characters (the module's
 * contract): `end` is the output's last bytes, `total` its length in bytes.
 */
export function buildExcerpt(failing: FailingUnits, end: string, total: number, budget: number): string {
  if (Buffer.byteLength(end) === total && end.length <= budget) return end;
  // The end first takes what the failing units leave (they get at most 60%), and never less than 40%.
  const forFailing = Math.min(charsOf(failing.kept), Math.floor(budget * 0.6));
  const endText = endOf(end, total, budget - forFailing - 80);
  const endStart = total - Buffer.byteLength(endText);
  const byUnit = new Map<number, KeptLine[]>();
  for (const line of failing.kept) {
    if (line.end > endStart) continue;
    const lines = byUnit.get(line.unit);
    if (lines === undefined) byUnit.set(line.unit, [line]);
    else lines.push(line);
  }
  const units = [...byUnit.values()];
  let allowance = forFailing;
  for (;;) {
    const given = shares(units.map(charsOf), allowance);
    const chosen = units.flatMap((lines, i) => pick(lines, given[i]!));
    const shown = new Set(chosen.map((l) => l.unit));
    const excerpt = render(chosen, endText, endStart, failing.dropped + units.filter((u) => !shown.has(u[0]!.unit)).length);
    // The cut lines between chosen lines take room too: give the units less until it fits.
    if (excerpt.length <= budget || allowance <= 0) return excerpt;
    allowance -= Math.max(excerpt.length - budget, 50);
  }
}
