/**
 * `/mcp` on the daemon's HTTP API (docs/mcp.md): the tools of `tinyagi mcp` (the same
 * implementations) over the SDK's streamable HTTP transport: the client tools (clientToolsServer)
 * for a person's MCP client with the API token, the agent tools (agentToolsServer) for an agent's
 * CLI with its process's tools token. The server package checks Host/Origin and the credential
 * before this runs.
 *
 * Stateless: every POST gets a fresh server and transport (nothing to keep per client, any
 * node of a cluster answers); a long `send_message` streams its progress notifications and the
 * result on that POST's own SSE response. There is no standalone stream and no session to end,
 * so GET and DELETE answer 405 (the spec's answer for a server without them; clients carry on).
 *
 * The tool bodies talk to the daemon through @tinyagi/client like every surface: the client
 * tools bound to the daemon's own URL and token, the agent tools with the token of the run the
 * tools token acts for when the tool is called (a warm CLI's run changes every turn), so the API
 * checks an agent's call as it checks `tinyagi call`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ApiClient } from '@tinyagi/client';
import { toolsRunOf } from '../core-internal.ts';
import type { McpCaller } from '@tinyagi/server';
import type { RunScope } from '../run-scope.ts';
import { agentToolsServer, clientToolsServer } from './server.ts';

export function mcpHttpHandler(client: ApiClient, apiUrl: string): (req: IncomingMessage, res: ServerResponse, body: unknown, caller: McpCaller) => Promise<void> {
  return async (req, res, body, caller) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'application/json; charset=utf-8', allow: 'POST' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP server is stateless (POST only; no standalone stream, no session to end).' }, id: null }));
      return;
    }
    const server = caller.kind === 'client' ? clientToolsServer(client) : agentToolsServer(() => runScopeOf(apiUrl, caller.toolsToken));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.once('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
}

function runScopeOf(apiUrl: string, toolsToken: string): RunScope | undefined {
  const run = toolsRunOf(toolsToken);
  return run ? { apiUrl, runId: run.runId, token: run.runToken } : undefined;
}
