/**
 * LiveReplies (src/live.ts) on its own, against a recording platform (the LiveReplyAdapter seam,
 * the way an adapter would answer): coalescing within the edit interval, no identical edits, the
 * first post only after `firstPostMs`, removal once the answer is confirmed (also while the post
 * is still on its way), after a run ends without one, the leftovers of an earlier process removed
 * at start, events that came before the chat was known, a vanished message posted anew under a
 * new idempotency key. The end-to-end tests (live-*.e2e.test.ts) run it on the real platforms' stand-ins.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TinyEvent } from '@tinyagi/client';
import { waitFor } from '@tinyagi/test-kit';
import { PermanentSendError, RetryAfterError, type LiveReplyAdapter } from '../src/adapter.ts';
import { LiveReplies } from '../src/live.ts';

interface Call {
  op: 'post' | 'edit' | 'remove';
  route: string;
  id: string;
  text?: string;
  key?: string;
  at: number;
}

/** A platform that keeps its messages and every call made to it. */
class RecordingPlatform implements LiveReplyAdapter {
  readonly editIntervalMs: number;
  readonly calls: Call[] = [];
  readonly messages = new Map<string, string>();
  /** The id the next post gets. */
  next = 1;
  /** Posts wait for this while set (an answer on its way); `postsStarted` counts the posts asked for. */
  postGate: Promise<void> | undefined;
  postsStarted = 0;
  /** The next edit answers "retry after" this long. */
  retryAfterNextEdit = 0;
  /** The next this many posts fail (an outage), each attempt recorded in `failedPosts`. */
  failPosts = 0;
  readonly failedPosts: number[] = [];
  constructor(editIntervalMs: number) {
    this.editIntervalMs = editIntervalMs;
  }
  async post(route: string, text: string, key?: string): Promise<string> {
    this.postsStarted += 1;
    await this.postGate;
    if (this.failPosts > 0) {
      this.failPosts -= 1;
      this.failedPosts.push(Date.now());
      throw new Error('socket hang up');
    }
    const id = String(this.next++);
    this.messages.set(id, text);
    this.calls.push({ op: 'post', route, id, text, ...(key !== undefined ? { key } : {}), at: Date.now() });
    return id;
  }
  async edit(route: string, id: string, text: string): Promise<void> {
    if (!this.messages.has(id)) throw new PermanentSendError('message to edit not found');
    if (this.retryAfterNextEdit > 0) {
      const ms = this.retryAfterNextEdit;
      this.retryAfterNextEdit = 0;
      this.calls.push({ op: 'edit', route, id, text: 'RETRY_AFTER', at: Date.now() });
      throw new RetryAfterError('Too Many Requests', ms);
    }
    this.messages.set(id, text);
    this.calls.push({ op: 'edit', route, id, text, at: Date.now() });
  }
  async remove(route: string, id: string): Promise<void> {
    this.messages.delete(id);
    this.calls.push({ op: 'remove', route, id, at: Date.now() });
  }
  ops(op: Call['op']): Call[] {
    return this.calls.filter((c) => c.op === op);
  }
}

let seq = 0;
function event<T extends TinyEvent['type']>(type: T, conversationId: string, runId: string, data: Extract<TinyEvent, { type: T }>['data']): TinyEvent {
  return { id: ++seq, ts: Date.now(), type, conversationId, runId, parentRunId: null, depth: 0, agentId: 'coder', data } as unknown as TinyEvent;
}
const status = (conv: string, run: string, message: string) => event('run.progress', conv, run, { type: 'status', message, turn: 1 });
const ended = (conv: string, run: string) => event('run.cancelled', conv, run, { cause: 'message', inputTokens: 0, outputTokens: 0, costUsd: 0 });

