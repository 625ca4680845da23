/**
 * Runs one agent for one run: compose the system prompt, invoke (streaming `run.progress`),
 * and take further turns in the same session while steering added input at a checkpoint.
 * Checkpoints: before the first invocation, after each (where a paused run's answer is held
 * until resume), and inside an invocation where the runtime calls `InvokeRequest.checkpoint`
 * (HTTP agents before each model call, mock agents at their steps). What steering did is said
 * as `run.progress` status lines (input applied, a turn restarted, an answer held).
 * Shared by queue runs and sub-agent runs; it records nothing durable itself (callers commit
 * the result together with the rest of the run's effects).
 */
import type { InvokeProgress, InvokeRequest, RunRecord, Usage } from '@tinyagi/core';
import {
  addSpend,
  type AgentSessionRecord,
  agentWorkspaceDir,
  cliReadsAgentsMd,
  composeSystemPrompt,
  planLaunch,
  provisionWorkspace,
  readLaunchFacts,
  teamsOfAgent,
  ownEntry,
  type SessionMessage,
  type SpawnAgentArgs,
} from '../core-internal.ts';
import { holdNote, holdRunFolder } from '../guards/held.ts';
import type { SteeringInput } from '../steering/steering.ts';
import type { Ctx } from './context.ts';

export interface TurnsInput {
  run: RunRecord;
  prompt: string;
  sessionKey: string;
  teamId: string | null;
  signal: AbortSignal;
  timeoutMs?: number | undefined;
  /** An earlier attempt of this run failed (the queue retries it): its half turn must not be resumed. */
  retry?: boolean | undefined;
  /** The working directory instead of the agent's workspace (a task's worktree); the workspace's AGENTS.md, skills and memory still go into the prompt. */
  workdir?: string | undefined;
  /** The agents whose confinement follows this run (guards/confinement.ts): it runs as the tighter of its agent and each of them. */
  confinedBy?: readonly string[] | undefined;
  /** Every agent up this run's chain (guards/confinement.ts), for the reach checks of what its tools start. */
  callers?: readonly string[] | undefined;
  spawnAgent: (args: SpawnAgentArgs) => Promise<string>;
  /** The agent's session under `sessionKey` as the batch read it with its context (undefined: none stored); absent, it is read here. */
  session?: AgentSessionRecord | undefined;
}

export interface Exchange {
  user: string;
  assistant: string;
}

export interface TurnsResult {
  text: string;
  usage: Usage;
  costUsd: number;
  sessionId: string | undefined;
  /** What the session was last told in-band (codex), to store with the session. */
  instructionsHash: string | undefined;
  /** The runtime's state of the session (resume point, usage totals), to store with the session. */
  runtimeState: string | undefined;
  provider: string;
  exchanges: Exchange[];
  /** The agents whose confinement the run took (its messages' and its folder's hold): its handoffs carry them on. */
  confinedBy?: string[] | undefined;
}

/** Upper bound of steering-driven turns in one run, so a flood of injects cannot loop forever. */
const MAX_TURNS = 8;

/** What an agent's turns use of the context. */
export type TurnsCtx = Pick<
  Ctx,
  'getSettings' | 'env' | 'provisioned' | 'stores' | 'node' | 'steering' | 'apiUrl' | 'issueRunToken' | 'invoke' | 'modelProxy' | 'sandboxHost' | 'observers' | 'active' | 'approvals'
> &
  Partial<Pick<Ctx, 'quotas'>>;

/**
 * Where a run works and how it launches: its agent's workspace (provisioned once), its folder (a
 * task's worktree, or the workspace), and its launch plan (core's invoker/launch-plan.ts) from the
 * agents its messages carry, the folder's hold and this node's facts: a run a confined run
 * started, or one in a folder a confined run worked in, runs in the tighter sandbox and permission
 * mode of its agent and those agents. While the agent's account is held for a rate limit, its
 * fallback_provider (if free) runs the turn: the plan is made for that account.
 */
