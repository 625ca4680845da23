/**
 * `approval_prompt` (docs/approvals.md): the MCP tool per-message Claude Code calls before a tool
 * call its permission mode does not allow by itself (`claude -p --permission-prompt-tool
 * mcp__tinyagi__approval_prompt`, given to agents with `permission_mode: "ask"`). It asks the
 * run's approval desk through the API (`POST /api/runs/:id/approval`, the run's own token): the
 * agent's rules decide at once, else a person decides or the request expires.
 *
 * Claude Code's contract (checked against 2.1.330): the tool is called with `{tool_name, input,
 * tool_use_id}` and answers with one text block whose JSON is `{"behavior":"allow",
 * "updatedInput":{…}}` or `{"behavior":"deny","message":"…"}`; anything else is read as a denial
 * ("invalid permission result"). So every failure here (no run, the daemon unreachable) is a
 * denial that says why, never a tool error. An allowed call gets back the input it came with
 * (the daemon only ever sees and stores it masked).
 *
 * A person may take minutes (up to `permissions.expires_s`, default 600 s), longer than fetch's
 * own limit on waiting for an answer: the request goes through `patientFetch`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createApiClient, isApiError } from '@tinyagi/client';
import { MCP_AGENT_TOOLS, MCP_APPROVAL_PROMPT_TOOL } from '@tinyagi/client/contract';
import { patientFetch } from '../patient-fetch.ts';
import type { RunScope } from '../run-scope.ts';

type PromptResult = { behavior: 'allow'; updatedInput: Record<string, unknown> } | { behavior: 'deny'; message: string };

const answer = (result: PromptResult): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(result) }] });

/** What the server passes in: the SDK's per-call extra, and a heartbeat that keeps a long wait alive (progress notifications). */
export type KeepAlive<E> = (extra: E, what: string) => () => void;

export function registerApprovalPrompt<E>(server: McpServer, scope: () => RunScope | undefined, keepAlive?: KeepAlive<E>): void {
  const t = MCP_AGENT_TOOLS.approval_prompt;
  server.registerTool(MCP_APPROVAL_PROMPT_TOOL, { title: t.title, description: t.description, inputSchema: t.input }, async (args, extra) => {
    const run = scope();
    if (!run) return answer({ behavior: 'deny', message: `${args.tool_name} was not run: there is no current TinyAGI run to ask for approval.` });
    const client = createApiClient({ baseUrl: run.apiUrl, token: run.token, clientName: 'tinyagi mcp (approval prompt)', fetch: patientFetch });
    // Claude Code aborts a stdio call silent for 30 minutes (CLAUDE_CODE_MCP_TOOL_IDLE_TIMEOUT); progress resets that.
    const stop = keepAlive?.(extra as unknown as E, `waiting for a decision on ${args.tool_name}`) ?? (() => {});
    try {
      const decided = await client.requestRunApproval({ params: { id: run.runId }, body: { tool: args.tool_name, input: args.input }, signal: extra.signal });
      return decided.allow ? answer({ behavior: 'allow', updatedInput: args.input }) : answer({ behavior: 'deny', message: decided.reason ?? `denied (${decided.decidedBy})` });
    } catch (err) {
      const why = isApiError(err) ? (err.status === 0 ? `TinyAGI is not reachable (${err.code}): ${err.message}` : `${err.code}: ${err.message}`) : err instanceof Error ? err.message : String(err);
      return answer({ behavior: 'deny', message: `${args.tool_name} was not run: the approval request failed (${why}).` });
    } finally {
      stop();
    }
  });
}
