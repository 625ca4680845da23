/**
 * The mock runtime's script (an agent's `mock` setting) as the invoker takes it: types only, so
 * the invoker's request types (../types.ts) can name it without importing the runtime.
 */
export interface MockUsageSpec {
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
}

export interface MockSpawnSpec {
  agent: string;
  task: string;
  session?: string;
}

/** `crash` SIGKILLs the whole process (poison-message tests); `hang` waits until aborted or timed out. */
export type MockFailure = 'retryable' | 'permanent' | 'rate_limited' | 'crash' | 'hang';

/**
 * A step a reply reports before its delay: a tool it "uses" (with the call's id, kind and title
 * when given), a tool's result (`tool_result`: the tool's name, matched to its call by `id`), the
 * agent's plan, one model call's usage, a status line or a piece of text (streamed as the agent
 * writes it); `after_ms` waits that long before the step (a long run).
 */
export type MockProgressSpec = (
  | { tool: string; input?: Record<string, unknown>; id?: string; kind?: MockToolKind; title?: string }
  /** `tool_result: ''` reports a result that names only its call's `id`. */
  | { tool_result: string; ok?: boolean; id?: string; output?: string }
  | { plan: Array<{ text: string; status: 'pending' | 'in_progress' | 'completed' }> }
  | { usage: { input_tokens: number; output_tokens: number; cache_read_tokens?: number; model?: string } }
  | { status: string }
  | { text: string }
) & { after_ms?: number };

/** The contract's TOOL_ACTIVITY_KINDS (spelled here: the invoker does not import the client contract). */
export type MockToolKind = 'command' | 'file_edit' | 'file_read' | 'search' | 'web' | 'mcp' | 'agent' | 'other';

/** A scripted rate-limit or quota report (`InvokeRequest.onQuota`), sent before the reply's delay. */
export interface MockQuotaSpec {
  status: 'ok' | 'warning' | 'exhausted';
  /** The reset this long after the report. */
  resets_in_ms?: number;
  limit?: string;
  message?: string;
}

/** One scripted reply (`mock.replies[]`): the first whose `match` the prompt holds answers the turn. */
export interface MockReplySpec {
  match: string;
  quota?: MockQuotaSpec;
  progress?: MockProgressSpec[];
  reply?: string;
  fail?: MockFailure;
  /**
   * Holds the run, after its progress and before its latency, until the file `<gate dir>/<gate>`
   * exists (mock-gate.ts): a test releases the run at the moment it chooses.
   */
  gate?: string;
  latency_ms?: number;
  spawn?: MockSpawnSpec[];
  /**
   * What it does before it replies (after its gate and delay, before its sub-agents), in order:
   * write a file, run a command, commit, update the task, ask an approval (mock-actions.ts).
   * Checked when it runs: a malformed action fails the run (CONFIG_INVALID).
   */
  actions?: unknown[];
  usage?: MockUsageSpec;
}

export interface MockScriptSpec {
  /** Which account the mock says it spends (quotas/account.ts); agents with the same one share quota holds. */
  account?: string;
  /** Where the replies' gate files are looked for; default `<TINYAGI_HOME>/mock-gates`. */
  gate_dir?: string;
  latency_ms?: number;
  reply?: string;
  usage?: MockUsageSpec;
  replies?: MockReplySpec[];
}