const dirs: string[] = [];
const live: LiveReplies[] = [];
afterEach(async () => {
  for (const l of live.splice(0)) await l.stop(100);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(options: { editIntervalMs?: number; firstPostMs?: number; finishGraceMs?: number; mode?: 'status' | 'text'; dir?: string } = {}) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tinyagi-live-'));
  if (options.dir === undefined) dirs.push(dir);
  const platform = new RecordingPlatform(options.editIntervalMs ?? 150);
  const replies = new LiveReplies({
    live: platform,
    mode: options.mode ?? 'status',
    maxMessageLength: 200,
    stateDir: dir,
    log: () => {},
    firstPostMs: options.firstPostMs ?? 0,
    heartbeatMs: 60_000,
    finishGraceMs: options.finishGraceMs ?? 60_000,
  });
  live.push(replies);
  return { dir, platform, replies };
}

describe('live replies', () => {
  it('coalesces a burst of progress into edits no closer than the interval, and never sends the same text twice', async () => {
    const { platform, replies } = setup({ editIntervalMs: 150 });
    replies.track('c1', 'chat');
    replies.onEvent(event('run.started', 'c1', 'r1', { cause: 'message', messageIds: [] }));
    await waitFor(() => platform.ops('post').length === 1, 5000, 'the post');
    const started = Date.now();
    for (let i = 1; i <= 200; i++) replies.onEvent(status('c1', 'r1', `step ${i}`));
    await waitFor(() => platform.messages.get('1')?.includes('step 200'), 5000, 'the last step shown');
    const elapsed = Date.now() - started;
    const edits = platform.ops('edit');
    expect(edits.length).toBeLessThanOrEqual(Math.ceil(elapsed / 150) + 1);
    for (const [i, e] of edits.entries()) if (i > 0) expect(e.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(145);
    // The same step again changes nothing: the next edit is the next step's.
    const count = platform.ops('edit').length;
    replies.onEvent(status('c1', 'r1', 'step 200'));
    replies.onEvent(status('c1', 'r1', 'step 201'));
    await waitFor(() => platform.messages.get('1')?.includes('step 201'), 5000, 'the next step shown');
    expect(
      platform
        .ops('edit')
        .slice(count)
        .map((e) => e.text),
    ).toEqual([expect.stringContaining('step 201')]);
  });

  it("takes a chat's own interval where the platform says one (a Telegram group)", async () => {
    const { platform, replies } = setup({ editIntervalMs: 50 });
    Object.assign(platform, { editIntervalFor: (route: string) => (route === 'group' ? 300 : undefined) });
    replies.track('c1', 'group');
    replies.onEvent(status('c1', 'r1', 'step 0'));
    await waitFor(() => platform.ops('post').length === 1, 5000, 'the post');
    for (let i = 1; i <= 30; i++) {
      replies.onEvent(status('c1', 'r1', `step ${i}`));
      // The progress comes over 600 ms, as a working agent's does (the scenario's pace, not a wait for a state).
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => platform.messages.get('1')?.includes('step 30'), 5000, 'the last step');
    const edits = platform.ops('edit');
    for (const [i, e] of edits.entries()) if (i > 0) expect(e.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(295);
  });

  it('posts nothing for a run that ends within firstPostMs', async () => {
    const { platform, replies } = setup({ firstPostMs: 300, finishGraceMs: 0 });
    replies.track('c1', 'chat');
    replies.onEvent(status('c1', 'r1', 'quick'));
    replies.answered('chat', 'r1');
    // A run of another chat that goes on: its post comes firstPostMs after its start, after the first run's would have.
    replies.track('c2', 'other chat');
    replies.onEvent(status('c2', 'r2', 'slow'));
    await waitFor(() => platform.ops('post').length === 1, 5000, "the other chat's post");
    expect(platform.calls.map((c) => c.route)).toEqual(['other chat']);
  });

  it('removes the progress message once the answer is confirmed, also when the answer beats the post', async () => {
    const { platform, replies, dir } = setup();
    let open!: () => void;
    platform.postGate = new Promise((r) => (open = r));
    replies.track('c1', 'chat');
    replies.onEvent(status('c1', 'r1', 'working hard'));
    await waitFor(() => platform.postsStarted === 1, 5000, 'the post on its way');
    replies.answered('chat', 'r1');
    open();
    await waitFor(() => platform.ops('remove').length === 1, 5000, 'the removal');
    expect(platform.messages.size).toBe(0);
    expect((JSON.parse(readFileSync(join(dir, 'live.json'), 'utf8')) as { messages: unknown[] }).messages).toEqual([]);
    // Late progress of the answered run shows nothing: the next post is another chat's, asked for after it.
    replies.onEvent(status('c1', 'r1', 'late'));
    replies.track('c2', 'other chat');
    replies.onEvent(status('c2', 'r2', 'next'));
    await waitFor(() => platform.ops('post').length === 2, 5000, "the other chat's post");
    expect(platform.ops('post').map((c) => c.route)).toEqual(['chat', 'other chat']);
  });

  it('removes it after a run that ended without a reply, once the grace has passed', async () => {
    const { platform, replies } = setup({ finishGraceMs: 200 });
    replies.track('c1', 'chat');
    replies.onEvent(status('c1', 'r1', 'about to be cancelled'));
    await waitFor(() => platform.ops('post').length === 1, 5000, 'the post');
    replies.onEvent(ended('c1', 'r1'));
    await waitFor(() => platform.ops('remove').length === 1, 5000, 'the removal after the grace');
    expect(platform.messages.size).toBe(0);
  });

  it('applies events that came before the chat was known, once it is', async () => {
    const { platform, replies } = setup();
    replies.onEvent(status('c9', 'r9', 'early bird'));
    const trackedAt = Date.now();
    replies.track('c9', 'chat-9');
    await waitFor(() => platform.ops('post')[0], 5000, 'the post');
    // Nothing was shown before the chat was known.
    expect(platform.calls.every((c) => c.at >= trackedAt)).toBe(true);
    expect(platform.ops('post')[0]).toMatchObject({ route: 'chat-9' });
    expect(platform.ops('post')[0]!.text).toContain('@coder: early bird');
  });

  it('a new process removes what a killed one left, and still knows the conversations', async () => {
    const first = setup();
    first.replies.track('c1', 'chat');
    first.replies.onEvent(status('c1', 'r1', 'then the process died'));
    await waitFor(() => first.platform.ops('post').length === 1, 5000, 'the post');
    // (no stop: a kill -9)
    live.splice(live.indexOf(first.replies), 1);
    const second = setup({ dir: first.dir });
    // The same platform: the message is still there.
    second.platform.messages.set('1', 'leftover');
    second.platform.next = 100;
    // Its progress comes before the clean-up is done: the new message is its own, the leftover still goes.
    second.replies.onEvent(status('c1', 'r1', 'still going'));
    await waitFor(() => second.platform.ops('post').length === 1, 5000, 'a fresh post in the known chat');
    await second.replies.cleanUp();
    expect(second.platform.ops('remove')).toMatchObject([{ route: 'chat', id: '1' }]);
    expect(second.platform.ops('post')[0]).toMatchObject({ route: 'chat' });
    expect([...second.platform.messages.keys()]).toEqual([second.platform.ops('post')[0]!.id]);
  });

  it('a progress message deleted by someone is posted anew, under a new idempotency key', async () => {
    const { platform, replies } = setup({ editIntervalMs: 50 });
    replies.track('c1', 'chat');
    replies.onEvent(status('c1', 'r1', 'one'));
    await waitFor(() => platform.ops('post').length === 1, 5000, 'the post');
    platform.messages.clear();
    replies.onEvent(status('c1', 'r1', 'two'));
    await waitFor(() => platform.ops('post').length === 2, 5000, 'the second post');
    const [a, b] = platform.ops('post');
    expect(a!.key).toBeDefined();
    expect(b!.key).not.toBe(a!.key);
  });

  it('a platform that fails is asked again with a growing wait, not in a loop', async () => {
    const { platform, replies } = setup({ editIntervalMs: 100 });
    platform.failPosts = 4;
    replies.track('c1', 'chat');
    replies.onEvent(status('c1', 'r1', 'during an outage'));
    await waitFor(() => platform.ops('post').length === 1, 10_000, 'the post once the platform is back');
    expect(platform.failedPosts).toHaveLength(4);
    // 500, 1000, 2000 ms between the attempts (the interval, at least 500 ms, doubled each time).
    const gaps = platform.failedPosts.slice(1).map((t, i) => t - platform.failedPosts[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(495);
    expect(gaps[1]).toBeGreaterThanOrEqual(995);
    expect(gaps[2]).toBeGreaterThanOrEqual(1995);
  });

  it('a retry_after answer to an edit pauses the edits that long', async () => {
    const { platform, replies } = setup({ editIntervalMs: 50 });
    replies.track('c1', 'chat');
    replies.onEvent(status('c1', 'r1', 'step 0'));
    await waitFor(() => platform.ops('post').length === 1, 5000, 'the post');
    platform.retryAfterNextEdit = 500;
    replies.onEvent(status('c1', 'r1', 'step 1'));
    const refused = await waitFor(() => platform.ops('edit').find((e) => e.text === 'RETRY_AFTER'), 5000, 'the refused edit');
    replies.onEvent(status('c1', 'r1', 'step 2'));
    const next = await waitFor(() => platform.ops('edit').find((e) => e.text?.includes('step 2')), 5000, 'the next edit');
    expect(next.at - refused.at).toBeGreaterThanOrEqual(495);
  });

  it('text mode shows the end of the text within the limit', async () => {
    const { platform, replies } = setup({ mode: 'text' });
    replies.track('c1', 'chat');
    replies.onEvent(event('run.progress', 'c1', 'r1', { type: 'text', text: `${'a'.repeat(300)}THE END`, turn: 1 }));
    await waitFor(() => platform.ops('post')[0], 5000, 'the post');
    const text = platform.ops('post')[0]!.text!;
    expect(text.length).toBeLessThanOrEqual(200);
    expect(text).toMatch(/\n…a+THE END$/);
  });

  it('status mode stays within the limit with many agents at work', async () => {
    const { platform, replies } = setup();
    replies.track('c1', 'chat');
    for (let i = 0; i < 8; i++) replies.onEvent(status('c1', `r${i}`, `a long status line number ${i} ${'x'.repeat(80)}`));
    await waitFor(() => platform.ops('post')[0], 5000, 'the post');
    expect(platform.ops('post')[0]!.text!.length).toBeLessThanOrEqual(200);
    expect(platform.ops('post')[0]!.text).toMatch(/^⏳ working… \d+s\n@coder: a long status line number 0/);
  });

  it('a stop removes what is shown', async () => {
    const { platform, replies, dir } = setup();
    replies.track('c1', 'chat');
    replies.onEvent(status('c1', 'r1', 'going'));
    await waitFor(() => platform.ops('post').length === 1, 5000, 'the post');
    await replies.stop();
    expect(platform.ops('remove')).toHaveLength(1);
    expect((JSON.parse(readFileSync(join(dir, 'live.json'), 'utf8')) as { messages: unknown[] }).messages).toEqual([]);
  });
});
