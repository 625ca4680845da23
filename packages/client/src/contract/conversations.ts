/** Conversations (run trees), transcripts, and runs: get, cancel, steer, spawn. */
import * as z from 'zod';
import { route } from './route.ts';
import {
  Bool,
  IdParamsSchema,
  Int,
  IntParam,
  LimitQuery,
  NullableStr,
  NullableTimestamp,
  Num,
  OptionalIdText,
  OptionalLongText,
  OptionalShortText,
  OptionalStr,
  ShortText,
  Str,
  StrArray,
  TimestampSchema,
} from './common.ts';
import { MemoryInjectionSchema } from './memory.ts';
import { CONVERSATION_FILTERS, CONVERSATION_STATUSES, ConversationSchema, DecisionSchema, RUN_STATUSES, RunSchema } from './records.ts';

export const STEER_COMMANDS = ['inject', 'redirect', 'pause', 'resume', 'cancel'] as const;

/** An accepted steering command of a run (its `run.steered` event): who sent what, and what it does. */
export const RunSteerEntrySchema = z
  .object({
    /** The `run.steered` event's id. */
    id: Int,
    ts: TimestampSchema,
    command: z.enum(STEER_COMMANDS),
    by: Str,
    text: OptionalStr,
    effect: OptionalStr,
  })
  .meta({ id: 'RunSteerEntry' });
export type RunSteerEntry = z.infer<typeof RunSteerEntrySchema>;

/** One run in the tree, with its usage and its children (recursive). */
export const RunNodeSchema = z
  .object({
    runId: Str,
    agentId: Str,
    parentRunId: NullableStr,
    depth: Int,
    cause: Str,
    status: z.enum(RUN_STATUSES),
    inputTokens: Int,
    outputTokens: Int,
    costUsd: Num,
    error: NullableStr,
    startedAt: NullableTimestamp,
    endedAt: NullableTimestamp,
    /** The name of the node that ran it, with several nodes (PostgreSQL); absent with one process. */
    node: NullableStr.optional(),
    /** Accepted steering commands, oldest first (the API's tree; absent when there were none). */
    steering: z.array(RunSteerEntrySchema).optional(),
    /** What memory went into its context before its turn (the API's tree; absent when nothing did). */
    memory: MemoryInjectionSchema.optional(),
    get children(): z.ZodArray<typeof RunNodeSchema> {
      return z.array(RunNodeSchema);
    },
  })
  .meta({ id: 'RunNode' });
export type RunNode = z.infer<typeof RunNodeSchema>;

export const ConversationTreeSchema = z.object({ conversation: ConversationSchema, roots: z.array(RunNodeSchema) });
export type ConversationTree = z.infer<typeof ConversationTreeSchema>;

export const TranscriptEntrySchema = z.object({
  ts: TimestampSchema,
  runId: Str,
  parentRunId: NullableStr,
  depth: Int,
  /** `in`: what the run received; `out`: what it answered. */
  direction: z.enum(['in', 'out']),
  from: Str,
  to: Str,
  cause: Str,
  status: z.enum(RUN_STATUSES),
  text: Str,
  /** A steering command sent to the run (`from` is who sent it). */
  steering: z.object({ command: z.enum(STEER_COMMANDS), by: Str }).optional(),
});
export type TranscriptEntry = z.infer<typeof TranscriptEntrySchema>;

export const SteerBodySchema = z.object({
  command: z.enum(STEER_COMMANDS),
  /** The text of an inject/redirect (a string, or `{ text }`). */
  payload: z.union([z.string().max(100_000), z.looseObject({ text: OptionalLongText })]).optional(),
});

/** What one steering command does for a run, said before it is used (`GET /api/runs/:id/steering`). */
export const SteerCapabilitySchema = z.object({
  command: z.enum(STEER_COMMANDS),
  /** `agents.<id>.steering` allows it and the run has not ended. */
  allowed: Bool,
  /** It takes effect inside the turn under way (not only once the turn has ended). */
  midTurn: Bool,
  /** What it does for this run's provider, in a sentence. */
  note: Str,
});
export type SteerCapability = z.infer<typeof SteerCapabilitySchema>;

