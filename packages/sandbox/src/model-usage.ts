/**
 * What one model call used, read from the provider's own response as it passes through the model
 * proxy (model-proxy.ts), streamed or not:
 *
 * - Anthropic Messages (https://docs.anthropic.com/en/api/messages-streaming): `message_start`'s
 *   `message.usage` (input, cache writes `cache_creation_input_tokens`, cache reads
 *   `cache_read_input_tokens`, the output so far), then `message_delta`'s `usage`, cumulative
 *   for the message: each field it has replaces the one before. Not streamed: the body's `usage`.
 * - OpenAI Responses (https://platform.openai.com/docs/api-reference/responses-streaming): the
 *   terminal event's `response.usage` (`response.completed`, `.incomplete` or `.failed`); its
 *   `input_tokens` include the cached ones (`input_tokens_details.cached_tokens`).
 * - OpenAI Chat Completions (https://platform.openai.com/docs/api-reference/chat-streaming): the
 *   chunk with a non-null `usage` (`prompt_tokens` with `prompt_tokens_details.cached_tokens`,
 *   `completion_tokens`), sent when the request asks with `stream_options.include_usage`.
 *
 * Counted as TinyAGI counts a run's usage everywhere (docs/sandbox.md#the-model-proxy): `inputTokens` is every prompt
 * token the model processed, cached or not (Anthropic's three fields added up), with the cache
 * reads and writes also given on their own.
 */
import { StringDecoder } from 'node:string_decoder';

export type ModelCallApi = 'messages' | 'responses' | 'chat';

export interface ModelCallUsage {
  /** Every prompt token, cache reads and writes included. */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/** Usage of an Anthropic `usage` object (a whole message's). */
export function anthropicUsage(u: Rec): ModelCallUsage {
  const input = num(u.input_tokens) ?? 0;
  const write = num(u.cache_creation_input_tokens) ?? 0;
  const read = num(u.cache_read_input_tokens) ?? 0;
  return { inputTokens: input + write + read, outputTokens: num(u.output_tokens) ?? 0, cacheReadTokens: read, cacheWriteTokens: write };
}

/** Usage of an OpenAI Responses `usage` object. */
export function responsesUsage(u: Rec): ModelCallUsage {
  const details = isRec(u.input_tokens_details) ? u.input_tokens_details : {};
  return { inputTokens: num(u.input_tokens) ?? 0, outputTokens: num(u.output_tokens) ?? 0, cacheReadTokens: num(details.cached_tokens) ?? 0, cacheWriteTokens: 0 };
}

/** Usage of a Chat Completions `usage` object. */
export function chatUsage(u: Rec): ModelCallUsage {
  const details = isRec(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  return { inputTokens: num(u.prompt_tokens) ?? 0, outputTokens: num(u.completion_tokens) ?? 0, cacheReadTokens: num(details.cached_tokens) ?? 0, cacheWriteTokens: 0 };
}

/** Reads a call's usage from the response as its bytes pass (`push`), then `usage` at the end. */
export interface UsageMeter {
  push(chunk: Buffer): void;
  /** What the response reported; undefined when it reported nothing (an error, a cut stream). */
  readonly usage: ModelCallUsage | undefined;
  /** The model the response names, when it does. */
  readonly model: string | undefined;
}

/** Up to this much of a JSON (not streamed) response is kept to read its usage; a larger one is not metered. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** A meter of one response: SSE when `streamed`, else one JSON body. */
export function usageMeter(api: ModelCallApi, streamed: boolean): UsageMeter {
  return streamed ? new SseMeter(api) : new JsonMeter(api);
}

class JsonMeter implements UsageMeter {
  readonly #api: ModelCallApi;
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #done: { usage: ModelCallUsage | undefined; model: string | undefined } | undefined;

  constructor(api: ModelCallApi) {
    this.#api = api;
  }

  push(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes <= MAX_JSON_BYTES) this.#chunks.push(chunk);
  }

  #read(): { usage: ModelCallUsage | undefined; model: string | undefined } {
    if (this.#done) return this.#done;
    let body: unknown;
    try {
      body = this.#bytes <= MAX_JSON_BYTES ? JSON.parse(Buffer.concat(this.#chunks).toString('utf8')) : undefined;
    } catch {
      body = undefined;
    }
    const usage = isRec(body) && isRec(body.usage) ? body.usage : undefined;
    this.#done = {
      usage: usage === undefined ? undefined : this.#api === 'messages' ? anthropicUsage(usage) : this.#api === 'responses' ? responsesUsage(usage) : chatUsage(usage),
      model: isRec(body) && typeof body.model === 'string' ? body.model : undefined,
    };
    return this.#done;
  }

