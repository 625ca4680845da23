/**
 * A stand-in model API on 127.0.0.1 for the real agent CLIs: Anthropic Messages
 * (`POST …/messages`), OpenAI Responses (`POST …/responses`) and Chat Completions
 * (`POST …/chat/completions`), and the Gemini API (`POST …/models/{model}:generateContent`,
 * `:streamGenerateContent?alt=sse`, `:countTokens`), streaming (SSE with the events and fields the
 * published API references define, which the real CLIs parse) and not, text and tool calls.
 *
 * Each request is parsed into one neutral view (`ModelRequest`: system text, the conversation
 * entries, the tools offered) and answered by the test's `respond` script: a reply, a call of the
 * CLI's own shell tool, an HTTP error (429, 500, …), a hang (the stream opens and stays silent
 * until the client goes away), or a hang whose client process is then killed (SIGKILL of the
 * process holding the connection, found through /proc). Every call is recorded with what it
 * served, so a test can compare the usage it served with what TinyAGI recorded.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ModelApi = 'anthropic' | 'responses' | 'chat' | 'gemini';

export interface ModelEntry {
  /** `system` also covers OpenAI's developer messages and `instructions`; `tool` is a tool's output. */
  role: 'system' | 'user' | 'assistant' | 'tool';
  text: string;
}

export interface ModelRequest {
  api: ModelApi;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  stream: boolean;
  model: string;
  /** Every entry of the request in order, the system prompt first. */
  entries: ModelEntry[];
  /** The names of the tools offered. */
  tools: string[];
}

export interface ModelUsage {
  inputTokens: number;
  outputTokens: number;
  /**
   * Anthropic `cache_read_input_tokens` / OpenAI `cached_tokens` / Gemini `cachedContentTokenCount`
   * (part of the input on OpenAI's and Gemini's APIs, not on Anthropic's).
   */
  cacheReadTokens?: number;
  /** Anthropic `cache_creation_input_tokens`. */
  cacheWriteTokens?: number;
  /** Gemini `thoughtsTokenCount`: the model's thinking, billed as output but not part of `candidatesTokenCount` (outputTokens). */
  thoughtTokens?: number;
}

/** `text` on a shell or tool call: what the model says before the call, in the same response. */
export type ModelAction =
  | { reply: string; usage?: ModelUsage }
  /** A call of the CLI's shell tool (Claude Code `Bash`, Codex `exec_command`/`shell`, OpenCode `bash`, Gemini CLI `run_shell_command`) running `command`. */
  | { shell: string; usage?: ModelUsage; text?: string }
  /** A call of an offered tool whose name is `tool` or ends with `__<tool>` (an MCP tool: `mcp__tinyagi__call_agent`), with `input`. */
  | { tool: string; input: Record<string, unknown>; usage?: ModelUsage; text?: string }
  | { status: number; message?: string; retryAfterS?: number }
  /** The stream opens and stays silent until the client goes away. */
  | { hang: true }
  /** Like hang, then the process holding the connection is killed (SIGKILL). */
  | { kill: true };

export interface ModelCall {
  request: ModelRequest;
  action: ModelAction;
  /** What the response reported as usage (zero for errors, hangs and kills: nothing was reported). */
  served: ModelUsage;
  /** The killed process (kill action). */
  killedPid?: number;
  /** When the script answered (Date.now()). */
  at: number;
  /** When the request's headers arrived (performance.now(): a benchmark's first model request). */
  receivedAt: number;
  /** When the response's last byte was handed to the socket (performance.now(); unset until then, and for a hang). */
  endedAt?: number;
}

export interface ModelServer {
  /** http://127.0.0.1:<port> */
  url: string;
  calls: ModelCall[];
  /** Requests to paths that are not a model API (answered 404). */
  unknown: Array<{ method: string; path: string }>;
  /** Called after every recorded call (for `waitOnEvents`). */
  listeners: Set<() => void>;
  close(): Promise<void>;
}

