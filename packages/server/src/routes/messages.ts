/** POST /api/message (intake through the orchestrator) and message lookup/cancel. */
import { TinyError } from '@tinyagi/core';
import { sessionKeyFor } from '../core-internal.ts';
import type { ServerContext } from '../context.ts';
import { requestedBy } from '../requested-by.ts';
import type { RouteHandlers } from '../routing.ts';
import { allowedFileRoots, confineFiles } from '../security/file-confinement.ts';
import { requirePairedSender } from '../security/paired-sender.ts';

export function messageRoutes(ctx: ServerContext): RouteHandlers<'sendMessage' | 'getMessage' | 'cancelMessage' | 'chatStatus' | 'resetChat'> {
  return {
    sendMessage: async ({ body, auth }) => {
      // Before the files: an unpaired sender's message is refused for that first, and nothing is enqueued.
      if (auth.kind === 'channel') await requirePairedSender(ctx.pairings, auth.channel, body.senderId, 'send messages to the agents');
      const attachments = body.attachments ? confineFiles(body.attachments, allowedFileRoots(ctx.settings(), ctx.home, ctx.env)) : undefined;
      const result = await ctx.orchestrator.submitGrouped({ ...body, ...(attachments ? { attachments } : {}) });
      return {
        messageId: result.messageId,
        conversationId: result.conversationId,
        agentId: result.agentId,
        teamId: result.teamId,
        created: result.created,
        action: result.action,
        addressed: result.addressed,
        ...(result.reply !== undefined ? { reply: result.reply } : {}),
        ...(result.decision !== undefined ? { decision: result.decision } : {}),
      };
    },

    getMessage: async ({ params }) => {
      const { queue, runs, outbox } = ctx.stores;
      const message = await queue.get(params.id);
      if (!message) throw new TinyError('MESSAGE_NOT_FOUND', `No message with id ${params.id}.`);
      // The run that processed the message (runs list the messages they consumed).
      const run = (message.runId ? await runs.getRun(message.runId) : undefined) ?? (await runs.listRuns(message.conversationId)).find((r) => r.messageIds.includes(message.id)) ?? null;
      const replies = (await outbox.list({ conversationId: message.conversationId, limit: 1000 })).filter((r) => r.messageId === message.id);
      return { message, run, replies };
    },

    chatStatus: async ({ query }) => {
      const conversation = (await ctx.stores.runs.latestConversationOfThread(query.channel, query.threadKey)) ?? null;
      const runs = conversation === null ? [] : await ctx.stores.runs.listRuns(conversation.id);
      return {
        conversation,
        running: [...new Set(runs.filter((r) => r.status === 'running').map((r) => r.agentId))],
        queued: runs.filter((r) => r.status === 'queued').length,
      };
    },

    // Per-thread and per-sender sessions of this chat; a `shared` session belongs to every
    // sender, so a chat never resets it (`tinyagi agent reset` does).
    resetChat: async ({ body, auth }) => {
      if (auth.kind === 'channel') await requirePairedSender(ctx.pairings, auth.channel, body.senderId, 'reset its chats');
      const scope = { channel: body.channel, senderId: body.senderId, threadKey: body.threadKey };
      return {
        defaultCleared: await ctx.stores.senderDefaults.clear(body.channel, body.senderId),
        sessionsCleared: await ctx.agentSessions.resetKeys([sessionKeyFor('per-thread', scope), sessionKeyFor('per-sender', scope)]),
      };
    },

    cancelMessage: async ({ params, auth, request }) => await ctx.facets.conversations.cancelMessage(params.id, `cancelled by ${requestedBy(auth, request)}`),
  };
}
