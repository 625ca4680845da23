/**
 * Retries and cancel from the command line against a real daemon (the fake `claude` CLI), started
 * by the built `tinyagi start`; the commands run in this process (`cliHere`). Its stores follow
 * TINYAGI_TEST_BACKEND (`pnpm test:pg` runs this file on PostgreSQL).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, FAKE_BIN_DIR, waitFor, type TestDaemon } from '@tinyagi/test-kit';

let h: TestDaemon;
beforeAll(async () => {
  // The fake `claude` first on PATH: the daemon finds it like a user's install.
  h = await createDaemon({ path: [FAKE_BIN_DIR], storesOnTestBackend: true });
  await h.cliOk(['start']);
  await h.cliHereOk(['agent', 'add', 'cc', '--provider', 'anthropic', '--config', JSON.stringify({ max_attempts: 2, process: 'per-message' })]);
});
afterAll(async () => {
  await h.cleanup();
});

const json = async <T>(args: string[]): Promise<T> => JSON.parse(await h.cliHereOk([...args, '--json'])) as T;

interface Tree {
  conversation: { status: string; stopReason: string | null };
  roots: Array<{ status: string }>;
}

describe('retries and cancel from the command line', () => {
  it('send --wait shows every failed attempt with its reason, and the conversation ends failed', async () => {
    const sent = await h.cliHere(['send', '--agent', 'cc', '--wait', 'FAKE:exit=3']);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/@cc: attempt 1\/2 failed \(crashed\), retrying in \d+ s/);
    expect(sent.stderr).toContain('@cc: gave up (crashed) after attempt 2/2');
    // The failure's reason is said once: in the daemon's reply (with how to retry), not again in
    // the progress line nor in the error, which points at it.
    expect(sent.stdout).toMatch(/@cc could not answer: .*exit code 3.* \(gave up after 2 attempts\)\. The message is kept/);
    expect(sent.stderr).toContain('@cc failed\n');
    expect(sent.stderr).toContain('error: The conversation failed: the reply above says why.');
    expect(`${sent.stdout}${sent.stderr}`.match(/exit code 3/g)).toHaveLength(1);
    const [failed] = await json<Array<{ id: string; status: string; stopReason: string }>>(['conversation', 'list', '--status', 'failed']);
    expect(failed?.stopReason).toContain('gave up after 2 attempts');
    expect(await h.cliHereOk(['queue', 'dead'])).toMatch(/2\/2 .*crashed: claude \(agent cc\) failed \(exit code 3\)/);
  });

  it('cancels a running message: the command returns once its run and conversation have ended', async () => {
    const sent = await json<{ messageId: string; conversationId: string }>(['send', '--agent', 'cc', 'FAKE:hang']);
    await waitFor(
      async () => ((await json<{ processing: Array<{ id: string }> }>(['queue', 'status'])).processing.some((m) => m.id === sent.messageId) ? true : undefined),
      20_000,
      'the message to run',
    );
    expect(await h.cliHereOk(['cancel', sent.messageId])).toBe(`Cancelled message ${sent.messageId}.\n`);
    const tree = await json<Tree>(['conversation', 'show', sent.conversationId]);
    expect(tree.conversation.status).toBe('cancelled');
    expect(tree.roots[0]?.status).toBe('cancelled');
    expect((await json<{ processing: unknown[] }>(['queue', 'status'])).processing).toEqual([]);

    const again = await h.cliHere(['cancel', sent.messageId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('has already ended (cancelled)');
    const bad = await h.cliHere(['cancel', 'bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a message (msg_…), conversation (conv_…) or run (run_…) id');
  });

  it('cancels a message waiting on a rate limit, and a whole conversation', async () => {
    const limited = await json<{ messageId: string; conversationId: string }>(['send', '--agent', 'cc', 'FAKE:429']);
    await waitFor(
      async () => {
        // `queue status --json` lists the processing messages under `processing`.
        const { pending, processing } = await json<{ pending: number; processing: unknown[] }>(['queue', 'status']);
        return pending === 1 && processing.length === 0 ? true : undefined;
      },
      20_000,
      'the message to wait for its rate limit',
    );
    expect(await h.cliHereOk(['cancel', limited.messageId])).toBe(`Cancelled message ${limited.messageId}.\n`);
    expect((await json<Tree>(['conversation', 'show', limited.conversationId])).conversation.status).toBe('cancelled');

    const running = await json<{ messageId: string; conversationId: string }>(['send', '--agent', 'cc', 'FAKE:hang']);
    await waitFor(async () => ((await json<{ processing: Array<{ id: string }> }>(['queue', 'status'])).processing.length === 1 ? true : undefined), 20_000, 'the message to run');
    expect(await h.cliHereOk(['cancel', running.conversationId])).toBe(`Cancelled conversation ${running.conversationId} (1 run stopped).\n`);
    expect((await json<Tree>(['conversation', 'show', running.conversationId])).conversation).toMatchObject({ status: 'cancelled', stopReason: 'cancelled by the CLI' });
    const again = await h.cliHere(['cancel', running.conversationId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`The conversation ${running.conversationId} has already ended (cancelled)`);
  });

  it('stop --timeout shorter than the work in flight kills the daemon and the agent CLI it was running', async () => {
    const sent = await json<{ messageId: string }>(['send', '--agent', 'cc', 'FAKE:hang']);
    await waitFor(
      async () => ((await json<{ processing: Array<{ id: string }> }>(['queue', 'status'])).processing.some((m) => m.id === sent.messageId) ? true : undefined),
      20_000,
      'the message to run',
    );
    // The daemon's journal of agent process groups: `+pgid start` when one starts, `-pgid` when it
    // ends. The message is claimed before its agent CLI starts: wait for the CLI's group.
    const journal = join(h.home, 'run', 'agent-groups', 'groups.log');
    const live = (): number[] => {
      const groups = new Set<number>();
      for (const line of existsSync(journal) ? readFileSync(journal, 'utf8').split('\n') : []) {
        const pgid = Number(line.slice(1).split(' ')[0]);
        if (line.startsWith('+')) groups.add(pgid);
        if (line.startsWith('-')) groups.delete(pgid);
      }
      return [...groups];
    };
    const [pgid] = await waitFor(() => (live().length > 0 ? live() : undefined), 20_000, "the agent CLI's process group in the journal");
    expect(live()).toEqual([pgid]);
    expect(groupAlive(pgid!)).toBe(true);
    const stopped = await h.cliHereOk(['stop', '--timeout', '1']);
    expect(stopped).toMatch(/did not stop in time and was killed, with the 1 process group of agents and checks it was still running\./);
    // SIGKILLed; gone once the system has reaped it (its parent, the daemon, is gone too).
    await waitFor(() => (groupAlive(pgid!) ? undefined : true), 10_000, 'the agent CLI to be gone');
  });
});

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