export interface ModelServerOptions {
  /** The answer to each model request; default: reply "ok". */
  respond?: (request: ModelRequest, calls: readonly ModelCall[]) => ModelAction | Promise<ModelAction>;
  /** Usage served when an action names none. */
  usage?: ModelUsage;
  /**
   * The process a `kill` action kills: default the one holding the connection (`peerPid`). Behind
   * a proxy (TinyAGI's model proxy holds the connection) the client is elsewhere: e.g.
   * `() => connectedTo(proxyPort)`.
   */
  killTarget?: (socket: Socket) => number | undefined;
}

const DEFAULT_USAGE: ModelUsage = { inputTokens: 1200, outputTokens: 40 };
const ZERO: ModelUsage = { inputTokens: 0, outputTokens: 0 };

export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const calls: ModelCall[] = [];
  const unknown: ModelServer['unknown'] = [];
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  const server = createServer((req, res) => {
    const receivedAt = performance.now();
    void readBody(req)
      .then(async (text) => {
        const path = req.url ?? '/';
        const api = apiOf(req.method, path);
        if (!api) {
          unknown.push({ method: req.method ?? '', path });
          if (path.includes('count_tokens')) return json(res, 200, { input_tokens: DEFAULT_USAGE.inputTokens });
          // Gemini's countTokens (https://ai.google.dev/api/tokens): not a model call; an estimate is all a client wants.
          if (req.method === 'POST' && /:countTokens$/.test(path.split('?')[0] ?? '')) return json(res, 200, { totalTokens: DEFAULT_USAGE.inputTokens });
          return json(res, 404, { error: { type: 'not_found_error', message: `the stand-in serves no ${req.method} ${path}` } });
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          return json(res, 400, { error: { type: 'invalid_request_error', message: 'body is not JSON' } });
        }
        const request = parseRequest(api, path, req.headers, body);
        const action = await Promise.resolve(options.respond ? options.respond(request, calls) : { reply: 'ok' }).catch((err: unknown) => ({
          status: 500,
          message: `the stand-in's script threw: ${(err as Error).message}`,
        }));
        const served = 'reply' in action || 'shell' in action || 'tool' in action ? (action.usage ?? options.usage ?? DEFAULT_USAGE) : ZERO;
        const call: ModelCall = { request, action, served, at: Date.now(), receivedAt };
        res.once('finish', () => (call.endedAt = performance.now()));
        if ('kill' in action) call.killedPid = (options.killTarget ?? peerPid)(req.socket);
        calls.push(call);
        answer(request, action, served, res, req.socket);
        if (call.killedPid !== undefined) process.kill(call.killedPid, 'SIGKILL');
        notify();
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    unknown,
    listeners,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function apiOf(method: string | undefined, path: string): ModelApi | undefined {
  if (method !== 'POST') return undefined;
  const pathname = path.split('?')[0] ?? '';
  if (pathname.endsWith('/messages')) return 'anthropic';
  if (pathname.endsWith('/responses')) return 'responses';
  if (pathname.endsWith('/chat/completions')) return 'chat';
  if (/\/models\/[^/:]+:(generateContent|streamGenerateContent)$/.test(pathname)) return 'gemini';
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** How many times `needle` occurs in the request's entries (system prompt included). */
export function occurrences(request: ModelRequest, needle: string): number {
  let n = 0;
  for (const entry of request.entries) n += entry.text.split(needle).length - 1;
  return n;
}

/** The text of the last user entry (the message a turn carries). */
export function lastUserText(request: ModelRequest): string {
  return request.entries.findLast((e) => e.role === 'user')?.text ?? '';
}

/** The last entry is a tool's output: the model is asked to go on after a tool call. */
export function toolOutput(request: ModelRequest): string | undefined {
  const last = request.entries.at(-1);
  return last?.role === 'tool' ? last.text : undefined;
}

// ---- requests -------------------------------------------------------------------------------

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Text of a content value: a string, or blocks with `text` (tool results may nest blocks). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block) => (isRec(block) ? (typeof block.text === 'string' ? block.text : textOf(block.content ?? block.output)) : ''))
    .filter((t) => t !== '')
    .join('\n');
}

/** The text parts of a Gemini Content's parts (thoughts left out), joined. */
function geminiText(parts: unknown): string {
  if (!Array.isArray(parts)) return '';
  return parts
    .filter(isRec)
    .filter((p) => typeof p.text === 'string' && p.thought !== true)
    .map((p) => p.text as string)
    .join('\n');
}

/** A functionResponse's `response` as text: its `output` (or `error`) string when it has one (Gemini CLI's shape), else its JSON. */
function geminiToolOutput(response: unknown): string {
  if (isRec(response)) {
    if (typeof response.output === 'string') return response.output;
    if (typeof response.error === 'string') return response.error;
  }
  return JSON.stringify(response ?? null);
}

export function parseRequest(api: ModelApi, path: string, headers: IncomingHttpHeaders, body: Rec): ModelRequest {
  const entries: ModelEntry[] = [];
  const tools: string[] = [];
  const toolList = Array.isArray(body.tools) ? body.tools.filter(isRec) : [];
  if (api === 'anthropic') {
    const system = textOf(body.system);
    if (system !== '') entries.push({ role: 'system', text: system });
    for (const m of Array.isArray(body.messages) ? body.messages.filter(isRec) : []) {
      const role = m.role === 'assistant' ? 'assistant' : 'user';
      if (typeof m.content === 'string') {
        entries.push({ role, text: m.content });
        continue;
      }
      for (const block of Array.isArray(m.content) ? m.content.filter(isRec) : []) {
        if (block.type === 'text') entries.push({ role, text: str(block.text) });
        else if (block.type === 'tool_result') entries.push({ role: 'tool', text: textOf(block.content) });
        else if (block.type === 'tool_use') entries.push({ role: 'assistant', text: JSON.stringify(block.input) });
      }
    }
    for (const t of toolList) tools.push(str(t.name));
  } else if (api === 'responses') {
    if (typeof body.instructions === 'string' && body.instructions !== '') entries.push({ role: 'system', text: body.instructions });
    const input = typeof body.input === 'string' ? [{ type: 'message', role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input.filter(isRec) : [];
    for (const item of input) {
      const type = item.type ?? 'message';
      if (type === 'message') entries.push({ role: item.role === 'assistant' ? 'assistant' : item.role === 'user' ? 'user' : 'system', text: textOf(item.content) });
      else if (type === 'function_call_output' || type === 'custom_tool_call_output') entries.push({ role: 'tool', text: typeof item.output === 'string' ? item.output : textOf(item.output) });
      else if (type === 'function_call' || type === 'custom_tool_call') entries.push({ role: 'assistant', text: str(item.arguments ?? item.input) });
    }
    // A namespace (Codex's MCP servers: `mcp__<server>`) holds its functions: listed as `<namespace>__<function>`.
    for (const t of toolList) {
      if (t.type === 'namespace' && Array.isArray(t.tools)) for (const f of t.tools.filter(isRec)) tools.push(`${str(t.name)}__${str(f.name)}`);
      else tools.push(str(t.name));
    }
  } else if (api === 'gemini') {
    // https://ai.google.dev/api/generate-content: `systemInstruction` and `contents` are Content
    // objects ({role: "user" | "model", parts}); a part is text (`thought: true` marks the model's
    // thinking), a functionCall {name, args} or a functionResponse {name, response}.
    const system = isRec(body.systemInstruction) ? geminiText(body.systemInstruction.parts) : typeof body.systemInstruction === 'string' ? body.systemInstruction : '';
    if (system !== '') entries.push({ role: 'system', text: system });
    for (const c of Array.isArray(body.contents) ? body.contents.filter(isRec) : []) {
      const role = c.role === 'model' ? 'assistant' : 'user';
      for (const part of Array.isArray(c.parts) ? c.parts.filter(isRec) : []) {
        if (typeof part.text === 'string' && part.thought !== true) entries.push({ role, text: part.text });
        else if (isRec(part.functionCall)) entries.push({ role: 'assistant', text: JSON.stringify(part.functionCall.args ?? {}) });
        else if (isRec(part.functionResponse)) entries.push({ role: 'tool', text: geminiToolOutput(part.functionResponse.response) });
      }
    }
    for (const t of toolList) for (const f of Array.isArray(t.functionDeclarations) ? t.functionDeclarations.filter(isRec) : []) tools.push(str(f.name));
    const [, model = '', method = ''] = /\/models\/([^/:]+):(\w+)/.exec(path.split('?')[0] ?? '') ?? [];
    return { api, path, headers, body, stream: method === 'streamGenerateContent', model, entries, tools };
  } else {
    for (const m of Array.isArray(body.messages) ? body.messages.filter(isRec) : []) {
      const role = m.role === 'system' || m.role === 'developer' ? 'system' : m.role === 'tool' ? 'tool' : m.role === 'assistant' ? 'assistant' : 'user';
      const text = textOf(m.content);
      if (text !== '' || role !== 'assistant') entries.push({ role, text });
      for (const call of Array.isArray(m.tool_calls) ? m.tool_calls.filter(isRec) : []) entries.push({ role: 'assistant', text: str(isRec(call.function) ? call.function.arguments : '') });
    }
    for (const t of toolList) tools.push(str(isRec(t.function) ? t.function.name : t.name));
  }
  return { api, path, headers, body, stream: body.stream === true, model: str(body.model), entries, tools };
}

/** The CLI's shell tool and its arguments for `command`, from the tools the request offers. */
function shellCall(request: ModelRequest, command: string): { name: string; input: Rec } {
  const offered = new Set(request.tools);
  if (offered.has('Bash')) return { name: 'Bash', input: { command, description: 'Run a command' } };
  // Codex returns a still-running command's output only after yield_time_ms (default 10 s): wait up to its maximum.
  if (offered.has('exec_command')) return { name: 'exec_command', input: { cmd: command, yield_time_ms: 30_000 } };
  if (offered.has('shell')) return { name: 'shell', input: { command: ['bash', '-lc', command] } };
  if (offered.has('bash')) return { name: 'bash', input: { command, description: 'Run a command' } };
  if (offered.has('run_shell_command')) return { name: 'run_shell_command', input: { command, description: 'Run a command', is_background: false } };
  throw new Error(`no shell tool among the offered tools: ${request.tools.join(', ') || '(none)'}`);
}

/** The offered tool named `name`, or whose name ends with `__<name>` or `_<name>` (MCP tools are namespaced by their server). */
function namedCall(request: ModelRequest, name: string, input: Rec): { name: string; input: Rec } {
  // Claude Code and Codex name an MCP tool `mcp__<server>__<tool>`, OpenCode `<server>_<tool>`, Gemini CLI `mcp_<server>_<tool>`.
  const found = request.tools.find((t) => t === name || t.endsWith(`__${name}`)) ?? request.tools.find((t) => t.endsWith(`_${name}`));
  if (!found) throw new Error(`no tool ${name} among the offered tools: ${request.tools.join(', ') || '(none)'}`);
  return { name: found, input };
}

// ---- responses ------------------------------------------------------------------------------

const id = (prefix: string): string => `${prefix}_${randomBytes(12).toString('hex')}`;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req'), ...headers }).end(JSON.stringify(body));
}

function openStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'request-id': id('req') });
  res.flushHeaders();
}

