/**
 * A sandboxed agent commits as the person (docs/git-tasks.md, "Its git identity"), with real
 * bwrap and real git: the person's identity lives in their global `~/.gitconfig` (beside a
 * credential helper), which the boundary hides; the worktree step records the identity and the
 * run's environment (`buildChildEnv` with the worktree as cwd) carries it, so `git commit` inside
 * works and is by the person, while the credential helper stays unseen. A binding's identity wins;
 * no identity at all fails the task's start saying so, with nothing made.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cleanupTemp, gitRepos, sh } from '@tinyagi/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectDoneFacts } from '../src/facts.ts';
import { resolveProjectRepo } from '../src/project-repo.ts';
import { createTaskWorktree } from '../src/worktrees.ts';
import { buildChildEnv, identityEnvOf, runCliProcess, sandboxHost } from '@tinyagi/core/internal';
import { rejection } from './fixture.ts';

/** In ~/.cache: a path on the read-only root inside the sandbox (not /tmp, which is private there). */
const SCRATCH = join(homedir(), '.cache');
const IDENTITY_VARS = ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL'] as const;

let root: string;
let home: string;
let tinyHome: string;
let wsRoot: string;
let daemonEnv: Record<string, string>;
const saved: Record<string, string | undefined> = {};
const host = sandboxHost();

beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
  root = mkdtempSync(join(SCRATCH, 'tinyagi-gid-'));
  home = join(root, 'home');
  tinyHome = join(home, '.tinyagi');
  wsRoot = join(home, 'tinyagi-workspace');
  for (const dir of [tinyHome, join(wsRoot, 'coder')]) mkdirSync(dir, { recursive: true });
  daemonEnv = { PATH: process.env.PATH ?? '', HOME: home, TINYAGI_HOME: tinyHome };
});

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

afterAll(async () => {
  await host.close();
  cleanupTemp();
  rmSync(root, { recursive: true, force: true });
});

/** The daemon's environment as a person's: no identity variables, their global config in `~/.gitconfig` (of the test's home). */
function asThePerson(globalConfig: string, extra: Record<string, string> = {}): void {
  const gitconfig = join(home, '.gitconfig');
  writeFileSync(gitconfig, globalConfig);
  const set: Record<string, string | undefined> = { GIT_CONFIG_GLOBAL: gitconfig, ...Object.fromEntries(IDENTITY_VARS.map((v) => [v, undefined])), ...extra };
  for (const [name, value] of Object.entries(set)) {
    if (!(name in saved)) saved[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

/** Runs `bash -c script` as the coder agent's CLI inside its boundary, with the environment a run in `cwd` gets. */
async function agentRuns(cwd: string, script: string) {
  const decision = host.boundaryFor('coder', { mode: 'required', tinyHome, workspaceRoot: wsRoot, memoryMb: 512 }, cwd, daemonEnv);
  const b = decision!.boundary!;
  const lines: string[] = [];
  const outcome = await runCliProcess({
    what: 'bash (agent coder)',
    command: 'bash',
    args: ['-c', script],
    cwd,
    env: b.env(buildChildEnv({ agentId: 'coder', cwd })),
    limits: { timeoutMs: 30_000, inactivityMs: 30_000, startGraceMs: 30_000 },
    killGraceMs: 2_000,
    exitAfterResultMs: 5_000,
    installHint: 'bash',
    onLine: (line) => lines.push(line),
    boundary: b,
  });
  return { outcome, lines };
}

describe("a sandboxed agent's git identity (real bwrap)", () => {
  it('commits as the person whose identity is only in ~/.gitconfig, without seeing the rest of it', async () => {
    const { repoDir } = gitRepos({ identity: false });
    asThePerson('[user]\n\tname = Ann Person\n\temail = ann@example.com\n[credential]\n\thelper = store --file /secret/creds\n');
    const ctx = resolveProjectRepo({ path: repoDir, baseRef: 'main' }, { projectId: 'p1', home: tinyHome });
    const wt = await createTaskWorktree(ctx, { id: 'task-1', identifier: 'WEB-1', title: 'Fix login' });

    const admin = join(repoDir, '.git/worktrees/WEB-1');
    const run = await agentRuns(
      wt.path,
      `echo fixed > login.txt && git add -A && git commit --quiet -m "fix login" && echo "helper=[$(git config --get credential.helper)]"; echo '{"name":"Someone Else","email":"x@example.com"}' > ${admin}/tinyagi-identity || echo identity-kept`,
    );
    expect(run.lines.join('\n')).toContain('helper=[]');
    // The recorded identity is read-only inside: a teammate's run in the worktree is not made to commit as someone else.
    expect(run.lines.join('\n')).toContain('identity-kept');
    expect(JSON.parse(readFileSync(join(admin, 'tinyagi-identity'), 'utf8'))).toEqual({ name: 'Ann Person', email: 'ann@example.com' });
    expect(run.outcome.exitCode).toBe(0);
    expect(sh(repoDir, 'log', '-1', '--format=%an <%ae> / %cn <%ce>', wt.branch)).toBe('Ann Person <ann@example.com> / Ann Person <ann@example.com>');
    expect((await collectDoneFacts(ctx, { id: 'task-1', identifier: 'WEB-1', title: 'Fix login' })).commits).toHaveLength(1);
  });

  it("the binding's identity wins over the person's", async () => {
    const { repoDir } = gitRepos({ identity: false });
    asThePerson('[user]\n\tname = Ann Person\n\temail = ann@example.com\n');
    const ctx = resolveProjectRepo({ path: repoDir, baseRef: 'main', identity: { name: 'Web Bot', email: 'bot@example.com' } }, { projectId: 'p2', home: tinyHome });
    const wt = await createTaskWorktree(ctx, { id: 'task-1', identifier: 'WEB-1', title: 'Fix login' });
    const run = await agentRuns(wt.path, 'echo fixed > login.txt && git add -A && git commit --quiet -m "fix login"');
    expect(run.outcome.exitCode).toBe(0);
    expect(sh(repoDir, 'log', '-1', '--format=%an <%ae>', wt.branch)).toBe('Web Bot <bot@example.com>');
  });

  it("a worktree's .git the agent made a FIFO (or anything but a small file) gives no identity, and never blocks the daemon", () => {
    const dir = join(root, 'fifo');
    mkdirSync(dir);
    execFileSync('mkfifo', [join(dir, '.git')]);
    expect(identityEnvOf(dir)).toEqual({});
    expect(identityEnvOf(join(root, 'nowhere'))).toEqual({});
  });

  it('no identity anywhere: the start fails saying so, and no worktree is made', async () => {
    const { repoDir } = gitRepos({ identity: false });
    // Nothing in the configs, and git told not to guess one from the machine.
    asThePerson('', { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.useConfigOnly', GIT_CONFIG_VALUE_0: 'true' });
    const ctx = resolveProjectRepo({ path: repoDir, baseRef: 'main' }, { projectId: 'p3', home: tinyHome });
    const refused = await rejection(createTaskWorktree(ctx, { id: 'task-1', identifier: 'WEB-1', title: 'Fix login' }));
    expect(refused.code).toBe('CONFIG_INVALID');
    expect(refused.message).toContain('user.name and user.email');
    expect(refused.hint).toContain('config user.email');
    expect(existsSync(join(ctx.worktreeRoot, 'WEB-1'))).toBe(false);
  });
});
