/**
 * The agent's memory tools (docs/memory.md): `remember` and `forget` propose, `recall` searches,
 * each through its run's token (the daemon checks the scope: the agent's own memory, its teams',
 * its task's project's). What the model reads back says what happens next: waiting for a person,
 * accepted by a rule, or the entries a proposal seems to contradict.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApiClient } from '@tinyagi/client';
import { MCP_AGENT_TOOLS, type MemoryProposal, type MemoryRecord, rememberBodyOf } from '@tinyagi/client/contract';

type ForRun = (body: (client: ApiClient, runId: string) => Promise<CallToolResult>) => Promise<CallToolResult>;

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

/** One entry as the model reads it: id, scope, kind, text. */
export function entryLine(e: MemoryRecord): string {
  return `- ${e.id} (${e.scope.kind} ${e.scope.id}, ${e.kind}): ${e.text}`;
}

/** What a proposal's answer tells the model. */
export function proposalText(p: MemoryProposal): string {
  const e = p.entry;
  const lines = [
    e.status === 'accepted'
      ? `Remembered (${e.id}, accepted by ${e.decidedBy}).`
      : `Proposed (${e.id}): it waits for a person to accept it${e.action === 'forget' ? ` and retire ${e.targetId}` : ''}.`,
  ];
  if (e.action === 'remember' && p.similar.length > 0) lines.push('It seems to contradict:', ...p.similar.map(entryLine));
  if (e.action === 'remember' && e.targetId !== null) lines.push(`Accepted, it replaces ${e.targetId}.`);
  return lines.join('\n');
}

export function registerMemoryTools(server: McpServer, forRun: ForRun): void {
  const t = MCP_AGENT_TOOLS;
  server.registerTool('remember', { title: t.remember.title, description: t.remember.description, inputSchema: t.remember.input }, (args) =>
    forRun(async (client, runId) => text(proposalText(await client.rememberForRun({ params: { id: runId }, body: rememberBodyOf(args) })))),
  );
  server.registerTool('recall', { title: t.recall.title, description: t.recall.description, inputSchema: t.recall.input }, (args) =>
    forRun(async (client, runId) => {
      const found = await client.recallForRun({ params: { id: runId }, query: { q: args.query, ...(args.limit ? { limit: args.limit } : {}) } });
      return text(found.length === 0 ? 'Nothing in memory matches.' : found.map(entryLine).join('\n'));
    }),
  );
  server.registerTool('forget', { title: t.forget.title, description: t.forget.description, inputSchema: t.forget.input }, (args) =>
    forRun(async (client, runId) => text(proposalText(await client.forgetForRun({ params: { id: runId }, body: { id: args.id, reason: args.reason } })))),
  );
}
