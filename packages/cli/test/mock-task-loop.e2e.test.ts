/**
 * The task loop from the CLI with the mock runtime's actions (docs/kinds.md "The mock's
 * actions"), against the built daemon as users run it: a project bound to a real git repository
 * with a check; a mock agent whose script writes a file in the task's worktree, commits it and
 * says the task is done by its run's own task route. `tinyagi task add` and `task start` send it;
 * the daemon's Checking runs the check and the task reaches Review; `tinyagi task merge` puts the
 * file on the base branch. A second rule asks an approval first (as a real agent's tool call
 * would), answered from the CLI; only then does it write, commit and say done. The Python recipe
 * (docs/git-tasks.md, "A Python project"): a module the test writes, a venv made by the setup with
 * the machine's python3, a unittest check and a doctest check; the mock's change breaks the
 * doctest, whose `Expected:` and `Got:` reach it in its next message, and its fix passes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { commitFile, createDaemon, gitRepos, sh, type TestDaemon, waitFor } from '@tinyagi/test-kit';

let daemon: TestDaemon;
let repoDir: string;
let worktreeRoot: string;

const check = { name: 'greets', argv: ['grep', '-q', 'hello', 'hello.txt'], timeoutMs: 30_000 };

/** The Python project's module: `slugify`, whose doctest expects `doctest` and whose code joins words with `joiner`. */
const slugsModule = (doctest: string, joiner: string) =>
  [
    '"""Slugs for titles."""',
    '',
    '',
    'def slugify(title):',
    '    """The title in lower case, its words joined.',
    '',
    '    >>> slugify("Hello World")',
    `    '${doctest}'`,
    '    """',
    `    return "${joiner}".join(title.lower().split())`,
    '',
  ].join('\n');
/** Its unittest test. */
const slugsTest = (slug: string) =>
  [
    'import unittest',
    '',
    'from slugs import slugify',
    '',
    '',
    'class SlugifyTest(unittest.TestCase):',
    '    def test_joins_words(self):',
    `        self.assertEqual(slugify("Two  Words"), "${slug}")`,
    '',
  ].join('\n');

