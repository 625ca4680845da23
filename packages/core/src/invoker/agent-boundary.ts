/**
 * Where the invoker asks the sandbox for an agent's boundary (sandbox/boundary.ts): the decision
 * of `boundaryFor` for the request's agent, with the sandbox's refusal (`required` on a machine
 * without the boundary) turned into the invoker's permanent InvokeError, so the message fails
 * once. The boundary's `wrap` can refuse too: its callers turn that with `fromSandboxRefusal`.
 */
import { boundaryFor, type BoundaryDecision } from '@tinyagi/sandbox';
import { fromSandboxRefusal } from './invoke-error.ts';
import type { InvokeRequest } from './types.ts';

export function agentBoundary(req: Pick<InvokeRequest, 'agentId' | 'target' | 'cwd'>): BoundaryDecision | undefined {
  try {
    return boundaryFor(req.agentId, req.target.sandbox, req.cwd);
  } catch (err) {
    throw fromSandboxRefusal(err);
  }
}
