/**
 * TinyAGI's MCP server in each CLI's form (mcp-servers.ts): over HTTP with the process's tools
 * token wherever the CLI takes it, read from the CLI's own environment (no token in a file or in
 * argv); the stdio form only for an ACP agent that takes no HTTP servers.
 */
import { expect, it } from 'vitest';
import { acpMcpServers, claudeMcpConfig, codexMcpArgs, opencodeMcpConfig, type McpServerSpec } from '../src/invoker/mcp-servers.ts';

const spec: McpServerSpec = {
  name: 'tinyagi',
  command: '/h/run/bin/tinyagi',
  args: ['mcp', '--agent-tools'],
  envVars: ['TINYAGI_API_URL', 'TINYAGI_RUN_FILE'],
  http: { url: 'http://127.0.0.1:3777/mcp' },
  toolTimeoutS: 60,
};
const env = { TINYAGI_API_URL: 'http://127.0.0.1:3777', TINYAGI_RUN_FILE: '/tmp/run.json', TINYAGI_TOOLS_TOKEN: 'tools.abc' };

it('Claude Code, Codex and OpenCode reach the daemon over HTTP, the token named by its variable', () => {
  expect(JSON.parse(claudeMcpConfig([spec]))).toEqual({
    mcpServers: { tinyagi: { type: 'http', url: 'http://127.0.0.1:3777/mcp', headers: { Authorization: `Bearer \${TINYAGI_TOOLS_TOKEN}` }, timeout: 60_000 } },
  });
  const codex = codexMcpArgs([spec]).filter((a) => a !== '-c');
  expect(codex).toEqual(expect.arrayContaining(['mcp_servers.tinyagi.url="http://127.0.0.1:3777/mcp"', 'mcp_servers.tinyagi.bearer_token_env_var="TINYAGI_TOOLS_TOKEN"']));
  expect(codex.some((a) => a.includes('.command=') || a.includes('tools.abc'))).toBe(false);
  expect(opencodeMcpConfig([spec])).toEqual({
    tinyagi: { type: 'remote', url: 'http://127.0.0.1:3777/mcp', headers: { Authorization: 'Bearer {env:TINYAGI_TOOLS_TOKEN}' }, oauth: false, enabled: true },
  });
});

it('an ACP agent gets the HTTP server with the token when it takes HTTP servers, else the stdio server with the run variables', () => {
  expect(acpMcpServers([spec], env, true)).toEqual([{ type: 'http', name: 'tinyagi', url: 'http://127.0.0.1:3777/mcp', headers: [{ name: 'Authorization', value: 'Bearer tools.abc' }] }]);
  expect(acpMcpServers([spec], env, false)).toEqual([
    {
      name: 'tinyagi',
      command: '/h/run/bin/tinyagi',
      args: ['mcp', '--agent-tools'],
      env: [
        { name: 'TINYAGI_API_URL', value: 'http://127.0.0.1:3777' },
        { name: 'TINYAGI_RUN_FILE', value: '/tmp/run.json' },
      ],
    },
  ]);
});
