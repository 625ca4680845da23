/**
 * The mock runtime's script (an agent's `mock` setting) as the invoker takes it: types only, so
 * the invoker's request types (../types.ts) can name it without importing the adapter.
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

/** A step the rule reports before its delay: a tool it "uses" or a status line. */
export type MockProgressSpec = { tool: string; input?: Record<string, unknown> } | { status: string };

export interface MockRuleSpec {
  match: string;
  progress?: MockProgressSpec[];
  reply?: string;
  fail?: MockFailure;
  latency_ms?: number;
  spawn?: MockSpawnSpec[];
  usage?: MockUsageSpec;
}

export interface MockScriptSpec {
  latency_ms?: number;
  reply?: string;
  usage?: MockUsageSpec;
  rules?: MockRuleSpec[];
}
