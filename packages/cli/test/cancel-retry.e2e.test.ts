/**
 * Retries and cancel from the command line against a real daemon (the fake `claude` CLI). Its
 * stores follow TINYAGI_TEST_BACKEND (`pnpm test:pg` runs this file on PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, FAKE_BIN_DIR, waitFor, type TestDaemon } from '@tinyagi/test-kit';

let h: TestDaemon;
beforeAll(async () => {
  // The fake `claude` first on PATH: the daemon finds it like a user's install.
  h = await createDaemon({ build: 'source', path: [FAKE_BIN_DIR], storesOnTestBackend: true });
  await h.cliOk(['start']);
  await h.cliOk(['agent', 'add', 'cc', '--provider', 'anthropic', '--config', JSON.stringify({ max_attempts: 2 })]);
});
afterAll(async () => {
  await h.cleanup();
});

const json = async <T>(args: string[]): Promise<T> => JSON.parse(await h.cliOk([...args, '--json'])) as T;

interface Tree {
  conversation: { status: string; stopReason: string | null };
  roots: Array<{ status: string }>;
}

describe('retries and cancel from the command line', () => {
  it('send --wait shows every failed attempt with its reason, and the conversation ends failed', async () => {
    const sent = await h.cli(['send', '--agent', 'cc', '--wait', 'FAKE:exit=3']);
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/@cc: attempt 1\/2 failed \(crashed\), retrying in \d+ s/);
    expect(sent.stderr).toContain('@cc: gave up (crashed) after attempt 2/2');
    expect(sent.stderr).toMatch(/The conversation failed: @cc failed: .*exit code 3/);
    const [failed] = await json<Array<{ id: string; status: string; stopReason: string }>>(['conversation', 'list', '--status', 'failed']);
    expect(failed?.stopReason).toContain('gave up after 2 attempts');
    expect(await h.cliOk(['queue', 'dead'])).toMatch(/2\/2 .*crashed: claude \(agent cc\) failed \(exit code 3\)/);
  });

  it('cancels a running message: the command returns once its run and conversation have ended', async () => {
    const sent = await json<{ messageId: string; conversationId: string }>(['send', '--agent', 'cc', 'FAKE:hang']);
    await waitFor(
      async () => ((await json<{ processing: Array<{ id: string }> }>(['queue', 'status'])).processing.some((m) => m.id === sent.messageId) ? true : undefined),
      20_000,
      'the message to run',
    );
    expect(await h.cliOk(['cancel', sent.messageId])).toBe(`Cancelled message ${sent.messageId}.\n`);
    const tree = await json<Tree>(['conversation', 'show', sent.conversationId]);
    expect(tree.conversation.status).toBe('cancelled');
    expect(tree.roots[0]?.status).toBe('cancelled');
    expect((await json<{ processing: unknown[] }>(['queue', 'status'])).processing).toEqual([]);

    const again = await h.cli(['cancel', sent.messageId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('has already ended (cancelled)');
    const bad = await h.cli(['cancel', 'bogus']);
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
    expect(await h.cliOk(['cancel', limited.messageId])).toBe(`Cancelled message ${limited.messageId}.\n`);
    expect((await json<Tree>(['conversation', 'show', limited.conversationId])).conversation.status).toBe('cancelled');

    const running = await json<{ messageId: string; conversationId: string }>(['send', '--agent', 'cc', 'FAKE:hang']);
    await waitFor(async () => ((await json<{ processing: Array<{ id: string }> }>(['queue', 'status'])).processing.length === 1 ? true : undefined), 20_000, 'the message to run');
    expect(await h.cliOk(['cancel', running.conversationId])).toBe(`Cancelled conversation ${running.conversationId} (1 run stopped).\n`);
    expect((await json<Tree>(['conversation', 'show', running.conversationId])).conversation).toMatchObject({ status: 'cancelled', stopReason: 'cancelled via API' });
    const again = await h.cli(['cancel', running.conversationId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`The conversation ${running.conversationId} has already ended (cancelled)`);
  });
});
