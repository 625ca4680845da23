/**
 * `invokeAgent` dispatches on `target.adapter` through a registry that plugins can extend.
 * Whatever an adapter throws leaves here as an InvokeError, so the queue can always classify it.
 */
import { invokeAnthropicHttp } from './adapters/anthropic-http.ts';
import { invokeClaude } from './adapters/claude.ts';
import { invokeCodex } from './adapters/codex.ts';
import { invokeMock } from './adapters/mock.ts';
import { invokeOpencode } from './adapters/opencode.ts';
import { invokeOpenAiHttp } from './adapters/openai-http.ts';
import { InvokeError } from './invoke-error.ts';
import type { BuiltinAdapterName, InvokeAdapter, InvokeRequest, InvokeResult } from './types.ts';

const BUILTIN_ADAPTERS: Record<BuiltinAdapterName, InvokeAdapter> = {
  claude: invokeClaude,
  codex: invokeCodex,
  opencode: invokeOpencode,
  openai: invokeOpenAiHttp,
  anthropic: invokeAnthropicHttp,
  mock: invokeMock,
};

const adapters = new Map<string, InvokeAdapter>(Object.entries(BUILTIN_ADAPTERS));

/** Adds (or replaces) an adapter; returns a function that restores the previous one. */
export function registerAdapter(name: string, adapter: InvokeAdapter): () => void {
  const previous = adapters.get(name);
  adapters.set(name, adapter);
  return () => {
    if (adapters.get(name) !== adapter) return;
    if (previous) adapters.set(name, previous);
    else adapters.delete(name);
  };
}

export function listAdapters(): string[] {
  return [...adapters.keys()].sort();
}

export async function invokeAgent(req: InvokeRequest): Promise<InvokeResult> {
  const adapter = adapters.get(req.target.adapter);
  if (!adapter) {
    throw new InvokeError('permanent', `Agent ${req.agentId}: no adapter named "${req.target.adapter}".`, {
      code: 'PROVIDER_NOT_FOUND',
      hint: `Known adapters: ${listAdapters().join(', ')}. A plugin must register any other.`,
    });
  }
  if (req.signal?.aborted) throw new InvokeError('cancelled', `Agent ${req.agentId}: cancelled before it started.`);
  try {
    return await adapter(req);
  } catch (err) {
    if (err instanceof InvokeError) throw err;
    if (req.signal?.aborted) throw new InvokeError('cancelled', `Agent ${req.agentId}: cancelled.`, { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    throw new InvokeError('retryable', `Agent ${req.agentId} (${req.target.adapter}): ${message}`, { cause: err });
  }
}