async function placeRun(ctx: Pick<TurnsCtx, 'getSettings' | 'env' | 'provisioned' | 'modelProxy' | 'sandboxHost' | 'quotas'>, input: Pick<TurnsInput, 'run' | 'workdir' | 'confinedBy'>) {
  const { run } = input;
  const settings = ctx.getSettings();
  const workspace = agentWorkspaceDir(settings, run.agentId, ctx.env);
  if (!ctx.provisioned.has(workspace)) {
    await provisionWorkspace({ dir: workspace, agentId: run.agentId });
    ctx.provisioned.add(workspace);
  }
  const cwd = input.workdir ?? workspace;
  const facts = readLaunchFacts(ctx.env, cwd, ctx.sandboxHost);
  const plan = (account?: { provider: string; model?: string | undefined }) =>
    planLaunch({
      settings,
      agentId: run.agentId,
      env: ctx.env,
      cwd,
      confinedBy: input.confinedBy,
      hold: facts.hold,
      node: { boundary: facts.boundary, modelProxy: ctx.modelProxy },
      configSecrets: facts.configSecrets,
      account,
    });
  const primary = plan();
  const chosen = ctx.quotas?.targetFor(run.agentId, primary.target) ?? { target: primary.target };
  const launch = chosen.target === primary.target ? primary : plan({ provider: chosen.target.provider, model: chosen.target.model });
  return { settings, workspace, cwd, launch, chosen: { ...chosen, target: launch.target } };
}

