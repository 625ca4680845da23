/** Events shaped exactly like the daemon's (typed by the client's event map), with growing ids. */
import type { Agent, EventPayload, EventType, Team, TinyEvent } from '@tinyagi/client';

export const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

export interface Tree {
  conversationId?: string | null;
  runId?: string | null;
  parentRunId?: string | null;
  depth?: number | null;
  agentId?: string | null;
}

export function eventFactory(start = 1) {
  let id = start;
  return function ev<T extends EventType>(type: T, data: EventPayload<T>, tree: Tree = {}, ts = T0 + id * 100): TinyEvent {
    const event = { id: id++, ts, type, data, conversationId: null, runId: null, parentRunId: null, depth: null, agentId: null, ...tree };
    return event as unknown as TinyEvent;
  };
}

export const AGENTS: Agent[] = [
  { id: 'coder', name: 'Coder', provider: 'mock', model: 'scripted' },
  { id: 'reviewer', name: 'Reviewer', provider: 'anthropic', model: 'sonnet' },
  { id: 'solo', provider: 'openai', model: 'gpt' },
];
export const TEAMS: Team[] = [{ id: 'dev', name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' }];

const totals = { inputTokens: 0, outputTokens: 0, costUsd: 0 };

/** A team conversation where @coder hands off to @reviewer, who is working when it ends. */
export function handoffEvents(ev: ReturnType<typeof eventFactory>): TinyEvent[] {
  const conv = { conversationId: 'conv-1' };
  const root = { ...conv, runId: 'run-1', depth: 0, agentId: 'coder' };
  // As the daemon sends them: a handoff is a child run of the mentioning run, at depth 0.
  const child = { ...conv, runId: 'run-2', parentRunId: 'run-1', depth: 0, agentId: 'reviewer' };
  return [
    ev('conversation.started', { channel: 'cli', sender: 'alice', teamId: 'dev' }, conv),
    ev('message.received', { messageId: 'm1', channel: 'cli', sender: 'alice', teamId: 'dev', kind: 'user', preview: 'please build the login page' }, { ...conv, agentId: 'coder' }),
    ev('message.enqueued', { messageId: 'm1', kind: 'user', channel: 'cli', teamId: 'dev' }, { ...conv, agentId: 'coder' }),
    ev('run.started', { cause: 'message', messageIds: ['m1'] }, root),
    ev('run.progress', { type: 'tool', name: 'bash', turn: 1 }, root),
    ev('agent.mention', { teamId: 'dev', fromAgent: 'coder', toAgent: 'reviewer', hop: 1, messageId: 'm2', childRunId: 'run-2' }, root),
    ev('run.completed', { cause: 'message', ...totals, inputTokens: 100, outputTokens: 20, costUsd: 0.0012 }, root),
    ev('message.enqueued', { messageId: 'm2', kind: 'teammate', channel: 'cli', teamId: 'dev' }, { ...conv, agentId: 'reviewer' }),
    ev('run.started', { cause: 'mention', messageIds: ['m2'] }, child),
    ev('run.progress', { type: 'text', text: 'Reading the diff…', turn: 1 }, child),
  ];
}

export function subagentEvents(ev: ReturnType<typeof eventFactory>): TinyEvent[] {
  const conv = { conversationId: 'conv-2' };
  const root = { ...conv, runId: 'r-root', depth: 0, agentId: 'solo' };
  return [
    ev('conversation.started', { channel: 'cli', sender: 'bob', teamId: null }, conv),
    ev('run.started', { cause: 'message', messageIds: ['s1'] }, root),
    ev('subagent.started', { name: 'researcher', depth: 1, maxDepth: 3, parentRunId: 'r-root', session: null }, { ...conv, runId: 'r-sub1', parentRunId: 'r-root', depth: 1, agentId: 'solo' }),
    ev('subagent.started', { name: 'fact-checker', depth: 2, maxDepth: 3, parentRunId: 'r-sub1', session: null }, { ...conv, runId: 'r-sub2', parentRunId: 'r-sub1', depth: 2, agentId: 'solo' }),
    ev(
      'subagent.failed',
      { name: 'researcher', depth: 1, parentRunId: 'r-root', status: 'cancelled', inputTokens: 10, outputTokens: 0, costUsd: 0, error: 'cancelled by request' },
      { ...conv, runId: 'r-sub1b', parentRunId: 'r-root', depth: 1, agentId: 'solo' },
    ),
    ev(
      'subagent.completed',
      { name: 'fact-checker', depth: 2, parentRunId: 'r-sub1', status: 'completed', inputTokens: 1500, outputTokens: 300, costUsd: 0.02 },
      { ...conv, runId: 'r-sub2', parentRunId: 'r-sub1', depth: 2, agentId: 'solo' },
    ),
  ];
}
