'use strict';
// A fake Agent Client Protocol agent (JSON-RPC 2.0, one message a line on stdio; schema version 1,
// agentclientprotocol.com), written from the schema and the real `opencode acp` 1.18.33's
// messages. Used by bin/fake-acp (the generic `acp` runtime) and bin/opencode (`opencode acp`).
//
// Behaviour per prompt, chosen by FAKE: directives in its text (see fake-common.cjs), plus:
//   FAKE:tool (a tool call, kind execute, with output)  FAKE:plan (a plan update)
//   FAKE:permission (asks session/request_permission before its tool; a rejection fails the tool)
//   FAKE:hang (waits for session/cancel, then stopReason cancelled)  FAKE:crash (reports cost, exits 3)
//   FAKE:read=<path> / FAKE:write=<path> (fs/read_text_file / fs/write_text_file; the reply says the answer)
//   FAKE:echo-system (replies with the first line of the instructions the session got)
//   FAKE:then-hang (with FAKE:tool: hangs after the tool step, deaf to session/cancel)
// Env: FAKE_ACP_HANG_INIT (never answers initialize), FAKE_ACP_NO_LOAD (no loadSession capability).
// After each model call a usage_update with the session's cumulative cost is sent (the real OpenCode
// sends one only for models with a known context limit, so not for a custom provider's).
// Every prompt is logged (FAKE_LOG) with the pid, the session id and the context that reached the "model".
const f = require('./fake-common.cjs');

/** One model call's usage (ACP Usage). */
const CALL_USAGE = { inputTokens: 300, outputTokens: 25, totalTokens: 325 };
const CALL_COST = 0.0042;

