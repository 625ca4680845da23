/**
 * `/mcp` (docs/mcp.md): TinyAGI's MCP server for a person's MCP client on the daemon's HTTP API,
 * over the streamable HTTP transport (POST a JSON-RPC message, GET a stream, DELETE a session).
 * The same Host/Origin checks as every route, and the API token (`Authorization: Bearer`): a
 * run-scoped or channel-scoped token is refused, and so is TinyOffice's session cookie.
 *
 * The server package does not carry the MCP SDK: the embedder (the daemon) passes the handler,
 * which answers on the raw request and response (the SDK's StreamableHTTPServerTransport).
 */
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../errors.ts';
import type { McpHttpHandler, ServerLog } from '../options.ts';

export function registerMcpEndpoint(app: FastifyInstance, handler: McpHttpHandler, log: ServerLog): void {
  app.route({
    method: ['POST', 'GET', 'DELETE'],
    url: '/mcp',
    config: { auth: 'token' },
    handler: async (request, reply) => {
      if (request.auth.kind !== 'token') throw new RequestError('AUTH_REQUIRED', 'An MCP client authenticates with the API token: send "Authorization: Bearer <token>" (TINYAGI_HOME/api-token).');
      reply.hijack();
      try {
        await handler(request.raw, reply.raw, request.body);
      } catch (err) {
        log.error(`MCP request failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        if (!reply.raw.headersSent) {
          reply.raw.statusCode = 500;
          reply.raw.setHeader('content-type', 'application/json; charset=utf-8');
          reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
        } else reply.raw.end();
      }
    },
  });
}
