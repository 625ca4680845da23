/**
 * `/mcp` on the daemon's HTTP API (docs/mcp.md): the client tools of `tinyagi mcp` (the same
 * implementation, clientToolsServer) over the SDK's streamable HTTP transport, for MCP clients
 * that speak HTTP. The server package checks Host/Origin and the API token before this runs.
 *
 * Stateless: every POST gets a fresh server and transport (nothing to keep per client, any
 * node of a cluster answers); a long `send_message` streams its progress notifications and the
 * result on that POST's own SSE response. There is no standalone stream and no session to end,
 * so GET and DELETE answer 405 (the spec's answer for a server without them; clients carry on).
 *
 * The tool bodies talk to the daemon through @tinyagi/client like every surface: bound to the
 * daemon's own URL and token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ApiClient } from '@tinyagi/client';
import { clientToolsServer } from './server.ts';

export function mcpHttpHandler(client: ApiClient): (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void> {
  return async (req, res, body) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'application/json; charset=utf-8', allow: 'POST' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP server is stateless (POST only; no standalone stream, no session to end).' }, id: null }));
      return;
    }
    const server = clientToolsServer(client);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.once('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
}
