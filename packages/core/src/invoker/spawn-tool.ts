/**
 * The `spawn_agent` function tool the HTTP runtimes offer when the caller passes
 * `tools.spawnAgent`: the model asks for a sub-agent run and gets the child's final reply back
 * as the tool result. Refusals and failures are results too (text the model can act on), never
 * a crash of the parent run, unless the parent itself was cancelled.
 */
import { asRecord, asString } from './json-read.ts';
import type { HttpGuard } from './http-stream.ts';
import { addSpend } from './invoke-error.ts';
import { addUsage, emitProgress, type InvokeRequest, type InvokeUsage } from './types.ts';

export const SPAWN_AGENT_TOOL_NAME = 'spawn_agent';

export const SPAWN_AGENT_DESCRIPTION =
  'Run another agent as your sub-agent and wait for its final answer. Use it to delegate a self-contained task. ' +
  'Pass the same `session` key again to continue a conversation with the same sub-agent.';

export const SPAWN_AGENT_PARAMETERS = {
  type: 'object',
  properties: {
    agent: { type: 'string', description: 'Id of the agent to run.' },
    task: { type: 'string', description: 'Everything the sub-agent needs to know to do the task.' },
    session: { type: 'string', description: 'Optional key to reuse one sub-agent session across calls.' },
  },
  required: ['agent', 'task'],
  additionalProperties: false,
} as const;

export interface ToolOutcome {
  content: string;
  ok: boolean;
}

/** Executes one tool call the model made; `rawArguments` is the model's JSON text. */
export async function runToolCall(req: InvokeRequest, guard: HttpGuard, name: string, rawArguments: unknown): Promise<ToolOutcome> {
  const input = typeof rawArguments === 'string' ? parseArguments(rawArguments) : asRecord(rawArguments);
  emitProgress(req, { type: 'tool', name, input });
  const outcome = await executeTool(req, guard, name, input);
  emitProgress(req, { type: 'tool_result', name, ok: outcome.ok });
  return outcome;
}

async function executeTool(req: InvokeRequest, guard: HttpGuard, name: string, input: Record<string, unknown> | undefined): Promise<ToolOutcome> {
  const spawnAgent = req.tools?.spawnAgent;
  if (name !== SPAWN_AGENT_TOOL_NAME || !spawnAgent) return { content: `Unknown tool "${name}".`, ok: false };
  const agent = asString(input?.agent)?.trim();
  const task = asString(input?.task);
  const session = asString(input?.session);
  if (!agent || !task) {
    return { content: 'spawn_agent needs a JSON object with string fields "agent" and "task".', ok: false };
  }
  try {
    const reply = await guard.hold((signal) => spawnAgent(session ? { agent, task, session } : { agent, task }, { signal }));
    return { content: reply, ok: true };
  } catch (err) {
    if (guard.signal.aborted) throw err;
    return { content: `spawn_agent failed: ${err instanceof Error ? err.message : String(err)}`, ok: false };
  }
}

/** One model call of a tool loop: its text, usage and the tool calls the model made. */
export interface ToolRound {
  text: string;
  usage?: InvokeUsage | undefined;
  calls: ReadonlyArray<{ name: string; input: unknown }>;
}

export interface ToolLoop<R extends ToolRound> {
  maxRounds: number;
  /** Whether the request offers tools at all (the last round never does, so it must answer). */
  hasTools: boolean;
  /** One model call with the conversation so far. */
  call(offerTools: boolean): Promise<R>;
  /** Adds the model's tool calls and their results to the conversation (wire format). */
  addResults(round: R, outcomes: ToolOutcome[]): void;
  /** Adds operator input from a steering checkpoint before the next call (wire format). */
  addSteering(text: string): void;
}

/**
 * The loop both HTTP runtimes share: call the model; while it asks for tools (and rounds are
 * left), run them, hand the results back and call again, with a steering checkpoint before
 * every call after the first. Returns the last answer and the summed usage.
 */
export async function runToolLoop<R extends ToolRound>(req: InvokeRequest, guard: HttpGuard, loop: ToolLoop<R>): Promise<{ text: string; usage: InvokeUsage | undefined }> {
  let usage: InvokeUsage | undefined;
  let text = '';
  try {
    for (let round = 1; round <= loop.maxRounds; round++) {
      if (round > 1) {
        const steering = await steeringCheckpoint(req, guard);
        if (steering !== undefined) loop.addSteering(steering);
      }
      const offerTools = loop.hasTools && round < loop.maxRounds;
      const result = await loop.call(offerTools);
      usage = addUsage(usage, result.usage);
      text = result.text;
      if (result.calls.length === 0 || !offerTools) break;
      const outcomes: ToolOutcome[] = [];
      for (const call of result.calls) outcomes.push(await runToolCall(req, guard, call.name, call.input));
      loop.addResults(result, outcomes);
    }
  } catch (err) {
    // The model calls that succeeded before the failure were paid for.
    throw addSpend(err, usage, undefined);
  }
  return { text, usage };
}

/**
 * The steering checkpoint between model calls (`req.checkpoint`). A paused run waits here; the
 * wait is not silence for the inactivity watchdog, and a cancel ends it.
 */
async function steeringCheckpoint(req: InvokeRequest, guard: HttpGuard): Promise<string | undefined> {
  const checkpoint = req.checkpoint;
  if (!checkpoint) return undefined;
  const text = await guard.hold(() => checkpoint());
  return text === undefined || text.trim() === '' ? undefined : text;
}

function parseArguments(text: string): Record<string, unknown> | undefined {
  try {
    return asRecord(JSON.parse(text === '' ? '{}' : text));
  } catch {
    return undefined;
  }
}