function runAcpAgent(flavour) {
  let nextId = 1;
  const pending = new Map();
  const sessions = new Map();
  const store = f.sessionStore(flavour.name);
  let clientCaps = {};
  let buffer = '';

  const send = (msg) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...msg })}\n`);
  const request = (method, params) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      send({ id, method, params });
    });
  const update = (sessionId, u) => send({ method: 'session/update', params: { sessionId, update: u } });

  function newSession(id) {
    const s = { id, data: store.load(id), mode: undefined, model: undefined, cancel: undefined, instructions: undefined, cost: 0, titled: false, steps: [] };
    sessions.set(id, s);
    return s;
  }

  async function prompt(s, params) {
    const text = (params.prompt || []).map((b) => (b.type === 'text' ? b.text : '')).join('');
    const instructions = /<instructions>\n([\s\S]*?)\n<\/instructions>/.exec(text);
    if (instructions) s.instructions = instructions[1];
    const turn = f.addUserMessage(s.data, text);
    store.save(s.id, s.data);
    const system = flavour.systemPrompt ? flavour.systemPrompt(s) : s.instructions;
    const context = f.modelContext([system, flavour.instructionFiles ? f.workspaceInstructions(flavour.instructionFiles) : undefined], s.data);
    const titleCall = flavour.titleCall ? flavour.titleCall(s) : false;
    f.log({ cli: flavour.name, mode: 'acp', sessionId: s.id, prompt: text, context, titleCall, agentMode: s.mode, model: s.model });
    const d = f.directives(text);
    for (const flag of ['plan', 'permission', 'crash', 'then-hang']) if (new RegExp(`FAKE:${flag}(?![\\w-])`).test(text)) d[flag] = true;
    const read = /FAKE:read=(\S+)/.exec(text);
    const write = /FAKE:write=(\S+)/.exec(text);
    const messageId = `msg_${f.randomUUID().slice(0, 8)}`;
    const userId = `msg_u${turn}_${f.randomUUID().slice(0, 6)}`;
    const step = (usage, reason) => {
      s.steps.push({ parentID: userId, usage, reason });
      s.cost += CALL_COST;
      update(s.id, { sessionUpdate: 'usage_update', used: usage.inputTokens + usage.outputTokens, size: 200000, cost: { amount: Number(s.cost.toFixed(6)), currency: 'USD' } });
    };
    s.userIds = [...(s.userIds || []), userId];

    if (d.crash) {
      step(CALL_USAGE, 'tool-calls');
      await f.sleep(50);
      process.stderr.write(`${flavour.name}: simulated crash mid-turn\n`);
      process.exit(3);
    }
    if (d.exit !== undefined) {
      process.stderr.write(`${flavour.name}: simulated failure\n`);
      process.exit(d.exit);
    }
    if (d.hang || (d['hang-once'] && d.first)) {
      step(CALL_USAGE, 'tool-calls');
      await new Promise((resolve) => {
        s.cancel = resolve;
      });
      s.cancel = undefined;
      return { stopReason: 'cancelled', usage: CALL_USAGE, _meta: {} };
    }
    let reply = d.reply ?? `${flavour.label} turn ${turn}: ${text.split('\n').at(-1)}`;
    if (d['echo-system']) reply = f.firstLine(system) || '(no instructions)';
    if (d.plan) {
      update(s.id, {
        sessionUpdate: 'plan',
        entries: [
          { content: 'Look around', priority: 'high', status: 'completed' },
          { content: 'Answer', priority: 'medium', status: 'in_progress' },
        ],
      });
    }
    if (read) {
      const answer = await request('fs/read_text_file', { sessionId: s.id, path: read[1] });
      reply = answer.error ? `read refused: ${answer.error.message}` : `read: ${answer.result.content}`;
    }
    if (write) {
      const answer = await request('fs/write_text_file', { sessionId: s.id, path: write[1], content: 'written by the fake\n' });
      reply = answer.error ? `write refused: ${answer.error.message}` : 'write ok';
    }
    if (d.tool || d.permission) {
      const toolCallId = `call_${f.randomUUID().slice(0, 12)}`;
      update(s.id, { sessionUpdate: 'agent_message_chunk', messageId, content: { type: 'text', text: 'Let me look.' } });
      update(s.id, { sessionUpdate: 'tool_call', toolCallId, title: 'bash', kind: 'execute', status: 'pending', locations: [{ path: process.cwd() }], rawInput: { cwd: process.cwd() } });
      let allowed = true;
      // FAKE:permission, or the agent's configuration says to ask before running a command (OpenCode's `permission.bash: "ask"`).
      if (d.permission || flavour.asksBeforeCommands?.(s)) {
        const answer = await request('session/request_permission', {
          sessionId: s.id,
          toolCall: { toolCallId, title: 'ls', kind: 'execute', status: 'pending', rawInput: { command: 'ls' } },
          options: [
            { optionId: 'once', kind: 'allow_once', name: 'Allow once' },
            { optionId: 'always', kind: 'allow_always', name: 'Always allow' },
            { optionId: 'reject', kind: 'reject_once', name: 'Reject' },
          ],
        });
        const outcome = answer.result?.outcome;
        allowed = Boolean(outcome && outcome.outcome === 'selected' && outcome.optionId !== 'reject');
        f.log({ cli: flavour.name, mode: 'acp', permission: outcome });
      }
      update(s.id, { sessionUpdate: 'tool_call_update', toolCallId, status: 'in_progress', kind: 'execute', title: 'ls', rawInput: { command: 'ls', description: 'List files', cwd: process.cwd() } });
      step({ inputTokens: 100, outputTokens: 10, totalTokens: 110 }, 'tool-calls');
      if (allowed) {
        update(s.id, {
          sessionUpdate: 'tool_call_update',
          toolCallId,
          status: 'completed',
          title: 'ls',
          content: [{ type: 'content', content: { type: 'text', text: 'notes.md\n' } }],
          rawOutput: { output: 'notes.md\n' },
        });
      } else {
        update(s.id, {
          sessionUpdate: 'tool_call_update',
          toolCallId,
          status: 'failed',
          title: 'ls',
          content: [{ type: 'content', content: { type: 'text', text: 'The user rejected permission to use this tool' } }],
        });
        reply = 'permission was refused';
      }
    }
    // FAKE:then-hang: the next model call (after the tool step) never answers, and a cancel is not heard.
    if (d['then-hang']) await f.hangForever();
    const finalId = d.tool || d.permission ? `${messageId}_2` : messageId;
    const chunks = d.slow ? [reply.slice(0, reply.length / 2), reply.slice(reply.length / 2)] : [reply];
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0) await f.sleep(150);
      update(s.id, { sessionUpdate: 'agent_message_chunk', messageId: finalId, content: { type: 'text', text: chunk } });
    }
    f.addAssistantMessage(s.data, reply);
    store.save(s.id, s.data);
    step(CALL_USAGE, 'stop');
    // As the real opencode acp: the usage of the turn's last model call only.
    return { stopReason: 'end_turn', usage: CALL_USAGE, _meta: {} };
  }

  async function handle(msg) {
    const p = msg.params || {};
    switch (msg.method) {
      case 'initialize':
        // FAKE_ACP_HANG_INIT: a process that never completes its handshake.
        if (process.env.FAKE_ACP_HANG_INIT) return new Promise(() => {});
        clientCaps = p.clientCapabilities || {};
        f.log({ cli: flavour.name, mode: 'acp', initialize: p });
        return {
          protocolVersion: 1,
          agentCapabilities: { loadSession: !process.env.FAKE_ACP_NO_LOAD, mcpCapabilities: { http: true, sse: true }, promptCapabilities: { embeddedContext: true, image: true } },
          authMethods: [],
          agentInfo: { name: flavour.agentName, version: flavour.version },
        };
      case 'session/new': {
        const s = newSession(`ses_${f.randomUUID().replace(/-/g, '').slice(0, 24)}`);
        store.save(s.id, s.data);
        f.log({ cli: flavour.name, mode: 'acp', sessionNew: s.id, cwd: p.cwd });
        return { sessionId: s.id, configOptions: flavour.configOptions ? flavour.configOptions(s) : [] };
      }
      case 'session/load': {
        if (!store.exists(p.sessionId) && !sessions.has(p.sessionId)) throw { code: -32002, message: `Resource not found: session ${p.sessionId}` };
        const s = sessions.get(p.sessionId) || newSession(p.sessionId);
        s.titled = true;
        f.log({ cli: flavour.name, mode: 'acp', sessionLoad: s.id });
        // The history is replayed as updates before the answer.
        for (const m of s.data.messages) update(s.id, { sessionUpdate: m.role === 'user' ? 'user_message_chunk' : 'agent_message_chunk', content: { type: 'text', text: m.text } });
        return { configOptions: flavour.configOptions ? flavour.configOptions(s) : [] };
      }
      case 'session/set_config_option': {
        const s = sessions.get(p.sessionId);
        if (!s) throw { code: -32602, message: 'unknown session' };
        if (p.configId === 'mode') s.mode = p.value;
        if (p.configId === 'model') s.model = p.value;
        return { configOptions: flavour.configOptions ? flavour.configOptions(s) : [] };
      }
      case 'session/set_model': {
        const s = sessions.get(p.sessionId);
        if (s) s.model = p.modelId;
        return {};
      }
      case 'session/prompt': {
        const s = sessions.get(p.sessionId);
        if (!s) throw { code: -32602, message: `unknown session ${p.sessionId}` };
        return prompt(s, p);
      }
      default:
        throw { code: -32601, message: `Method not found: ${msg.method}` };
    }
  }

  function onMessage(msg) {
    if (msg.method === undefined && msg.id !== undefined) {
      const resolve = pending.get(msg.id);
      pending.delete(msg.id);
      if (resolve) resolve(msg);
      return;
    }
    if (msg.id === undefined) {
      if (msg.method === 'session/cancel') {
        const s = sessions.get(msg.params?.sessionId);
        if (s?.cancel) s.cancel();
      }
      return;
    }
    Promise.resolve()
      .then(() => handle(msg))
      .then(
        (result) => send({ id: msg.id, result: result === undefined ? null : result }),
        (err) => send({ id: msg.id, error: { code: err.code ?? -32603, message: err.message ?? String(err) } }),
      );
  }

  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffer += chunk;
    let at = buffer.indexOf('\n');
    while (at >= 0) {
      const line = buffer.slice(0, at).trim();
      buffer = buffer.slice(at + 1);
      at = buffer.indexOf('\n');
      if (line === '') continue;
      try {
        onMessage(JSON.parse(line));
      } catch (err) {
        process.stderr.write(`fake acp: bad line: ${String(err)}\n`);
      }
    }
  });
  process.stdin.on('end', () => process.exit(0));
  if (flavour.onStart) flavour.onStart({ sessions, clientCaps: () => clientCaps });
  return { sessions };
}

module.exports = { runAcpAgent, CALL_USAGE, CALL_COST };
