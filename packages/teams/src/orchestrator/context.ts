/**
 * What the orchestrator's parts share inside one process: the stores, live settings, the
 * invoker, and the in-memory registries (runs executing here, steering, notes for agents).
 * Durable state is always in the database; these registries only hold what belongs to running
 * code (abort controllers, paused waiters).
 */
import type { ApprovalAnswer, InvokeRequest, InvokeResult, ObserverList, QueueWorker, Settings } from '@tinyagi/core';
import type { GroupCommit, QuotaBoard, SandboxHost, StoreSet, StoreTransaction, TxBody } from '../core-internal.ts';
import type { StartItem } from './start-group.ts';
import type { ApprovalDesk, EgressRequest, HumanAnswer, HumanQuestion } from '../approvals/desk.ts';
import type { AbortCause } from './abort.ts';
import type { SteeringBoard } from '../steering/steering.ts';
import type { AgentNotes } from './agent-notes.ts';

export interface PluginContext {
  agentId: string;
  conversationId: string;
  runId: string;
  channel: string;
  sender: string;
}

export interface OrchestratorPlugin {
  name: string;
  transformIncoming?(text: string, ctx: PluginContext): string | Promise<string>;
  transformOutgoing?(text: string, ctx: PluginContext): string | Promise<string>;
}

/** What the agent's tools asked the running attempt to do when its turn ends (run-actions.ts). */
export interface DeclaredActions {
  handoffs: Array<{ to: string[]; message: string }>;
  chatroomPosts: Array<{ teamId: string; message: string }>;
  files: string[];
}

export interface ActiveRun {
  runId: string;
  agentId: string;
  conversationId: string;
  startedAt: number;
  controller: AbortController;
  /** Queue runs: the messages this run answers. Empty for sub-agent runs. */
  messageIds: string[];
  spawned: boolean;
  parentRunId: string | null;
  /** The agents whose confinement follows this run (guards/confinement.ts); empty or absent: its own agent's settings alone. */
  confinedBy?: string[] | undefined;
  /** Every agent up this run's chain (guards/confinement.ts): whom its work may reach holds for each of them. */
  callers?: string[] | undefined;
  /** What the agent's tools asked this attempt to do when its turn ends (run-actions.ts). */
  declared?: DeclaredActions;
  /**
   * The run's approval step while a turn runs (the desk, with this run's session and signal):
   * a CLI that asks through TinyAGI's MCP tool reaches it by the API (`POST /api/runs/:id/approval`).
   */
  askApproval?: InvokeRequest['askApproval'];
  /** The run's `ask_human` while a turn runs (the desk's askHuman with this run's session and signal; run-actions.ts). */
  askHuman?: (question: HumanQuestion, signal?: AbortSignal) => Promise<HumanAnswer>;
  /** A connection of the agent's sandboxed processes off its egress list, asked on this run while a turn runs (the desk's askEgress; facets/approvals.ts). */
  askEgress?: (request: EgressRequest, signal: AbortSignal) => Promise<ApprovalAnswer>;
}

export interface Ctx {
  /** Any backend: store calls are awaited, or `yield* io(…)` inside transaction bodies. */
  stores: StoreSet;
  getSettings: () => Settings;
  invoke: (req: InvokeRequest) => Promise<InvokeResult>;
  /** `invoke` carries a model route through this node's model proxy (a launch fact: core's invoker/launch-plan.ts). */
  modelProxy: boolean;
  /** The node's sandbox host (the orchestrator's option): the launch plans read whether it enforces the boundary. */
  sandboxHost: SandboxHost | undefined;
  plugins: readonly OrchestratorPlugin[];
  /** How long one plugin hook may take before the text passes through without it. */
  pluginTimeoutMs: number;
  apiUrl: string | undefined;
  issueRunToken: ((runId: string, conversationId: string) => string) | undefined;
  env: NodeJS.ProcessEnv;
  steering: SteeringBoard;
  active: Map<string, ActiveRun>;
  /**
   * Messages a batch of this process holds whose run a cancel ended before the handler
   * registered it (conversation-ops.ts `cancelRuns`); the handler, whose start returned the run
   * before that cancel committed, then does not invoke it. Cleared when the batch's handler ends.
   */
  cancelledHeld: Map<string, AbortCause>;
  /** Notes for an agent's next turn in the same session (undeliverable tags): see agent-notes.ts. */
  notes: AgentNotes;
  worker: QueueWorker | undefined;
  provisioned: Set<string>;
  /** TINYAGI_HOME/files: besides its workspace, the only place an agent may send files from. */
  filesDir: string | undefined;
  /** This node's name with several nodes (sessions are tied to the node whose CLI holds them). */
  node: string | undefined;
  /** Transaction bodies that may share a commit with others of the same event-loop turn (submissions). */
  writes: GroupCommit<TxBody<void>>;
  /** The starts of one event-loop turn: one update of their runs, not waiting for the disk (start-group.ts). */
  startWrites: GroupCommit<StartItem>;
  /** The observers of this orchestrator and its queue worker (the event log and usage accounting first: observers.ts). */
  observers: ObserverList<StoreTransaction>;
  /** Accounts held until their rate limit resets, and the agents on them (core's quotas/board.ts). */
  quotas: QuotaBoard;
  /** Permission requests of running agents: rules, then a person (approvals/desk.ts). */
  approvals: ApprovalDesk;
}

/*
 * The parts of the context the orchestrator's functions take (each function names the slice it
 * uses; only the pipeline's composition, process-batch.ts `handleBatch`, and the Orchestrator
 * hold the whole `Ctx`).
 */
/** The run lifecycle (lifecycle.ts): observers are told, steering state follows the run's end. */
export type LifecycleCtx = Pick<Ctx, 'observers' | 'steering'>;
/** Runs executing in this process, and the queue worker holding their messages. */
export type InProcessCtx = Pick<Ctx, 'active' | 'worker' | 'cancelledHeld'>;
/** Cancelling and stopping runs inside a transaction (conversation-ops.ts). */
export type CancelCtx = LifecycleCtx & InProcessCtx;
/** Writing runs and handoffs inside a transaction (settings read live for limits and providers). */
export type WriteCtx = LifecycleCtx & Pick<Ctx, 'getSettings'>;

/** Aborts a run executing in this process: its invocation, and the queue worker's hold of its batch. */
export function abortActive(ctx: Pick<Ctx, 'worker'>, active: ActiveRun, cause: AbortCause): void {
  active.controller.abort(cause);
  if (active.messageIds[0] !== undefined) ctx.worker?.abortMessage(active.messageIds[0]);
}
