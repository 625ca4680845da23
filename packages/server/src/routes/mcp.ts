/**
 * `/mcp` (docs/mcp.md): TinyAGI's MCP server on the daemon's HTTP API, over the streamable HTTP
 * transport (POST a JSON-RPC message, GET a stream, DELETE a session), for a person's MCP client
 * with the API token (the client tools) and for an agent's CLI with its process's tools token (the
 * agent tools). The same Host/Origin checks as every route (`Authorization: Bearer`): a run-scoped
 * or channel-scoped token is refused, and so is TinyOffice's login cookie.
 *
 * The server package does not carry the MCP SDK: the embedder (the daemon) passes the handler,
 * which answers on the raw request and response (the SDK's StreamableHTTPServerTransport).
 */
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../errors.ts';
import type { McpCaller, McpHttpHandler, ServerLog } from '../options.ts';

export function registerMcpEndpoint(app: FastifyInstance, handler: McpHttpHandler, log: ServerLog): void {
  app.route({
    method: ['POST', 'GET', 'DELETE'],
    url: '/mcp',
    config: { auth: 'mcp' },
    handler: async (request, reply) => {
      const auth = request.auth;
      const caller: McpCaller | undefined = auth.kind === 'token' ? { kind: 'client' } : auth.kind === 'tools' ? { kind: 'agent', toolsToken: auth.token } : undefined;
      if (!caller) throw new RequestError('AUTH_REQUIRED', 'An MCP client authenticates with the API token: send "Authorization: Bearer <token>" (TINYAGI_HOME/api-token).');
      reply.hijack();
      try {
        await handler(request.raw, reply.raw, request.body, caller);
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
