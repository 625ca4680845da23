/**
 * `tinyagi project list|add|show|bind|unbind|archive|restore` (docs/cli.md, docs/git-tasks.md)
 * against the built daemon, with a real repository: a project added bound to it, bound again with
 * checks, a forge and auto-merge, shown as the daemon stored it (defaults filled, the token's
 * variable named, no token), changed with --merge, refused by the daemon (path and url both, a
 * worktree file leaving the repository through a symlink, two checks of one name) with each problem's field
 * path and the binding left as it was, then unbound, archived and restored. A check and a forge
 * of a plugin's kinds (test-kit's kind module) are shown with their own keys and kept by --merge.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Project } from '@tinyagi/client';
import { addKindModule, BINDING_KINDS_MODULE, createDaemon, gitRepos, sh, type TestDaemon } from '@tinyagi/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let daemon: TestDaemon;
let repoDir: string;
let root: string;

beforeAll(async () => {
  ({ repoDir, root } = gitRepos());
  // git for the binding's check (PATH otherwise holds only node's folder).
  daemon = await createDaemon({ prefix: 'tinyagi-project-cmd-', path: ['/usr/bin', '/bin'] });
  addKindModule(daemon.home, BINDING_KINDS_MODULE);
  await daemon.start();
}, 60_000);

afterAll(async () => {
  await daemon?.cleanup();
});

const showJson = async (ref: string): Promise<Project> => JSON.parse(await daemon.cliHereOk(['project', 'show', ref, '--json'])) as Project;

describe('tinyagi project', () => {
  it('add binds a project to a repository; list shows it with its repository and tasks, and one without a binding', async () => {
    const added = await daemon.cliHereOk(['project', 'add', 'Web', '--path', repoDir, '--worktree-root', join(root, 'worktrees')]);
    expect(added).toContain(`Added the project WEB (Web), bound to ${repoDir}.`);
    expect(added).toMatch(/branch template: +tinyagi\/\{identifier\}-\{slug\}/);
    await daemon.cliHereOk(['project', 'add', 'Api', '--prefix', 'API']);
    await daemon.api.createTask({ body: { title: 'A task', projectId: (await showJson('web')).id } });
    const list = await daemon.cliHereOk(['project', 'list']);
    expect(list).toMatch(new RegExp(`WEB\\s+Web\\s+1 open, 0 done\\s+${repoDir}`));
    expect(list).toMatch(/API\s+Api\s+0 open, 0 done\s+none/);
  });

  it('bind replaces the binding: checks, a forge and auto-merge; show prints it as stored, the token by its variable only', async () => {
    // What the worktree files copy must exist when the project is bound (the daemon looks at the disk).
    writeFileSync(join(repoDir, '.env'), 'A=1\n');
    const bound = await daemon.cliHereOk([
      'project',
      'bind',
      'WEB',
      '--path',
      repoDir,
      '--remote',
      'origin',
      '--check',
      `lint=sh -c 'test -f README.md && echo "lint ok"'`,
      '--check',
      'test=node --test',
      '--check-timeout',
      '90',
      '--setup',
      'pnpm install --offline',
      '--copy',
      '.env',
      '--forge',
      'github:octo-org/web',
      '--forge-token-env',
      'WEB_GH_TOKEN',
      '--forge-poll-seconds',
      '0',
      '--auto-merge',
      'approved:2',
    ]);
    expect(bound).toContain(`Bound WEB (Web) to ${repoDir}, replacing its binding.`);
    const show = await daemon.cliHereOk(['project', 'show', 'Web']);
    expect(show).toMatch(/forge: +github:octo-org\/web at https:\/\/api\.github\.com, token from the daemon's \$WEB_GH_TOKEN, read only on request/);
    expect(show).toMatch(/auto merge: +when its checks passed and 2 people approved on the forge \(merge commit\)/);
    expect(show).toMatch(/files: +copy \.env$/m);
    expect(show).toMatch(/lint +90s +sh -c 'test -f README\.md && echo "lint ok"'/);
    // The whole binding was replaced: the worktree root given at add is gone (the default applies).
    expect(show).toMatch(/worktree root: +TINYAGI_HOME\/worktrees\/\S+ \(default\)/);
    // A binding that names no node (one node) says nothing of nodes.
    expect(show).not.toMatch(/^node:/m);
    const stored = (await showJson('WEB')).repo!;
    expect(stored).toEqual((await daemon.api.getProject({ params: { id: 'WEB' } })).repo);
    expect(stored).toMatchObject({
      path: repoDir,
      baseRef: 'main',
      maxRounds: 5,
      files: [{ path: '.env', mode: 'copy' }],
      setup: { argv: ['pnpm', 'install', '--offline'], timeoutMs: 600_000 },
      checks: [
        { name: 'lint', argv: ['sh', '-c', 'test -f README.md && echo "lint ok"'], timeoutMs: 90_000 },
        { name: 'test', argv: ['node', '--test'], timeoutMs: 90_000 },
      ],
      forge: { kind: 'github', owner: 'octo-org', repo: 'web', tokenEnv: 'WEB_GH_TOKEN', pollSeconds: 0 },
      autoMerge: { when: 'approved', approvals: 2, method: 'merge' },
    });

    // --merge changes the named fields only (the base must exist in the repository).
    sh(repoDir, 'branch', 'develop');
    await daemon.cliHereOk(['project', 'bind', 'WEB', '--merge', '--max-rounds', '3', '--no-auto-merge', '--base', 'develop']);
    const merged = (await showJson('WEB')).repo!;
    expect(merged).toEqual({ ...stored, maxRounds: 3, baseRef: 'develop', autoMerge: undefined });
  });

  it('a binding the daemon refuses: its field path and message, exit 2, the binding unchanged', async () => {
    const before = (await showJson('WEB')).repo;
    const both = await daemon.cliHere(['project', 'bind', 'WEB', '--path', repoDir, '--url', 'https://example.com/web.git']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('repo.path: Give either path (a local checkout) or url (a git remote), not both and not neither.');

    const twice = await daemon.cliHere(['project', 'bind', 'WEB', '--path', repoDir, '--check', 'lint=true', '--check', 'lint=false']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('repo.checks.1.name: Two checks are named "lint".');

    // One field changed without --merge: the daemon's message, and what to do.
    const slip = await daemon.cliHere(['project', 'bind', 'WEB', '--max-rounds', '2']);
    expect(slip.code).toBe(2);
    expect(slip.stderr).toContain('body.repo.path: Give either path (a local checkout) or url (a git remote), not both and not neither.');
    expect(slip.stderr).toContain('`project bind` replaces the whole binding: give --path or --url too, or add --merge');

    const dotdot = await daemon.cliHere(['project', 'bind', 'WEB', '--path', repoDir, '--copy', '../secrets']);
    expect(dotdot.code).toBe(2);
    expect(dotdot.stderr).toContain('The worktree file "../secrets" (copy) contains "..": a worktree file may not leave the repository.');

    // A worktree file whose path is fine as written but that leaves the repository through a symlink: the daemon looks at the disk.
    symlinkSync(root, join(repoDir, 'outside'));
    const symlinked = await daemon.cliHere(['project', 'bind', 'WEB', '--path', repoDir, '--copy', 'outside/secrets']);
    expect(symlinked.code).not.toBe(0);
    expect(symlinked.stderr).toContain('outside/secrets');
    expect(symlinked.stderr).toContain('INVALID_PATH');

    // Checked against the disk at once: not a git repository, a base branch it does not have, a link to nothing.
    mkdirSync(join(root, 'plain'), { recursive: true });
    const plain = await daemon.cliHere(['project', 'bind', 'WEB', '--path', join(root, 'plain')]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain(`The repository path ${join(root, 'plain')} is not a git repository.`);
    const noBase = await daemon.cliHere(['project', 'bind', 'WEB', '--path', repoDir, '--base', 'release']);
    expect(noBase.stderr).toContain('The base branch "release" does not exist in');
    const noLink = await daemon.cliHere(['project', 'bind', 'WEB', '--path', repoDir, '--link', 'vendor']);
    expect(noLink.stderr).toMatch(/The worktree file "vendor" \(link\) (names|points at)/);

    expect((await showJson('WEB')).repo).toEqual(before);
  });

  it("a check and a forge of a plugin's kinds: show prints their own keys; bind --merge keeps them, --check replaces only the command checks", async () => {
    const fx = gitRepos();
    const file = join(fx.root, 'binding.json');
    const coverage = { name: 'coverage', kind: 'coverage', minimum: 80, timeoutMs: 5_000 };
    const forge = { kind: 'folder-forge', owner: 'team', repo: 'api', folder: join(fx.root, 'pulls') };
    writeFileSync(file, JSON.stringify({ path: fx.repoDir, remote: 'origin', checks: [coverage, { name: 'test', argv: ['node', '--test'], timeoutMs: 5_000 }], forge }));
    await daemon.cliHereOk(['project', 'bind', 'API', '--binding', file]);
    const shown = await daemon.cliHereOk(['project', 'show', 'API']);
    expect(shown).toContain(`folder-forge:team/api at its own API, token from the daemon's $FOLDER_FORGE_TOKEN, read every 120s {"folder":"${forge.folder}"}`);
    expect(shown).toMatch(/coverage +5s +\(a coverage check\) \{"minimum":80\}/);
    const before = (await showJson('API')).repo!;
    await daemon.cliHereOk(['project', 'bind', 'API', '--merge', '--max-rounds', '2', '--check', 'lint=node --check x.js', '--forge', 'folder-forge:team/web']);
    expect((await showJson('API')).repo).toEqual({
      ...before,
      maxRounds: 2,
      checks: [coverage, { name: 'lint', argv: ['node', '--check', 'x.js'], timeoutMs: 600_000 }],
      forge: { ...before.forge, repo: 'web' },
    });
  });

  it('show names where the daemon clones a URL binding', async () => {
    await daemon.cliHereOk(['project', 'add', 'Remote', '--prefix', 'REM', '--url', 'https://example.com/remote.git']);
    const show = await daemon.cliHereOk(['project', 'show', 'REM']);
    const { id } = await showJson('REM');
    expect(show).toMatch(/clone: +\S+/);
    expect(show).toContain(`${join(daemon.home, 'repos', id)} (the daemon's clone in TINYAGI_HOME: tasks are merged there: with no remote, nothing is pushed to the URL)`);
  });

  it('unbind takes the binding away; archive and restore', async () => {
    expect(await daemon.cliHereOk(['project', 'unbind', 'WEB'])).toContain(`Unbound WEB (Web) from ${repoDir}`);
    expect(await daemon.cliHereOk(['project', 'show', 'WEB'])).toMatch(/repository: +none/);
    expect(await daemon.cliHereOk(['project', 'archive', 'web'])).toContain('Archived WEB (Web).');
    expect(await daemon.cliHereOk(['project', 'list'])).toMatch(/WEB\s+Web \(archived\)\s+1 open, 0 done\s+none/);
    await daemon.cliHereOk(['project', 'restore', 'WEB']);
    expect((await showJson('WEB')).archivedAt).toBeNull();
  });
});
