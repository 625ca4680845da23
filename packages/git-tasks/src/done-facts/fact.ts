/**
 * A done-fact (docs/git-tasks.md, "Done as facts"): one thing the daemon proves before a task
 * reaches Review, and what its owner is told when it does not hold. Each fact is a module of this
 * folder with its failure written once: the same sentence is the Checking's `missing` line (the
 * task page, `tinyagi task show`, the rounds request) and the feedback message's, so a new fact is
 * one module and one line in index.ts.
 */
import { createHash } from 'node:crypto';
import type { TaskCheckResult } from '@tinyagi/client/contract';

/** A check's outcome as a fact reads it: run now (checks.ts) or recorded on the task. */
export type CheckOutcome = Pick<TaskCheckResult, 'name' | 'argv' | 'ok' | 'timedOut' | 'exitCode' | 'signal' | 'durationMs' | 'log'> &
  Partial<Pick<TaskCheckResult, 'spawnError' | 'timeoutMs' | 'fingerprint' | 'excerpt'>>;

/** What the facts are read from: collected now (facts.ts) or recorded by an earlier Checking. */
export interface FactView {
  branch: string;
  baseRef: string;
  /** The commit the facts are about. */
  headSha: string;
  /** Commits on the branch beyond the base. */
  commits: number;
  uncommitted: readonly string[];
  /** Paths the binding copies or links into each worktree that the branch's commits add. */
  worktreeFilesCommitted: readonly string[];
  checks: readonly CheckOutcome[];
  /** Absent without a remote (nothing to push to). */
  push?: { pushed: boolean; reason?: string | undefined } | undefined;
}

export interface TaskFailure {
  fingerprint: string;
  /** The failure as the owner reads it. */
  text: string;
  /** The failure in one sentence, without its log: the `missing` line, and what a reminder of a failure sent before says. */
  summary: string;
}

export interface DoneFact {
  /** What it proves, in a few words (the docs' list). */
  name: string;
  /** Its failures for these facts: none when it holds. */
  failures(view: FactView): TaskFailure[];
}

/** A failure's fingerprint: the same for the same failure (sent once), another for another. */
export const fingerprintOf = (...parts: readonly string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);

/** A failure whose text is its one sentence. */
export function sentence(fingerprint: string, text: string): TaskFailure {
  return { fingerprint, text, summary: text };
}
