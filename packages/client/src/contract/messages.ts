/** Message intake and lookup (the queue's own routes are in queue.ts). */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, IdParamsSchema, IdText, Int, NullableStr, OptionalIdText, OptionalMax200, OptionalShortText, OptionalStr, ShortText, Str, StrArray } from './common.ts';
import { ConversationSchema, DecisionSchema, MESSAGE_STATUSES, OutboxSchema, QueueMessageSchema, RunSchema } from './records.ts';

export const SendMessageBodySchema = z
  .object({
    message: z.string().min(1).max(200_000),
    agent: OptionalShortText,
    team: OptionalShortText,
    sender: OptionalMax200,
    senderId: OptionalMax200,
    channel: OptionalShortText,
    threadKey: OptionalMax200,
    idempotencyKey: OptionalIdText,
    attachments: z.array(z.string().min(1).max(4096)).max(20).optional(),
  })
  .meta({ id: 'SendMessageBody' });
export type SendMessageBody = z.infer<typeof SendMessageBodySchema>;

export const SendMessageResultSchema = z.object({
  messageId: Str,
  conversationId: Str,
  agentId: Str,
  teamId: NullableStr,
  /** False for a repeated idempotency key, and when nothing was enqueued (see `reply`). */
  created: Bool,
  /**
   * `enqueued`: a new message (and run); `duplicate`: a repeated idempotency key; `default_set` /
   * `default_cleared`: a bare `@target` / `@default` changed the sender's default target and
   * nothing was sent to an agent (messageId and conversationId are ''); `answered`: a
   * `continue`/`stop` answer to a limit prompt (conversationId is the conversation that asked).
   */
  action: z.enum(['enqueued', 'duplicate', 'default_set', 'default_cleared', 'answered']),
  /** Whether the message named the agent or its team; teamId can be a team context either way. */
  addressed: z.enum(['agent', 'team']),
  /** A system answer instead of an agent run (e.g. "Your messages now go to @coder"); messageId is then ''. */
  reply: OptionalStr,
  /** With `answered`: which decision the message gave (`continue` resumes held work, `stop` ends the conversation). */
  decision: DecisionSchema.optional(),
});
export type SendMessageResult = z.infer<typeof SendMessageResultSchema>;

export const MessageDetailSchema = z.object({
  message: QueueMessageSchema,
  run: RunSchema.nullable(),
  replies: z.array(OutboxSchema),
});
export type MessageDetail = z.infer<typeof MessageDetailSchema>;

/** One chat of a channel (a chat, topic or thread: the thread key its messages carry). */
const ChatQuerySchema = z.object({ channel: ShortText, threadKey: IdText });

/** What a chat's latest conversation is doing (the in-chat `/status`). */
export const ChatStatusSchema = z.object({
  /** The chat's latest conversation, or null when it never had one. */
  conversation: ConversationSchema.nullable(),
  /** Agents with a running run in it. */
  running: StrArray,
  /** Runs in it still waiting in the queue. */
  queued: Int,
});
export type ChatStatus = z.infer<typeof ChatStatusSchema>;

export const ChatResetBodySchema = ChatQuerySchema.extend({ senderId: IdText });

export const messagesContract = {
  chatStatus: route({
    method: 'GET',
    path: '/api/chats/status',
    summary: "What a chat's latest conversation is doing: its status, the agents running, the runs queued (a channel's `/status`)",
    tag: 'messages',
    auth: 'channel',
    query: ChatQuerySchema,
    response: ChatStatusSchema,
  }),
  resetChat: route({
    method: 'POST',
    path: '/api/chats/reset',
    summary: "Start a chat afresh (a channel's `/reset`): clears the sender's default target and forgets the agents' per-thread and per-sender sessions of this chat",
    tag: 'messages',
    auth: 'channel',
    body: ChatResetBodySchema,
    response: z.object({ defaultCleared: Bool, sessionsCleared: Int }),
  }),

  sendMessage: route({
    method: 'POST',
    path: '/api/message',
    summary: 'Send a message to an agent or team (an @agent/@team prefix also selects the target)',
    tag: 'messages',
    auth: 'channel',
    status: 202,
    body: SendMessageBodySchema,
    response: SendMessageResultSchema,
    rateLimit: 'message',
  }),
  getMessage: route({
    method: 'GET',
    path: '/api/messages/:id',
    summary: 'A message with its status, its run and its replies',
    tag: 'messages',
    params: IdParamsSchema,
    response: MessageDetailSchema,
  }),
  cancelMessage: route({
    method: 'POST',
    path: '/api/messages/:id/cancel',
    summary: 'Cancel a queued or running message: its run and descendants end, a running process is killed, the conversation settles',
    tag: 'messages',
    params: IdParamsSchema,
    // `cancelling`: another process holds the message; it stops at its next lease renewal.
    response: z.object({ id: Str, state: z.enum(['cancelled', 'cancelling', 'not_cancellable']), status: z.enum(MESSAGE_STATUSES) }),
  }),
} as const;
