/**
 * What a model call costs, from the vendors' list prices (USD per million tokens), for the calls
 * the model proxy meters (docs/sandbox.md#the-model-proxy, docs/quotas.md). The one price table
 * of TinyAGI: the CLIs price their own calls (Claude Code, OpenCode) or none (Codex), and the
 * HTTP runtimes' calls are priced here when they go through the proxy.
 *
 * A model is matched by the longest prefix of its id (`claude-sonnet-4-5-20250929` is a
 * `claude-sonnet-4`); a model not in the table (a custom provider's own, a new one) is not priced.
 * Anthropic's cache writes are the 5-minute ones (1.25 × input); OpenAI's cached input is a read,
 * it writes nothing.
 */
import type { ModelCallUsage } from './model-usage.ts';

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

const price = (input: number, output: number, cacheRead: number, cacheWrite = 0): ModelPrice => ({ input, output, cacheRead, cacheWrite });

/** List prices by model id prefix (Anthropic and OpenAI, as published in November 2026). */
const PRICES: ReadonlyArray<readonly [prefix: string, price: ModelPrice]> = [
  ['claude-opus-4-5', price(5, 25, 0.5, 6.25)],
  ['claude-opus-4', price(15, 75, 1.5, 18.75)],
  ['claude-3-opus', price(15, 75, 1.5, 18.75)],
  ['claude-sonnet-4', price(3, 15, 0.3, 3.75)],
  ['claude-3-7-sonnet', price(3, 15, 0.3, 3.75)],
  ['claude-3-5-sonnet', price(3, 15, 0.3, 3.75)],
  ['claude-haiku-4', price(1, 5, 0.1, 1.25)],
  ['claude-3-5-haiku', price(0.8, 4, 0.08, 1)],
  ['claude-3-haiku', price(0.25, 1.25, 0.03, 0.3)],
  ['gpt-5-pro', price(15, 120, 15)],
  ['gpt-5-mini', price(0.25, 2, 0.025)],
  ['gpt-5-nano', price(0.05, 0.4, 0.005)],
  ['gpt-5', price(1.25, 10, 0.125)],
  ['gpt-4.1-mini', price(0.4, 1.6, 0.1)],
  ['gpt-4.1-nano', price(0.1, 0.4, 0.025)],
  ['gpt-4.1', price(2, 8, 0.5)],
  ['gpt-4o-mini', price(0.15, 0.6, 0.075)],
  ['gpt-4o', price(2.5, 10, 1.25)],
  ['o4-mini', price(1.1, 4.4, 0.275)],
  ['o3-mini', price(1.1, 4.4, 0.55)],
  ['o3', price(2, 8, 0.5)],
];

/** The model's price (the longest matching prefix of its id, a vendor's `provider/` prefix ignored), or undefined. */
export function modelPrice(model: string | undefined): ModelPrice | undefined {
  if (model === undefined) return undefined;
  const id = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  let best: readonly [string, ModelPrice] | undefined;
  for (const entry of PRICES) if (id.startsWith(entry[0]) && (best === undefined || entry[0].length > best[0].length)) best = entry;
  return best?.[1];
}

/** A call's cost in USD; undefined when the model is not priced. Uncached input is every prompt token but the cache reads and writes. */
export function callCostUsd(model: string | undefined, usage: ModelCallUsage): number | undefined {
  const p = modelPrice(model);
  if (!p) return undefined;
  const uncached = Math.max(0, usage.inputTokens - usage.cacheReadTokens - usage.cacheWriteTokens);
  return (uncached * p.input + usage.outputTokens * p.output + usage.cacheReadTokens * p.cacheRead + usage.cacheWriteTokens * p.cacheWrite) / 1_000_000;
}
