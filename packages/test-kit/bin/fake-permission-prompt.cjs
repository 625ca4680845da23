'use strict';
// Claude Code's `--permission-prompt-tool mcp__<server>__<tool>` for the fake `claude -p`, as the
// real CLI (2.1.330) does it: the server comes from --mcp-config (a file or inline JSON) and is
// started over stdio with the CLI's environment, or, `"type": "http"`, reached over streamable
// HTTP (POSTs of JSON-RPC, answered as JSON or server-sent events) with its headers, `${VAR}`
// expanded from the CLI's environment; the tool must be one the server lists (else the
// real CLI's "not found" error and exit 1); it is called with {tool_name, input, tool_use_id}; its
// answer is one text block whose JSON is {"behavior":"allow","updatedInput"?} or
// {"behavior":"deny","message"}, anything else a denial ("invalid permission result").
const fs = require('node:fs');
const { spawn } = require('node:child_process');

function readMcpConfig(value) {
  if (!value) return {};
  const text = fs.existsSync(value) ? fs.readFileSync(value, 'utf8') : value;
  return JSON.parse(text).mcpServers ?? {};
}

/** A newline-delimited JSON-RPC client over a stdio MCP server. */
function startServer(spec) {
  const child = spawn(spec.command, spec.args ?? [], { env: { ...process.env, ...(spec.env ?? {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
  const pending = new Map();
  let nextId = 1;
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      const waiter = msg.id !== undefined ? pending.get(msg.id) : undefined;
      if (waiter) {
        pending.delete(msg.id);
        if (msg.error) waiter.reject(new Error(`MCP error ${msg.error.code}: ${msg.error.message}`));
        else waiter.resolve(msg.result);
      }
    }
  });
  const gone = new Promise((resolve) => child.on('exit', resolve));
  gone.then(() => {
    for (const w of pending.values()) w.reject(new Error(`the MCP server exited: ${stderr.slice(-500)}`));
    pending.clear();
  });
  const request = (method, params) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  const notify = (method, params) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, ...(params ? { params } : {}) })}\n`);
  const close = async () => {
    child.stdin.end();
    child.kill('SIGTERM');
    await gone;
  };
  return { request, notify, close };
}

/** A JSON-RPC client over a streamable HTTP MCP server (stateless: every message its own POST). */
function httpServer(spec) {
  const expand = (value) => value.replace(/\$\{(\w+)\}/g, (_, name) => process.env[name] ?? '');
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name] = expand(String(value));
  let nextId = 1;
  const post = (message) => fetch(expand(spec.url), { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', ...message }) });
  const request = async (method, params) => {
    const id = nextId++;
    const res = await post({ id, method, params });
    if (!res.ok) throw new Error(`MCP HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const text = await res.text();
    const messages = (res.headers.get('content-type') ?? '').includes('text/event-stream')
      ? text
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => JSON.parse(line.slice(5)))
      : [JSON.parse(text)];
    const msg = messages.find((m) => m.id === id);
    if (!msg) throw new Error(`MCP HTTP: no answer to ${method}`);
    if (msg.error) throw new Error(`MCP error ${msg.error.code}: ${msg.error.message}`);
    return msg.result;
  };
  const notify = (method, params) => void post({ method, ...(params ? { params } : {}) }).catch(() => {});
  return { request, notify, close: async () => {} };
}

/** Asks the prompt tool; resolves with the permission result Claude Code would act on. */
async function askPromptTool(toolFlag, mcpConfig, call) {
  const m = /^mcp__(.+?)__(.+)$/.exec(toolFlag);
  if (!m) {
    process.stderr.write(`Error: tool ${toolFlag} (passed via --permission-prompt-tool) must be an MCP tool\n`);
    process.exit(1);
  }
  const [, serverName, toolName] = m;
  const servers = readMcpConfig(mcpConfig);
  const spec = servers[serverName];
  if (!spec) {
    process.stderr.write(`Error: MCP tool ${toolFlag} (passed via --permission-prompt-tool) not found. Available MCP tools: none\n`);
    process.exit(1);
  }
  const server = spec.type === 'http' ? httpServer(spec) : startServer(spec);
  try {
    await server.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'claude-code', version: '2.1.330-fake' } });
    server.notify('notifications/initialized');
    const listed = await server.request('tools/list', {});
    const names = (listed.tools ?? []).map((t) => `mcp__${serverName}__${t.name}`);
    if (!names.includes(toolFlag)) {
      process.stderr.write(`Error: MCP tool ${toolFlag} (passed via --permission-prompt-tool) not found. Available MCP tools: ${names.join(', ') || 'none'}\n`);
      process.exit(1);
    }
    const result = await server.request('tools/call', { name: toolName, arguments: call });
    const block = result?.content?.[0];
    if (block?.type !== 'text' || typeof block.text !== 'string')
      throw new Error('Permission prompt tool returned an invalid result. Expected a single text block param with type="text" and a string text value.');
    let parsed;
    try {
      parsed = JSON.parse(block.text);
    } catch {
      parsed = undefined;
    }
    if (parsed?.behavior === 'allow' && (parsed.updatedInput === undefined || (typeof parsed.updatedInput === 'object' && parsed.updatedInput !== null))) return parsed;
    if (parsed?.behavior === 'deny' && typeof parsed.message === 'string') return parsed;
    return {
      behavior: 'deny',
      message: "The permission prompt tool returned an invalid permission result. Expected {behavior: 'allow', updatedInput?: object} or {behavior: 'deny', message: string}.",
    };
  } finally {
    await server.close();
  }
}

module.exports = { askPromptTool };
