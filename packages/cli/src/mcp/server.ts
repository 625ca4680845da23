/**
 * `tinyagi mcp` (docs/mcp.md): an MCP server over stdio built with the official SDK, speaking
 * to the daemon only through @tinyagi/client. Which tools it offers depends on who starts it:
 *
 * - a person's MCP client (Claude Desktop, Cursor, …): the client tools (MCP_CLIENT_TOOLS) with
 *   the home's API token — list the team, hand it work and wait with progress notifications,
 *   read a conversation, cancel it;
 * - an agent's CLI inside a run (the run's variables are set: TINYAGI_RUN_FILE of a warm
 *   session, or TINYAGI_RUN_ID/TINYAGI_RUN_TOKEN): the agent tools (MCP_AGENT_TOOLS), scoped by
 *   the run token, so every call acts for the run that is current when it is made.
 *
 * Failures are tool results with `isError` and a message that says what to do (the model reads
 * them); bad arguments are refused by the SDK against the contract's schemas.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createApiClient, isApiError, type ApiClient } from '@tinyagi/client';
import { reviewPlaceText } from '@tinyagi/client';
import { MCP_AGENT_TOOLS, MCP_CLIENT_TOOLS, MCP_SERVER_NAME, type RunAction, type RunTask } from '@tinyagi/client/contract';
import { describeEvent, watchConversation } from '../conversation-watch.ts';
import { patientFetch } from '../patient-fetch.ts';
import { registerApprovalPrompt } from './approval-prompt.ts';
import { registerMemoryTools } from './memory-tools.ts';
import { registerWorkflowTools } from './workflow-tools.ts';
import type { RunScope } from '../run-scope.ts';
import { VERSION } from '../version.ts';

const DEFAULT_WAIT_S = 1800;

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const json = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown> });
const failure = (message: string): CallToolResult => ({ content: [{ type: 'text', text: message }], isError: true });

/** The task as `get_task` shows it: a review comment says first where it sits (`on`: `src/login.ts:12`), so the agent reads file and line before the anchor's fields. */
export function taskForAgent(found: RunTask): Omit<RunTask, 'comments'> & { comments: Array<RunTask['comments'][number] & { on?: string }> } {
  return { ...found, comments: found.comments.map((c) => (c.anchor === null ? c : { on: reviewPlaceText(c.anchor), ...c })) };
}

/** How often a long wait tells the client it is still going (when the client asked for progress). */
const HEARTBEAT_MS = 15_000;

type ToolExtra = {
  _meta?: { progressToken?: string | number } | undefined;
  sendNotification: (n: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; message?: string } }) => Promise<void>;
};

/** Sends a progress notification every HEARTBEAT_MS while a tool waits, if the client gave a progressToken; returns the stop function. */
function heartbeat(extra: ToolExtra, what: string): () => void {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return () => {};
  const started = Date.now();
  let progress = 0;
  const timer = setInterval(() => {
    progress++;
    const s = Math.round((Date.now() - started) / 1000);
    void extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, message: `${what} (${s} s)` } }).catch(() => {});
  }, HEARTBEAT_MS);
  return () => clearInterval(timer);
}

/** Runs a tool body; the daemon's refusals and an unreachable daemon become tool errors the model can read. */
async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    if (isApiError(err)) return failure(err.status === 0 ? `TinyAGI is not reachable (${err.code}): ${err.message}` : `${err.code}: ${err.message}`);
    return failure(err instanceof Error ? err.message : String(err));
  }
}

