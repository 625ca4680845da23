/**
 * A binding's checks and forge carry a kind (docs/kinds.md, "Check kinds" and "Forges"): a binding
 * stored before kinds existed reads, runs and is stored back exactly as it was (its checks are
 * `command` checks: `argv` run as a process); a kind is asked of the registry when the binding is
 * stored (an unknown one is VALIDATION_FAILED naming the registered ones) and when a check runs
 * (a kind not registered on this node is a check that could not start: a person is asked, no
 * round is counted). The whole path through a task with throw-away kinds is the server's
 * throwaway-kinds.test.ts.
 */
import { ProjectRepoSchema } from '@tinyagi/client/contract';
import { tempDir } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBindingKinds } from '../src/binding-check.ts';
import { runBindingChecks } from '../src/check-kinds/index.ts';
import { couldNotStart } from '../src/checking-step.ts';
import { defineForgeKind, forgeKinds } from '../src/forge-kind.ts';
import { isTinyError, type TinyError } from '@tinyagi/core';

const undo: Array<() => void> = [];

function caught(fn: () => unknown): TinyError {
  try {
    fn();
  } catch (err) {
    if (isTinyError(err)) return err;
    throw err;
  }
  throw new Error('it did not throw');
}
afterEach(() => {
  for (const u of undo.splice(0)) u();
});

// A binding as it was stored before checks and forges had kinds (the contract then filled in tokenEnv and pollSeconds).
const stored = {
  path: '/srv/web',
  baseRef: 'main',
  branchTemplate: 'tinyagi/{identifier}-{slug}',
  files: [],
  checks: [{ name: 'test', argv: ['node', '-e', 'process.exit(3)'], timeoutMs: 5_000 }],
  keepAbandonedDays: 14,
  checkout: 'auto',
  maxRounds: 5,
  remote: 'origin',
  forge: { kind: 'github', owner: 'octo-org', repo: 'web', tokenEnv: 'GITHUB_TOKEN', pollSeconds: 120 },
};

const stand = defineForgeKind({
  name: 'stand-in',
  title: 'Stand-in',
  description: 'A forge kind of this test.',
  tokenEnv: 'STAND_IN_TOKEN',
  problems: () => [],
  open: async () => {
    throw new Error('not opened in this test');
  },
});

describe('a binding stored before kinds', () => {
  it('parses as it was stored: no kind is added to its checks, its forge block unchanged', () => {
    expect(ProjectRepoSchema.parse(stored)).toEqual(stored);
    undo.push(forgeKinds.register({ ...stand, name: 'github' }));
    expect(checkBindingKinds(ProjectRepoSchema.parse(stored))).toEqual(stored);
  });

  it('runs its checks as command checks: the argv as a process, its exit code kept', async () => {
    const [result] = await runBindingChecks(ProjectRepoSchema.parse(stored).checks, { cwd: tempDir('tinyagi-kinds-') });
    expect(result).toMatchObject({ name: 'test', argv: ['node', '-e', 'process.exit(3)'], exitCode: 3, ok: false, timedOut: false });
    expect(result?.spawnError).toBeUndefined();
  });
});

describe('the registries decide', () => {
  it('an unknown check or forge kind is VALIDATION_FAILED at binding time, naming the registered kinds; a forge with no token variable gets its kind’s', () => {
    const unknown = ProjectRepoSchema.parse({ ...stored, checks: [{ name: 'lint', kind: 'nobody', timeoutMs: 1_000 }], forge: { kind: 'nowhere', owner: 'o', repo: 'r' } });
    const err = caught(() => checkBindingKinds(unknown));
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(err.details).toEqual({
      issues: [
        { path: 'repo.checks.0.kind', message: 'Unknown check kind "nobody" for the check "lint": the registered check kinds are "command".' },
        { path: 'repo.forge.kind', message: 'Unknown forge kind "nowhere": none is registered on this node.' },
      ],
    });
    undo.push(forgeKinds.register(stand));
    const filled = checkBindingKinds(ProjectRepoSchema.parse({ ...stored, forge: { kind: 'stand-in', owner: 'o', repo: 'r', project: 7 } }));
    expect(filled.forge).toEqual({ kind: 'stand-in', owner: 'o', repo: 'r', project: 7, tokenEnv: 'STAND_IN_TOKEN', pollSeconds: 120 });
  });

  it('a check whose kind is not registered on this node could not start: no round, a person is asked', async () => {
    const [result] = await runBindingChecks([{ name: 'lint', kind: 'nobody', timeoutMs: 1_000 }], { cwd: tempDir('tinyagi-kinds-') });
    expect(result?.spawnError).toBe('the check kind "nobody" is not registered on this node (registered: "command")');
    expect(couldNotStart(result!)).toBe(true);
  });
});
