/** Conversations (run trees, transcripts, cancel) and runs (get, cancel, steer, spawn). */
import type { Decision } from '@tinyagi/client/contract';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import { requestedBy } from '../requested-by.ts';
import type { RouteHandlers } from '../routing.ts';

type Names =
  | 'listConversations'
  | 'getConversation'
  | 'getTranscript'
  | 'getTranscriptMarkdown'
  | 'cancelConversation'
  | 'answerConversation'
  | 'decideConversation'
  | 'getRun'
  | 'cancelRun'
  | 'steerRun'
  | 'getRunSteering'
  | 'listHandoffs'
  | 'spawnRun'
  | 'declareRunAction';

/** How many of the latest events `GET /api/handoffs` looks through. */
const HANDOFF_WINDOW = 20_000;

export function conversationRoutes(ctx: ServerContext): RouteHandlers<Names> {
  const { conversations, steering, views } = ctx.facets;
  const answerConversation = async (id: string, decision: Decision) => {
    const answered = await conversations.continueOrStop(id, decision);
    return { conversationId: answered.conversationId, decision, reply: answered.reply ?? '' };
  };
  return {
    listConversations: ({ query }) =>
      ctx.stores.runs.listConversations({
        ...(query.status ? { status: query.status } : {}),
        ...(query.team ? { teamId: query.team } : {}),
        ...(query.agent ? { agentId: query.agent } : {}),
        ...(query.before !== undefined ? { before: query.before } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
      }),

    getConversation: async ({ params }) => await views.tree(params.id),

    getTranscript: async ({ params }) => {
      const conversation = await ctx.stores.runs.mustGetConversation(params.id);
      return { conversationId: conversation.id, entries: await views.transcript(conversation.id) };
    },

    getTranscriptMarkdown: async ({ params }) => {
      const conversation = await ctx.stores.runs.mustGetConversation(params.id);
      return await views.transcriptMarkdown(conversation.id);
    },

    cancelConversation: async ({ params, auth, request }) => {
      const conversation = await ctx.stores.runs.mustGetConversation(params.id);
      return await conversations.cancelConversation(conversation.id, `cancelled by ${requestedBy(auth, request)}`);
    },

    answerConversation: async ({ params, body }) => await answerConversation(params.id, body.decision),

    // The old name and path of answerConversation (docs/api.md: deprecated).
    decideConversation: async ({ params, body }) => await answerConversation(params.id, body.decision),

    getRun: async ({ params }) => {
      const run = await ctx.stores.runs.mustGetRun(params.id);
      return { run, children: await ctx.stores.runs.children(run.id) };
    },

    cancelRun: async ({ params, auth, request }) => {
      const run = await ctx.stores.runs.mustGetRun(params.id);
      await conversations.cancelRun(run.id, `cancelled by ${requestedBy(auth, request)}`);
      return { ok: true as const, runId: run.id, status: (await ctx.stores.runs.mustGetRun(run.id)).status };
    },

    steerRun: async ({ params, body, auth, request }) => {
      const run = await ctx.stores.runs.mustGetRun(params.id);
      const text = typeof body.payload === 'string' ? body.payload : body.payload?.text;
      const result = await steering.steer(run.id, body.command, { ...(text !== undefined ? { text } : {}), by: requestedBy(auth, request) });
      return { runId: run.id, command: body.command, accepted: result.accepted, ...(result.reason ? { reason: result.reason } : {}), ...(result.effect ? { effect: result.effect } : {}) };
    },

    getRunSteering: async ({ params }) => await steering.ofRun(params.id),

    listHandoffs: async ({ query }) => {
      // Read from a window at the end of the log: bounded work however long the log is.
      const events = await ctx.stores.events.readSince(Math.max(0, (await ctx.stores.events.lastId()) - HANDOFF_WINDOW), { types: ['agent.mention'] }, HANDOFF_WINDOW);
      const handoffs = events
        .filter((e) => query.team === undefined || e.data.teamId === query.team)
        .map((e) => ({
          id: e.id,
          ts: e.ts,
          conversationId: e.conversationId ?? null,
          runId: e.runId ?? null,
          childRunId: e.data.childRunId,
          fromAgent: e.data.fromAgent,
          toAgent: e.data.toAgent,
          hop: e.data.hop,
          teamId: e.data.teamId,
        }));
      return handoffs.slice(-(query.limit ?? 20));
    },

    declareRunAction: ({ params, body, auth }) => {
      // A tool acts for its own run only: a token of another run of the same conversation may not.
      if (auth.kind !== 'run' || auth.runId !== params.id) {
        throw new RequestError('SCOPE_FORBIDDEN', 'Only the run itself (its run-scoped token) may declare what its answer does.');
      }
      return { runId: params.id, accepted: true as const, note: ctx.orchestrator.declareRunAction(params.id, body) };
    },

    spawnRun: async ({ params, body, auth }) => {
      // A run spawns sub-agents of itself only: a child's token may not spawn beside itself, under its parent.
      if (auth.kind === 'run' && auth.runId !== params.id) {
        throw new RequestError('SCOPE_FORBIDDEN', 'A run-scoped token spawns sub-agents of its own run only (TINYAGI_RUN_ID), not of another run of its conversation.');
      }
      const parent = await ctx.stores.runs.mustGetRun(params.id);
      return await ctx.orchestrator.spawn(parent.id, { agent: body.agent, task: body.task, session: body.session, timeoutMs: body.timeoutMs });
    },
  };
}