/** The server for a person's MCP client. */
export function clientToolsServer(client: ApiClient): McpServer {
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: VERSION },
    { instructions: 'Hand work to a TinyAGI team of agents: list_agents / list_teams to see who is there, send_message to ask and wait for the answer.' },
  );
  const t = MCP_CLIENT_TOOLS;
  server.registerTool('list_agents', { title: t.list_agents.title, description: t.list_agents.description, inputSchema: t.list_agents.input }, () =>
    guarded(async () => {
      const [agents, teams] = await Promise.all([client.listAgents(), client.listTeams()]);
      const teamsOf = (id: string): string[] => teams.filter((team) => team.agents?.includes(id)).map((team) => team.id);
      return json({ agents: agents.map((a) => ({ id: a.id, name: a.name ?? a.id, provider: a.provider ?? null, model: a.model ?? null, teams: teamsOf(a.id) })) });
    }),
  );
  server.registerTool('list_teams', { title: t.list_teams.title, description: t.list_teams.description, inputSchema: t.list_teams.input }, () =>
    guarded(async () => json({ teams: (await client.listTeams()).map((team) => ({ id: team.id, name: team.name ?? team.id, leader: team.leader_agent ?? null, agents: team.agents ?? [] })) })),
  );
  server.registerTool('send_message', { title: t.send_message.title, description: t.send_message.description, inputSchema: t.send_message.input }, (args, extra) =>
    guarded(async () => {
      if (args.agent !== undefined && args.team !== undefined) return failure('Give either agent or team, not both.');
      const before = (await client.status()).lastEventId;
      const sent = await client.sendMessage({
        body: {
          message: args.message,
          channel: 'mcp',
          sender: 'MCP client',
          senderId: 'mcp',
          ...(args.agent ? { agent: args.agent } : {}),
          ...(args.team ? { team: args.team } : {}),
          ...(args.thread ? { threadKey: args.thread } : {}),
        },
      });
      if (sent.action !== 'enqueued' && sent.action !== 'duplicate') return json({ action: sent.action, reply: sent.reply ?? null });
      if (args.wait === false) return json({ conversation_id: sent.conversationId, message_id: sent.messageId, agent: sent.agentId, team: sent.teamId });
      const progressToken = extra._meta?.progressToken;
      let progress = 0;
      const started = Date.now();
      let quiet: NodeJS.Timeout | undefined;
      // A quiet stretch (an agent thinking) still reports, 15 s after the last report, so a client's
      // idle limit does not end the wait (Claude Code gives up on an HTTP MCP call silent for 5 minutes).
      const report = (message: string): void => {
        if (progressToken === undefined) return;
        progress++;
        void extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, message } }).catch(() => {});
        clearTimeout(quiet);
        quiet = setTimeout(() => report(`still working (${Math.round((Date.now() - started) / 1000)} s)`), HEARTBEAT_MS);
      };
      if (progressToken !== undefined) quiet = setTimeout(() => report(`still working (${Math.round((Date.now() - started) / 1000)} s)`), HEARTBEAT_MS);
      const result = await watchConversation(client, {
        conversationId: sent.conversationId,
        afterEventId: before,
        timeoutMs: (args.timeout_s ?? DEFAULT_WAIT_S) * 1000,
        signal: extra.signal,
        onEvent: (event) => {
          const line = describeEvent(event);
          if (line !== undefined) report(line);
        },
      }).finally(() => clearTimeout(quiet));
      const body = {
        conversation_id: result.conversationId,
        outcome: result.outcome,
        ...(result.reason ? { reason: result.reason } : {}),
        replies: result.replies.map((r) => ({ agent: r.agentId, text: r.text })),
      };
      return result.outcome === 'completed' ? json(body) : { ...json(body), isError: true };
    }),
  );
  server.registerTool('get_conversation', { title: t.get_conversation.title, description: t.get_conversation.description, inputSchema: t.get_conversation.input }, (args) =>
    guarded(async () => {
      const params = { id: args.conversation_id };
      const [tree, transcript] = await Promise.all([client.getConversation({ params }), client.getTranscript({ params })]);
      return json({ conversation: tree, transcript: transcript.entries });
    }),
  );
  server.registerTool('cancel_conversation', { title: t.cancel_conversation.title, description: t.cancel_conversation.description, inputSchema: t.cancel_conversation.input }, (args) =>
    guarded(async () => json(await client.cancelConversation({ params: { id: args.conversation_id } }))),
  );
  return server;
}

