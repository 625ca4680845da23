/**
 * `tinyagi mcp` driven by the official MCP SDK's own client over stdio, against the built
 * daemon: the client tools (list, send and wait with progress notifications, read, cancel), bad
 * input refused with a message naming the field, and the agent tools refusing a run scope that
 * is not a live run's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request as httpRequest } from 'node:http';
import { MCP_AGENT_TOOLS, MCP_CLIENT_TOOLS } from '@tinyagi/client/contract';
import { cliArgv, createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';

let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await createDaemon({
    prefix: 'tinyagi-mcp-',
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'mock' },
      agents: {
        coder: { provider: 'mock', mock: { reply: 'Done: {{message}}', progress: [{ status: 'reading the code' }, { tool: 'Bash', input: { command: 'ls' } }] } },
        reviewer: { provider: 'mock', mock: { reply: 'Looks fine.' } },
        slowpoke: { provider: 'mock', mock: { reply: 'late', latency_ms: 600_000 } },
        // Thinks without a word until the test opens its gate: send_message still reports progress meanwhile.
        ponder: { provider: 'mock', mock: { reply: 'Thought it through.', replies: [{ match: 'think hard', gate: 'ponder', reply: 'Thought it through.' }] } },
      },
      teams: { dev: { agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
});

afterAll(async () => {
  await daemon?.cleanup();
});

async function connectClient(env: Record<string, string>): Promise<Client> {
  const [entry, ...rest] = cliArgv('built');
  const transport = new StdioClientTransport({ command: process.execPath, args: [entry!, ...rest, 'mcp'], env, stderr: 'pipe' });
  const client = new Client({ name: 'tinyagi-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = result.content as Array<{ type: string; text?: string }>;
  return content.map((c) => c.text ?? '').join('\n');
}

it('a person’s MCP client: the tools, the team, a message answered with progress, the conversation read back', async () => {
  const client = await connectClient(daemon.env);
  try {
    expect(client.getServerVersion()?.name).toBe('tinyagi');
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(Object.keys(MCP_CLIENT_TOOLS).sort());
    const send = tools.tools.find((t) => t.name === 'send_message');
    expect(send?.inputSchema.required).toEqual(['message']);

    const agents = JSON.parse(textOf(await client.callTool({ name: 'list_agents', arguments: {} }))) as { agents: Array<{ id: string; teams: string[] }> };
    expect(agents.agents.find((a) => a.id === 'coder')?.teams).toEqual(['dev']);
    const teams = JSON.parse(textOf(await client.callTool({ name: 'list_teams', arguments: {} }))) as { teams: Array<{ id: string; leader: string }> };
    expect(teams.teams).toEqual([expect.objectContaining({ id: 'dev', leader: 'coder' })]);

    const progress: string[] = [];
    const answered = await client.callTool({ name: 'send_message', arguments: { agent: 'coder', message: 'fix the bug' } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
      timeout: 120_000,
    });
    expect(answered.isError).toBeFalsy();
    const body = JSON.parse(textOf(answered)) as { conversation_id: string; outcome: string; replies: Array<{ agent: string; text: string }> };
    expect(body.outcome).toBe('completed');
    expect(body.replies).toEqual([{ agent: 'coder', text: expect.stringMatching(/^Done: fix the bug\b/) }]);
    expect(progress.some((line) => line.includes('@coder'))).toBe(true);

    const read = JSON.parse(textOf(await client.callTool({ name: 'get_conversation', arguments: { conversation_id: body.conversation_id } }))) as {
      conversation: { conversation: { status: string } };
      transcript: Array<{ text: string }>;
    };
    expect(read.conversation.conversation.status).toBe('completed');
    expect(read.transcript.map((e) => e.text)).toEqual(expect.arrayContaining(['fix the bug', expect.stringMatching(/^Done: fix the bug/)]));
  } finally {
    await client.close();
  }
});

it('bad input is refused with a message that names the field; an unknown conversation is a tool error, not a crash', async () => {
  const client = await connectClient(daemon.env);
  try {
    const refused = await client.callTool({ name: 'send_message', arguments: { message: '' } }).catch((err: Error) => ({ isError: true, content: [{ type: 'text', text: err.message }] }));
    expect(refused.isError).toBe(true);
    expect(textOf(refused as Awaited<ReturnType<Client['callTool']>>)).toMatch(/message/);
    const both = await client.callTool({ name: 'send_message', arguments: { message: 'hi', agent: 'coder', team: 'dev' } });
    expect(both.isError).toBe(true);
    expect(textOf(both)).toContain('either agent or team');
    const unknown = await client.callTool({ name: 'get_conversation', arguments: { conversation_id: 'conv_nope' } });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/NOT_FOUND/);
    // The server still answers after the errors.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  } finally {
    await client.close();
  }
});

it('send_message without waiting, then cancel_conversation ends the conversation', async () => {
  const client = await connectClient(daemon.env);
  try {
    const sent = JSON.parse(textOf(await client.callTool({ name: 'send_message', arguments: { agent: 'slowpoke', message: 'take your time', wait: false } }))) as { conversation_id: string };
    expect(sent.conversation_id).toMatch(/^conv_/);
    await waitFor(async () => ((await daemon.api.getConversation({ params: { id: sent.conversation_id } })).roots.some((r) => r.status === 'running') ? true : undefined), 60_000, 'the run to start');
    const cancelled = JSON.parse(textOf(await client.callTool({ name: 'cancel_conversation', arguments: { conversation_id: sent.conversation_id } }))) as { status: string };
    expect(cancelled.status).toBe('cancelled');
  } finally {
    await client.close();
  }
});

it('inside a run the agent tools are offered, and a run scope that is not a live run’s is refused', async () => {
  const runFile = join(daemon.root, 'forged-run.json');
  writeFileSync(runFile, JSON.stringify({ TINYAGI_RUN_ID: 'run_forged', TINYAGI_RUN_TOKEN: 'not-a-token' }));
  const client = await connectClient({ ...daemon.env, TINYAGI_RUN_FILE: runFile, TINYAGI_API_URL: daemon.url });
  try {
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(Object.keys(MCP_AGENT_TOOLS));
    const refused = await client.callTool({ name: 'call_agent', arguments: { agent: 'reviewer', task: 'look at this' } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('AUTH_INVALID');
  } finally {
    await client.close();
  }
});

/** A raw request to the daemon (any Host header), for what an SDK client would never send. */
function rawPost(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return rawRequest('POST', path, headers, body);
}