export async function runAgentTurns(ctx: TurnsCtx, input: TurnsInput): Promise<TurnsResult> {
  const { run, signal } = input;
  const { settings, workspace, cwd, launch, chosen } = await placeRun(ctx, input);
  const chain = launch.confinement.confinedBy;
  const confinedBy = chain.length > 0 ? chain : undefined;
  const target = launch.target;
  const agent = ownEntry(settings.agents, run.agentId) ?? {};
  const teams = teamsOfAgent(settings, run.agentId);
  const extra = input.teamId && teams.length > 1 ? `This message came through team #${input.teamId}: tag only members of #${input.teamId}.` : undefined;
  // In a worktree the CLI reads the repository's AGENTS.md, not the agent's: the prompt carries the agent's.
  const agentsMdReadByCli = input.workdir === undefined && cliReadsAgentsMd(target.runtime, workspace, target);
  const systemPrompt = (await composeSystemPrompt({ agentId: run.agentId, agent, workspaceDir: workspace, teams, extra, agentsMdReadByCli })).text;

  const stored = 'session' in input ? input.session : await ctx.stores.agentSessions.get(run.agentId, input.sessionKey);
  const history: SessionMessage[] = [...(stored?.transcript ?? [])];
  let { resumeId, instructionsHash, runtimeState } = resumePoint(ctx, run.agentId, stored, chosen);
  let turn = (stored?.turns ?? 0) + 1;
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let costUsd = 0;
  const exchanges: Exchange[] = [];
  const { observers } = ctx;
  /** Progress of this run (the runtime's reports and our status lines), told to the observers (the event log's `run.progress`). */
  const progress = (event: InvokeProgress): void => {
    if (observers.listening('progress')) observers.notify('progress', { run, turn, progress: event });
  };
  const status = (message: string): void => progress({ type: 'status', message });
  if (chosen.hold) {
    const { label, resetsAt, limit } = chosen.hold;
    status(`account ${label} is held until ${new Date(resetsAt).toISOString()}${limit ? ` (${limit})` : ''}: this run uses the fallback ${target.provider}${target.model ? ` (${target.model})` : ''}`);
  }
  /** A checkpoint inside or before a turn; a paused run says where it waits. */
  const checkpoint = (where: string): Promise<SteeringInput> => {
    if (ctx.steering.isPaused(run.id)) status(`paused ${where}, until the run is resumed`);
    return ctx.steering.checkpoint(run.id, signal);
  };
  // Held before the CLI starts: what it writes there runs confined from now on.
  const hold = holdRunFolder(ctx.env, { agentId: run.agentId, runId: run.id, cwd, workspace }, launch.confinement);
  if (hold) status(holdNote(hold));
  let prompt = applySteering(input.prompt, await checkpoint('before its first turn'), true);

  for (let i = 0; ; i++) {
    const steeredMidCall: string[] = [];
    /** Input handed to the running turn (kept with the turn's prompt in the session transcript). */
    const midTurn = (steering: SteeringInput): string | undefined => {
      const text = applySteering('', steering, false);
      if (text === '') return undefined;
      steeredMidCall.push(text);
      status(`${describe(steering)} applied inside turn ${turn}`);
      return text;
    };
    const env: Record<string, string> = { TINYAGI_RUN_ID: run.id, TINYAGI_CONVERSATION_ID: run.conversationId, TINYAGI_DEPTH: String(run.depth) };
    if (ctx.apiUrl) env.TINYAGI_API_URL = ctx.apiUrl;
    if (ctx.issueRunToken) env.TINYAGI_RUN_TOKEN = ctx.issueRunToken(run.id, run.conversationId);
    // Judged where the run works (a task's worktree), not in the agent's workspace.
    // A confined run's requests are judged by its callers' rules too (the tighter verdict).
    const askApproval: InvokeRequest['askApproval'] = (ask) => ctx.approvals.ask({ ...run, workdir: input.workdir, confinedBy }, input.sessionKey, ask, signal);
    // A CLI that asks through TinyAGI's MCP tool (per-message Claude Code) reaches it by the API.
    const active = ctx.active.get(run.id);
    if (active) {
      active.confinedBy = confinedBy;
      active.callers = input.callers ? [...input.callers] : undefined;
      active.askApproval = askApproval;
      // The asker going away (its tool call cancelled) cancels the question too.
      active.askHuman = (question, asker) => ctx.approvals.askHuman(run, input.sessionKey, question, asker ? AbortSignal.any([signal, asker]) : signal);
      active.askEgress = (egress, asker) => ctx.approvals.askEgress(run, input.sessionKey, egress, AbortSignal.any([signal, asker]));
    }
    const request: InvokeRequest = {
      agentId: run.agentId,
      target,
      modelRoute: launch.modelRoute,
      prompt,
      systemPrompt,
      cwd,
      session: {
        key: input.sessionKey,
        resumeId: resumeId ?? null,
        history: [...history],
        turn,
        ...(instructionsHash ? { instructionsHash } : {}),
        ...(runtimeState ? { runtimeState } : {}),
        ...(input.retry && i === 0 ? { retry: true } : {}),
      },
      signal,
      onEvent: progress,
      tools: { spawnAgent: input.spawnAgent },
      env,
      // Silent while a sub-agent it called works, or while a person decides on its request.
      busyElsewhere: () => hasRunningChildren(ctx, run.id) || ctx.approvals.waiting(run.id),
      askApproval,
      // HTTP agents: operator input between model calls of this invocation (CLI agents get it
      // at the next turn below). Kept with the turn's prompt in the session transcript.
      checkpoint: async () => midTurn(await checkpoint(`inside turn ${turn}`)),
      // Warm runtimes: input sent while the turn runs is steered into it at once.
      onSteer: (listener) => ctx.steering.subscribe(run.id, listener),
      takeInput: () => midTurn(ctx.steering.take(run.id)),
      ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
    };
    // Quotas (docs/quotas.md): an account held until its reset is not spent on; a runtime's
    // report holds it, and a rate limit on a held account waits for the reset.
    const quotas = ctx.quotas;
    const held = quotas?.refusal(run.agentId, target);
    if (held) throw addSpend(held, usage, costUsd);
    if (quotas) {
      const invokedAt = Date.now();
      request.onQuota = (report) => void quotas.report(run.agentId, target, report, invokedAt).catch(() => {});
    }
    // A failing turn carries what the earlier turns of this attempt spent, so the caller records it all.
    const result = await ctx.invoke(request).catch(async (err: unknown) => {
      throw addSpend(quotas ? await quotas.failed(run.agentId, target, err).catch(() => err) : err, usage, costUsd);
    });
    usage.inputTokens += result.usage?.inputTokens ?? 0;
    usage.outputTokens += result.usage?.outputTokens ?? 0;
    costUsd += result.costUsd ?? 0;
    resumeId = result.sessionId ?? resumeId;
    instructionsHash = result.instructionsHash ?? instructionsHash;
    runtimeState = result.runtimeState ?? runtimeState;
    const asked = [prompt, ...steeredMidCall].join('\n\n');
    exchanges.push({ user: asked, assistant: result.text });
    history.push({ role: 'user', content: asked }, { role: 'assistant', content: result.text });
    // A paused run holds its answer here until resumed; input sent meanwhile takes another turn.
    const next = await ctx.steering.settle(run.id, signal, () => status(`paused: turn ${turn} finished; its answer is held until the run is resumed`));
    if (signal.aborted) throw addSpend(new Error('the run ended while its answer was held'), usage, costUsd);
    turn++;
    if (next && i + 1 >= MAX_TURNS) {
      ctx.steering.close(run.id);
      status(`${describe(next)} not applied: the run has taken ${MAX_TURNS} turns, the most steering may add`);
    }
    if (!next || i + 1 >= MAX_TURNS) return { text: result.text, usage, costUsd, sessionId: resumeId, instructionsHash, runtimeState, provider: target.provider, exchanges, confinedBy: chain };
    status(next.redirect !== undefined ? `redirected: the turn restarts with the new instruction (turn ${turn}); the previous answer is dropped` : `${describe(next)}: one more turn (turn ${turn})`);
    prompt = applySteering('', next, false);
  }
}

