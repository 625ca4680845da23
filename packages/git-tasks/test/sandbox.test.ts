/**
 * A sandboxed agent in its task's worktree, with real bwrap and real git (docs/sandbox.md, "A
 * task's worktree"; docs/git-tasks.md, "Sandboxed agents in tasks"): the agent's CLI (bash through
 * the invoker's runner) commits on its branch from inside the boundary and the daemon's facts see
 * the commit, while every write a commit does not need (a hook, the config, another task's branch,
 * main, the admin folder's pointers, the packs) is refused; the daemon's git never runs what the
 * agent plants (a `.git` pointed at a repository of its own with an fsmonitor hook); the task's
 * setup and checks run confined like the agent (a write outside the worktree and a hidden secret
 * fail there and pass unconfined), and a confined check is killed whole at its timeout.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, descendants, gitRepos, sh, waitFor } from '@tinyagi/test-kit';
import type { Settings } from '@tinyagi/core';
import { confinedCommandWrap, gitWorktreeMounts, holdFolder, quickCheck, releaseFolder, runCliProcess, SANDBOX_LOCK_REASON, sandboxHost, taskCommandWrap } from '@tinyagi/core/internal';
import { collectDoneFacts } from '../src/facts.ts';
import { runBindingChecks } from '../src/check-kinds/index.ts';
import { runCheck } from '../src/checks.ts';
import { type ProjectRepoContext, resolveProjectRepo } from '../src/project-repo.ts';
import { createTaskWorktree, removalCheck, removeTaskWorktree } from '../src/worktrees.ts';

/** In ~/.cache: a path on the read-only root inside the sandbox (not /tmp, which is private there); short enough for socket paths. */
const SCRATCH = join(homedir(), '.cache');
const SECRET = 'ssh-secret-51a7e9';

let root: string;
let home: string;
let tinyHome: string;
let wsRoot: string;
let daemonEnv: Record<string, string>;
let settings: Settings;
let ctx: ProjectRepoContext;
let repoDir: string;
let commonDir: string;
/** The node's sandbox host, as the task flow and the agent call give it. */
const host = sandboxHost();

const GIT_QUIET = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Agent',
  GIT_AUTHOR_EMAIL: 'agent@example.invalid',
  GIT_COMMITTER_NAME: 'Agent',
  GIT_COMMITTER_EMAIL: 'agent@example.invalid',
};
const task = (n: number, title: string) => ({ id: `task-${n}`, identifier: `WEB-${n}`, title });

beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
  root = mkdtempSync(join(SCRATCH, 'tinyagi-gsb-'));
  home = join(root, 'home');
  tinyHome = join(home, '.tinyagi');
  wsRoot = join(home, 'tinyagi-workspace');
  for (const dir of [join(home, '.ssh'), tinyHome, join(wsRoot, 'coder'), join(root, 'outside')]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_ed25519'), `${SECRET}\n`, { mode: 0o600 });
  daemonEnv = { PATH: process.env.PATH ?? '', HOME: home, TINYAGI_HOME: tinyHome };
  settings = { agents: { coder: { name: 'Coder', provider: 'anthropic', sandbox: 'required' }, plain: { name: 'Plain', provider: 'anthropic' } }, workspace: { path: wsRoot } } as unknown as Settings;
  // The repository in /tmp (private inside the sandbox) and the worktrees in the hidden TinyAGI home, as a clone's would be.
  repoDir = gitRepos().repoDir;
  commonDir = join(repoDir, '.git');
  ctx = resolveProjectRepo({ path: repoDir, baseRef: 'main' }, { projectId: 'p1', home: tinyHome });
});

afterAll(async () => {
  await host.close();
  cleanupTemp();
  rmSync(root, { recursive: true, force: true });
});

/** Runs `bash -c script` as the coder agent's CLI inside its boundary, in `cwd`, through the invoker's runner. */
async function agentRuns(cwd: string, script: string) {
  const decision = host.boundaryFor('coder', { mode: 'required', tinyHome, workspaceRoot: wsRoot, memoryMb: 512 }, cwd, daemonEnv);
  const b = decision!.boundary!;
  const lines: string[] = [];
  const outcome = await runCliProcess({
    what: 'bash (agent coder)',
    command: 'bash',
    args: ['-c', script],
    cwd,
    env: b.env({ PATH: daemonEnv.PATH!, HOME: home, LANG: 'C.UTF-8', ...GIT_QUIET }),
    limits: { timeoutMs: 30_000, inactivityMs: 30_000, startGraceMs: 30_000 },
    killGraceMs: 2_000,
    exitAfterResultMs: 5_000,
    installHint: 'bash',
    onLine: (line) => lines.push(line),
    boundary: b,
  });
  return { outcome, lines };
}

