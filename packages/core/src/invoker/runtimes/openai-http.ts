/**
 * OpenAI-compatible chat completions over HTTP (OpenAI, llama.cpp, Ollama, vLLM, …), streamed
 * (`stream: true`, usage from the last chunk via `stream_options.include_usage`). When the
 * caller passes `tools.spawnAgent`, the model is offered a `spawn_agent` function; tool calls
 * are executed and answered, and the conversation continues for at most `maxToolRounds` model
 * calls (the last one without tools, so it has to answer). Stateless: the session's history is
 * sent as prior messages every time.
 */
import { httpModel, joinUrl, postForEvents, streamError, withHttpGuard, type HttpGuard } from '../http-stream.ts';
import { asNumber, asRecord, asRecords, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { runToolLoop, SPAWN_AGENT_DESCRIPTION, SPAWN_AGENT_PARAMETERS, SPAWN_AGENT_TOOL_NAME } from '../spawn-tool.ts';
import { DEFAULT_MAX_TOOL_ROUNDS, emitProgress, type InvokeRequest, type InvokeResult, type InvokeUsage } from '../types.ts';
import { pickEnv, type RuntimeImpl } from '../runtime.ts';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

interface RoundResult {
  text: string;
  toolCalls: ToolCall[];
  usage: InvokeUsage | undefined;
}

export async function invokeOpenAiHttp(req: InvokeRequest): Promise<InvokeResult> {
  const { what, model } = httpModel(req);
  const url = joinUrl(req.target.baseUrl ?? DEFAULT_BASE_URL, 'chat/completions');
  const headers: Record<string, string> = { ...req.target.headers };
  if (req.target.apiKey) headers.authorization = `Bearer ${req.target.apiKey}`;
  // W3C trace context of the run (set by the orchestrator's invoker wrapper when trace export is on: docs/telemetry.md).
  if (req.env?.['TRACEPARENT']) headers['traceparent'] = req.env['TRACEPARENT'];

  const messages: JsonRecord[] = [];
  if (req.systemPrompt.trim() !== '') messages.push({ role: 'system', content: req.systemPrompt });
  for (const m of req.session?.history ?? []) messages.push({ role: m.role, content: m.content });
  messages.push({ role: 'user', content: req.prompt });

  const tools = req.tools?.spawnAgent ? [{ type: 'function', function: { name: SPAWN_AGENT_TOOL_NAME, description: SPAWN_AGENT_DESCRIPTION, parameters: SPAWN_AGENT_PARAMETERS } }] : undefined;
  const maxRounds = Math.max(1, req.target.maxToolRounds ?? DEFAULT_MAX_TOOL_ROUNDS);

  return withHttpGuard(req, what, (guard) =>
    runToolLoop(req, guard, {
      maxRounds,
      hasTools: tools !== undefined,
      call: async (offerTools) => {
        const body = { model, messages, stream: true, stream_options: { include_usage: true }, ...(offerTools ? { tools } : {}) };
        const result = await streamRound(req, guard, what, url, headers, body);
        return { ...result, calls: result.toolCalls.map((c) => ({ name: c.name, input: c.arguments })) };
      },
      addResults: (round, outcomes) => {
        messages.push({
          role: 'assistant',
          content: round.text === '' ? null : round.text,
          tool_calls: round.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
        });
        for (const [i, call] of round.toolCalls.entries()) messages.push({ role: 'tool', tool_call_id: call.id, content: outcomes[i]!.content });
      },
      addSteering: (text) => messages.push({ role: 'user', content: text }),
    }),
  );
}

async function streamRound(req: InvokeRequest, guard: HttpGuard, what: string, url: string, headers: Record<string, string>, body: unknown): Promise<RoundResult> {
  let text = '';
  let usage: InvokeUsage | undefined;
  const calls = new Map<number, ToolCall>();
  for await (const event of postForEvents(url, headers, body, guard, what)) {
    if (event.data.trim() === '[DONE]') break;
    const chunk = parseJsonRecord(event.data);
    if (!chunk) continue;
    const error = asRecord(chunk.error);
    if (error) throw streamError(what, asString(error.message) ?? JSON.stringify(error));
    const chunkUsage = asRecord(chunk.usage);
    if (chunkUsage) {
      usage = { inputTokens: asNumber(chunkUsage.prompt_tokens) ?? 0, outputTokens: asNumber(chunkUsage.completion_tokens) ?? 0 };
    }
    const delta = asRecord(asRecords(chunk.choices)[0]?.delta);
    if (!delta) continue;
    const content = asString(delta.content);
    if (content) {
      text += content;
      emitProgress(req, { type: 'text', text: content });
    }
    for (const part of asRecords(delta.tool_calls)) {
      const index = asNumber(part.index) ?? calls.size;
      const fn = asRecord(part.function);
      const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
      call.id = asString(part.id) ?? call.id;
      call.name += asString(fn?.name) ?? '';
      call.arguments += asString(fn?.arguments) ?? '';
      calls.set(index, call);
    }
  }
  const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([index, call]) => ({ ...call, id: call.id || `call_${index}` }));
  return { text, toolCalls, usage };
}

export const openaiApiRuntime: RuntimeImpl = {
  invoke: invokeOpenAiHttp,
  target: ({ model, credentials, env }) => {
    const apiKey = credentials.openai?.api_key ?? pickEnv(env, ['OPENAI_API_KEY']).OPENAI_API_KEY;
    return { model, ...(apiKey ? { apiKey } : {}) };
  },
  customTarget: ({ model, baseUrl, apiKey }) => ({ model, ...(baseUrl ? { baseUrl } : {}), ...(apiKey ? { apiKey } : {}) }),
  // Runs inside the daemon: through the proxy its calls are metered and budgeted like a CLI's.
  modelProxy: {
    upstream: (target) => (target.apiKey ? { family: 'openai', baseUrl: target.baseUrl ?? DEFAULT_BASE_URL, key: target.apiKey, auth: 'bearer' } : undefined),
    via: (target, endpoint) => ({ ...target, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey }),
  },
};