/**
 * What of the stored session this run resumes: nothing when another node's CLI holds it (its files
 * are on that machine) or it is the other provider's (the fallback's, or the primary's while on
 * the fallback); a new session then starts, with the transcript kept.
 */
function resumePoint(
  ctx: Pick<TurnsCtx, 'node' | 'quotas'>,
  agentId: string,
  stored: AgentSessionRecord | undefined,
  chosen: { target: { provider: string }; hold?: unknown },
): { resumeId: string | undefined; instructionsHash: string | undefined; runtimeState: string | undefined } {
  const elsewhere = stored !== undefined && ctx.node !== undefined && stored.node !== '' && stored.node !== ctx.node;
  const fallbackProvider = ctx.quotas?.fallbackOf(agentId)?.provider;
  const switched = stored !== undefined && stored.provider !== chosen.target.provider && (chosen.hold !== undefined || stored.provider === fallbackProvider);
  if (stored === undefined || elsewhere || switched) return { resumeId: undefined, instructionsHash: undefined, runtimeState: undefined };
  return { resumeId: stored.sessionId || undefined, instructionsHash: stored.instructionsHash || undefined, runtimeState: stored.runtimeState || undefined };
}

/** "redirect", "2 injected messages", … for the status lines. */
function describe(steering: SteeringInput): string {
  const parts = steering.redirect !== undefined ? ['redirect'] : [];
  const n = steering.injected.length;
  if (n > 0) parts.push(n === 1 ? 'injected message' : `${n} injected messages`);
  return `operator input (${parts.join(' and ')})`;
}

function applySteering(prompt: string, steering: SteeringInput, first: boolean): string {
  let out = prompt;
  if (steering.redirect !== undefined) {
    out = first ? steering.redirect : `[New instruction from the operator; it replaces your previous task]\n${steering.redirect}`;
  }
  for (const text of steering.injected) {
    out = `${out}${out === '' ? '' : '\n\n'}[Message added by the operator${first ? '' : ' while you were working'}]\n${text}`;
  }
  return out;
}

function hasRunningChildren(ctx: Pick<Ctx, 'active'>, runId: string): boolean {
  for (const active of ctx.active.values()) if (active.spawned && active.parentRunId === runId) return true;
  return false;
}
