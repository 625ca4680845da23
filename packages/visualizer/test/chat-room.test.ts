/** The chat-room viewer's frames, and its exactly-once view of the room. */
import { createElement as h } from 'react';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatroomMessage } from '@tinyagi/client';
import { ChatRoom, createStore, initialChatState, mergeMessages, reduceChat, type ChatAction, type ChatState } from '../src/index.ts';
import { waitFor } from '@tinyagi/test-kit';
import { T0 } from './fixtures.ts';

const msg = (id: number, fromAgent: string, content: string, teamId = 'dev'): ChatroomMessage => ({ id, teamId, fromAgent, conversationId: null, content, createdAt: T0 + id * 1000 });

const mounted: Array<{ unmount(): void }> = [];
afterEach(() => {
  while (mounted.length) mounted.pop()!.unmount();
});

function show(state: ChatState, post?: (text: string) => Promise<void>) {
  const store = createStore(reduceChat, state);
  const app = render(h(ChatRoom, { store, width: 80, height: 12, color: false, ...(post ? { post } : {}) }));
  mounted.push(app);
  return { store, app, frame: () => app.lastFrame() ?? '' };
}

async function frameWhere(frame: () => string, check: (f: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 5000;
  while (!check(frame())) {
    if (Date.now() > deadline) throw new Error(`no frame with ${what}; last frame:\n${frame()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return frame();
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('chat room', () => {
  it('shows a message the stream delivers twice (as after a reconnect) once, and one a catch-up page repeats once', async () => {
    const { store, frame } = show([{ type: 'page', messages: [msg(1, 'coder', 'first')], nextCursor: 1 } as ChatAction].reduce(reduceChat, initialChatState('dev')));
    store.dispatch({ type: 'connection', state: 'open', info: { attempt: 0 } });
    store.dispatch({ type: 'arrived', message: msg(2, 'reviewer', 'looks good') });
    store.dispatch({ type: 'connection', state: 'reconnecting', info: { attempt: 1 } });
    store.dispatch({ type: 'connection', state: 'open', info: { attempt: 0 } });
    store.dispatch({ type: 'arrived', message: msg(2, 'reviewer', 'looks good') });
    store.dispatch({ type: 'page', messages: [msg(2, 'reviewer', 'looks good'), msg(3, 'coder', 'merging')], nextCursor: 3 });
    const f = await frameWhere(frame, (f) => f.includes('merging'), 'the caught-up message');
    expect(count(f, 'looks good')).toBe(1);
    expect(f.indexOf('first')).toBeLessThan(f.indexOf('looks good'));
    expect(f.indexOf('looks good')).toBeLessThan(f.indexOf('merging'));
    expect(f).toContain('● live');
    expect(store.getState().cursor).toBe(3);
  });

  it('keeps id order and the cursor forward-only; ignores other teams', () => {
    let state = initialChatState('dev');
    state = reduceChat(state, { type: 'page', messages: [msg(5, 'a', 'five'), msg(7, 'b', 'seven')], nextCursor: 7 });
    state = reduceChat(state, { type: 'arrived', message: msg(6, 'c', 'six') });
    state = reduceChat(state, { type: 'arrived', message: msg(8, 'x', 'elsewhere', 'ops') });
    state = reduceChat(state, { type: 'page', messages: [], nextCursor: 4 });
    expect(state.messages.map((m) => m.id)).toEqual([5, 6, 7]);
    expect(state.cursor).toBe(7);
    const many = Array.from({ length: 1500 }, (_, i) => msg(i + 10, 'a', `m${i}`));
    expect(mergeMessages(state.messages, many)).toHaveLength(1000);
  });

  it('composes and posts with Enter, shows the reconnecting state, quits with Esc', async () => {
    const posted: string[] = [];
    const { store, app, frame } = show(reduceChat(initialChatState('dev'), { type: 'page', messages: [], nextCursor: 0 }), async (text) => void posted.push(text));
    expect(frame()).toContain('No messages yet.');
    app.stdin.write('hello team');
    await frameWhere(frame, (f) => f.includes('> hello team'), 'the typed text');
    app.stdin.write('\r');
    await frameWhere(frame, (f) => !f.includes('hello team'), 'the cleared compose line');
    expect(posted).toEqual(['hello team']);
    store.dispatch({ type: 'connection', state: 'reconnecting', info: { attempt: 3 } });
    expect(await frameWhere(frame, (f) => f.includes('reconnecting'), 'reconnecting')).toContain('⟳ reconnecting (try 3)');
  });

  it('a pasted line with Enter in the same chunk posts it, bracketed paste too; text after the line break stays in the compose line', async () => {
    const posted: string[] = [];
    const { app, frame } = show(reduceChat(initialChatState('dev'), { type: 'page', messages: [], nextCursor: 0 }), async (text) => void posted.push(text));
    app.stdin.write('pasted line\r');
    await waitFor(() => posted.length === 1 || undefined, 5000, 'the pasted line to post');
    expect(posted).toEqual(['pasted line']);
    app.stdin.write('\u001b[200~from the clipboard\u001b[201~\r');
    await waitFor(() => posted.length === 2 || undefined, 5000, 'the bracketed paste to post');
    app.stdin.write('first\r\nsecond part');
    await frameWhere(frame, (f) => f.includes('> second part'), 'the rest in the compose line');
    expect(posted).toEqual(['pasted line', 'from the clipboard', 'first']);
  });
});