function rawRequest(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: daemon.port, path, method, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

it('the daemon serves the client tools at /mcp (streamable HTTP) with the API token: tools listed, a message answered with progress', async () => {
  const transport = new StreamableHTTPClientTransport(new URL(`${daemon.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${daemon.token()}` } } });
  const client = new Client({ name: 'tinyagi-http-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    expect(client.getServerVersion()?.name).toBe('tinyagi');
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(Object.keys(MCP_CLIENT_TOOLS).sort());
    const progress: string[] = [];
    const answered = await client.callTool({ name: 'send_message', arguments: { agent: 'coder', message: 'over http' } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
      timeout: 120_000,
    });
    expect(answered.isError).toBeFalsy();
    const body = JSON.parse(textOf(answered)) as { outcome: string; replies: Array<{ agent: string; text: string }> };
    expect(body).toMatchObject({ outcome: 'completed', replies: [{ agent: 'coder', text: expect.stringMatching(/^Done: over http\b/) }] });
    expect(progress.some((line) => line.includes('@coder'))).toBe(true);
    // Bad input is a tool error naming the field, as on stdio.
    const refused = await client.callTool({ name: 'get_conversation', arguments: {} }).catch((err: Error) => ({ isError: true, content: [{ type: 'text', text: err.message }] }));
    expect(refused.isError).toBe(true);
    expect(textOf(refused as Awaited<ReturnType<Client['callTool']>>)).toMatch(/conversation_id/);
  } finally {
    await client.close();
  }
});

it('send_message keeps reporting progress while an agent is quiet, so the client’s idle limit does not end the wait (over /mcp)', async () => {
  const transport = new StreamableHTTPClientTransport(new URL(`${daemon.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${daemon.token()}` } } });
  const client = new Client({ name: 'tinyagi-http-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const progress: string[] = [];
    // The client's idle limit: each progress notification restarts it. The server reports a quiet
    // stretch every 15 s, so the limit must be longer than that.
    const idleLimitMs = 25_000;
    const started = Date.now();
    // The agent's run goes on (its gate opens) at the first quiet-stretch report after one idle
    // limit has passed: the call has outlived the limit it would have hit without the reports.
    const openGate = (message: string): void => {
      if (!/^still working \(\d+ s\)$/.test(message) || Date.now() - started <= idleLimitMs) return;
      mkdirSync(join(daemon.home, 'mock-gates'), { recursive: true });
      writeFileSync(join(daemon.home, 'mock-gates', 'ponder'), '');
    };
    const answered = await client.callTool({ name: 'send_message', arguments: { agent: 'ponder', message: 'think hard' } }, undefined, {
      onprogress: (p) => {
        progress.push(p.message ?? '');
        openGate(p.message ?? '');
      },
      timeout: idleLimitMs,
      resetTimeoutOnProgress: true,
      maxTotalTimeout: 120_000,
    });
    expect(JSON.parse(textOf(answered))).toMatchObject({ outcome: 'completed', replies: [{ agent: 'ponder', text: expect.stringMatching(/^Thought it through\./) }] });
    expect(Date.now() - started).toBeGreaterThan(idleLimitMs);
    expect(progress.some((line) => /^still working \(\d+ s\)$/.test(line))).toBe(true);
  } finally {
    await client.close();
  }
});

it('/mcp without the API token is 401, with a Host or an Origin that is not allowed 403', async () => {
  const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  const none = await rawPost('/mcp', {}, initialize);
  expect({ status: none.status, code: (JSON.parse(none.text) as { error: { code: string } }).error.code }).toEqual({ status: 401, code: 'AUTH_REQUIRED' });
  const wrong = await rawPost('/mcp', { authorization: 'Bearer not-the-token' }, initialize);
  expect(wrong.status).toBe(401);
  const badHost = await rawPost('/mcp', { authorization: `Bearer ${daemon.token()}`, host: 'evil.example' }, initialize);
  expect({ status: badHost.status, code: (JSON.parse(badHost.text) as { error: { code: string } }).error.code }).toEqual({ status: 403, code: 'HOST_NOT_ALLOWED' });
  const badOrigin = await rawPost('/mcp', { authorization: `Bearer ${daemon.token()}`, origin: 'https://evil.example' }, initialize);
  expect(badOrigin.status).toBe(403);
  // Stateless: no standalone stream, no session to end.
  for (const method of ['GET', 'DELETE']) {
    const res = await rawRequest(method, '/mcp', { authorization: `Bearer ${daemon.token()}` });
    expect({ method, status: res.status }).toEqual({ method, status: 405 });
  }
  // The token answers: the SDK's initialize result.
  const ok = await rawPost('/mcp', { authorization: `Bearer ${daemon.token()}` }, initialize);
  expect(ok.status).toBe(200);
  expect(ok.text).toContain('"name":"tinyagi"');
});
