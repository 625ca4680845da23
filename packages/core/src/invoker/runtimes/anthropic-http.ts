/**
 * Anthropic-compatible messages API over HTTP, streamed (`message_start` / `content_block_*` /
 * `message_delta` events). Offers the `spawn_agent` tool like the OpenAI runtime and loops on
 * `tool_use` for at most `maxToolRounds` model calls. `baseUrl` is the API root as in
 * ANTHROPIC_BASE_URL (`https://api.anthropic.com`); a root ending in `/v1` is accepted too.
 */
import { httpModel, joinUrl, postForEvents, streamError, withHttpGuard, type HttpGuard } from '../http-stream.ts';
import { asNumber, asRecord, asString, parseJsonRecord, type JsonRecord } from '../json-read.ts';
import { runToolLoop, SPAWN_AGENT_DESCRIPTION, SPAWN_AGENT_PARAMETERS, SPAWN_AGENT_TOOL_NAME } from '../spawn-tool.ts';
import { DEFAULT_MAX_TOOL_ROUNDS, emitProgress, type InvokeRequest, type InvokeResult, type InvokeUsage, type SessionMessage } from '../types.ts';
import { pickEnv, type RuntimeImpl } from '../runtime.ts';

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
const API_VERSION = '2023-06-01';
const DEFAULT_MAX_OUTPUT_TOKENS = 8192;

type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; json: string };

interface RoundResult {
  blocks: ContentBlock[];
  usage: InvokeUsage | undefined;
}

export async function invokeAnthropicHttp(req: InvokeRequest): Promise<InvokeResult> {
  const { what, model } = httpModel(req);
  const base = req.target.baseUrl ?? DEFAULT_BASE_URL;
  const url = joinUrl(base, /\/v1\/?$/.test(base) ? 'messages' : 'v1/messages');
  const headers: Record<string, string> = { 'anthropic-version': API_VERSION, ...req.target.headers };
  if (req.target.apiKey) headers['x-api-key'] = req.target.apiKey;
  // W3C trace context of the run (set by the orchestrator's invoker wrapper when trace export is on: docs/telemetry.md).
  if (req.env?.['TRACEPARENT']) headers['traceparent'] = req.env['TRACEPARENT'];

  const messages: JsonRecord[] = alternatingHistory(req.session?.history ?? []);
  appendMessage(messages, 'user', req.prompt);
  const tools = req.tools?.spawnAgent ? [{ name: SPAWN_AGENT_TOOL_NAME, description: SPAWN_AGENT_DESCRIPTION, input_schema: SPAWN_AGENT_PARAMETERS }] : undefined;
  const maxRounds = Math.max(1, req.target.maxToolRounds ?? DEFAULT_MAX_TOOL_ROUNDS);

  return withHttpGuard(req, what, (guard) =>
    runToolLoop(req, guard, {
      maxRounds,
      hasTools: tools !== undefined,
      call: async (offerTools) => {
        const body = {
          model,
          max_tokens: req.target.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
          messages,
          stream: true,
          ...(req.systemPrompt.trim() !== '' ? { system: req.systemPrompt } : {}),
          ...(offerTools ? { tools } : {}),
        };
        const result = await streamRound(req, guard, what, url, headers, body);
        const toolUses = result.blocks.filter((b) => b.type === 'tool_use');
        return {
          ...result,
          toolUses,
          text: result.blocks.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join(''),
          calls: toolUses.map((use) => ({ name: use.name, input: use.json })),
        };
      },
      addResults: (round, outcomes) => {
        messages.push({ role: 'assistant', content: round.blocks.map(toApiBlock) });
        messages.push({ role: 'user', content: round.toolUses.map((use, i) => ({ type: 'tool_result', tool_use_id: use.id, content: outcomes[i]!.content, is_error: !outcomes[i]!.ok })) });
      },
      // The last message is the user turn with the tool results; the operator's words join it.
      addSteering: (text) => (messages.at(-1)!.content as JsonRecord[]).push({ type: 'text', text }),
    }),
  );
}