export const RunSteeringSchema = z
  .object({
    runId: Str,
    agentId: Str,
    /** The runtime that runs the agent (`claude-code`, `codex`, `opencode`, `acp`, `anthropic-api`, `openai-api`, `mock`, or a plugin's). */
    runtime: Str,
    status: z.enum(RUN_STATUSES),
    paused: Bool,
    commands: z.array(SteerCapabilitySchema),
  })
  .meta({ id: 'RunSteering' });
export type RunSteering = z.infer<typeof RunSteeringSchema>;

/** A handoff (an `agent.mention` event): who handed work to whom, in which conversation. */
export const HandoffSchema = z
  .object({
    /** The event's id (each handoff once, in order). */
    id: Int,
    ts: TimestampSchema,
    conversationId: NullableStr,
    /** The mentioning run, and the child run it started. */
    runId: NullableStr,
    childRunId: Str,
    fromAgent: Str,
    toAgent: Str,
    hop: Int,
    teamId: NullableStr,
  })
  .meta({ id: 'Handoff' });
export type Handoff = z.infer<typeof HandoffSchema>;

export const SpawnBodySchema = z.object({
  agent: ShortText,
  task: z.string().min(1).max(200_000),
  session: OptionalIdText,
  timeoutMs: Int.min(1000).max(86_400_000).optional(),
});
export type SpawnBody = z.infer<typeof SpawnBodySchema>;

/** The child's answer, or an explicit refusal/failure the caller can act on (e.g. DEPTH_LIMIT). */
export const SpawnResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), runId: Str, text: Str }),
  z.object({ ok: z.literal(false), runId: OptionalStr, code: Str, message: Str }),
]);
export type SpawnResult = z.infer<typeof SpawnResultSchema>;

/**
 * What an agent asks its run to do when its turn ends, through a tool instead of a tag in its
 * reply (docs/mcp.md): hand off to teammates (`[@a,b: …]`), post to a team's chat room
 * (`[#team: …]`), send a file to the person (`[send_file: …]`). They are applied exactly as the
 * tags would be, with the same guards, when the run's answer is committed; a failed attempt's
 * actions are dropped with it.
 */
export const RunActionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('handoff'), to: z.array(ShortText).min(1).max(20), message: z.string().min(1).max(200_000) }),
  z.strictObject({ type: z.literal('chatroom'), team: ShortText, message: z.string().min(1).max(200_000) }),
  z.strictObject({ type: z.literal('send_file'), path: z.string().min(1).max(4096) }),
]);
export type RunAction = z.infer<typeof RunActionSchema>;

/** A person's answer to a conversation that waits for their decision (`continue` or `stop`). */
export const AnswerConversationBodySchema = z.strictObject({ decision: DecisionSchema });
export const AnswerConversationResultSchema = z.object({ conversationId: Str, decision: DecisionSchema, reply: Str });