describe('a sandboxed agent in its task worktree (real bwrap)', () => {
  it('commits on its branch from inside the boundary and the facts see it; nothing else of the repository can be changed', async () => {
    const mine = await createTaskWorktree(ctx, task(1, 'Fix login'));
    const other = await createTaskWorktree(ctx, task(2, 'Other work'));
    const admin = join(commonDir, 'worktrees', 'WEB-1');
    expect(readFileSync(join(admin, 'tinyagi-branch'), 'utf8').trim()).toBe(`refs/heads/${mine.branch}`);
    // main moves on (the agent rebases on it) and has a packed tag (so packed-refs exists).
    sh(repoDir, 'commit', '--allow-empty', '--quiet', '-m', 'main moves');
    sh(repoDir, 'tag', 'v0');
    sh(repoDir, 'pack-refs');
    const mainBefore = sh(repoDir, 'rev-parse', 'main');
    const configBefore = readFileSync(join(commonDir, 'config'), 'utf8');

    const attempts: Array<[string, string]> = [
      ['plant a hook the daemon would run', `echo 'touch /x' > ${commonDir}/hooks/post-checkout`],
      ['plant a reference-transaction hook', `echo 'touch /x' > ${commonDir}/hooks/reference-transaction`],
      ["change the repository's config", `git config core.fsmonitor /bin/true`],
      ['append to the config', `echo '[core]' >> ${commonDir}/config`],
      ["move another task's branch", `git update-ref refs/heads/${other.branch} HEAD`],
      ["delete another task's branch", `git update-ref -d refs/heads/${other.branch}`],
      ["rewrite another task's branch file", `echo ${'0'.repeat(40)} > ${commonDir}/refs/heads/${other.branch}`],
      ['move main', 'git update-ref refs/heads/main HEAD'],
      ['create a branch beside main', 'git branch planted'],
      ["rewrite the admin folder's commondir", `echo /tmp > ${admin}/commondir`],
      ["rewrite the admin folder's gitdir", `echo /tmp/x/.git > ${admin}/gitdir`],
      ["rewrite the task's marker", `echo task-9 > ${admin}/tinyagi-task`],
      ['choose another branch to be given', `echo refs/heads/main > ${admin}/tinyagi-branch`],
      ['write a per-worktree config', `echo '[core]' > ${admin}/config.worktree`],
      ['replace a pack', `touch ${commonDir}/objects/pack/planted.pack`],
      ['add an alternate object store', `echo /tmp > ${commonDir}/objects/info/alternates`],
      ['rewrite packed-refs', `echo x >> ${commonDir}/packed-refs`],
      ["write another worktree's admin folder", `echo x > ${commonDir}/worktrees/WEB-2/HEAD`],
      ["write another task's worktree", `echo x > ${other.path}/planted.txt`],
      ['read a hidden secret', `cat ${home}/.ssh/id_ed25519`],
    ];
    // The commit first, so that moving a branch to HEAD is a change.
    const script = [
      'echo fixed > login.ts && git add login.ts && git commit -q -m "fix login" && echo "ok commit $(git rev-parse HEAD)"',
      // A rebase deletes pseudo-refs at its end, which takes packed-refs.lock in the git dir: it lands in the sandbox's own tmpfs there.
      'git rebase -q main 2>&1 && test ! -e "$(git rev-parse --git-path CHERRY_PICK_HEAD)" && echo "ok rebased $(git rev-parse HEAD)"',
      ...attempts.map(([, cmd], i) => `if ( ${cmd} ) >/dev/null 2>&1; then echo "ESCAPED ${i}"; else echo "refused ${i}"; fi`),
      'git status --porcelain | wc -l | sed "s/^/ok status /"',
      // Made in the git dir's folder inside: never on the host (a commondir there would redirect the person's git).
      `echo /tmp > ${commonDir}/commondir && echo x > ${commonDir}/shallow && echo "ok scratch"`,
    ].join('\n');
    const { outcome, lines } = await agentRuns(mine.path, script);
    expect(outcome.exitCode, `${outcome.stderrTail}\n${lines.join('\n')}`).toBe(0);
    const escaped = lines.filter((l) => l.startsWith('ESCAPED')).map((l) => attempts[Number(l.split(' ')[1])]![0]);
    console.log(`the repository from inside: ${attempts.length} attempts, ${attempts.length - escaped.length} refused${escaped.length ? `, escaped: ${escaped.join('; ')}` : ''}`);
    expect(escaped).toEqual([]);
    expect(
      lines.find((l) => l.startsWith('ok commit ')),
      lines.join('\n'),
    ).toBeDefined();
    const committed = lines.find((l) => l.startsWith('ok rebased '))?.slice('ok rebased '.length);
    expect(committed, lines.join('\n')).toMatch(/^[0-9a-f]{40}$/);
    expect(lines).toContain('ok scratch');
    for (const file of ['commondir', 'shallow', 'packed-refs.lock']) expect(existsSync(join(commonDir, file)), file).toBe(false);
    expect(lines).toContain('ok status 0');

    // The commit is on the task's branch in the repository; nothing else moved.
    expect(sh(repoDir, 'rev-parse', `refs/heads/${mine.branch}`)).toBe(committed);
    expect(sh(repoDir, 'log', '-2', '--format=%s', mine.branch)).toBe('fix login\nmain moves');
    expect(sh(repoDir, 'rev-parse', `refs/heads/${other.branch}`)).toBe(other.head);
    expect(sh(repoDir, 'rev-parse', 'main')).toBe(mainBefore);
    expect(sh(repoDir, 'branch', '--list', 'planted')).toBe('');
    expect(readFileSync(join(commonDir, 'config'), 'utf8')).toBe(configBefore);
    expect(existsSync(join(commonDir, 'hooks', 'post-checkout'))).toBe(false);
    expect(readFileSync(join(admin, 'tinyagi-task'), 'utf8').trim()).toBe('task-1');
    expect(existsSync(join(other.path, 'planted.txt'))).toBe(false);
    const facts = await collectDoneFacts(ctx, task(1, 'Fix login'));
    expect(facts).toMatchObject({ headSha: committed, commits: [{ sha: committed, subject: 'fix login' }], uncommitted: [], done: true });
  });

  it("a branch the agent plants beside its own (a later task's name) is not taken over by that task's worktree step", async () => {
    const wt = await createTaskWorktree(ctx, task(7, 'Plants'));
    const later = task(8, 'Later work');
    const laterBranch = 'tinyagi/WEB-8-later-work';
    const { outcome, lines } = await agentRuns(wt.path, `echo evil > package.json && git add package.json && git commit -q -m planted && git branch ${laterBranch} && echo "ok planted"`);
    expect(outcome.exitCode, outcome.stderrTail).toBe(0);
    // Creating a new ref in its branch's folder is what the boundary cannot refuse (docs/sandbox.md); the step refuses to use it.
    expect(lines).toContain('ok planted');
    const refused = await createTaskWorktree(ctx, later, { recordedBranch: null }).then(
      () => undefined,
      (err: { code?: string; message?: string }) => err,
    );
    expect(refused).toMatchObject({ code: 'INVALID_STATE', message: expect.stringContaining(`Branch ${laterBranch} exists with commits of its own, but task WEB-8 never had it`) });
    expect(existsSync(join(ctx.worktreeRoot, 'WEB-8'))).toBe(false);
    // A branch with nothing of its own (a crash inside git worktree add leaves one) is taken over; one the record names is too.
    sh(repoDir, 'branch', '--force', laterBranch, 'main');
    expect((await createTaskWorktree(ctx, later, { recordedBranch: null })).branch).toBe(laterBranch);
  });

  it('the mounts come from what git worktree add wrote, never from a layout the agent forges', async () => {
    const wt = await createTaskWorktree(ctx, task(9, 'Layout'));
    const admin = join(commonDir, 'worktrees', 'WEB-9');
    const mounts = gitWorktreeMounts(wt.path, [home], host.worktrees);
    expect(mounts).toMatchObject({ commonDir, adminDir: admin, branch: `refs/heads/${wt.branch}`, scratch: [commonDir] });
    expect(mounts?.writable).toEqual([admin, join(commonDir, 'objects'), join(commonDir, 'refs', 'heads', 'tinyagi'), join(commonDir, 'logs', 'refs', 'heads', 'tinyagi')]);
    expect(mounts?.readable).toEqual(expect.arrayContaining([join(commonDir, 'config'), join(commonDir, 'hooks'), join(admin, 'gitdir'), join(admin, 'commondir'), join(admin, 'tinyagi-branch')]));
    // A forged admin folder in the worktree (its gitdir naming the worktree, its commondir a git dir of the agent's making that names main).
    const forged = join(wt.path, 'fake', 'worktrees', 'x');
    mkdirSync(forged, { recursive: true });
    for (const dir of ['objects', 'refs']) mkdirSync(join(wt.path, 'fake', dir), { recursive: true });
    writeFileSync(join(wt.path, 'fake', 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(forged, 'gitdir'), `${join(wt.path, '.git')}\n`);
    writeFileSync(join(forged, 'commondir'), '../..\n');
    writeFileSync(join(forged, 'tinyagi-branch'), 'refs/heads/main\n');
    const original = readFileSync(join(wt.path, '.git'), 'utf8');
    writeFileSync(join(wt.path, '.git'), `gitdir: ${forged}\n`);
    expect(gitWorktreeMounts(wt.path, [home], host.worktrees)).toBeUndefined();
    // Another worktree's real admin folder: its gitdir names that worktree, not this one.
    writeFileSync(join(wt.path, '.git'), `gitdir: ${join(commonDir, 'worktrees', 'WEB-1')}\n`);
    expect(gitWorktreeMounts(wt.path, [home], host.worktrees)).toBeUndefined();
    writeFileSync(join(wt.path, '.git'), original);
    // A branch directly under refs/heads (where main is) gets no ref write.
    writeFileSync(join(admin, 'tinyagi-branch'), 'refs/heads/WEB-9\n');
    expect(gitWorktreeMounts(wt.path, [home], host.worktrees)?.writable).toEqual([admin, join(commonDir, 'objects')]);
    writeFileSync(join(admin, 'tinyagi-branch'), `refs/heads/${wt.branch}\n`);
  });

  it("the admin folder's markers cannot be planted, missing or not (a lock, the setup's marker); the merge then removes the worktree", async () => {
    const wt = await createTaskWorktree(ctx, task(4, 'Markers'));
    const admin = join(commonDir, 'worktrees', 'WEB-4');
    // No setup in this project: its marker is missing, as git's lock is.
    expect(existsSync(join(admin, 'locked'))).toBe(false);
    expect(existsSync(join(admin, 'tinyagi-setup'))).toBe(false);
    const attempts: Array<[string, string]> = [
      ['lock the worktree with git', 'git worktree lock --reason mine "$PWD"'],
      ["write git's lock file", `echo mine > ${admin}/locked`],
      ["remove git's lock file", `rm -f ${admin}/locked`],
      ["plant the setup's marker", `echo '{}' > ${admin}/tinyagi-setup`],
      ["replace the setup's marker folder", `rmdir ${admin}/tinyagi-setup`],
    ];
    const script = [
      'echo done > markers.txt && git add markers.txt && git commit -q -m markers && echo "ok commit"',
      `echo "lock: $(cat ${admin}/locked)"`,
      ...attempts.map(([, cmd], i) => `if ( ${cmd} ) >/dev/null 2>&1; then echo "ESCAPED ${i}"; else echo "refused ${i}"; fi`),
    ].join('\n');
    const { outcome, lines } = await agentRuns(wt.path, script);
    expect(outcome.exitCode, `${outcome.stderrTail}\n${lines.join('\n')}`).toBe(0);
    const escaped = lines.filter((l) => l.startsWith('ESCAPED')).map((l) => attempts[Number(l.split(' ')[1])]![0]);
    expect(escaped).toEqual([]);
    expect(lines).toContain('ok commit');
    // While it ran the worktree was locked by the daemon; once it exited, nothing of it is left.
    expect(lines).toContain(`lock: ${SANDBOX_LOCK_REASON}`);
    expect(existsSync(join(admin, 'locked'))).toBe(false);
    expect(existsSync(join(admin, 'tinyagi-setup'))).toBe(false);

    // The person merges: the worktree goes, and with it the branch.
    sh(repoDir, 'merge', '--quiet', '--no-ff', '-m', 'merge WEB-4', wt.branch);
    expect(await removeTaskWorktree(ctx, task(4, 'Markers'))).toMatchObject({ removed: true, branchDeleted: true });
    expect(existsSync(wt.path)).toBe(false);
  });

  it("the daemon's git never runs what the agent plants: a .git pointed at a repository of its own with an fsmonitor hook", async () => {
    const wt = await createTaskWorktree(ctx, task(3, 'Planted'));
    const pwned = join(root, 'pwned');
    // Inside: a repository of the agent's making in the worktree, its config running a script, and the worktree's .git pointed at it.
    const script = [
      'git init -q evil',
      `printf '#!/bin/sh\\necho ran >> ${pwned}\\nexit 1\\n' > evil-hook.sh && chmod +x evil-hook.sh`,
      `git -C evil config core.fsmonitor "$PWD/evil-hook.sh"`,
      `printf '#!/bin/sh\\necho ran >> ${pwned}\\n' > evil/.git/hooks/post-checkout && chmod +x evil/.git/hooks/post-checkout`,
      'echo "gitdir: $PWD/evil/.git" > .git && echo "ok planted"',
    ].join('\n');
    const { outcome, lines } = await agentRuns(wt.path, script);
    expect(outcome.exitCode, outcome.stderrTail).toBe(0);
    expect(lines).toContain('ok planted');
    // It could not run it itself: the file it names is outside its writable folders.
    expect(existsSync(pwned)).toBe(false);

    // The daemon's steps in that worktree: the facts, the worktree step again, the removal check.
    const facts = await collectDoneFacts(ctx, task(3, 'Planted'));
    expect(facts.headSha).toBe(wt.head);
    expect(facts.uncommitted.sort()).toEqual(['evil', 'evil-hook.sh']);
    await createTaskWorktree(ctx, task(3, 'Planted'));
    await removalCheck(ctx, wt.branch, wt.path);
    expect(existsSync(pwned)).toBe(false);
    // git as it ran before (the worktree's own .git) runs the agent's hook: the check above can fail.
    sh(wt.path, 'status', '--porcelain');
    expect(readFileSync(pwned, 'utf8')).toContain('ran');
  });
});

describe("a task's setup and checks, confined like its sandboxed owner (real bwrap)", () => {
  const env = (): NodeJS.ProcessEnv => ({ PATH: daemonEnv.PATH, HOME: home, LANG: 'C.UTF-8' });

  it('the owner is found (an agent, or a team with a sandboxed agent); the setup runs inside, in the worktree, with the private home', async () => {
    // An unsandboxed owner: its commands run as they are (outside a held folder: the next test).
    const plainWrap = taskCommandWrap(settings, { assigneeAgent: 'plain', assigneeTeam: null }, daemonEnv, host);
    expect(await plainWrap({ command: 'sh', args: ['-c', 'true'], env: {}, cwd: root })).toEqual({ command: 'sh', args: ['-c', 'true'], env: {} });
    const teamSettings = { ...settings, teams: { dev: { name: 'Dev', agents: ['plain', 'coder'], leader_agent: 'plain' } } } as unknown as Settings;
    expect(taskCommandWrap(teamSettings, { assigneeAgent: null, assigneeTeam: 'dev' }, daemonEnv, host)).toBeTypeOf('function');
    const wrap = taskCommandWrap(settings, { assigneeAgent: 'coder', assigneeTeam: null }, daemonEnv, host)!;
    const setupCtx = resolveProjectRepo({ path: repoDir, baseRef: 'main', setup: { argv: ['sh', '-c', 'echo "$HOME" > setup-home.txt'], timeoutMs: 30_000 } }, { projectId: 'p1', home: tinyHome });
    const wt = await createTaskWorktree(setupCtx, task(4, 'With setup'), { env: env(), wrap });
    expect(wt.setup).toMatchObject({ ok: true });
    expect(readFileSync(join(wt.path, 'setup-home.txt'), 'utf8').trim()).toBe(join(tinyHome, 'agent-homes', 'coder'));
  });

  it("a worktree a confined run worked in is held: an unsandboxed owner's checks there run confined (by the agent whose run worked there) until it is released", async () => {
    const wt = await createTaskWorktree(ctx, task(16, 'Held'));
    const leak = join(root, 'outside', 'held-leak.txt');
    const checks = [{ name: 'write-outside', argv: ['sh', '-c', `echo "$HOME" && echo leaked > ${leak}`], timeoutMs: 30_000 }];
    const wrap = taskCommandWrap(settings, { assigneeAgent: 'plain', assigneeTeam: null }, daemonEnv, host);
    // The confined run of 'plain' (called by the sandboxed coder) held the worktree.
    expect(holdFolder(daemonEnv, { folder: wt.path, agent: 'plain', confinedBy: ['coder', 'plain'], runId: 'run-1' })).toMatchObject({ folder: wt.path, agent: 'plain' });
    const held = await runBindingChecks(checks, { cwd: wt.path, env: env(), wrap });
    expect(
      held.map((r) => [r.name, r.ok]),
      held[0]!.log,
    ).toEqual([['write-outside', false]]);
    expect(held[0]!.log).toContain(join(tinyHome, 'agent-homes', 'plain'));
    expect(existsSync(leak)).toBe(false);
    // Released by a person: the owner's commands run as before.
    expect(releaseFolder(daemonEnv, wt.path)).toBe(true);
    const released = await runBindingChecks(checks, { cwd: wt.path, env: env(), wrap });
    expect(released.map((r) => [r.name, r.ok])).toEqual([['write-outside', true]]);
    expect(readFileSync(leak, 'utf8')).toBe('leaked\n');
  });

  it('a check that writes outside the worktree or reads a hidden secret fails confined and passes unconfined; one inside passes both ways', async () => {
    const wt = await createTaskWorktree(ctx, task(5, 'Checks'));
    const leak = join(root, 'outside', 'leak.txt');
    const checks = [
      { name: 'write-outside', argv: ['sh', '-c', `echo leaked > ${leak}`], timeoutMs: 30_000 },
      { name: 'read-secret', argv: ['cat', join(home, '.ssh', 'id_ed25519')], timeoutMs: 30_000 },
      { name: 'inside', argv: ['sh', '-c', 'echo built > build.txt && git status --porcelain'], timeoutMs: 30_000 },
    ];
    const confined = await runBindingChecks(checks, { cwd: wt.path, env: env(), wrap: confinedCommandWrap(settings, 'coder', daemonEnv, host)! });
    expect(confined.map((r) => [r.name, r.ok])).toEqual([
      ['write-outside', false],
      ['read-secret', false],
      ['inside', true],
    ]);
    expect(confined[1]!.log).not.toContain(SECRET);
    expect(existsSync(leak)).toBe(false);
    expect(readFileSync(join(wt.path, 'build.txt'), 'utf8')).toBe('built\n');

    const unconfined = await runBindingChecks(checks, { cwd: wt.path, env: env() });
    expect(unconfined.map((r) => [r.name, r.ok])).toEqual([
      ['write-outside', true],
      ['read-secret', true],
      ['inside', true],
    ]);
    expect(unconfined[1]!.log).toContain(SECRET);
    expect(readFileSync(leak, 'utf8')).toBe('leaked\n');
  });

  it('a confined check that hangs is killed whole at its timeout; on a machine without the boundary, a required sandbox does not start it and "on" runs it unconfined', async () => {
    const wt = await createTaskWorktree(ctx, task(6, 'Hangs'));
    const before = new Set(descendants(process.pid));
    const result = await runCheck(
      { name: 'hang', argv: ['sh', '-c', 'sleep 300 & sleep 300'], timeoutMs: 1_500 },
      { cwd: wt.path, env: env(), wrap: confinedCommandWrap(settings, 'coder', daemonEnv, host)! },
    );
    expect(result).toMatchObject({ ok: false, timedOut: true });
    await waitFor(() => descendants(process.pid).every((pid) => before.has(pid)), 10_000, 'the confined check and its sleeps gone');

    // A node whose machine has no bwrap (none on PATH, none in the usual places).
    const noBwrap = sandboxHost();
    noBwrap.recordCheck(quickCheck({ PATH: '/nonexistent' }, []));
    try {
      const refused = await runCheck({ name: 'never', argv: ['true'], timeoutMs: 5_000 }, { cwd: wt.path, env: env(), wrap: confinedCommandWrap(settings, 'coder', daemonEnv, noBwrap)! });
      expect(refused).toMatchObject({ ok: false, exitCode: null, spawnError: expect.stringContaining('is set to sandbox "required" and the boundary is not enforced') });
      // `on` there: unconfined, as the agent's CLI runs (its status says degraded).
      const onSettings = { ...settings, agents: { coder: { name: 'Coder', provider: 'anthropic', sandbox: 'on' } } } as unknown as Settings;
      const degraded = await runCheck(
        { name: 'home', argv: ['sh', '-c', 'echo "home=$HOME"'], timeoutMs: 5_000 },
        { cwd: wt.path, env: env(), wrap: confinedCommandWrap(onSettings, 'coder', daemonEnv, noBwrap)! },
      );
      expect(degraded).toMatchObject({ ok: true, log: `home=${home}\n` });
    } finally {
      await noBwrap.close();
    }
  });
});
