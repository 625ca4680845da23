/**
 * The built-in check kinds, one line each (docs/kinds.md, "Check kinds"): importing this module
 * registers them in `checkKinds`. The Checking runs a binding's checks here, each by its kind.
 */
import { type CheckSpec, DEFAULT_CHECK_KIND } from '@tinyagi/client/contract';
import { errorMessage } from '../core.ts';
import { type CheckResult, checkNotStarted, type RunCheckOptions } from '../checks.ts';
import { type BindingProblem, type CheckKind, checkKinds } from './check-kind.ts';
import { commandCheckKind } from './command/index.ts';

export const BUILTIN_CHECK_KINDS: readonly CheckKind[] = [commandCheckKind];

for (const kind of BUILTIN_CHECK_KINDS) checkKinds.register(kind);

export { type BindingProblem, type CheckKind, checkKinds, defineCheckKind, textCheckResult } from './check-kind.ts';

/** A check's kind name: `command` when it names none. */
export const checkKindName = (check: Pick<CheckSpec, 'kind'>): string => check.kind ?? DEFAULT_CHECK_KIND;

const registered = (): string =>
  checkKinds
    .names()
    .map((n) => `"${n}"`)
    .join(', ');

/** What is wrong with a binding's checks as written (the kind unknown here, the kind's own problems), each with its path from the binding. */
export function checkSpecProblems(checks: readonly CheckSpec[]): BindingProblem[] {
  return checks.flatMap((check, i) => {
    const name = checkKindName(check);
    const kind = checkKinds.get(name);
    if (kind === undefined) return [{ path: ['checks', i, 'kind'], message: `Unknown check kind "${name}" for the check "${check.name}": the registered check kinds are ${registered()}.` }];
    return kind.problems(check).map((p) => ({ path: ['checks', i, ...p.path], message: p.message }));
  });
}

/** Runs one check by its kind; a kind not registered here, or a check its kind finds wrong, does not start. */
export async function runCheckOfKind(check: CheckSpec, options: RunCheckOptions): Promise<CheckResult> {
  const name = checkKindName(check);
  const kind = checkKinds.get(name);
  if (kind === undefined) return checkNotStarted(check, `the check kind "${name}" is not registered on this node (registered: ${registered()})`);
  const problems = kind.problems(check);
  if (problems.length > 0) return checkNotStarted(check, problems.map((p) => p.message).join(' '));
  try {
    return await kind.run(check, options);
  } catch (err) {
    // A kind must not reject; one that does is its own failure, not the agent's.
    return checkNotStarted(check, `the check kind "${name}" failed: ${errorMessage(err)}`);
  }
}

/** Runs a binding's checks one after another (they share the worktree), each by its kind and with its own timeout. */
export async function runBindingChecks(checks: readonly CheckSpec[], options: RunCheckOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) results.push(await runCheckOfKind(check, options));
  return results;
}