export const conversationsContract = {
  listConversations: route({
    method: 'GET',
    path: '/api/conversations',
    summary: 'Conversations, newest first (filter by status or `waiting`, team, any agent that ran in it; page with before)',
    tag: 'conversations',
    query: z.object({
      status: z.enum(CONVERSATION_FILTERS).optional(),
      team: OptionalShortText,
      agent: OptionalShortText,
      before: IntParam(0).optional(),
      limit: LimitQuery,
    }),
    response: z.array(ConversationSchema),
  }),
  getConversation: route({
    method: 'GET',
    path: '/api/conversations/:id',
    summary: 'A conversation with its tree of runs (status, depth, usage, children)',
    tag: 'conversations',
    auth: 'run',
    params: IdParamsSchema,
    response: ConversationTreeSchema,
  }),
  getTranscript: route({
    method: 'GET',
    path: '/api/conversations/:id/transcript',
    summary: 'Every message of the conversation tree, in order',
    tag: 'conversations',
    params: IdParamsSchema,
    response: z.object({ conversationId: Str, entries: z.array(TranscriptEntrySchema) }),
  }),
  getTranscriptMarkdown: route({
    method: 'GET',
    path: '/api/conversations/:id/transcript.md',
    summary: 'The transcript as markdown',
    tag: 'conversations',
    params: IdParamsSchema,
    produces: 'text',
    response: Str,
  }),
  getRun: route({
    method: 'GET',
    path: '/api/runs/:id',
    summary: 'A run with its direct children',
    tag: 'runs',
    auth: 'run',
    params: IdParamsSchema,
    response: z.object({ run: RunSchema, children: z.array(RunSchema) }),
  }),
  cancelConversation: route({
    method: 'POST',
    path: '/api/conversations/:id/cancel',
    summary: 'Cancel a conversation: every open run and queued message (running processes are killed); it ends `cancelled`',
    tag: 'conversations',
    // A channel's `/stop` cancels its chat's conversation.
    auth: 'channel',
    params: IdParamsSchema,
    response: z.object({ conversationId: Str, status: z.enum(CONVERSATION_STATUSES), alreadyEnded: Bool, cancelled: StrArray }),
  }),
  answerConversation: route({
    method: 'POST',
    path: '/api/conversations/:id/answer',
    summary:
      'Answer a conversation that waits for your decision (a guard held its work): `continue` raises its limits and delivers what was held, `stop` ends it. 409 INVALID_STATE when it does not wait.',
    tag: 'conversations',
    params: IdParamsSchema,
    body: AnswerConversationBodySchema,
    response: AnswerConversationResultSchema,
  }),
  /** The old name and path of answerConversation, still served for the clients written against it. */
  decideConversation: route({
    method: 'POST',
    path: '/api/conversations/:id/decision',
    summary: 'Deprecated: the old name and path of answerConversation (POST /api/conversations/:id/answer), which it does the same as.',
    tag: 'conversations',
    deprecated: true,
    params: IdParamsSchema,
    body: AnswerConversationBodySchema,
    response: AnswerConversationResultSchema,
  }),
  cancelRun: route({
    method: 'POST',
    path: '/api/runs/:id/cancel',
    summary: 'Cancel a run and all its descendants (kills running processes)',
    tag: 'runs',
    params: IdParamsSchema,
    response: z.object({ ok: z.literal(true), runId: Str, status: Str }),
  }),
  steerRun: route({
    method: 'POST',
    path: '/api/runs/:id/steer',
    summary: 'Steer a running run: inject, redirect, pause, resume, cancel',
    tag: 'runs',
    params: IdParamsSchema,
    body: SteerBodySchema,
    response: z.object({ runId: Str, command: z.enum(STEER_COMMANDS), accepted: Bool, reason: OptionalStr, effect: OptionalStr }),
  }),
  listHandoffs: route({
    method: 'GET',
    path: '/api/handoffs',
    summary: 'The latest handoffs between agents (among the last 20,000 events), oldest first: what a dashboard shows before its live stream adds more',
    tag: 'conversations',
    query: z.object({ team: OptionalShortText, limit: IntParam(1, 200).optional() }),
    response: z.array(HandoffSchema),
  }),
  getRunSteering: route({
    method: 'GET',
    path: '/api/runs/:id/steering',
    summary: "What each steering command does for this run's provider (e.g. a CLI agent cannot pause mid-turn), and which are allowed",
    tag: 'runs',
    params: IdParamsSchema,
    response: RunSteeringSchema,
  }),
  declareRunAction: route({
    method: 'POST',
    path: '/api/runs/:id/actions',
    summary: "An agent's own run asks for a handoff, a chat-room post or a file to send when its turn ends (the MCP tools' way to do what tags do); only the run's own token may",
    tag: 'runs',
    auth: 'run',
    params: IdParamsSchema,
    body: RunActionSchema,
    response: z.object({ runId: Str, accepted: z.literal(true), note: Str }),
  }),
  spawnRun: route({
    method: 'POST',
    path: '/api/runs/:id/spawn',
    summary: 'Run an agent as a child of this run and wait for its reply (used by `tinyagi call`)',
    tag: 'runs',
    auth: 'run',
    params: IdParamsSchema,
    body: SpawnBodySchema,
    response: SpawnResultSchema,
  }),
} as const;
