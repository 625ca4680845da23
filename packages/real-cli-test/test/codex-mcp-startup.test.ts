/**
 * Codex (0.169) waits only 1 s (`mcp_optional_startup_grace_ms`) for an optional stdio MCP server
 * before the first turn starts without that server's tools, for the whole session. TinyAGI's own
 * server is given to Codex as required (`codexMcpArgs`: `required=true`, `startup_timeout_sec`),
 * so the turn waits for it. Here core's `invokeAgent` runs the real codex the way the daemon does,
 * with an InvokeRequest whose `mcpServers` names the weather fixture, which answers `initialize`
 * 4 s late (OWN_MCP_INIT_DELAY_MS, forwarded through the spec's `envVars`): the first model request
 * still offers its tool, and the run completes. The model is the test kit's stand-in, every other
 * host is refused by the deny proxy, and HOME is a temp folder (no user config).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invokeAgent } from '@tinyagi/core';
import type { McpServerSpec } from '@tinyagi/core/internal';
import { cleanupTemp, startDenyProxy, startModelServer, tempDir } from '@tinyagi/test-kit';
import { afterAll, expect, it } from 'vitest';
import { PROVIDER_KEY } from './harness.ts';

const CODEX = fileURLToPath(new URL('../clis/node_modules/.bin/codex', import.meta.url));
const OWN_SERVER = fileURLToPath(new URL('./fixtures/own-mcp-server.mjs', import.meta.url));
/** Well past Codex's 1 s grace for an optional server. */
const INIT_DELAY_MS = 4000;

afterAll(() => cleanupTemp());

it("codex's first turn waits for TinyAGI's MCP server when it is slow to start: its tool is offered", async () => {
  const marker = 'MCP-STARTUP-codex-5d1e';
  const model = await startModelServer({ respond: () => ({ reply: 'Started with the tools.' }) });
  const proxy = await startDenyProxy();
  try {
    const root = tempDir('tinyagi-codex-mcp-startup-');
    const workspace = join(root, 'workspace');
    mkdirSync(workspace);
    const server: McpServerSpec = { name: 'weather', command: process.execPath, args: [OWN_SERVER], envVars: ['OWN_MCP_INIT_DELAY_MS'] };
    const started = Date.now();
    const result = await invokeAgent({
      agentId: 'alpha',
      target: { runtime: 'codex', provider: 'custom:standin', model: 'gpt-5.1', command: CODEX, baseUrl: `${model.url}/v1`, apiKey: PROVIDER_KEY, timeoutMs: 120_000 },
      prompt: `${marker} is the weather tool there?`,
      systemPrompt: 'You are alpha.',
      cwd: workspace,
      env: { HOME: root, ...proxy.env(), OWN_MCP_INIT_DELAY_MS: String(INIT_DELAY_MS) },
      mcpServers: [server],
    });
    expect(result.text).toBe('Started with the tools.');
    const first = model.calls.find((c) => c.request.entries.some((e) => e.role === 'user' && e.text.includes(marker)));
    expect(first, `a model request with the prompt (calls: ${model.calls.length})`).toBeDefined();
    const offered = first!.request.tools;
    expect(
      offered.filter((t) => /weather_report$/.test(t)),
      `the first request offered the slow server's tool: ${offered.join(', ')}`,
    ).toHaveLength(1);
    // The turn waited for the server: its first model request came after the server's late answer.
    expect(first!.at - started).toBeGreaterThanOrEqual(INIT_DELAY_MS);
  } finally {
    await Promise.all([model.close(), proxy.close()]);
  }
});
