/**
 * Where the invoker asks the sandbox for an agent's boundary (sandbox/boundary.ts): the decision
 * of the request's sandbox host (`req.sandboxHost`, the node's; without one a host for this start
 * alone: core's sandbox/host.ts) for the request's agent, with the sandbox's refusal (`required` on
 * a machine without the boundary) turned into the invoker's permanent InvokeError, so the message
 * fails once. The boundary's `wrap` can refuse too: its callers turn that with `fromSandboxRefusal`.
 */
import type { Boundary, BoundaryDecision } from '@tinyagi/sandbox';
import { sandboxHost } from '../sandbox/host.ts';
import { fromSandboxRefusal } from './invoke-error.ts';
import { emitProgress, type InvokeRequest } from './types.ts';

export function agentBoundary(req: Pick<InvokeRequest, 'agentId' | 'target' | 'cwd' | 'sandboxHost'>): BoundaryDecision | undefined {
  if (req.target.sandbox === undefined) return undefined;
  try {
    return (req.sandboxHost ?? sandboxHost({ oneStart: true })).boundaryFor(req.agentId, req.target.sandbox, req.cwd);
  } catch (err) {
    throw fromSandboxRefusal(err);
  }
}

/** The boundary a run's process starts in, if any; an agent set to `on` on a machine that cannot enforce it runs unconfined, and its run says why. */
export function runBoundary(req: InvokeRequest): Boundary | undefined {
  const decision = agentBoundary(req);
  if (decision?.degraded) emitProgress(req, { type: 'status', message: `sandbox degraded: runs unconfined (${decision.degraded.reason}; ${decision.degraded.fix})` });
  return decision?.boundary;
}
