/**
 * Where an agent's model calls really go, as the model proxy (model-proxy.ts) and the runtimes
 * that stand in for a provider through it (RuntimeImpl.modelProxy) both name it. Loads nothing.
 */

/** The two API families the model proxy speaks. */
export type ModelApiFamily = 'anthropic' | 'openai';

/** Where an agent's model calls go (from its invocation's target, which holds the real key). */
export interface ModelUpstream {
  family: ModelApiFamily;
  /** The API root as the CLI would use it: `https://api.anthropic.com` (Anthropic), `https://api.openai.com/v1` (OpenAI). */
  baseUrl: string;
  /** The real key; empty: the provider takes none (a model server on the host's loopback), no key header is sent. */
  key: string;
  /** The header the key goes in: `x-api-key` (Anthropic API keys) or `bearer` (`Authorization: Bearer`: OpenAI, Anthropic auth tokens). */
  auth: 'x-api-key' | 'bearer';
  /** Headers the provider needs beside the key (an Anthropic OAuth token's `anthropic-beta` flag): a list header gets the value added to the request's own. */
  headers?: Readonly<Record<string, string>> | undefined;
}

/** The vendors' API roots, when a target names none. */
export const DEFAULT_BASE_URLS: Readonly<Record<ModelApiFamily, string>> = { anthropic: 'https://api.anthropic.com', openai: 'https://api.openai.com/v1' };

/** Inside the boundary the model proxy is this address (sandbox-init bridges it to the agent's model.sock). */
export const SANDBOX_MODEL_ADDRESS = '127.0.0.1:45801';
