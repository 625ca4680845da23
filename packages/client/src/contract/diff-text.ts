/**
 * A git-native task's diff and review comments as text (docs/git-tasks.md): how every surface
 * reads a diff file's patch and names a review comment's place, so the daemon's message to the
 * owner, the CLI, MCP and TinyOffice read and say them alike. No zod (types only), so the client's
 * root exports it to TinyOffice, which loads the zod contract lazily, and core reads it here.
 */
import type { ReviewAnchor } from './git-tasks.ts';

export type PatchLineKind = 'add' | 'del' | 'hunk' | 'context' | 'note';

/** One line of a unified patch, with its line number on the base's side (`old`) and the branch's (`new`). */
export interface PatchLine {
  kind: PatchLineKind;
  /** The line as the patch has it, its `+`, `-` or ` ` mark included. */
  text: string;
  old: number | null;
  new: number | null;
}

/** A patch's lines from its first hunk on (the `diff --git` header is left out), numbered on each side. */
export function patchLines(patch: string): PatchLine[] {
  const lines = patch.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines.findIndex((l) => l.startsWith('@@'));
  if (first < 0) return [];
  let oldNo = 0;
  let newNo = 0;
  return lines.slice(first).map((text): PatchLine => {
    if (text.startsWith('@@')) {
      const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)/.exec(text);
      oldNo = Number(m?.[1] ?? 0);
      newNo = Number(m?.[2] ?? 0);
      return { kind: 'hunk', text, old: null, new: null };
    }
    if (text.startsWith('\\')) return { kind: 'note', text, old: null, new: null };
    if (text.startsWith('+')) return { kind: 'add', text, old: null, new: newNo++ };
    if (text.startsWith('-')) return { kind: 'del', text, old: oldNo++, new: null };
    return { kind: 'context', text, old: oldNo++, new: newNo++ };
  });
}

/** The text of a line of the patch (its mark taken off) on `side`, or undefined when the patch does not show that line. */
export function patchLineText(patch: string, side: ReviewAnchor['side'], line: number): string | undefined {
  const found = patchLines(patch).find((l) => (side === 'old' ? l.old : l.new) === line);
  return found?.text.slice(1);
}

/** Where a review comment sits, as every surface says it: `src/login.ts:12`, or `old.ts:7 (the base's line)`. */
export function reviewAnchorText(anchor: Pick<ReviewAnchor, 'path' | 'line' | 'side'>): string {
  return `${anchor.path}:${anchor.line}${anchor.side === 'old' ? " (the base's line)" : ''}`;
}

/**
 * Where a review comment sits now, followed to the branch's tip (`anchor.current`): `login.ts:5
 * (written on line 2)`, `new.ts:5 (written on old.ts:2)`, or `login.ts:2 (outdated: the line
 * changed since)`; as `reviewAnchorText` when it has not moved or was not followed.
 */
export function reviewPlaceText(anchor: Pick<ReviewAnchor, 'path' | 'line' | 'side' | 'current'>): string {
  const current = anchor.current;
  if (current === undefined || anchor.side === 'old') return reviewAnchorText(anchor);
  if (current.line === null) return `${reviewAnchorText(anchor)} (outdated: the line changed since)`;
  if (current.path === anchor.path && current.line === anchor.line) return reviewAnchorText(anchor);
  const written = current.path === anchor.path ? `line ${anchor.line}` : reviewAnchorText(anchor);
  return `${current.path}:${current.line} (written on ${written})`;
}
