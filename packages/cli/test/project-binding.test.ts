/**
 * `tinyagi project add|bind` flags into the API's repo binding (src/commands/project-binding.ts):
 * commands split into words (the client's splitCommand, no shell), relative paths made absolute
 * from the cwd, the short forms of a forge and auto-merge, the node that holds the repository,
 * `--merge` over a stored binding, and the flags that need another flag.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@tinyagi/test-kit';
import { describe, expect, it } from 'vitest';
import { bindingFromFlags } from '../src/commands/project-binding.ts';

describe('bindingFromFlags', () => {
  const cwd = '/home/me/src';

  it('makes relative paths absolute from the cwd and unfolds the short forms', () => {
    expect(
      bindingFromFlags(
        {
          path: 'web',
          worktreeRoot: '../wt',
          check: ['lint=pnpm lint', 'e2e=node --test e2e/'],
          checkTimeout: 30_000,
          forge: 'github:octo/web',
          forgeApiUrl: 'http://127.0.0.1:1',
          autoMerge: 'approved:2',
          autoMergeMethod: 'merge',
        },
        cwd,
      ),
    ).toEqual({
      path: '/home/me/src/web',
      worktreeRoot: '/home/me/wt',
      checks: [
        { name: 'lint', argv: ['pnpm', 'lint'], timeoutMs: 30_000 },
        { name: 'e2e', argv: ['node', '--test', 'e2e/'], timeoutMs: 30_000 },
      ],
      forge: { kind: 'github', owner: 'octo', repo: 'web', apiUrl: 'http://127.0.0.1:1' },
      autoMerge: { when: 'approved', approvals: 2, method: 'merge' },
    });
  });

  it('--merge changes only the named fields of the stored binding; --url drops its path; --no-… removes a field', () => {
    const stored = {
      path: '/repo',
      baseRef: 'main',
      remote: 'origin',
      checks: [{ name: 'test', argv: ['pnpm', 'test'], timeoutMs: 60_000 }],
      forge: { kind: 'github' as const, owner: 'o', repo: 'r', tokenEnv: 'GH', pollSeconds: 120 },
      autoMerge: { when: 'checked' as const, method: 'merge' as const, approvals: 1 },
    };
    expect(bindingFromFlags({ url: 'git@example.com:o/r.git', checkTimeout: 5000, forgePollSeconds: 0, autoMerge: false }, cwd, stored)).toEqual({
      url: 'git@example.com:o/r.git',
      baseRef: 'main',
      remote: 'origin',
      checks: [{ name: 'test', argv: ['pnpm', 'test'], timeoutMs: 5000 }],
      forge: { kind: 'github', owner: 'o', repo: 'r', tokenEnv: 'GH', pollSeconds: 0 },
    });
    expect(stored.path).toBe('/repo');
    // `none`, as project show prints it, is --no-auto-merge.
    expect(bindingFromFlags({ url: 'git@example.com:o/r.git', autoMerge: 'none' }, cwd, stored)).not.toHaveProperty('autoMerge');
  });

  it('--node names the node that holds the repository; --merge keeps it; --no-node takes it out', () => {
    expect(bindingFromFlags({ path: '/repo', node: 'wk1' }, cwd)).toEqual({ path: '/repo', node: 'wk1' });
    const stored = { path: '/repo', node: 'wk1', maxRounds: 2 };
    expect(bindingFromFlags({ maxRounds: 3 }, cwd, stored)).toEqual({ path: '/repo', node: 'wk1', maxRounds: 3 });
    expect(bindingFromFlags({ node: false }, cwd, stored)).toEqual({ path: '/repo', maxRounds: 2 });
  });

  it('--checkout sets how worktrees are checked out; --merge keeps it', () => {
    expect(bindingFromFlags({ path: '/repo', copy: ['node_modules'], checkout: 'layered' }, cwd)).toEqual({ path: '/repo', files: [{ path: 'node_modules', mode: 'copy' }], checkout: 'layered' });
    expect(bindingFromFlags({ maxRounds: 2 }, cwd, { path: '/repo', checkout: 'full' })).toEqual({ path: '/repo', checkout: 'full', maxRounds: 2 });
  });

  it('--retention-abandoned and --disk-budget-mb write the retention; --merge keeps the other; --no-disk-budget-mb takes the budget out', () => {
    expect(bindingFromFlags({ path: '/repo', diskBudgetMb: 2048 }, cwd)).toEqual({ path: '/repo', retention: { diskBudgetMb: 2048 } });
    const stored = { path: '/repo', retention: { abandoned: 'keep' as const, diskBudgetMb: 2048 } };
    expect(bindingFromFlags({ diskBudgetMb: 512 }, cwd, stored).retention).toEqual({ abandoned: 'keep', diskBudgetMb: 512 });
    expect(bindingFromFlags({ retentionAbandoned: 'remove' }, cwd, stored).retention).toEqual({ abandoned: 'remove', diskBudgetMb: 2048 });
    expect(bindingFromFlags({ diskBudgetMb: false }, cwd, stored).retention).toEqual({ abandoned: 'keep' });
  });

  it("--merge keeps a check and a forge of a plugin's kind that no flag names; --check replaces the command checks only", () => {
    const notes = { name: 'notes', kind: 'file-exists', path: 'NOTES.md', timeoutMs: 5000 };
    const forge = { kind: 'memory-forge', owner: 'team', repo: 'web', bare: '/srv/web.git', tokenEnv: 'MEMORY_FORGE_TOKEN', pollSeconds: 30 };
    const stored = { path: '/repo', remote: 'origin', checks: [notes, { name: 'test', argv: ['pnpm', 'test'], timeoutMs: 5000 }], forge };
    expect(bindingFromFlags({ maxRounds: 3 }, cwd, stored)).toEqual({ ...stored, maxRounds: 3 });
    expect(bindingFromFlags({ check: ['lint=pnpm lint'] }, cwd, stored).checks).toEqual([notes, { name: 'lint', argv: ['pnpm', 'lint'], timeoutMs: 600_000 }]);
    expect(bindingFromFlags({ forgePollSeconds: 0 }, cwd, stored).forge).toEqual({ ...forge, pollSeconds: 0 });
    // The same kind keeps its own keys; another kind starts afresh.
    expect(bindingFromFlags({ forge: 'memory-forge:team/api' }, cwd, stored).forge).toEqual({ ...forge, repo: 'api' });
    expect(bindingFromFlags({ forge: 'github:octo/web' }, cwd, stored).forge).toEqual({ kind: 'github', owner: 'octo', repo: 'web' });
    expect(stored.checks[0]).toBe(notes);
  });

  it('--binding reads the whole binding from a file; flags change its fields', () => {
    const file = join(tempDir('tinyagi-binding-'), 'binding.json');
    writeFileSync(file, JSON.stringify({ url: 'https://example.com/r.git', maxRounds: 2 }));
    expect(bindingFromFlags({ binding: file, base: 'develop' }, cwd)).toEqual({ url: 'https://example.com/r.git', maxRounds: 2, baseRef: 'develop' });
    writeFileSync(file, '[1]');
    expect(() => bindingFromFlags({ binding: file }, cwd)).toThrow('expected a JSON object');
  });

  it('refuses what it cannot read, saying how to write it; the rest is for the daemon to check', () => {
    expect(() => bindingFromFlags({ check: ['pnpm test'] }, cwd)).toThrow("write it as <name>=<command>, e.g. --check 'lint=pnpm lint'");
    expect(() => bindingFromFlags({ check: ['lint='] }, cwd)).toThrow('--check needs a command');
    expect(() => bindingFromFlags({ setup: "sh -c 'oops" }, cwd)).toThrow(`--setup "sh -c 'oops": a single quote is not closed.`);
    expect(() => bindingFromFlags({ forge: 'octo/web' }, cwd)).toThrow('write it as <kind>:<owner>/<repo>, e.g. --forge github:octo-org/web.');
    expect(() => bindingFromFlags({ autoMerge: 'checked:2' }, cwd)).toThrow('use checked, approved, approved:<people> (e.g. approved:2) or none (as --no-auto-merge)');
    expect(() => bindingFromFlags({ forgeTokenEnv: 'GH' }, cwd)).toThrow('give --forge <kind>:<owner>/<repo> with them');
    expect(() => bindingFromFlags({ autoMergeMethod: 'ff' }, cwd)).toThrow('give --auto-merge');
    expect(() => bindingFromFlags({ checkTimeout: 1000 }, cwd)).toThrow('give --check with it');
    // Two checks of one name, a worktree file leaving the repository: the daemon's to refuse (the e2e test).
    expect(bindingFromFlags({ check: ['a=x', 'a=y'], copy: ['../up'] }, cwd).checks).toHaveLength(2);
  });

  it('--git-identity gives the binding an identity, refuses another shape, and --no-git-identity takes it out', () => {
    expect(bindingFromFlags({ path: 'web', gitIdentity: 'Web Bot <bot@example.com>' }, cwd)).toEqual({ path: '/home/me/src/web', identity: { name: 'Web Bot', email: 'bot@example.com' } });
    expect(() => bindingFromFlags({ path: 'web', gitIdentity: 'bot@example.com' }, cwd)).toThrow(/expected 'Name <email>'/);
    expect(bindingFromFlags({ gitIdentity: false }, cwd, { path: '/r', identity: { name: 'A', email: 'a@b' } })).toEqual({ path: '/r' });
  });
});
