/**
 * The mock runtime's scripted actions (mock-actions.ts): their parsing and its errors, and what
 * they do in a real git repository: a file written (never outside the working directory), a
 * command run, a commit, the task updated through a real HTTP route, an approval asked; the first
 * action that fails ends the run with its reason and the ones after it do not run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { invokeAgent, InvokeError, type InvokeProgress, type InvokeRequest, type MockScriptSpec } from '../src/invoker/index.ts';
import { parseMockActions } from '../src/invoker/runtimes/mock-actions.ts';
import { checkAgentConfig } from '../src/config/index.ts';
import { IDENTITY_MARKER } from '@tinyagi/sandbox';

let root: string;
let repo: string;
let events: InvokeProgress[];

const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-mock-actions-'));
  repo = join(root, 'repo');
  mkdirSync(repo);
  git('init', '-q', '-b', 'main');
  events = [];
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function request(actions: unknown[], extra: Partial<InvokeRequest> = {}): InvokeRequest {
  const mock: MockScriptSpec = { replies: [{ match: 'go', reply: 'did it', actions }] };
  return {
    agentId: 'demo',
    target: { runtime: 'mock', provider: 'mock', mock },
    prompt: 'go now',
    systemPrompt: '',
    cwd: repo,
    onEvent: (e) => events.push(e),
    ...extra,
  };
}

async function failure(promise: Promise<unknown>): Promise<InvokeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof InvokeError) return err;
    throw err;
  }
  throw new Error('expected the invocation to fail');
}

describe('parseMockActions', () => {
  it('takes each action as written', () => {
    expect(
      parseMockActions([
        { write: { path: 'a/b.txt', content: 'x' } },
        { run: ['npm', 'test'] },
        { commit: 'work' },
        { update_task: { status: 'review', comment: 'done' } },
        { ask_approval: { tool: 'Bash', input: { command: 'rm -rf build' } } },
        { remember: { text: 'We deploy on Thursdays.', kind: 'decision', reason: 'the person said so', scope: 'project' } },
      ]),
    ).toEqual([
      { write: { path: 'a/b.txt', content: 'x' } },
      { run: ['npm', 'test'] },
      { commit: 'work' },
      { update_task: { status: 'review', comment: 'done' } },
      { ask_approval: { tool: 'Bash', input: { command: 'rm -rf build' } } },
      { remember: { text: 'We deploy on Thursdays.', kind: 'decision', reason: 'the person said so', scope: 'project' } },
    ]);
    expect(parseMockActions(undefined)).toEqual([]);
  });

  it.each([
    ['a list', { write: {} }, "reply's actions: must be a list"],
    ['an unknown action', [{ delete: 'x' }], "reply's action 1: must have exactly one of the keys write, run, commit, update_task, ask_approval, remember (it has delete)"],
    ['two keys', [{ commit: 'a', run: ['ls'] }], 'it has commit, run'],
    ['a shell line', [{ commit: 'ok' }, { run: 'npm test' }], "reply's action 2: run needs a command and its arguments as a list of strings"],
    ['an absolute path', [{ write: { path: '/etc/passwd', content: '' } }], 'is absolute'],
    ['a content', [{ write: { path: 'a.txt' } }], 'write needs { path, content }'],
    ['an empty message', [{ commit: ' ' }], 'commit needs its message'],
    ['a known status', [{ update_task: { status: 'finished' } }], "update_task's status must be one of backlog, todo, in_progress, checking, review, done"],
    ['something to update', [{ update_task: {} }], 'update_task needs a status, a comment, or both'],
    ['a tool', [{ ask_approval: { input: {} } }], 'ask_approval needs { tool, input?, summary? }'],
    ['a kind of memory', [{ remember: { text: 'x', kind: 'rumour', reason: 'y' } }], 'remember needs { text, kind, reason, scope?, scope_id?, replaces? } as the remember tool takes them: kind:'],
  ])('refuses without %s: CONFIG_INVALID naming the action, with a hint', (_what, raw, message) => {
    let caught: unknown;
    try {
      parseMockActions(raw);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvokeError);
    const err = caught as InvokeError;
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain(message);
    expect(err.hint).toContain('{ write: { path, content } }');
  });

  it('a malformed action fails the run before any action runs', async () => {
    const err = await failure(invokeAgent(request([{ write: { path: 'a.txt', content: 'x' } }, { run: 'ls -l' }])));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('reply "go"\'s action 2');
    expect(existsSync(join(repo, 'a.txt'))).toBe(false);
  });
});

describe('mock actions', () => {
  it('write, run and commit in the working directory, in order, with the variables rendered; each reported as a tool', async () => {
    const result = await invokeAgent(
      request([{ write: { path: 'src/hello.txt', content: 'hello from {{agent}}\n' } }, { run: ['sh', '-c', 'cat src/hello.txt > copy.txt'] }, { commit: 'work by {{agent}}' }]),
    );
    expect(result.text).toBe('did it');
    expect(readFileSync(join(repo, 'src/hello.txt'), 'utf8')).toBe('hello from demo\n');
    expect(git('log', '-1', '--format=%s')).toBe('work by demo');
    expect(git('show', '--name-only', '--format=', 'HEAD').split('\n').sort()).toEqual(['copy.txt', 'src/hello.txt']);
    expect(git('status', '--porcelain')).toBe('');
    const tools = events.filter((e) => e.type === 'tool' || e.type === 'tool_result');
    expect(tools.map((e) => (e.type === 'tool' ? `${e.name}` : `${e.type === 'tool_result' ? e.name : ''}:${e.type === 'tool_result' && e.ok}`))).toEqual([
      'write',
      'write:true',
      'run',
      'run:true',
      'commit',
      'commit:true',
    ]);
  });

  it('a write out of the working directory is refused (.., a symbolic link on the way, a link as the file); nothing is written there and the rest does not run', async () => {
    const outside = join(root, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(repo, 'out'));
    symlinkSync(join(outside, 'target.txt'), join(repo, 'link.txt'));
    for (const path of ['../escaped.txt', 'sub/../../escaped.txt', 'out/escaped.txt', 'link.txt']) {
      const err = await failure(invokeAgent(request([{ write: { path, content: 'x' } }, { run: ['touch', 'after.txt'] }])));
      expect(err.code).toBe('INVALID_PATH');
      expect(err.kind).toBe('permanent');
      expect(err.message).toContain(`action 1 (write) failed: The mock's write to "${path}" is refused: it leads outside the run's working directory`);
    }
    expect(existsSync(join(root, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(outside, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(outside, 'target.txt'))).toBe(false);
    expect(existsSync(join(repo, 'after.txt'))).toBe(false);
  });

  it('a failing command fails the run with its exit code and the end of its output; the actions after it do not run', async () => {
    const err = await failure(invokeAgent(request([{ run: ['sh', '-c', 'echo tests broke >&2; exit 3'] }, { write: { path: 'after.txt', content: '' } }])));
    expect(err.kind).toBe('permanent');
    expect(err.message).toBe("mock (agent demo): action 1 (run) failed: The mock's command `sh -c echo tests broke >&2; exit 3` failed (exit 3): tests broke");
    expect(existsSync(join(repo, 'after.txt'))).toBe(false);
    expect(events.some((e) => e.type === 'tool_result' && e.name === 'run' && !e.ok)).toBe(true);
    const missing = await failure(invokeAgent(request([{ run: ['no-such-command-here'] }])));
    expect(missing.message).toContain('could not start no-such-command-here: not found on PATH');
  });

  it("in a task's worktree, commits as the identity its task recorded (the binding's here, not the repository's config)", async () => {
    git('config', 'user.name', 'Repo Config');
    git('config', 'user.email', 'repo@example.com');
    git('commit', '-q', '--allow-empty', '-m', 'initial');
    // The worktree and its record as the git engine's worktree step leaves them (@tinyagi/git-tasks, worktrees.ts).
    const worktree = join(root, 'worktrees', 'WEB-1');
    git('worktree', 'add', '-q', '-b', 'tinyagi/WEB-1-fix', worktree);
    const admin = execFileSync('git', ['rev-parse', '--absolute-git-dir'], { cwd: worktree, encoding: 'utf8' }).trim();
    writeFileSync(join(admin, IDENTITY_MARKER), `${JSON.stringify({ name: 'Web Bot', email: 'bot@example.com' })}\n`);
    await invokeAgent(request([{ write: { path: 'fix.txt', content: 'fixed\n' } }, { commit: 'fix' }], { cwd: worktree }));
    expect(git('log', '-1', '--format=%an <%ae> / %cn <%ce>', 'tinyagi/WEB-1-fix')).toBe('Web Bot <bot@example.com> / Web Bot <bot@example.com>');
  });

  it('a commit with nothing to commit fails the run', async () => {
    const err = await failure(invokeAgent(request([{ commit: 'empty' }])));
    expect(err.message).toMatch(/action 1 \(commit\) failed: The mock's command `git .*commit -q -m empty` failed \(exit 1\)/);
  });

  describe('update_task', () => {
    let server: Server;
    let api: string;
    const seen: Array<{ method: string; url: string; auth: string | undefined; body: unknown }> = [];
    let answer: { status: number; body: unknown } = { status: 200, body: { task: null, comments: [] } };

    beforeEach(async () => {
      seen.length = 0;
      answer = { status: 200, body: { task: null, comments: [] } };
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(body) });
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(answer.body));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    const env = () => ({ TINYAGI_API_URL: api, TINYAGI_RUN_ID: 'run_1', TINYAGI_RUN_TOKEN: 'tok_run' });

    it("calls the run's own task route with its run token, as the update_task tool does", async () => {
      await invokeAgent(request([{ update_task: { status: 'review', comment: 'ready' } }], { env: env() }));
      expect(seen).toEqual([{ method: 'PATCH', url: '/api/runs/run_1/task', auth: 'Bearer tok_run', body: { status: 'review', comment: 'ready' } }]);
    });

    it("the API's refusal fails the run with its code and message", async () => {
      answer = { status: 404, body: { error: { code: 'TASK_NOT_FOUND', message: 'This conversation works on no task.' } } };
      const err = await failure(invokeAgent(request([{ update_task: { status: 'review' } }], { env: env() })));
      expect(err.message).toBe("mock (agent demo): action 1 (update_task) failed: The mock's update_task was refused (404): TASK_NOT_FOUND: This conversation works on no task.");
    });

    it('a run without the API says so', async () => {
      const err = await failure(invokeAgent(request([{ update_task: { status: 'review' } }])));
      expect(err.message).toContain('this run has no API to tell');
    });

    it("remember proposes through the run's memory route with its run token, the body the remember tool sends", async () => {
      answer = { status: 201, body: { entry: { id: 'mem_1' }, similar: [] } };
      await invokeAgent(request([{ remember: { text: 'Carol, {{agent}}: French.', kind: 'preference', reason: 'she asked', scope: 'team', scope_id: 'dev' } }], { env: env() }));
      expect(seen).toEqual([
        { method: 'POST', url: '/api/runs/run_1/memory', auth: 'Bearer tok_run', body: { text: 'Carol, demo: French.', kind: 'preference', reason: 'she asked', scope: 'team', scopeId: 'dev' } },
      ]);
      expect(events).toContainEqual(expect.objectContaining({ type: 'tool', name: 'remember', kind: 'mcp' }));
    });
  });

  describe('ask_approval', () => {
    it("asks the run's approval step with the tool and its input; allowed, the next action runs", async () => {
      const asked: unknown[] = [];
      await invokeAgent(
        request([{ ask_approval: { tool: 'Bash', input: { command: 'rm -rf build' }, summary: 'clean the build' } }, { write: { path: 'after.txt', content: 'ok' } }], {
          askApproval: async (ask) => {
            asked.push(ask);
            return { allow: true, decidedBy: 'cli' };
          },
        }),
      );
      expect(asked).toEqual([{ tool: 'Bash', input: { command: 'rm -rf build' }, summary: 'clean the build' }]);
      expect(readFileSync(join(repo, 'after.txt'), 'utf8')).toBe('ok');
    });

    it('denied, the run fails with the reason and the next action does not run', async () => {
      const err = await failure(
        invokeAgent(
          request([{ ask_approval: { tool: 'Bash', input: { command: 'rm -rf build' } } }, { write: { path: 'after.txt', content: 'ok' } }], {
            askApproval: async () => ({ allow: false, reason: 'not the build folder', decidedBy: 'cli' }),
          }),
        ),
      );
      expect(err.message).toBe("mock (agent demo): action 1 (ask_approval) failed: The mock's Bash was denied (cli): not the build folder.");
      expect(existsSync(join(repo, 'after.txt'))).toBe(false);
    });
  });
});

describe('mock actions in a sandboxed agent (real bwrap)', () => {
  // Under ~/.cache: a path on the read-only root inside the sandbox (/tmp is private there).
  const scratch = join(homedir(), '.cache');
  let box: string;
  let tinyHome: string;
  let work: string;

  beforeAll(() => {
    mkdirSync(scratch, { recursive: true });
    box = mkdtempSync(join(scratch, 'tinyagi-mock-sb-'));
    tinyHome = join(box, 'tinyagi-home');
    work = join(box, 'work');
    for (const dir of [tinyHome, work, join(box, 'outside')]) mkdirSync(dir, { recursive: true });
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: work });
  });
  afterAll(() => {
    rmSync(box, { recursive: true, force: true });
  });

  const sandboxed = (actions: unknown[]): InvokeRequest => ({
    ...request(actions),
    cwd: work,
    target: {
      runtime: 'mock',
      provider: 'mock',
      mock: { replies: [{ match: 'go', reply: 'did it', actions }] },
      sandbox: { mode: 'required', tinyHome, workspaceRoot: join(box, 'ws'), memoryMb: 512 },
    },
  });

  it('run and commit start inside the boundary: a command writing outside the working directory fails there, one inside and the commit pass', async () => {
    const leak = join(box, 'outside', 'leak.txt');
    const err = await failure(invokeAgent(sandboxed([{ run: ['sh', '-c', `echo leaked > ${leak}`] }])));
    expect(err.message).toMatch(/action 1 \(run\) failed: The mock's command `sh -c echo leaked > \S+` failed \(exit \d+\): .*(Read-only file system|Permission denied)/);
    expect(existsSync(leak)).toBe(false);

    await invokeAgent(sandboxed([{ run: ['sh', '-c', 'echo inside > inside.txt'] }, { commit: 'confined commit' }]));
    expect(readFileSync(join(work, 'inside.txt'), 'utf8')).toBe('inside\n');
    expect(execFileSync('git', ['log', '-1', '--format=%s'], { cwd: work, encoding: 'utf8' }).trim()).toBe('confined commit');

    // Unconfined, the same command writes there: the boundary is what refused it.
    await invokeAgent(request([{ run: ['sh', '-c', `echo leaked > ${leak}`] }]));
    expect(existsSync(leak)).toBe(true);
  });
});

describe("the settings check of a scripted reply's actions", () => {
  it('takes well-formed actions and names the path of a malformed one', () => {
    expect(
      checkAgentConfig({
        provider: 'mock',
        mock: {
          replies: [
            {
              match: 'x',
              actions: [
                { write: { path: 'a.txt', content: '' } },
                { run: ['ls'] },
                { commit: 'm' },
                { update_task: { status: 'review' } },
                { ask_approval: { tool: 'Bash' } },
                { remember: { text: 't', kind: 'fact', reason: 'r' } },
              ],
            },
          ],
        },
      }),
    ).toEqual([]);
    for (const action of [{ run: 'npm test' }, { delete: 'x' }, { update_task: { status: 'finished' } }, { commit: '' }, { remember: { text: 't', kind: 'fact' } }]) {
      const issues = checkAgentConfig({ provider: 'mock', mock: { replies: [{ match: 'x', actions: [{ commit: 'ok' }, action] }] } });
      expect(
        issues.map((i) => i.path),
        JSON.stringify(action),
      ).toEqual([expect.stringMatching(/^mock\.replies\[0\]\.actions\[1\]/)]);
    }
  });
});
