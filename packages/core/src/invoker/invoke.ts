/**
 * `invokeAgent` dispatches on `target.adapter` (a runtime's name) through the runtime registry
 * (runtimes.ts), which plugins extend with `registerRuntime`. Whatever an adapter throws leaves
 * here as an InvokeError, so the queue can always classify it.
 */
import { InvokeError } from './invoke-error.ts';
import { invokeLive } from './live/live-adapter.ts';
import { findRuntime, runtimeKinds } from './runtimes.ts';
import type { InvokeRequest, InvokeResult } from './types.ts';

export async function invokeAgent(req: InvokeRequest): Promise<InvokeResult> {
  const runtime = findRuntime(req.target.adapter);
  if (!runtime) {
    throw new InvokeError('permanent', `Agent ${req.agentId}: no runtime named "${req.target.adapter}".`, {
      code: 'PROVIDER_NOT_FOUND',
      hint: `Known runtimes: ${runtimeKinds.names().join(', ')}. A plugin must register any other (registerRuntime).`,
    });
  }
  if (req.signal?.aborted) throw new InvokeError('cancelled', `Agent ${req.agentId}: cancelled before it started.`);
  try {
    const live = req.target.live ? runtime.adapter.live : undefined;
    return await (live ? invokeLive(live, req) : runtime.adapter.invoke(req));
  } catch (err) {
    if (err instanceof InvokeError) throw err;
    if (req.signal?.aborted) throw new InvokeError('cancelled', `Agent ${req.agentId}: cancelled.`, { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    throw new InvokeError('retryable', `Agent ${req.agentId} (${req.target.adapter}): ${message}`, { cause: err });
  }
}