function sse(res: ServerResponse, event: string | undefined, data: unknown): void {
  res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

function answer(request: ModelRequest, action: ModelAction, usage: ModelUsage, res: ServerResponse, socket: Socket): void {
  if ('status' in action) {
    answerError(request.api, action, res);
    return;
  }
  if ('hang' in action || 'kill' in action) {
    // Headers only: the client waits for the first event until it gives up or is killed.
    openStream(res);
    socket.setTimeout(0);
    return;
  }
  let tool: { name: string; input: Rec } | undefined;
  try {
    if ('shell' in action) tool = shellCall(request, action.shell);
    else if ('tool' in action) tool = namedCall(request, action.tool, action.input);
  } catch (err) {
    answerError(request.api, { status: 500, message: (err as Error).message }, res);
    return;
  }
  const text = 'reply' in action ? action.reply : (action.text ?? '');
  if (request.api === 'anthropic') anthropicAnswer(request, text, tool, usage, res);
  else if (request.api === 'responses') responsesAnswer(request, text, tool, usage, res);
  else if (request.api === 'gemini') geminiAnswer(request, text, tool, usage, res);
  else chatAnswer(request, text, tool, usage, res);
}

function answerError(api: ModelApi, action: { status: number; message?: string; retryAfterS?: number }, res: ServerResponse): void {
  const message = action.message ?? `stand-in error ${action.status}`;
  const headers: Record<string, string> = action.retryAfterS !== undefined ? { 'retry-after': String(action.retryAfterS) } : {};
  if (api === 'anthropic') {
    const type = action.status === 429 ? 'rate_limit_error' : action.status === 529 ? 'overloaded_error' : action.status >= 500 ? 'api_error' : 'invalid_request_error';
    json(res, action.status, { type: 'error', error: { type, message } }, headers);
    return;
  }
  if (api === 'gemini') {
    // https://ai.google.dev/gemini-api/docs/troubleshooting: {error: {code, message, status}} with the canonical status name.
    const status =
      { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' }[action.status] ?? 'UNKNOWN';
    json(res, action.status, { error: { code: action.status, message, status } }, headers);
    return;
  }
  const type = action.status === 429 ? 'rate_limit_exceeded' : action.status >= 500 ? 'server_error' : 'invalid_request_error';
  json(res, action.status, { error: { message, type, param: null, code: action.status === 429 ? 'rate_limit_exceeded' : null } }, headers);
}

/** Messages API: https://docs.anthropic.com/en/api/messages-streaming */
function anthropicAnswer(request: ModelRequest, text: string, tool: { name: string; input: Rec } | undefined, usage: ModelUsage, res: ServerResponse): void {
  const messageId = id('msg');
  const startUsage = {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens ?? 0,
    cache_read_input_tokens: usage.cacheReadTokens ?? 0,
    output_tokens: 1,
  };
  const content: Rec[] = [];
  if (text !== '') content.push({ type: 'text', text });
  const toolUse = tool ? { type: 'tool_use', id: id('toolu'), name: tool.name, input: tool.input } : undefined;
  if (toolUse) content.push(toolUse);
  const stopReason = toolUse ? 'tool_use' : 'end_turn';
  if (!request.stream) {
    json(res, 200, {
      id: messageId,
      type: 'message',
      role: 'assistant',
      model: request.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { ...startUsage, output_tokens: usage.outputTokens },
    });
    return;
  }
  openStream(res);
  sse(res, 'message_start', {
    type: 'message_start',
    message: { id: messageId, type: 'message', role: 'assistant', model: request.model, content: [], stop_reason: null, stop_sequence: null, usage: startUsage },
  });
  sse(res, 'ping', { type: 'ping' });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      sse(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      sse(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
    } else {
      sse(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      sse(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    sse(res, 'content_block_stop', { type: 'content_block_stop', index });
  });
  // message_delta's usage is cumulative for the message (the API's own rule).
  sse(res, 'message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.outputTokens } });
  sse(res, 'message_stop', { type: 'message_stop' });
  res.end();
}

/** Responses API: https://platform.openai.com/docs/api-reference/responses-streaming */
/** A function of a namespace tool is called by its own name with the `namespace` beside it. */
function responsesToolName(request: ModelRequest, name: string): { name: string; namespace?: string } {
  for (const t of Array.isArray(request.body.tools) ? request.body.tools.filter(isRec) : []) {
    if (t.type !== 'namespace' || !Array.isArray(t.tools)) continue;
    const ns = str(t.name);
    const fn = t.tools.filter(isRec).find((f) => `${ns}__${str(f.name)}` === name);
    if (fn) return { name: str(fn.name), namespace: ns };
  }
  return { name };
}

function responsesAnswer(request: ModelRequest, text: string, tool: { name: string; input: Rec } | undefined, usage: ModelUsage, res: ServerResponse): void {
  const responseId = id('resp');
  const created = Math.floor(Date.now() / 1000);
  const items: Rec[] = [];
  if (text !== '') items.push({ id: id('msg'), type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] });
  if (tool) items.push({ id: id('fc'), type: 'function_call', status: 'completed', call_id: id('call'), ...responsesToolName(request, tool.name), arguments: JSON.stringify(tool.input) });
  const usageBody = {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cacheReadTokens ?? 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
  const response = (status: string, output: Rec[], withUsage: boolean): Rec => ({
    id: responseId,
    object: 'response',
    created_at: created,
    status,
    model: request.model,
    output,
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: withUsage ? usageBody : null,
  });
  if (!request.stream) {
    json(res, 200, response('completed', items, true));
    return;
  }
  openStream(res);
  let seq = 0;
  const send = (type: string, data: Rec): void => sse(res, type, { type, sequence_number: seq++, ...data });
  send('response.created', { response: response('in_progress', [], false) });
  send('response.in_progress', { response: response('in_progress', [], false) });
  items.forEach((item, outputIndex) => {
    if (item.type === 'message') {
      send('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', content: [] } });
      const part = { type: 'output_text', text: '', annotations: [] };
      send('response.content_part.added', { item_id: item.id, output_index: outputIndex, content_index: 0, part });
      send('response.output_text.delta', { item_id: item.id, output_index: outputIndex, content_index: 0, delta: text });
      send('response.output_text.done', { item_id: item.id, output_index: outputIndex, content_index: 0, text });
      send('response.content_part.done', { item_id: item.id, output_index: outputIndex, content_index: 0, part: { ...part, text } });
    } else {
      send('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', arguments: '' } });
      send('response.function_call_arguments.delta', { item_id: item.id, output_index: outputIndex, delta: item.arguments });
      send('response.function_call_arguments.done', { item_id: item.id, output_index: outputIndex, arguments: item.arguments });
    }
    send('response.output_item.done', { output_index: outputIndex, item });
  });
  send('response.completed', { response: response('completed', items, true) });
  res.end();
}

/**
 * Gemini API: https://ai.google.dev/api/generate-content (GenerateContentResponse). Streaming
 * (`:streamGenerateContent?alt=sse`) sends each GenerateContentResponse chunk as an SSE `data:`
 * line, no event names and no end sentinel; the last chunk carries `finishReason` and the
 * request's `usageMetadata` (`promptTokenCount` includes `cachedContentTokenCount`;
 * `thoughtsTokenCount` is beside `candidatesTokenCount`, both counted in `totalTokenCount`).
 */
function geminiAnswer(request: ModelRequest, text: string, tool: { name: string; input: Rec } | undefined, usage: ModelUsage, res: ServerResponse): void {
  const responseId = randomBytes(12).toString('base64url');
  const prompt = usage.inputTokens;
  const usageMetadata = {
    promptTokenCount: prompt,
    candidatesTokenCount: usage.outputTokens,
    ...(usage.cacheReadTokens ? { cachedContentTokenCount: usage.cacheReadTokens } : {}),
    ...(usage.thoughtTokens ? { thoughtsTokenCount: usage.thoughtTokens } : {}),
    totalTokenCount: prompt + usage.outputTokens + (usage.thoughtTokens ?? 0),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
  };
  const parts: Rec[] = [];
  if (text !== '') parts.push({ text });
  if (tool) parts.push({ functionCall: { name: tool.name, args: tool.input } });
  if (parts.length === 0) parts.push({ text: '' });
  const chunk = (chunkParts: Rec[], last: boolean): Rec => ({
    candidates: [{ content: { role: 'model', parts: chunkParts }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }],
    ...(last ? { usageMetadata } : {}),
    modelVersion: request.model,
    responseId,
  });
  if (!request.stream) {
    json(res, 200, chunk(parts, true));
    return;
  }
  openStream(res);
  // One chunk per part, the last with the finish reason and the usage.
  for (const [i, part] of parts.entries()) sse(res, undefined, chunk([part], i === parts.length - 1));
  res.end();
}

/** Chat Completions: https://platform.openai.com/docs/api-reference/chat-streaming */
function chatAnswer(request: ModelRequest, text: string, tool: { name: string; input: Rec } | undefined, usage: ModelUsage, res: ServerResponse): void {
  const completionId = id('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const toolCall = tool ? { id: id('call'), type: 'function', function: { name: tool.name, arguments: JSON.stringify(tool.input) } } : undefined;
  const finish = toolCall ? 'tool_calls' : 'stop';
  const usageBody = {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadTokens ?? 0 },
  };
  if (!request.stream) {
    json(res, 200, {
      id: completionId,
      object: 'chat.completion',
      created,
      model: request.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text === '' ? null : text, ...(toolCall ? { tool_calls: [toolCall] } : {}) }, finish_reason: finish, logprobs: null }],
      usage: usageBody,
    });
    return;
  }
  openStream(res);
  const chunk = (choices: Rec[], extra: Rec = {}): void => sse(res, undefined, { id: completionId, object: 'chat.completion.chunk', created, model: request.model, choices, ...extra });
  chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }]);
  if (text !== '') chunk([{ index: 0, delta: { content: text }, finish_reason: null, logprobs: null }]);
  if (toolCall) chunk([{ index: 0, delta: { tool_calls: [{ index: 0, ...toolCall }] }, finish_reason: null, logprobs: null }]);
  chunk([{ index: 0, delta: {}, finish_reason: finish, logprobs: null }]);
  const options = request.body.stream_options;
  if (isRec(options) && options.include_usage === true) chunk([], { usage: usageBody });
  sse(res, undefined, '[DONE]');
  res.end();
}

