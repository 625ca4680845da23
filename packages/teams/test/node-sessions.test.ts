/**
 * Several nodes (issue 17): an agent CLI keeps its session's files on the machine that ran it, so
 * a session is recorded with the node that holds it, resumed on that node, and not resumed on
 * another one (which starts a new session; the run does not fail on a resume the CLI cannot do).
 * Several nodes exist only on PostgreSQL: this file runs on both backends (`test:pg`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { invokeAgent, type InvokeRequest } from '@tinyagi/core';
import { fakeCli } from '@tinyagi/test-kit';
import { closeAll, harness, recordingInvoker, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const FAKE_CLAUDE = fakeCli('claude');

describe('agent sessions and nodes', () => {
  it('resumes a session on the node that holds it and starts a new one on another node', async () => {
    const log = recordingInvoker((req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE } }));
    const h = await harness({ agents: { coder: { provider: 'anthropic' } } }, { invoke: log.invoke, node: 'alpha' });
    const send = async (message: string) => waitForCompletion(h, (await h.orchestrator.submit({ message, senderId: 'u1' })).conversationId);

    await send('first');
    const [first] = await h.stores.agentSessions.list('coder');
    expect(first).toMatchObject({ node: 'alpha', turns: 1 });
    expect(first!.sessionId).not.toBe('');
    expect(log.calls[0]!.session?.resumeId).toBeNull();

    await send('second');
    expect(log.calls[1]!.session?.resumeId).toBe(first!.sessionId);

    // The session moves to another node (as if node beta had answered the last turn there).
    await h.stores.agentSessions.recordTurn('coder', first!.sessionKey, { provider: first!.provider, sessionId: first!.sessionId, user: 'u', assistant: 'a', node: 'beta' });
    await send('third');
    expect(log.calls[2]!.session?.resumeId, 'a session held by beta is not resumed on alpha').toBeNull();
    // The transcript goes with the run; the new session is alpha's.
    expect(log.calls[2]!.session?.history?.length ?? 0).toBeGreaterThan(0);
    const [now] = await h.stores.agentSessions.list('coder');
    expect(now).toMatchObject({ node: 'alpha' });
    expect(now!.sessionId).not.toBe(first!.sessionId);
  });

  it('with one process (no node) every session resumes, whatever it recorded', async () => {
    const log = recordingInvoker((req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: FAKE_CLAUDE } }));
    const h = await harness({ agents: { coder: { provider: 'anthropic' } } }, { invoke: log.invoke });
    const sent = await h.orchestrator.submit({ message: 'first', senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const [first] = await h.stores.agentSessions.list('coder');
    expect(first!.node).toBe('');
    await h.stores.agentSessions.recordTurn('coder', first!.sessionKey, { provider: first!.provider, sessionId: first!.sessionId, user: 'u', assistant: 'a', node: 'beta' });
    const again = await h.orchestrator.submit({ message: 'second', senderId: 'u1' });
    await waitForCompletion(h, again.conversationId);
    expect(log.calls[1]!.session?.resumeId).toBe(first!.sessionId);
  });
});
