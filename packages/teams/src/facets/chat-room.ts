/**
 * A team's chat room (docs/teams.md, "The tag protocol"): a post from a person, or from an agent
 * outside a run, reaches every other member as a message of the room's running conversation (a
 * new one when none runs). Built on an orchestrator: the runs it creates are told to its
 * observers like any other.
 */
import { newId, TinyError } from '@tinyagi/core';
import { io, ownEntry } from '../core-internal.ts';
import { teamMembers } from '../protocol/addressing.ts';
import { chatroomMessage, type MessageMeta } from '../router/provenance.ts';
import type { Ctx } from '../orchestrator/context.ts';
import { createRunWithEvent } from '../orchestrator/lifecycle.ts';
import { orchestratorContext, type Orchestrator } from '../orchestrator/orchestrator.ts';

export class ChatRoom {
  readonly #ctx: Ctx;

  constructor(orchestrator: Orchestrator) {
    this.#ctx = orchestratorContext(orchestrator);
  }

  /** A post to a team's chat room (a human's, or an agent's from outside a run): every other member receives it. */
  async post(teamId: string, from: string, text: string): Promise<{ id: number; conversationId: string | null }> {
    const ctx = this.#ctx;
    const settings = ctx.getSettings();
    const team = ownEntry(settings.teams, teamId);
    if (!team) throw new TinyError('TEAM_NOT_FOUND', `No team "${teamId}".`, { hint: `Known teams: ${Object.keys(settings.teams ?? {}).join(', ') || 'none'}.` });
    const members = teamMembers(settings, teamId);
    const author = from.replace(/^@/, '') || 'user';
    if (author !== 'user' && !members.includes(author)) {
      throw new TinyError('NOT_A_MEMBER', `@${author} is not a member of #${teamId}.`, { hint: `Members: ${members.map((m) => `@${m}`).join(', ')}.` });
    }
    if (text.trim() === '') throw new TinyError('MESSAGE_EMPTY', 'The chat-room post is empty.');
    return ctx.stores.transaction(function* postChatroom(tx) {
      const { runs, queue, events } = tx.stores;
      const recipients = members.filter((m) => m !== author);
      // Posts join the room's conversation while it is still running, so members that are
      // busy receive every waiting post in one invocation.
      let conversationId: string | null = recipients.length > 0 ? ((yield* io(tx.stores.queries.activeRoomConversation(teamId))) ?? null) : null;
      if (recipients.length > 0 && conversationId === null) {
        conversationId = newId('conv');
        yield* io(
          runs.createConversation({ id: conversationId, teamId, rootAgentId: team.leader_agent ?? recipients[0]!, channel: 'chatroom', sender: author, senderId: author, title: text.slice(0, 120) }),
        );
        yield* io(events.append({ type: 'conversation.started', conversationId, data: { channel: 'chatroom', sender: author, teamId } }));
      }
      const post = yield* io(tx.stores.chatroom.post({ teamId, fromAgent: author, content: text, conversationId }));
      yield* io(events.append({ type: 'chatroom.message', conversationId, data: { teamId, from: author, postId: post.id, text } }));
      for (const agentId of recipients) {
        const runId = newId('run');
        const messageId = newId('msg');
        const meta: MessageMeta = { from: author === 'user' ? null : author, hop: 0, room: teamId, body: text };
        yield* io(
          queue.enqueue({
            id: messageId,
            runId,
            kind: 'chatroom',
            agentId,
            teamId,
            conversationId: conversationId!,
            channel: 'chatroom',
            sender: author,
            senderId: author,
            content: chatroomMessage({ from: author, teamId, text }),
            meta: { ...meta },
          }),
        );
        yield* createRunWithEvent(ctx, tx, { id: runId, conversationId: conversationId!, agentId, teamId, channel: 'chatroom', cause: 'chatroom', depth: 0, messageIds: [messageId], input: text });
      }
      return { id: post.id, conversationId };
    });
  }
}
