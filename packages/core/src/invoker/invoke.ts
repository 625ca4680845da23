/**
 * `invokeAgent` dispatches on `target.runtime` (a runtime's name) through the runtime registry
 * (runtimes/index.ts), which plugins extend with `registerRuntime`. Whatever a runtime throws leaves
 * here as an InvokeError, so the queue can always classify it.
 */
import { runtimeRunsProcess } from '../sandbox/status.ts';
import { agentBoundary } from './agent-boundary.ts';
import { fromSandboxRefusal, InvokeError } from './invoke-error.ts';
import { invokeOnSide } from './session-side.ts';
import { invokeWarm } from './warm/invoke-warm.ts';
import { withToolsToken } from './tools-tokens.ts';
import { findRuntime, runtimeKinds } from './runtimes/index.ts';
import type { InvokeRequest, InvokeResult } from './types.ts';

export async function invokeAgent(req: InvokeRequest): Promise<InvokeResult> {
  const runtime = findRuntime(req.target.runtime);
  if (!runtime) {
    throw new InvokeError('permanent', `Agent ${req.agentId}: no runtime named "${req.target.runtime}".`, {
      code: 'PROVIDER_NOT_FOUND',
      hint: `Known runtimes: ${runtimeKinds.names().join(', ')}. A plugin must register any other (registerRuntime).`,
    });
  }
  if (req.signal?.aborted) throw new InvokeError('cancelled', `Agent ${req.agentId}: cancelled before it started.`);
  try {
    const warm = req.target.warm ? runtime.impl.warm : undefined;
    // A per-message CLI gets a tools token for its run (a warm process gets its own in invokeWarm).
    const run = (r: InvokeRequest): Promise<InvokeResult> => (warm ? invokeWarm(warm, r) : withToolsToken(r.env, (env) => runtime.impl.invoke({ ...r, env })));
    // A CLI keeps its sessions on the side of the boundary it runs on: each side resumes its own.
    if (!runtimeRunsProcess(runtime.kind)) return await run(req);
    return await invokeOnSide(req, agentBoundary(req)?.boundary ? 'confined' : 'unconfined', run);
  } catch (caught) {
    const err = fromSandboxRefusal(caught);
    if (err instanceof InvokeError) throw err;
    if (req.signal?.aborted) throw new InvokeError('cancelled', `Agent ${req.agentId}: cancelled.`, { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    throw new InvokeError('retryable', `Agent ${req.agentId} (${req.target.runtime}): ${message}`, { cause: err });
  }
}
