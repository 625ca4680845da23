/** The done-facts, in the order their failures are told (one module each: fact.ts says what one is). */
import { checksFact } from './checks.ts';
import { commitsFact } from './commits.ts';
import type { DoneFact, FactView, TaskFailure } from './fact.ts';
import { pushedFact } from './pushed.ts';
import { worktreeFilesFact } from './worktree-files.ts';
import { uncommittedFact } from './uncommitted.ts';

export type { CheckOutcome, DoneFact, FactView, TaskFailure } from './fact.ts';

export const DONE_FACTS: readonly DoneFact[] = [commitsFact, worktreeFilesFact, uncommittedFact, checksFact, pushedFact];

/** Every fact's failures for these facts, in order: none when the task is done. */
export function factFailures(view: FactView): TaskFailure[] {
  return DONE_FACTS.flatMap((fact) => fact.failures(view));
}
