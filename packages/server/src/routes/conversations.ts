/** Conversations (run trees, transcripts, cancel) and runs (get, cancel, steer, spawn). */
import type { ServerContext } from '../context.ts';
import { requestedBy } from '../requested-by.ts';
import type { RouteHandlers } from '../routing.ts';

type Names =
  | 'listConversations'
  | 'getConversation'
  | 'getTranscript'
  | 'getTranscriptMarkdown'
  | 'cancelConversation'
  | 'decideConversation'
  | 'getRun'
  | 'cancelRun'
  | 'steerRun'
  | 'getRunSteering'
  | 'spawnRun';

export function conversationRoutes(ctx: ServerContext): RouteHandlers<Names> {
  return {
    listConversations: ({ query }) =>
      ctx.stores.runs.listConversations({
        ...(query.status ? { status: query.status } : {}),
        ...(query.team ? { teamId: query.team } : {}),
        ...(query.agent ? { agentId: query.agent } : {}),
        ...(query.before !== undefined ? { before: query.before } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
      }),

    getConversation: async ({ params }) => await ctx.orchestrator.conversationTree(params.id),

    getTranscript: async ({ params }) => {
      const conversation = await ctx.stores.runs.mustGetConversation(params.id);
      return { conversationId: conversation.id, entries: await ctx.orchestrator.transcript(conversation.id) };
    },

    getTranscriptMarkdown: async ({ params }) => {
      const conversation = await ctx.stores.runs.mustGetConversation(params.id);
      return await ctx.orchestrator.transcriptMarkdown(conversation.id);
    },

    cancelConversation: async ({ params, auth, request }) => {
      const conversation = await ctx.stores.runs.mustGetConversation(params.id);
      return await ctx.orchestrator.cancelConversation(conversation.id, `cancelled by ${requestedBy(auth, request)}`);
    },

    decideConversation: async ({ params, body }) => {
      const answered = await ctx.orchestrator.decide(params.id, body.decision);
      return { conversationId: answered.conversationId, decision: body.decision, reply: answered.reply ?? '' };
    },

    getRun: async ({ params }) => {
      const run = await ctx.stores.runs.mustGetRun(params.id);
      return { run, children: await ctx.stores.runs.children(run.id) };
    },

    cancelRun: async ({ params, auth, request }) => {
      const run = await ctx.stores.runs.mustGetRun(params.id);
      await ctx.orchestrator.cancelRun(run.id, `cancelled by ${requestedBy(auth, request)}`);
      return { ok: true as const, runId: run.id, status: (await ctx.stores.runs.mustGetRun(run.id)).status };
    },

    steerRun: async ({ params, body, auth, request }) => {
      const run = await ctx.stores.runs.mustGetRun(params.id);
      const text = typeof body.payload === 'string' ? body.payload : body.payload?.text;
      const result = await ctx.orchestrator.steer(run.id, body.command, { ...(text !== undefined ? { text } : {}), by: requestedBy(auth, request) });
      return { runId: run.id, command: body.command, accepted: result.accepted, ...(result.reason ? { reason: result.reason } : {}), ...(result.effect ? { effect: result.effect } : {}) };
    },

    getRunSteering: async ({ params }) => await ctx.orchestrator.runSteering(params.id),

    spawnRun: async ({ params, body }) => {
      const parent = await ctx.stores.runs.mustGetRun(params.id);
      return await ctx.orchestrator.spawn(parent.id, { agent: body.agent, task: body.task, session: body.session, timeoutMs: body.timeoutMs });
    },
  };
}
