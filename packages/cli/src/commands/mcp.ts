/**
 * `tinyagi mcp`: TinyAGI as an MCP server on stdio (docs/mcp.md). Started by a person's MCP
 * client it offers the client tools with the home's API token; started inside an agent run
 * (the run's variables are set) it offers the agent tools, scoped by the run token. The SDK is
 * loaded only here, so no other command pays for it.
 */
import type { Command } from 'commander';
import { connect } from '../daemon/connection.ts';
import { runScopeFrom } from '../run-scope.ts';
import { contextOf } from './options.ts';

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('serve TinyAGI to MCP clients on stdin/stdout (Claude Desktop, Cursor, agents; see docs/mcp.md)')
    .option('--agent-tools', 'offer the tools for an agent inside a run (the default when the run variables are set)')
    .action(async (options: { agentTools?: boolean }, cmd: Command) => {
      const { agentToolsServer, clientToolsServer } = await import('../mcp/server.ts');
      const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
      const inRun = runScopeFrom(process.env) !== undefined || process.env.TINYAGI_RUN_FILE !== undefined;
      const server = options.agentTools || inRun ? agentToolsServer(() => runScopeFrom(process.env)) : clientToolsServer(connect(contextOf(cmd)).client);
      const transport = new StdioServerTransport();
      const closed = new Promise<void>((resolve) => {
        transport.onclose = () => resolve();
        process.stdin.once('end', () => resolve());
      });
      await server.connect(transport);
      await closed;
      await server.close();
    });
}