// ---- the client process ---------------------------------------------------------------------

/** The inodes of the sockets in /proc/net/tcp{,6} whose row matches (local and remote `address:port` in the kernel's hex). */
function socketInodes(match: (local: string, remote: string, state: string) => boolean): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f[1] && f[2] && f[3] && f[9] && f[9] !== '0' && match(f[1], f[2], f[3])) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** The first process (not this one) holding one of the socket inodes. */
function holderOf(inodes: Set<string>): number | undefined {
  if (inodes.size === 0) return undefined;
  const targets = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (targets.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {}
    }
  }
  return undefined;
}

/**
 * The pid of a process holding an established connection to loopback `port` as its client (a
 * CLI connected to TinyAGI's model proxy), or undefined. Linux only.
 */
export function connectedTo(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return holderOf(socketInodes((_local, remote, state) => state === '01' && remote.endsWith(`:${hexPort}`)));
}

/**
 * The pid of the process on the other end of a loopback connection: the socket inode of the
 * client's side (its local port is our remote port) in /proc/net/tcp, then the process holding
 * that inode among its fds. Linux only; undefined when not found.
 */
export function peerPid(socket: Socket): number | undefined {
  const port = socket.remotePort;
  if (port === undefined) return undefined;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const serverPort = (socket.localPort ?? 0).toString(16).toUpperCase().padStart(4, '0');
  let inode: string | undefined;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[2]?.endsWith(`:${serverPort}`)) inode = f[9];
    }
  }
  if (!inode || inode === '0') return undefined;
  const target = `socket:[${inode}]`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`) === target) return Number(entry);
      } catch {}
    }
  }
  return undefined;
}