beforeAll(async () => {
  const fx = gitRepos();
  repoDir = fx.repoDir;
  worktreeRoot = join(fx.root, 'worktrees');
  daemon = await createDaemon({
    prefix: 'tinyagi-mock-loop-',
    // git and grep for the actions and the check.
    path: ['/usr/bin', '/bin'],
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      agents: {
        coder: {
          name: 'Coder',
          provider: 'mock',
          permission_mode: 'ask',
          mock: {
            replies: [
              // The Python task. First: the Checking's feedback, answered only when it carries the doctest's evidence.
              {
                match: 'Expected:',
                reply: 'Fixed the doctest.',
                actions: [{ write: { path: 'slugs.py', content: slugsModule('hello_world', '_') } }, { commit: 'slugify: the doctest says underscores' }, { update_task: { status: 'review' } }],
              },
              {
                match: 'underscores',
                reply: 'Slugs join with underscores.',
                actions: [
                  { write: { path: 'slugs.py', content: slugsModule('hello-world', '_') } },
                  { write: { path: 'test_slugs.py', content: slugsTest('two_words') } },
                  { commit: 'slugify: underscores' },
                  { update_task: { status: 'review' } },
                ],
              },
              {
                match: 'deploy',
                reply: 'Deployed, as allowed.',
                actions: [
                  { ask_approval: { tool: 'Bash', input: { command: 'make deploy' }, summary: 'deploy the site' } },
                  { write: { path: 'deployed.txt', content: 'deployed\n' } },
                  { commit: 'deploy after asking' },
                  { update_task: { status: 'review' } },
                ],
              },
              {
                match: 'hello',
                reply: 'Added hello.txt.',
                actions: [{ write: { path: 'hello.txt', content: 'hello from {{agent}}\n' } }, { commit: 'add hello.txt' }, { update_task: { status: 'review', comment: 'hello.txt is in.' } }],
              },
            ],
          },
        },
      },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
  await daemon.api.createProject({ body: { name: 'Web', repo: { path: repoDir, worktreeRoot, checks: [check] } } });
}, 120_000);

afterAll(async () => {
  await daemon?.cleanup();
});

async function inReview(ref: string) {
  return waitFor(
    async () => {
      const t = await daemon.api.getTask({ params: { id: ref } });
      if (t.git?.state === 'failed') throw new Error(`the worktree step failed: ${t.git.error?.code}: ${t.git.error?.message}`);
      return t.status === 'review' ? t : undefined;
    },
    90_000,
    `${ref} in review`,
  );
}

it('task add, task start: the mock writes, commits and says done; after its Checking the task is in review; task merge puts the file on main', async () => {
  const added = await daemon.cliHereOk(['task', 'add', 'Say hello', '--project', 'web', '--agent', 'coder', '--description', 'Write hello.txt.']);
  expect(added).toBe('Added WEB-1 (backlog, @coder): Say hello\nStart it with `tinyagi task start WEB-1`.\n');
  const started = await daemon.cliHereOk(['task', 'start', 'WEB-1']);
  expect(started).toMatch(/^WEB-1 is in progress: sent to @coder \(conversation conv_\S+\)\.\n$/);

  const task = await inReview('WEB-1');
  expect(task.git?.check?.state).toBe('passed');
  const worktree = join(worktreeRoot, 'WEB-1');
  expect(sh(worktree, 'log', '-1', '--format=%s')).toBe('add hello.txt');
  const comments = await daemon.api.listComments({ params: { id: 'WEB-1' } });
  expect(comments.map((c) => [c.author, c.content])).toContainEqual(['@coder', 'hello.txt is in.']);

  const shown = await daemon.cliHereOk(['task', 'show', 'WEB-1']);
  expect(shown).toContain('Checking: passed 1/1');
  const merged = await daemon.cliHereOk(['task', 'merge', 'WEB-1']);
  expect(merged).toMatch(/^Merged WEB-1 \(tinyagi\/WEB-1-say-hello\S*\) into main: [0-9a-f]{10} \(merge commit\)\./);
  expect(sh(repoDir, 'show', 'main:hello.txt')).toBe('hello from coder');
  expect(existsSync(worktree)).toBe(false);
  expect((await daemon.api.getTask({ params: { id: 'WEB-1' } })).status).toBe('done');
});

it('a mock action asks an approval, answered from the CLI: only then does the run write, commit and say done', async () => {
  const added = await daemon.cliHereOk(['task', 'add', 'Deploy the site', '--project', 'web', '--agent', 'coder', '--status', 'in_progress']);
  expect(added).toMatch(/^Added WEB-2 \(in_progress, @coder\): Deploy the site\nWEB-2 is in progress: sent to @coder/);
  const pending = await waitFor(async () => (await daemon.api.listApprovals({ query: { status: 'pending', agent: 'coder' } }))[0], 60_000, 'the mock asking');
  expect(pending.tool).toBe('Bash');
  // Nothing is written while the person has not answered.
  expect(existsSync(join(worktreeRoot, 'WEB-2', 'deployed.txt'))).toBe(false);
  expect(await daemon.cliHereOk(['approvals'])).toMatch(new RegExp(`${pending.id}\\s+pending\\s+@coder\\s+deploy the site`));
  expect(await daemon.cliHereOk(['approve', pending.id])).toContain('Allowed');

  await inReview('WEB-2');
  expect(sh(join(worktreeRoot, 'WEB-2'), 'log', '-1', '--format=%s')).toBe('deploy after asking');
});

it("the Python recipe: a venv made by the setup, unittest and doctest checks; a failing doctest's Expected and Got reach the agent, whose fix passes", async () => {
  const fx = gitRepos();
  commitFile(fx.repoDir, '.gitignore', '.venv/\n__pycache__/\n', 'ignore the venv and bytecode');
  commitFile(fx.repoDir, 'slugs.py', slugsModule('hello-world', '-'), 'slugify');
  commitFile(fx.repoDir, 'test_slugs.py', slugsTest('two-words'), 'its test');
  const worktreeRoot = join(fx.root, 'worktrees');
  // -B: no bytecode cache. The mock rewrites slugs.py within the same second at the same size, and a
  // cached .pyc of the old file would then be imported as current (Python compares mtime seconds and size).
  const python = ['.venv/bin/python', '-B', '-m'];
  const project = await daemon.api.createProject({
    body: {
      name: 'Lib',
      repo: {
        path: fx.repoDir,
        worktreeRoot,
        // The machine's python3 (Debian's, on the daemon's PATH); no pip: nothing to download.
        setup: { argv: ['python3', '-m', 'venv', '--without-pip', '.venv'], timeoutMs: 60_000 },
        checks: [
          { name: 'test', argv: [...python, 'unittest'], timeoutMs: 60_000 },
          { name: 'doctest', argv: [...python, 'doctest', 'slugs.py'], timeoutMs: 60_000 },
        ],
      },
    },
  });
  const created = await daemon.api.createTask({ body: { title: 'Join slug words with underscores', projectId: project.id, assigneeAgent: 'coder', status: 'in_progress' } });

  const task = await inReview(created.identifier!);
  expect(task.git?.check?.state).toBe('passed');
  expect(task.git?.rounds).toBe(1);
  const transcript = await daemon.api.getTranscript({ params: { id: task.conversationId! } });
  const feedback = transcript.entries.find((e) => e.direction === 'in' && e.text.includes('The check "doctest"'))?.text;
  expect(feedback).toContain('The check "doctest" (`.venv/bin/python -B -m doctest slugs.py`) exited with code 1.');
  expect(feedback).toMatch(/Expected:\s+'hello-world'\s+Got:\s+'hello_world'/);
  expect(feedback).not.toContain('The check "test"');
  expect(sh(join(worktreeRoot, created.identifier!), 'log', '-1', '--format=%s')).toBe('slugify: the doctest says underscores');
});

it('bad arguments are clear errors; the daemon refuses what it refuses with its code', async () => {
  const both = await daemon.cliHere(['task', 'add', 'x', '--agent', 'coder', '--team', 'dev']);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('Give --agent or --team, not both');
  await daemon.cliHereOk(['task', 'add', 'Nobody owns this', '--project', 'web']);
  const unowned = await daemon.cliHere(['task', 'start', 'WEB-3']);
  expect(unowned.code).toBe(2);
  expect(unowned.stderr).toContain('WEB-3 has no assignee: nobody would be sent it.');
  expect(await daemon.cliHereOk(['task', 'edit', 'WEB-3', '--title', 'Owned now', '--agent', 'coder'])).toBe('WEB-3: Owned now (backlog, @coder).\n');
  expect(await daemon.cliHereOk(['task', 'move', 'WEB-3', 'todo'])).toBe('WEB-3 is in todo.\n');
  const nothing = await daemon.cliHere(['task', 'edit', 'WEB-3']);
  expect(nothing.stderr).toContain('Nothing to change');
  const missing = await daemon.cliHere(['task', 'move', 'WEB-99', 'todo']);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain('TASK_NOT_FOUND');
  expect(await daemon.cliHereOk(['task', 'delete', 'WEB-3'])).toBe('Deleted WEB-3.\n');
  // WEB-2's worktree is on disk: the daemon asks what becomes of it.
  const worktree = await daemon.cliHere(['task', 'delete', 'WEB-2']);
  expect(worktree.code).not.toBe(0);
  expect(await daemon.cliHereOk(['task', 'delete', 'WEB-2', '--keep-worktree'])).toBe('Deleted WEB-2; its worktree is kept (orphaned).\n');
  // Listed orphaned by a name remove-worktree takes.
  const orphaned = /^(\S+)\s+orphaned/m.exec(await daemon.cliHereOk(['task', 'worktrees', 'web']))?.[1];
  expect(orphaned).toBeDefined();
  expect(await daemon.cliHereOk(['task', 'remove-worktree', 'web', orphaned!, '--force'])).toMatch(/^Removed the worktree \S+WEB-2\S*; its branch \S+ is kept\./);
});
