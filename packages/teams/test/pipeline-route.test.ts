/**
 * The route stage (orchestrator/route.ts `routeAnswer`) on values alone: no database, no
 * filesystem (the file check is an input). What an answer does: routes, notes, the human's text.
 */
import { describe, expect, it } from 'vitest';
import { SettingsSchema, type QueueMessage, type RunRecord, type Settings } from '@tinyagi/core';
import { readAnswer, routeAnswer, type FileCheck } from '../src/orchestrator/route.ts';

const settings: Settings = SettingsSchema.parse({
  agents: { lead: { provider: 'mock' }, coder: { provider: 'mock' }, outsider: { provider: 'mock' } },
  teams: { dev: { agents: ['lead', 'coder'], leader_agent: 'lead' } },
});

function run(cause: RunRecord['cause'] = 'user'): RunRecord {
  return {
    id: 'run_1',
    conversationId: 'conv_1',
    parentRunId: null,
    depth: 0,
    maxDepth: 3,
    agentId: 'lead',
    teamId: 'dev',
    channel: 'discord',
    cause,
    status: 'running',
    messageIds: ['msg_1'],
    input: 'go',
    output: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    error: null,
    createdAt: 0,
    startedAt: 0,
    endedAt: null,
  };
}

const message = { id: 'msg_1', teamId: 'dev', meta: {} } as unknown as QueueMessage;
const noFiles: FileCheck = { workspace: '', filesDir: undefined, allowed: [], refused: [] };

function route(answer: string, files: FileCheck = noFiles, cause: RunRecord['cause'] = 'user') {
  const r = run(cause);
  return routeAnswer({ run: r, messages: [message], settings, answer, readable: readAnswer(r, answer), files });
}

describe('routeAnswer', () => {
  it('plans a handoff to a teammate and keeps the readable text for the human', () => {
    const routed = route('Sure. [@coder: fix the login]');
    expect(routed.plan.deliveries).toEqual([expect.objectContaining({ kind: 'mention', target: 'coder', teamId: 'dev', hop: 1 })]);
    expect(routed.text).toContain('Sure.');
    expect(routed.text).not.toContain('[@coder');
    expect(routed.humanNote).toBeUndefined();
    expect(routed.files).toEqual([]);
  });

  it('does not route to an agent outside the team; the agent is told on its next turn, and the person it answers at once (its text shows the tag as a handoff)', () => {
    const routed = route('On it. [@outsider: help] [@ghost: and you]');
    expect(routed.plan.deliveries).toEqual([]);
    expect(routed.text).toBe('On it.\n→ @outsider: help\n→ @ghost: and you');
    expect(routed.plan.notes).toEqual([
      'Your message to @outsider was not delivered: @outsider is not a member of #dev, the team this conversation runs in.',
      'Your message to @ghost was not delivered: there is no agent with that id (your teammates: @coder).',
    ]);
    expect(routed.humanNote).toBe(
      [
        "(@lead's message to @outsider was not delivered: @outsider is not a member of #dev, the team this conversation runs in (`tinyagi team add-agent dev outsider` adds it).)",
        "(@lead's message to @ghost was not delivered: there is no agent with that id.)",
      ].join('\n'),
    );
    // A run that does not answer the person: only the agent is told.
    expect(route('[@outsider: help]', noFiles, 'chatroom').humanNote).toBeUndefined();
  });

  it('an agent in no team: its tag is not delivered, and the person is told so and how to make a team', () => {
    const loners = SettingsSchema.parse({ agents: { coder: { provider: 'mock' }, reviewer: { provider: 'mock' } } });
    const r = { ...run(), agentId: 'coder', teamId: null };
    const answer = 'Done. [@reviewer: check this]';
    const routed = routeAnswer({ run: r, messages: [{ ...message, teamId: null } as QueueMessage], settings: loners, answer, readable: readAnswer(r, answer), files: noFiles });
    expect(routed.plan.deliveries).toEqual([]);
    expect(routed.plan.notes).toEqual(['Your message to @reviewer was not delivered: you are not in a team, so there is nobody to hand work to.']);
    expect(routed.humanNote).toBe("(@coder's message to @reviewer was not delivered: @coder is in no team, so it has nobody to hand work to (`tinyagi team add` makes one).)");
  });

  it('refused files: a note for the human (after the plugins) and one for the agent naming where files may come from', () => {
    const files: FileCheck = { workspace: '/ws/lead', filesDir: '/home/files', allowed: ['/ws/lead/a.txt'], refused: [{ file: '/etc/passwd', reason: 'is outside the allowed directories' }] };
    const routed = route('Here. [send_file: /ws/lead/a.txt] [send_file: /etc/passwd]', files);
    expect(routed.files).toEqual(['/ws/lead/a.txt']);
    expect(routed.refused).toEqual(files.refused);
    expect(routed.humanNote).toBe('(A file @lead tried to send was not sent: only files inside its workspace or TINYAGI_HOME/files can be sent.)');
    expect(routed.plan.notes).toEqual(['[send_file: /etc/passwd] was not sent: it is outside the allowed directories. Only files inside your workspace (/ws/lead) or /home/files can be sent.']);
  });

  it('a run that does not answer the human (a chat-room turn) gets no human note, the agent still does', () => {
    const files: FileCheck = { workspace: '/ws/lead', filesDir: undefined, allowed: [], refused: [{ file: 'x', reason: 'is not an absolute path' }] };
    const routed = route('[send_file: x]', files, 'chatroom');
    expect(routed.humanNote).toBeUndefined();
    expect(routed.plan.notes).toEqual(['[send_file: x] was not sent: it is not an absolute path. Only files inside your workspace (/ws/lead) can be sent.']);
  });

  it('reads the files an answer asks to send (for the check before deciding)', () => {
    expect(readAnswer(run(), 'a [send_file: /tmp/x.png] b').files).toEqual(['/tmp/x.png']);
  });
});