  get usage(): ModelCallUsage | undefined {
    return this.#read().usage;
  }

  get model(): string | undefined {
    return this.#read().model;
  }
}

/**
 * Server-sent events, read line by line as they pass; only a `data:` line that mentions usage
 * (or, for the model's name, starts a message or a response) is parsed, so text deltas cost a
 * substring search, not a JSON parse.
 */
class SseMeter implements UsageMeter {
  readonly #api: ModelCallApi;
  readonly #decoder = new StringDecoder('utf8');
  /** The line read so far (pieces, joined once its end arrives: a long line costs its length once, not per read). */
  #pieces: string[] = [];
  #pieceLength = 0;
  #usage: ModelCallUsage | undefined;
  #model: string | undefined;

  constructor(api: ModelCallApi) {
    this.#api = api;
  }

  get usage(): ModelCallUsage | undefined {
    return this.#usage;
  }

  get model(): string | undefined {
    return this.#model;
  }

  push(chunk: Buffer): void {
    const text = this.#decoder.write(chunk);
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end === -1) break;
      const tail = text.slice(start, end);
      this.#line(this.#pieces.length === 0 ? tail : this.#pieces.join('') + tail);
      this.#pieces = [];
      this.#pieceLength = 0;
      start = end + 1;
    }
    if (start < text.length) {
      this.#pieces.push(text.slice(start));
      this.#pieceLength += text.length - start;
    }
    // A line longer than any event we read (a huge delta) is not kept whole.
    if (this.#pieceLength > 4 * 1024 * 1024) {
      this.#pieces = [];
      this.#pieceLength = 0;
    }
  }

  #line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.startsWith('data:')) return;
    if (!line.includes('"usage"') && !(this.#model === undefined && line.includes('"model"'))) return;
    let data: unknown;
    try {
      data = JSON.parse(line.slice(5));
    } catch {
      return;
    }
    if (!isRec(data)) return;
    if (this.#api === 'messages') this.#anthropic(data);
    else if (this.#api === 'responses') this.#responses(data);
    else this.#chat(data);
  }

  #anthropic(data: Rec): void {
    if (data.type === 'message_start' && isRec(data.message)) {
      const message = data.message;
      if (typeof message.model === 'string') this.#model = message.model;
      if (isRec(message.usage)) this.#usage = anthropicUsage(message.usage);
      return;
    }
    if (data.type === 'message_delta' && isRec(data.usage)) {
      // Cumulative for the message: a field it has replaces the one message_start gave.
      const u = data.usage;
      const before = this.#usage ?? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
      const read = num(u.cache_read_input_tokens) ?? before.cacheReadTokens;
      const write = num(u.cache_creation_input_tokens) ?? before.cacheWriteTokens;
      const uncached = num(u.input_tokens) ?? before.inputTokens - before.cacheReadTokens - before.cacheWriteTokens;
      this.#usage = { inputTokens: uncached + read + write, outputTokens: num(u.output_tokens) ?? before.outputTokens, cacheReadTokens: read, cacheWriteTokens: write };
    }
  }

  #responses(data: Rec): void {
    const response = isRec(data.response) ? data.response : undefined;
    if (!response) return;
    if (typeof response.model === 'string') this.#model = response.model;
    const terminal = data.type === 'response.completed' || data.type === 'response.incomplete' || data.type === 'response.failed';
    if (terminal && isRec(response.usage)) this.#usage = responsesUsage(response.usage);
  }

  #chat(data: Rec): void {
    if (typeof data.model === 'string') this.#model = data.model;
    if (isRec(data.usage)) this.#usage = chatUsage(data.usage);
  }
}