async function streamRound(req: InvokeRequest, guard: HttpGuard, what: string, url: string, headers: Record<string, string>, body: unknown): Promise<RoundResult> {
  const blocks = new Map<number, ContentBlock>();
  let inputTokens: number | undefined;
  let outputTokens: number | undefined;
  for await (const event of postForEvents(url, headers, body, guard, what)) {
    const data = parseJsonRecord(event.data);
    if (!data) continue;
    switch (data.type) {
      case 'message_start': {
        const usage = asRecord(asRecord(data.message)?.usage);
        if (usage) {
          inputTokens = (asNumber(usage.input_tokens) ?? 0) + (asNumber(usage.cache_creation_input_tokens) ?? 0) + (asNumber(usage.cache_read_input_tokens) ?? 0);
          outputTokens = asNumber(usage.output_tokens);
        }
        break;
      }
      case 'content_block_start': {
        const index = asNumber(data.index) ?? blocks.size;
        const block = asRecord(data.content_block);
        if (block?.type === 'tool_use') {
          blocks.set(index, { type: 'tool_use', id: asString(block.id) ?? `toolu_${index}`, name: asString(block.name) ?? '', json: '' });
        } else if (block?.type === 'text') {
          blocks.set(index, { type: 'text', text: asString(block.text) ?? '' });
        }
        break;
      }
      case 'content_block_delta': {
        const block = blocks.get(asNumber(data.index) ?? -1);
        const delta = asRecord(data.delta);
        if (block?.type === 'text' && delta?.type === 'text_delta') {
          const text = asString(delta.text) ?? '';
          block.text += text;
          if (text !== '') emitProgress(req, { type: 'text', text });
        } else if (block?.type === 'tool_use' && delta?.type === 'input_json_delta') {
          block.json += asString(delta.partial_json) ?? '';
        }
        break;
      }
      case 'message_delta': {
        const usage = asRecord(data.usage);
        outputTokens = asNumber(usage?.output_tokens) ?? outputTokens;
        break;
      }
      case 'error': {
        const error = asRecord(data.error);
        throw streamError(what, [asString(error?.type), asString(error?.message)].filter(Boolean).join(': ') || event.data);
      }
    }
  }
  const usage = inputTokens === undefined && outputTokens === undefined ? undefined : { inputTokens: inputTokens ?? 0, outputTokens: outputTokens ?? 0 };
  return { blocks: [...blocks.entries()].sort(([a], [b]) => a - b).map(([, block]) => block), usage };
}

function toApiBlock(block: ContentBlock): JsonRecord {
  if (block.type === 'text') return { type: 'text', text: block.text };
  return { type: 'tool_use', id: block.id, name: block.name, input: parseJsonRecord(block.json) ?? {} };
}

/** The API wants user/assistant turns alternating and starting with the user. */
function alternatingHistory(history: SessionMessage[]): JsonRecord[] {
  const messages: JsonRecord[] = [];
  for (const m of history) {
    if (messages.length === 0 && m.role === 'assistant') continue;
    appendMessage(messages, m.role, m.content);
  }
  return messages;
}

function appendMessage(messages: JsonRecord[], role: 'user' | 'assistant', content: string): void {
  const last = messages.at(-1);
  if (last?.role === role && typeof last.content === 'string') last.content = `${last.content}\n\n${content}`;
  else messages.push({ role, content });
}

export const anthropicApiRuntime: RuntimeImpl = {
  invoke: invokeAnthropicHttp,
  target: ({ model, credentials, env }) => {
    const apiKey = credentials.anthropic?.api_key ?? pickEnv(env, ['ANTHROPIC_API_KEY']).ANTHROPIC_API_KEY;
    return { model, ...(apiKey ? { apiKey } : {}) };
  },
  customTarget: ({ model, baseUrl, apiKey }) => ({ model, ...(baseUrl ? { baseUrl } : {}), ...(apiKey ? { apiKey } : {}) }),
  // Runs inside the daemon: through the proxy its calls are metered and budgeted like a CLI's.
  modelProxy: {
    upstream: (target) => (target.apiKey ? { family: 'anthropic', baseUrl: target.baseUrl ?? DEFAULT_BASE_URL, key: target.apiKey, auth: 'x-api-key' } : undefined),
    via: (target, endpoint) => ({ ...target, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey }),
  },
};
