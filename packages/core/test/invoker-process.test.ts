/**
 * Process control of the CLI adapters: missing executables, wall-clock timeout, inactivity
 * watchdog, cancellation, SIGKILL escalation, and that a kill takes the whole process group
 * (the CLI and the grandchild it started) with it.
 */
import { fork, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeCli, isGone, waitFor } from '@tinyagi/test-kit';
import { invokeAgent, InvokeError, reapOrphanedGroups, type InvokeProgress, type InvokeRequest } from '../src/invoker/index.ts';

let root: string;
let workspace: string;
let pidFile: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tinyagi-invoker-proc-'));
  workspace = mkdtempSync(join(root, 'ws-'));
  pidFile = join(root, 'pids.json');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function request(cli: 'claude' | 'codex' | 'opencode', prompt: string, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    agentId: 'worker',
    target: { runtime: cli === 'claude' ? 'claude-code' : cli, provider: 'test', command: fakeCli(cli), killGraceMs: 300 },
    prompt,
    systemPrompt: 'You are a worker.',
    cwd: workspace,
    env: { FAKE_PID_FILE: pidFile },
    ...extra,
  };
}

async function invokeError(promise: Promise<unknown>): Promise<InvokeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof InvokeError) return err;
    throw err;
  }
  throw new Error('expected the invocation to fail');
}

function readPids(): { cli: number; grandchild: number } | undefined {
  return existsSync(pidFile) ? (JSON.parse(readFileSync(pidFile, 'utf8')) as { cli: number; grandchild: number }) : undefined;
}

async function expectAllGone(pids: { cli: number; grandchild: number }): Promise<void> {
  await waitFor(() => (isGone(pids.cli) && isGone(pids.grandchild) ? true : undefined), 3000, 'the process group to die');
}

describe('CLI process control', () => {
  it('reports a missing CLI as a permanent failure with an install hint', async () => {
    const req = request('claude', 'hi');
    const err = await invokeError(invokeAgent({ ...req, target: { ...req.target, command: join(root, 'no-such-claude') } }));
    expect(err.kind).toBe('permanent');
    expect(err.code).toBe('PROVIDER_CONFIG_INVALID');
    expect(err.message).toContain('no-such-claude" is not installed on this machine (not found on the daemon\'s PATH) (ENOENT).');
    expect(err.hint).toContain('npm i -g @anthropic-ai/claude-code');
  });

  it('reports a missing workspace as a permanent failure, not as a missing CLI', async () => {
    const err = await invokeError(invokeAgent(request('codex', 'hi', { cwd: join(root, 'nowhere') })));
    expect(err.kind).toBe('permanent');
    expect(err.code).toBe('INVALID_PATH');
  });

  it('kills the whole process group at the wall-clock timeout', async () => {
    const started = Date.now();
    const err = await invokeError(invokeAgent(request('claude', 'FAKE:grandchild', { timeoutMs: 800 })));
    expect(err.kind).toBe('timeout');
    expect(err.code).toBe('INVOKE_TIMEOUT');
    expect(err.message).toContain('did not finish within 800 ms');
    expect(Date.now() - started).toBeLessThan(4000);
    const pids = readPids();
    expect(pids).toBeDefined();
    await expectAllGone(pids!);
  });

  it('kills the whole process group when the caller aborts, and reports cancelled', async () => {
    const controller = new AbortController();
    const run = invokeAgent(request('opencode', 'FAKE:grandchild', { signal: controller.signal }));
    const pids = await waitFor(readPids, 20_000, 'the fake CLI to start its grandchild');
    expect(isGone(pids.cli) || isGone(pids.grandchild)).toBe(false);
    controller.abort();
    const err = await invokeError(run);
    expect(err.kind).toBe('cancelled');
    expect(err.code).toBe('INVOKE_CANCELLED');
    await expectAllGone(pids);
  });

  it('escalates to SIGKILL when the CLI ignores SIGTERM', async () => {
    const err = await invokeError(invokeAgent(request('codex', 'FAKE:stubborn FAKE:grandchild', { timeoutMs: 600 })));
    expect(err.kind).toBe('timeout');
    await expectAllGone(readPids()!);
  });

  it('stops a CLI that goes silent (inactivity watchdog)', async () => {
    const started = Date.now();
    const err = await invokeError(invokeAgent(request('claude', 'FAKE:hang', { timeoutMs: 60_000, inactivityMs: 500 })));
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain('no output for 500 ms');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('counts every output chunk as a sign of life', async () => {
    const events: Array<{ at: number; event: InvokeProgress }> = [];
    // Chunks 700 ms apart, inactivity limit 1 s: the output spans 1.4 s, longer than the limit,
    // so the run only survives because every chunk re-arms the watchdog. (The margin also
    // absorbs a slow start of the fake CLI on a loaded machine.)
    const result = await invokeAgent(
      request('claude', 'FAKE:slow FAKE:reply=one two three four five six', {
        inactivityMs: 1000,
        env: { FAKE_PID_FILE: pidFile, FAKE_SLOW_MS: '700' },
        onEvent: (event) => events.push({ at: Date.now(), event }),
      }),
    );
    expect(result.text).toBe('one two three four five six');
    const texts = events.filter((e) => e.event.type === 'text');
    expect(texts).toHaveLength(3);
    // Progress arrives while the CLI is still working, not all at the end.
    expect(texts[2]!.at - texts[0]!.at).toBeGreaterThanOrEqual(1300);
  });

  it('lets a run stay silent while it waits on work elsewhere, within the wall clock', async () => {
    const err = await invokeError(invokeAgent(request('claude', 'FAKE:hang', { inactivityMs: 200, timeoutMs: 1200, busyElsewhere: () => true })));
    expect(err.kind).toBe('timeout');
    expect(err.message).toContain('did not finish within');
  });
});

describe('process groups left behind by a killed daemon', () => {
  it('are recorded while they run and reaped by the next start; unverifiable entries are left alone', async () => {
    const journal = join(root, 'agent-groups');
    const daemon = fork(join(import.meta.dirname, 'fixtures/invoke-proc.ts'), [journal, pidFile, workspace], { execArgv: ['--conditions=tinyagi-source'], stdio: 'ignore' });
    const pids = await waitFor(readPids, 15_000, 'the fake CLI and its grandchild to start');
    // The journal names the CLI's group (with its leader's start time) and nothing else.
    expect(readdirSync(journal)).toEqual(['groups.log']);
    expect(readFileSync(join(journal, 'groups.log'), 'utf8')).toMatch(new RegExp(`^\\+${pids.cli} \\d+\\n$`));
    daemon.kill('SIGKILL');
    await new Promise((resolve) => daemon.once('exit', resolve));
    // SIGKILL skips every exit hook: the agent CLI and its grandchild are still running.
    expect(isGone(pids.cli)).toBe(false);
    expect(isGone(pids.grandchild)).toBe(false);

    // A recorded group whose leader is now a different process (pid reused) must not be touched
    // (recorded in the one-file-per-group format of earlier versions, which is still read); an
    // entry whose end was recorded is not a live group.
    const stranger = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    writeFileSync(join(journal, String(stranger.pid)), '1');
    appendFileSync(join(journal, 'groups.log'), `+${process.pid} 1\n-${process.pid}\n`);

    const result = reapOrphanedGroups(journal);
    expect(result).toEqual({ killed: [pids.cli], skipped: [stranger.pid] });
    await expectAllGone(pids);
    expect(isGone(stranger.pid!)).toBe(false);
    expect(readdirSync(journal)).toEqual([]);
    process.kill(-stranger.pid!, 'SIGKILL');
  });
});
