'use strict';
// The fake Claude Code's warm mode: `claude -p --input-format stream-json --output-format
// stream-json --verbose …`, one process for many turns, as Claude Code 2.1.330 speaks it (checked
// against the real CLI, docs/sessions.md "Claude Code"):
// - stdin: JSON lines. `{type:"user", message:{role, content}, uuid}` is a turn's message;
//   `{type:"control_request", request_id, request:{subtype}}` with initialize (hooks:
//   PreToolUse callback ids), interrupt (cancel_queued), set_model, set_permission_mode;
//   `{type:"control_response", response:{subtype, request_id, response}}` answers ours
//   (hook_callback before each tool call, can_use_tool with --permission-prompt-tool stdio).
// - a message's fate as `command_lifecycle` (queued, started, completed | cancelled); a message
//   that arrives while a turn runs is folded into it at its next model call (after a tool) or,
//   when the turn ends first, runs as a turn of its own; model calls and results name the
//   messages they answer (`user_message_uuids`).
// - interrupt: answered, then the turn ends with an error_during_execution result and its
//   messages are cancelled; the process stays for the next turn. EOF on stdin ends the process.
// Directives (in a turn's message): FAKE:reply=, FAKE:tool (one Bash call), FAKE:tool-ms=<ms>
// (the Bash call runs that long), FAKE:reply-ms=<ms> (the answering model call takes that long),
// FAKE:hang (the model call never answers; an interrupt ends it), FAKE:step-then-hang,
// FAKE:wakeup-ms=<ms> (after the turn, a turn the CLI starts by itself answers a message of its own),
// FAKE:exit=<code> (the process dies mid-turn), FAKE:todo (a TodoWrite plan), FAKE:tasks (two TaskCreate
// calls and a TaskUpdate, with their structured results), FAKE:task-done=<id> (a TaskUpdate), FAKE:rate-limit
// (a rate_limit_event, allowed_warning), FAKE:echo-system, FAKE:edit (a Write call, which
// asks can_use_tool when the permission mode is not bypass), FAKE:call=<agent> <task> (`tinyagi
// call` through the Bash tool, as per message; the reply is what it printed), FAKE:bash=<command> (one
// Bash call running the command to the end of the line, which asks can_use_tool first when the mode
// is not bypass; the reply is its output).
const fs = require('node:fs');
const readline = require('node:readline');
const f = require('./fake-common.cjs');

const CALL = { input: 100, cacheRead: 20, output: 42, cost: 0.0123 };

/**
 * `--resume-session-at <uuid>` naming no message of the transcript, as Claude Code 2.1.330 says
 * it (checked against the real binary): the message on stderr, an error result carrying it in
 * `errors` on stdout (in a session id of its own), exit 1.
 */
function refuseResumePoint(at) {
  const message = `No message found with message.uuid of: ${at}`;
  process.stderr.write(`${message}\n`);
  f.emit({ type: 'result', subtype: 'error_during_execution', is_error: true, num_turns: 0, session_id: f.randomUUID(), total_cost_usd: 0, errors: [message] });
  process.exit(1);
}

