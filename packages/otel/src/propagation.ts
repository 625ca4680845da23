/**
 * W3C trace context for the agent CLIs a run launches: `TRACEPARENT` in the CLI's environment,
 * naming the run's `invoke_agent` span in the conversation's trace (both ids derived, ids.ts), so
 * a CLI that reads it (or a tool it runs that does) puts its own spans inside our run's span.
 * The orchestrator already gives every invocation TINYAGI_RUN_ID and TINYAGI_CONVERSATION_ID;
 * nothing else is needed.
 */
import { runSpanIdOf, traceIdOf } from './ids.ts';

/** `00-<trace id>-<span id>-<flags>` for a run (flags 01: sampled). */
export function traceparentOf(conversationId: string, runId: string, sampled = true): string {
  return `00-${traceIdOf(conversationId)}-${runSpanIdOf(runId)}-${sampled ? '01' : '00'}`;
}

interface RequestWithEnv {
  env?: Record<string, string> | undefined;
}

/**
 * Wraps an invoker so that every invocation of a run gets TRACEPARENT (and no TRACESTATE of the
 * daemon's). `sampled(traceId)` says whether the conversation's trace is exported.
 */
export function withTraceContext<Req extends RequestWithEnv, Res>(invoke: (req: Req) => Promise<Res>, sampled: (traceId: string) => boolean = () => true): (req: Req) => Promise<Res> {
  return (req) => {
    const runId = req.env?.['TINYAGI_RUN_ID'];
    const conversationId = req.env?.['TINYAGI_CONVERSATION_ID'];
    if (!runId || !conversationId) return invoke(req);
    return invoke({ ...req, env: { ...req.env, TRACEPARENT: traceparentOf(conversationId, runId, sampled(traceIdOf(conversationId))) } });
  };
}
