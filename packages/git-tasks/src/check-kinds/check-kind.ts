/**
 * A check kind (docs/kinds.md, "Check kinds"): how one kind of a binding's checks runs and what
 * its result looks like. A check names its kind (`kind`, absent: `command`); the Checking asks
 * this registry for it and never switches on a name. A kind is one folder of check-kinds/ and one
 * line in its index.ts (or, outside core, one `checkKinds.register(kind)`). Contract:
 * - `problems` reads the check as written (its own keys: the contract keeps a kind's keys) and
 *   says what is wrong, each with the key's path; the binding is refused with them when it is
 *   stored (binding-check.ts), and a stored check that has some does not start;
 * - `run` runs the check in the task's worktree at its commit, within `check.timeoutMs` and until
 *   `options.signal` aborts (both count as `timedOut`); it never rejects: what could not run is a
 *   result with `spawnError` (the Checking then asks a person instead of counting a round);
 * - its result is a `CheckResult` (checks.ts): `argv` says what ran, in words; `log`, `tail` and
 *   `excerpt` are what the task's page shows and the owner is sent (`textCheckResult` makes them
 *   from a kind's short output).
 */
import type { CheckSpec } from '@tinyagi/client/contract';
import { KindRegistry } from '../core.ts';
import type { CheckResult, RunCheckOptions } from '../checks.ts';

/** Something wrong with a binding's entry as written: the key's path inside it and what to do. */
export interface BindingProblem {
  path: Array<string | number>;
  message: string;
}

export interface CheckKind {
  readonly family: 'check';
  /** The name a check's `kind` gives (`command`). */
  readonly name: string;
  readonly title: string;
  /** One line: what a check of this kind proves. */
  readonly description: string;
  problems(check: CheckSpec): BindingProblem[];
  run(check: CheckSpec, options: RunCheckOptions): Promise<CheckResult>;
}

export function defineCheckKind(kind: Omit<CheckKind, 'family'>): CheckKind {
  return { family: 'check', ...kind };
}

/** The registered check kinds (the built-in ones: index.ts). */
export const checkKinds = new KindRegistry<CheckKind>('check');

/**
 * A result from a kind's own verdict and output (a kind that runs no process): `words` say what
 * ran (the result's `argv`); a failure's exit code is 1. The output is kept whole up to
 * `maxChars`, then its end.
 */
export function textCheckResult(check: Pick<CheckSpec, 'name'>, result: { ok: boolean; words: string[]; output: string; startedAt: number; durationMs: number; maxChars?: number }): CheckResult {
  const max = result.maxChars ?? 4_000;
  const text = result.output.endsWith('\n') || result.output === '' ? result.output : `${result.output}\n`;
  const kept = text.length <= max ? text : text.slice(text.length - max);
  const bytes = Buffer.byteLength(text);
  return {
    name: check.name,
    argv: [...result.words],
    exitCode: result.ok ? 0 : 1,
    signal: null,
    timedOut: false,
    ok: result.ok,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    log: kept,
    tail: kept,
    totalBytes: bytes,
    omittedBytes: bytes - Buffer.byteLength(kept),
    excerpt: kept,
  };
}