function streamMain(argv, opts) {
  const store = f.sessionStore('claude');
  let sessionId = opts['--resume'] ?? opts['-r'] ?? opts['--session-id'];
  if (opts['--resume-session-at'] && !opts['--resume'] && !opts['-r']) f.fail('Error: --resume-session-at requires --resume', 1);
  const resuming = Boolean(opts['--resume'] || opts['-r']);
  if (opts['--session-id']) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sessionId)) f.fail('Error: Invalid session ID. Must be a valid UUID.', 1);
    if (store.exists(sessionId)) f.fail(`Error: Session ID ${sessionId} is already in use.`, 1);
  } else if (!sessionId) {
    sessionId = f.randomUUID();
  }
  const session = store.load(sessionId);
  const at = opts['--resume-session-at'];
  // A resume point the transcript does not hold: refused at once, before the handshake (Claude Code 2.1.330).
  if (resuming && at && store.exists(sessionId) && !session.messages.some((m) => m.uuid === at)) refuseResumePoint(at);
  const permissionMode = opts['--dangerously-skip-permissions'] ? 'bypassPermissions' : (opts['--permission-mode'] ?? 'default');
  const promptTool = opts['--permission-prompt-tool'];
  if (promptTool !== undefined && promptTool !== 'stdio') f.fail(`Error: MCP tool ${promptTool} (passed via --permission-prompt-tool) not found. Available MCP tools: none`, 1);
  const systemFile = opts['--append-system-prompt-file'] ?? opts['--system-prompt-file'];
  const system = f.fileInfo(systemFile);
  const systemText = system && fs.existsSync(system.path) ? fs.readFileSync(system.path, 'utf8') : undefined;
  let model = opts['--model'] ?? 'claude-fake';
  let loaded = false;
  let hookIds = [];
  let nextRequest = 0;
  const waiting = new Map();
  const queue = [];
  let current; // { messages: [], folded: [], aborted: false, abort: () => {} }
  let working = false;
  let ending = false;
  f.log({ cli: 'claude', mode: 'stream-json', argv, systemPromptFile: system });

  // The session is loaded when the first message is read (an unknown one fails then, as the real CLI does).
  function load() {
    if (loaded) return;
    loaded = true;
    if (resuming) {
      if (store.enabled && !store.exists(sessionId)) noConversation(sessionId);
      if (at && store.enabled) {
        session.messages = session.messages.slice(0, session.messages.findIndex((m) => m.uuid === at) + 1);
      } else if (session.messages.at(-1)?.role === 'user') {
        f.addAssistantMessage(session, 'No response requested.');
      }
    }
    session.systemPrompt = systemText ?? null;
  }

  const lifecycle = (uuid, state) => uuid && f.emit({ type: 'command_lifecycle', command_uuid: uuid, state, uuid: f.randomUUID(), session_id: sessionId });

  function ask(request) {
    const id = `fake_${++nextRequest}`;
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      f.emit({ type: 'control_request', request_id: id, request });
    });
  }

  /** Waits `ms`, or until the turn is interrupted (resolves false then). */
  function pause(turn, ms) {
    return new Promise((resolve) => {
      if (turn.aborted) return resolve(false);
      const timer = ms === Infinity ? undefined : setTimeout(() => resolve(true), ms);
      turn.abort = () => {
        if (timer) clearTimeout(timer);
        resolve(false);
      };
    });
  }

  /** One model call: messages that arrived meanwhile are folded in (started now). */
  function takeFolded(turn) {
    while (turn.folding.length > 0) {
      const m = turn.folding.shift();
      lifecycle(m.uuid, 'started');
      turn.messages.push(m);
      turn.folded.push(m);
      f.addUserMessage(session, m.text);
    }
  }

  function uuidsOf(turn) {
    return turn.messages.map((m) => m.uuid).filter(Boolean);
  }

  function assistant(turn, content, usage) {
    const message = { id: `msg_fake_${f.randomUUID().slice(0, 8)}`, type: 'message', role: 'assistant', model, content, usage };
    const uuid = f.randomUUID();
    f.emit({ type: 'assistant', message, parent_tool_use_id: null, session_id: sessionId, uuid, user_message_uuids: uuidsOf(turn) });
    return uuid;
  }

  function spendEvent(spent) {
    const totals = session.totals;
    totals.input += spent.input;
    totals.cacheRead = (totals.cacheRead ?? 0) + spent.cacheRead;
    totals.output += spent.output;
    totals.cost += spent.cost;
    store.save(sessionId, session);
    const modelUsage = (u) => ({ [model]: { inputTokens: u.input, outputTokens: u.output, cacheReadInputTokens: u.cacheRead, cacheCreationInputTokens: 0, costUSD: u.cost } });
    return {
      total_cost_usd: totals.cost,
      usage: { input_tokens: spent.input, cache_creation_input_tokens: 0, cache_read_input_tokens: spent.cacheRead, output_tokens: spent.output },
      modelUsage: modelUsage(totals),
      model_usage_since_last_result: modelUsage(spent),
    };
  }

  // `asks`: the call asks can_use_tool as the real CLI asks for a Bash call in `default` mode (FAKE:bash); FAKE:call's and FAKE:tool's do not.
  async function runTool(turn, spent, name, input, result, ms, structured, asks = false) {
    const id = `toolu_fake_${f.randomUUID().slice(0, 8)}`;
    assistant(turn, [{ type: 'tool_use', id, name, input }], { input_tokens: CALL.input, cache_creation_input_tokens: 0, cache_read_input_tokens: CALL.cacheRead, output_tokens: 1 });
    spent.input += CALL.input;
    spent.cacheRead += CALL.cacheRead;
    spent.output += CALL.output;
    spent.cost += CALL.cost;
    if (hookIds.length > 0) {
      for (const callbackId of hookIds) {
        await ask({
          subtype: 'hook_callback',
          callback_id: callbackId,
          input: { session_id: sessionId, hook_event_name: 'PreToolUse', tool_name: name, tool_input: input, tool_use_id: id, permission_mode: permissionMode },
          tool_use_id: id,
        });
      }
    }
    // A function result runs the tool once nothing refused it (the Bash tool of FAKE:call).
    let content = typeof result === 'function' ? undefined : result;
    let isError = false;
    if ((asks || !['Bash', 'TodoWrite', 'TaskCreate', 'TaskUpdate'].includes(name)) && permissionMode === 'default') {
      if (promptTool === 'stdio') {
        const answer = await ask({ subtype: 'can_use_tool', tool_name: name, display_name: name, input, tool_use_id: id });
        if (answer?.behavior !== 'allow') {
          content = answer?.message ?? 'denied';
          isError = true;
        }
      } else {
        content = `Claude requested permissions to use ${name}, but you haven't granted it yet.`;
        isError = true;
      }
    }
    if (turn.aborted) return false;
    if (content === undefined) content = result();
    if (ms > 0 && !(await pause(turn, ms))) return false;
    f.emit({
      type: 'user',
      message: { role: 'user', content: [{ tool_use_id: id, type: 'tool_result', content, is_error: isError }] },
      parent_tool_use_id: null,
      session_id: sessionId,
      uuid: f.randomUUID(),
      ...(structured && !isError ? { tool_use_result: structured } : {}),
    });
    return true;
  }

  async function runTurn(first) {
    const turn = { messages: [first], folding: [], folded: [], aborted: false, abort: () => {} };
    current = turn;
    lifecycle(first.uuid, 'started');
    const turnNo = f.addUserMessage(session, first.text);
    store.save(sessionId, session);
    const text = first.text;
    const d = f.directives(text);
    f.emit({ type: 'system', subtype: 'init', session_id: sessionId, cwd: process.cwd(), model, permissionMode, tools: ['Bash', 'Edit', 'Read', 'TodoWrite', 'Write'] });
    f.log({
      cli: 'claude',
      mode: 'stream-json',
      turn: turnNo,
      prompt: text,
      context: f.modelContext([session.systemPrompt ?? undefined, f.workspaceInstructions(['CLAUDE.md', 'AGENTS.md'])], session),
    });
    const spent = { input: 0, cacheRead: 0, output: 0, cost: 0 };
    const exitCode = /FAKE:exit=(\d+)/.exec(text);
    if (exitCode) {
      process.stderr.write(`claude: simulated failure for the test\nfatal: exit ${exitCode[1]}\n`);
      process.exit(Number(exitCode[1]));
    }
    let ok = true;
    if (d['step-then-hang']) {
      assistant(turn, [{ type: 'text', text: 'Working on it.' }], { input_tokens: CALL.input, output_tokens: 1 });
      ok = await pause(turn, Infinity);
    }
    if (ok && d.hang) ok = await pause(turn, Infinity);
    if (ok && /FAKE:rate-limit/.test(text)) {
      f.emit({
        type: 'rate_limit_event',
        rate_limit_info: { status: 'allowed_warning', resetsAt: 1_900_000_000, rateLimitType: 'five_hour', utilization: 0.91, isUsingOverage: false },
        uuid: f.randomUUID(),
        session_id: sessionId,
      });
    }
    if (ok && /FAKE:todo/.test(text)) {
      ok = await runTool(
        turn,
        spent,
        'TodoWrite',
        {
          todos: [
            { content: 'Read the code', status: 'completed', activeForm: 'Reading' },
            { content: 'Fix the bug', status: 'in_progress', activeForm: 'Fixing' },
          ],
        },
        'Todos have been modified successfully.',
        0,
      );
    }
    if (ok && /FAKE:tasks/.test(text)) {
      // Claude Code 2.1's plan tools, with the structured results it streams (tool_use_result).
      ok = await runTool(turn, spent, 'TaskCreate', { subject: 'Write the test', description: 'a failing test first' }, 'Task #1 created successfully: Write the test', 0, {
        task: { id: '1', subject: 'Write the test', description: 'a failing test first' },
      });
      if (ok)
        ok = await runTool(turn, spent, 'TaskCreate', { subject: 'Make it pass', description: 'the fix' }, 'Task #2 created successfully: Make it pass', 0, {
          task: { id: '2', subject: 'Make it pass', description: 'the fix' },
        });
      if (ok)
        ok = await runTool(turn, spent, 'TaskUpdate', { taskId: '1', status: 'completed' }, 'Updated task #1 status', 0, {
          success: true,
          taskId: '1',
          updatedFields: ['status'],
          statusChange: { from: 'pending', to: 'completed' },
        });
    }
    const taskDone = /FAKE:task-done=(\d+)/.exec(text);
    if (ok && taskDone) {
      ok = await runTool(turn, spent, 'TaskUpdate', { taskId: taskDone[1], status: 'completed' }, `Updated task #${taskDone[1]} status`, 0, {
        success: true,
        taskId: taskDone[1],
        updatedFields: ['status'],
      });
    }
    if (ok && /FAKE:edit/.test(text)) ok = await runTool(turn, spent, 'Write', { file_path: 'notes.md', content: 'hello' }, 'File created successfully at: notes.md', 0);
    const toolMs = /FAKE:tool-ms=(\d+)/.exec(text);
    if (ok && (d.tool || toolMs)) ok = await runTool(turn, spent, 'Bash', { command: 'ls', description: 'List files' }, 'notes.md', toolMs ? Number(toolMs[1]) : 0);
    // FAKE:bash=<command>: one Bash call that really runs the command (bash -c, in the cwd) once no hook refused it; the reply is its output.
    const bash = /FAKE:bash=([^\n]*)/.exec(text);
    let bashReply;
    if (ok && bash) {
      const command = bash[1].trim();
      ok = await runTool(
        turn,
        spent,
        'Bash',
        { command, description: 'Run the command' },
        () => {
          const ran = f.runShell(command, false);
          bashReply = `${ran.stdout}${ran.stderr}`.trim() || `(exit ${ran.status})`;
          return bashReply;
        },
        0,
        undefined,
        true,
      );
      // A refused call: the reply says so (the tool result carried the refusal to the "model").
      if (ok && bashReply === undefined) bashReply = `bash refused: ${command}`;
    }
    let callReply;
    if (ok && d.call) {
      const command = f.subAgentCommand(d.call);
      ok = await runTool(turn, spent, 'Bash', { command }, () => (callReply = f.callSubAgent(d.call, false).reply), 0);
    }
    takeFolded(turn);
    const replyMs = /FAKE:reply-ms=(\d+)/.exec(text);
    if (ok && replyMs) ok = await pause(turn, Number(replyMs[1]));
    if (!ok || turn.aborted) return interrupted(turn, spent);

    let reply = d.reply ?? callReply ?? bashReply ?? `fake-claude turn ${turnNo}: ${text}`;
    if (d['echo-system']) reply = system && system.firstLine !== undefined ? system.firstLine : '(no system prompt file)';
    if (turn.folded.length > 0) reply += ` [steered: ${turn.folded.map((m) => m.text).join(' | ')}]`;
    const answer = f.addAssistantMessage(session, reply);
    spent.input += CALL.input;
    spent.cacheRead += CALL.cacheRead;
    spent.output += CALL.output;
    spent.cost += CALL.cost;
    f.emit({
      type: 'assistant',
      message: {
        id: `msg_fake_${f.randomUUID().slice(0, 8)}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: reply }],
        usage: { input_tokens: CALL.input, cache_creation_input_tokens: 0, cache_read_input_tokens: CALL.cacheRead, output_tokens: 1 },
      },
      parent_tool_use_id: null,
      session_id: sessionId,
      uuid: answer.uuid,
      user_message_uuids: uuidsOf(turn),
    });
    // Folded messages complete before the result, the turn's own message after it (as the real CLI orders them).
    for (const m of turn.folded) lifecycle(m.uuid, 'completed');
    f.emit({
      type: 'result',
      subtype: 'success',
      is_error: false,
      num_turns: 1,
      result: reply,
      session_id: sessionId,
      uuid: f.randomUUID(),
      terminal_reason: 'completed',
      user_message_uuid: first.uuid,
      user_message_uuids: uuidsOf(turn),
      ...spendEvent(spent),
    });
    lifecycle(first.uuid, 'completed');
    current = undefined;
    const wakeup = /FAKE:wakeup-ms=(\d+)/.exec(text);
    if (wakeup) setTimeout(() => internalTurn('wakeup'), Number(wakeup[1]));
    // Messages that arrived after the last model call run as turns of their own.
    queue.unshift(...turn.folding);
  }

  /** A turn the CLI starts by itself (a scheduled wakeup, a background task's notice): a fresh uuid no host message has. */
  function internalTurn(reply) {
    const uuid = f.randomUUID();
    lifecycle(uuid, 'started');
    f.emit({
      type: 'assistant',
      message: { id: `msg_fake_${f.randomUUID().slice(0, 8)}`, type: 'message', role: 'assistant', model, content: [{ type: 'text', text: reply }], usage: { input_tokens: 7, output_tokens: 1 } },
      parent_tool_use_id: null,
      session_id: sessionId,
      uuid: f.randomUUID(),
      user_message_uuids: [uuid],
    });
    f.emit({
      type: 'result',
      subtype: 'success',
      is_error: false,
      num_turns: 1,
      result: reply,
      session_id: sessionId,
      uuid: f.randomUUID(),
      user_message_uuids: [uuid],
      total_cost_usd: session.totals.cost,
      usage: { input_tokens: 7, output_tokens: 1 },
      model_usage_since_last_result: {},
    });
    lifecycle(uuid, 'completed');
  }

  function interrupted(turn, spent) {
    f.addUserMessage(session, '[Request interrupted by user]');
    f.emit({ type: 'user', message: { role: 'user', content: [{ type: 'text', text: '[Request interrupted by user]' }] }, parent_tool_use_id: null, session_id: sessionId, uuid: f.randomUUID() });
    f.emit({
      type: 'result',
      subtype: 'error_during_execution',
      is_error: true,
      num_turns: 1,
      session_id: sessionId,
      uuid: f.randomUUID(),
      terminal_reason: 'aborted_streaming',
      errors: ['[ede_diagnostic] interrupted'],
      user_message_uuids: uuidsOf(turn),
      ...spendEvent(spent),
    });
    for (const m of turn.messages) lifecycle(m.uuid, 'cancelled');
    for (const m of turn.folding) lifecycle(m.uuid, 'cancelled');
    current = undefined;
  }

  async function work() {
    if (working) return;
    working = true;
    while (queue.length > 0) {
      const next = queue.shift();
      load();
      await runTurn(next);
    }
    working = false;
    if (ending) process.exit(0);
  }

  function onControlRequest(id, request) {
    const reply = (response) => f.emit({ type: 'control_response', response: { subtype: 'success', request_id: id, response } });
    switch (request?.subtype) {
      case 'initialize':
        hookIds = (request.hooks?.PreToolUse ?? []).flatMap((m) => m.hookCallbackIds ?? []);
        return reply({ commands: [], models: [], account: {} });
      case 'interrupt': {
        const cancelled = [];
        if (request.cancel_queued === true) {
          // Messages waiting for the running turn's next model call, and queued ones, are cancelled before the answer.
          for (const m of [...(current ? current.folding.splice(0) : []), ...queue.splice(0)]) {
            lifecycle(m.uuid, 'cancelled');
            if (m.uuid) cancelled.push(m.uuid);
          }
        }
        reply({ still_queued: queue.map((m) => m.uuid).filter(Boolean), ...(request.cancel_queued === true ? { cancelled } : {}) });
        if (current) {
          current.aborted = true;
          current.abort();
        }
        return;
      }
      case 'set_model':
        model = request.model ?? 'claude-fake';
        return reply({});
      case 'set_permission_mode':
        return reply({});
      default:
        return f.emit({ type: 'control_response', response: { subtype: 'error', request_id: id, error: `Unsupported control request subtype: ${request?.subtype}` } });
    }
  }

  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      process.stderr.write(`Error parsing streaming input line (type=unknown, ${line.length} chars): SyntaxError\n`);
      return;
    }
    if (message.type === 'control_request') return onControlRequest(message.request_id, message.request);
    if (message.type === 'control_response') {
      const resolve = waiting.get(message.response?.request_id);
      waiting.delete(message.response?.request_id);
      return resolve?.(message.response?.response);
    }
    if (message.type !== 'user') return;
    const content = message.message?.content;
    const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((b) => b.text ?? '').join('\n') : '';
    const entry = { uuid: typeof message.uuid === 'string' ? message.uuid : undefined, text };
    lifecycle(entry.uuid, 'queued');
    // While a turn runs the message waits for its next model call; otherwise it starts a turn.
    if (current && !current.aborted) current.folding.push(entry);
    else queue.push(entry);
    void work();
  });
  lines.on('close', () => {
    ending = true;
    if (!working) process.exit(0);
  });
}

/**
 * A resume of a session this HOME does not have, as Claude Code 2.1.330 answers it (per message
 * with stream-json output, and warm): the error result on stdout, the line on stderr, exit 1.
 */
function noConversation(sessionId) {
  process.stderr.write(`No conversation found with session ID: ${sessionId}\n`);
  f.emit({
    type: 'result',
    subtype: 'error_during_execution',
    is_error: true,
    num_turns: 0,
    session_id: sessionId,
    total_cost_usd: 0,
    errors: [`No conversation found with session ID: ${sessionId}`],
  });
  process.exit(1);
}

module.exports = { noConversation, refuseResumePoint, streamMain };
