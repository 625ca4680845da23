/**
 * The embeddings endpoint (docs/memory.md "Embeddings"): an OpenAI-compatible `POST
 * <base_url>/embeddings` with `{ model, input: string[], dimensions? }`, answered by `{ object:
 * 'list', data: [{ object: 'embedding', index, embedding: number[] }], model, usage }`. Off unless
 * `memory.embeddings` is set; the key comes from the environment variable `api_key_env` names.
 *
 * Contract: every request has a deadline (`timeout_ms`, default 5 s); a failure is an
 * EmbeddingsError that says what happened (unreachable, timed out, refused with the endpoint's
 * own message, or an answer that is not one vector per input), never a partial result.
 */
import type { EmbeddingsSettings } from '@tinyagi/client/contract';
import type { Settings } from '../config/schema.ts';

export const DEFAULT_EMBEDDINGS_TIMEOUT_MS = 5000;
export const DEFAULT_MIN_SIMILARITY = 0.3;
/** Inputs per request (OpenAI takes up to 2048; smaller batches keep one failure cheap). */
export const EMBEDDINGS_BATCH = 64;

/** `memory.embeddings` resolved against the environment. */
export interface EmbeddingsConfig {
  baseUrl: string;
  model: string;
  apiKey: string | undefined;
  /** The variable named by `api_key_env` when it is not set (requests go without a key). */
  missingKeyEnv: string | undefined;
  dimensions: number | undefined;
  minSimilarity: number;
  timeoutMs: number;
}

export function embeddingsConfig(settings: Pick<Settings, 'memory'>, env: Readonly<Record<string, string | undefined>>): EmbeddingsConfig | undefined {
  const s: EmbeddingsSettings | undefined = settings.memory?.embeddings;
  if (!s) return undefined;
  const apiKey = s.api_key_env === undefined ? undefined : env[s.api_key_env] || undefined;
  return {
    baseUrl: s.base_url.replace(/\/+$/, ''),
    model: s.model,
    apiKey,
    missingKeyEnv: s.api_key_env !== undefined && apiKey === undefined ? s.api_key_env : undefined,
    dimensions: s.dimensions,
    minSimilarity: s.min_similarity ?? DEFAULT_MIN_SIMILARITY,
    timeoutMs: s.timeout_ms ?? DEFAULT_EMBEDDINGS_TIMEOUT_MS,
  };
}

/** The same endpoint, model and key: a process keeps its client and cache while this stays the same. */
export function sameEmbeddings(a: EmbeddingsConfig | undefined, b: EmbeddingsConfig | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.baseUrl === b.baseUrl && a.model === b.model && a.apiKey === b.apiKey && a.dimensions === b.dimensions && a.minSimilarity === b.minSimilarity && a.timeoutMs === b.timeoutMs;
}

export type EmbeddingsFailure = 'unreachable' | 'timeout' | 'refused' | 'bad_answer';

export class EmbeddingsError extends Error {
  override readonly name = 'EmbeddingsError';
  readonly reason: EmbeddingsFailure;
  /** The HTTP status when the endpoint answered. */
  readonly status: number | undefined;

  constructor(reason: EmbeddingsFailure, message: string, status?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.status = status;
  }

  /** A refusal of the request itself (400, 413, 422): the same input will be refused again. */
  get inputRefused(): boolean {
    return this.reason === 'refused' && this.status !== undefined && [400, 413, 422].includes(this.status);
  }
}

/** The model's name for the vectors it returns: `model` with its dimensions, when asked for some. */
export function vectorModel(config: Pick<EmbeddingsConfig, 'model' | 'dimensions'>): string {
  return config.dimensions === undefined ? config.model : `${config.model}@${config.dimensions}`;
}

/** One vector per input, in the inputs' order. */
export async function embed(config: EmbeddingsConfig, input: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
  if (input.length === 0) return [];
  const url = `${config.baseUrl}/embeddings`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (config.apiKey !== undefined) headers['authorization'] = `Bearer ${config.apiKey}`;
  const body = JSON.stringify({ model: config.model, input, encoding_format: 'float', ...(config.dimensions === undefined ? {} : { dimensions: config.dimensions }) });
  const deadline = AbortSignal.timeout(config.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
  } catch (err) {
    if (deadline.aborted) throw new EmbeddingsError('timeout', `the embeddings endpoint ${url} did not answer within ${config.timeoutMs} ms`);
    throw new EmbeddingsError('unreachable', `the embeddings endpoint ${url} could not be reached: ${causeOf(err)}`, undefined, err);
  }
  let answer: unknown;
  try {
    answer = await response.json();
  } catch (err) {
    if (deadline.aborted) throw new EmbeddingsError('timeout', `the embeddings endpoint ${url} did not finish its answer within ${config.timeoutMs} ms`);
    throw new EmbeddingsError(response.ok ? 'bad_answer' : 'refused', `the embeddings endpoint ${url} answered ${response.status} without JSON`, response.status, err);
  }
  if (!response.ok) {
    const hint = response.status === 401 && config.missingKeyEnv ? ` (the environment variable ${config.missingKeyEnv} named by memory.embeddings.api_key_env is not set)` : '';
    throw new EmbeddingsError('refused', `the embeddings endpoint ${url} answered ${response.status}: ${errorText(answer)}${hint}`, response.status);
  }
  return vectorsOf(answer, input.length, url);
}

function vectorsOf(answer: unknown, expected: number, url: string): Float32Array[] {
  const data = (answer as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== expected) {
    throw new EmbeddingsError('bad_answer', `the embeddings endpoint ${url} answered ${Array.isArray(data) ? data.length : 'no'} vectors for ${expected} inputs`);
  }
  const out: Float32Array[] = new Array(expected);
  for (const item of data as Array<{ index?: unknown; embedding?: unknown }>) {
    const index = item?.index;
    const embedding = item?.embedding;
    if (
      typeof index !== 'number' ||
      !Number.isInteger(index) ||
      index < 0 ||
      index >= expected ||
      out[index] !== undefined ||
      !Array.isArray(embedding) ||
      embedding.length === 0 ||
      !embedding.every((x) => typeof x === 'number' && Number.isFinite(x))
    ) {
      throw new EmbeddingsError('bad_answer', `the embeddings endpoint ${url} answered an item that is not { index, embedding: number[] } (base64 vectors are not read: TinyAGI asks for float)`);
    }
    out[index] = Float32Array.from(embedding as number[]);
  }
  return out;
}

function errorText(answer: unknown): string {
  const error = (answer as { error?: unknown } | null)?.error;
  const message = typeof error === 'string' ? error : (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message.slice(0, 500) : JSON.stringify(answer).slice(0, 200);
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