/** The server for an agent inside a run; `scope()` is read at every call (a warm session's run changes between turns). */
export function agentToolsServer(scope: () => RunScope | undefined): McpServer {
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: VERSION },
    {
      instructions:
        'Teamwork tools of TinyAGI: call_agent runs a teammate as your sub-agent and returns its reply; send_to_agent, post_to_team_room and send_file act when your turn ends, like the [@agent: …], [#team: …] and [send_file: …] tags; start_workflow starts a workflow the person registered for you, workflow_status follows it.',
    },
  );
  const t = MCP_AGENT_TOOLS;
  /**
   * Runs `body` with a client for the run that is current now; none: the tool says so. A tool that
   * waits (`patient`: for a teammate or a person) has no fetch limit on the answer.
   */
  const forRun = (body: (client: ApiClient, runId: string) => Promise<CallToolResult>, patient = false): Promise<CallToolResult> =>
    guarded(async () => {
      const run = scope();
      if (!run) return failure('No current run: this tool works only while your agent run is in progress.');
      return body(createApiClient({ baseUrl: run.apiUrl, token: run.token, clientName: 'tinyagi mcp (agent)', ...(patient ? { fetch: patientFetch } : {}) }), run.runId);
    });
  // A sub-agent may work for many minutes: progress keeps the CLI's own limit at bay (OpenCode
  // gives up on a call silent for 60 s unless progress comes; Claude Code after 30 min).
  server.registerTool('call_agent', { title: t.call_agent.title, description: t.call_agent.description, inputSchema: t.call_agent.input }, (args, extra) =>
    forRun(async (client, runId) => {
      const stop = heartbeat(extra, `waiting for @${args.agent.replace(/^@/, '')}`);
      try {
        const result = await client.spawnRun({ params: { id: runId }, body: { agent: args.agent, task: args.task, ...(args.session ? { session: args.session } : {}) }, signal: extra.signal });
        return result.ok ? text(result.text) : failure(`The call to ${args.agent} did not complete (${result.code}): ${result.message}`);
      } finally {
        stop();
      }
    }, true),
  );
  const declare = (client: ApiClient, runId: string, body: RunAction): Promise<CallToolResult> => client.declareRunAction({ params: { id: runId }, body }).then((answer) => text(answer.note));
  server.registerTool('send_to_agent', { title: t.send_to_agent.title, description: t.send_to_agent.description, inputSchema: t.send_to_agent.input }, (args) =>
    forRun((client, runId) => declare(client, runId, { type: 'handoff', to: typeof args.to === 'string' ? [args.to] : args.to, message: args.message })),
  );
  server.registerTool('post_to_team_room', { title: t.post_to_team_room.title, description: t.post_to_team_room.description, inputSchema: t.post_to_team_room.input }, (args) =>
    forRun((client, runId) => declare(client, runId, { type: 'chatroom', team: args.team, message: args.message })),
  );
  server.registerTool('send_file', { title: t.send_file.title, description: t.send_file.description, inputSchema: t.send_file.input }, (args) =>
    forRun((client, runId) => declare(client, runId, { type: 'send_file', path: args.path })),
  );
  server.registerTool('ask_human', { title: t.ask_human.title, description: t.ask_human.description, inputSchema: t.ask_human.input }, (args, extra) =>
    guarded(async () => {
      const run = scope();
      if (!run) return failure('No current run: this tool works only while your agent run is in progress.');
      // A person may take minutes: no fetch limit on the wait, and progress keeps the caller's own timeout at bay.
      const client = createApiClient({ baseUrl: run.apiUrl, token: run.token, clientName: 'tinyagi mcp (agent)', fetch: patientFetch });
      const stop = heartbeat(extra, 'waiting for the person to answer');
      try {
        const answer = await client.askRunHuman({ params: { id: run.runId }, body: { question: args.question, ...(args.choices?.length ? { choices: args.choices } : {}) }, signal: extra.signal });
        return answer.answered ? text(answer.answer) : failure(`The person did not answer: ${answer.reason}.`);
      } finally {
        stop();
      }
    }),
  );
  server.registerTool('get_task', { title: t.get_task.title, description: t.get_task.description, inputSchema: t.get_task.input }, () =>
    forRun(async (client, runId) => {
      const found = await client.getRunTask({ params: { id: runId } });
      return found.task ? json(taskForAgent(found)) : text('This conversation works on no task from the board.');
    }),
  );
  server.registerTool('update_task', { title: t.update_task.title, description: t.update_task.description, inputSchema: t.update_task.input }, (args) =>
    forRun(async (client, runId) => {
      if (args.status === undefined && args.comment === undefined) return failure('Give a status, a comment, or both.');
      return json(taskForAgent(await client.updateRunTask({ params: { id: runId }, body: { ...(args.status ? { status: args.status } : {}), ...(args.comment ? { comment: args.comment } : {}) } })));
    }),
  );
  registerMemoryTools(server, forRun);
  registerWorkflowTools(server, forRun);
  // Claude Code's --permission-prompt-tool (per-message agents with permission_mode "ask").
  registerApprovalPrompt(server, scope, heartbeat);
  return server;
}
