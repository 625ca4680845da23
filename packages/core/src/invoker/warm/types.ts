/**
 * Warm sessions (docs/sessions.md): a warm agent CLI process spoken to in its native protocol
 * (Claude Code stream-json, Codex app-server, ACP), kept between turns by the session pool and
 * given one turn at a time. A runtime offers this by a `WarmDriver` on its implementation
 * (`RuntimeImpl.warm`); an agent whose settings say `process: "warm"` is run through it
 * (invoke-warm.ts), any other through the runtime's spawn-per-message `invoke`.
 *
 * The split of work:
 * - the driver speaks one protocol: starts the process (resuming a session), runs a
 *   turn, steers and interrupts it, turns the stream into progress events and a result;
 * - the pool (pool.ts) owns processes: one per (agent, session key), admission, caps, idle
 *   eviction, crash bookkeeping;
 * - the warm invoker (invoke-warm.ts) runs one invocation on a pooled session: watchdog,
 *   cancel, steering pushed into the turn, the per-run file a warm process's tools read.
 */
import type { Boundary } from '@tinyagi/sandbox';
import type { InvokeProgress, InvokeRequest, InvokeResult, InvokeUsage, QuotaReport } from '../types.ts';

/** What a driver can do inside a running turn (said in steering notes and docs/sessions.md). */
export interface WarmCapabilities {
  /** `steer` adds input to the running turn (Claude Code: a user message on stdin; Codex: `turn/steer`). */
  readonly steersMidTurn: boolean;
  /** `interrupt` stops the turn and leaves the process warm (Claude Code: control interrupt; Codex: `turn/interrupt`; ACP: `session/cancel`). */
  readonly interrupts: boolean;
  /**
   * Where a paused run is held inside the turn (`before its next tool call`), where the
   * protocol asks before each tool; null: the turn runs to its end and the answer is held.
   */
  readonly pausePoint: string | null;
}

export interface WarmStartOptions {
  /** The request that needs a process (its target, cwd, system prompt, session). */
  req: InvokeRequest;
  /** The session to resume (`--resume`, `thread/resume`, `session/load`); undefined: a new one. */
  resumeId: string | undefined;
  /**
   * The child's environment: the target's and the adapter's variables, but none of one run's
   * (TINYAGI_RUN_ID, TINYAGI_RUN_TOKEN, …): a warm process outlives its runs, so the tools it
   * starts read the current run from the file named by TINYAGI_RUN_FILE (set here).
   */
  env: Record<string, string>;
  /** For messages: "claude (agent coder)". */
  what: string;
  /** Called on every sign of life of the process between turns (stderr, protocol traffic). */
  onActivity: () => void;
  /**
   * Aborted when the pool gives the start up (its timeout, the request cancelled, the daemon
   * stopping): the driver should stop waiting for its handshake and close the process. A
   * driver that ignores it is closed by the pool when its start finally resolves.
   */
  signal?: AbortSignal;
  /**
   * The boundary to start the process in (docs/sandbox.md): give it to WarmProcess.start. `env`
   * is already the boundary's (its private home, proxies, API URL).
   */
  boundary?: Boundary | undefined;
}

/** One turn given to a warm session. */
export interface WarmTurn {
  /** The message for the model (with the transcript first when the session is new and the conversation is not). */
  prompt: string;
  /** The invocation (system prompt, session, target) this turn belongs to. */
  req: InvokeRequest;
  /** Progress of this turn: text, tool calls and results, plan, usage per model call. */
  emit: (event: InvokeProgress) => void;
  /** Every sign of life inside the turn (protocol traffic): the inactivity watchdog's touch. */
  activity: () => void;
  /** The runtime's rate-limit or quota state, when it streams one. */
  quota: (report: QuotaReport) => void;
  /**
   * A safe point inside the turn where the protocol lets the driver wait (a permission request
   * before a tool call): waits while the run is paused, then returns operator input to steer in,
   * or undefined. Drivers without such a point never call it.
   */
  checkpoint: () => Promise<string | undefined>;
}

/**
 * One warm process bound to one (agent, session key). At most one turn runs at a time (the pool
 * guarantees it). Run epochs: everything the process streams belongs to the turn that was
 * running when it arrived; a turn's promise is settled by its own completion only (a result
 * that arrives for an earlier, interrupted turn is consumed and dropped), and a session whose
 * process died never settles a later turn: the pool replaces it.
 */
export interface WarmSession {
  readonly pid: number | undefined;
  /** The session id (Claude Code session, Codex thread, ACP session), once known. */
  readonly sessionId: string | undefined;
  /** Runs one turn to its end; rejects with an InvokeError (with what was spent) when it fails. */
  turn(turn: WarmTurn): Promise<InvokeResult>;
  /** Adds input to the running turn; false when the protocol cannot (the caller keeps it for the next turn). */
  steer(text: string): Promise<boolean>;
  /** Stops the running turn, keeping the process warm; false when the protocol cannot (the caller then closes it). */
  interrupt(): Promise<boolean>;
  /** Ends the process: a polite close, then the process group is killed after the grace period. */
  close(reason: string): Promise<void>;
  /** Settles when the process has exited (a crash, a kill or `close`). */
  readonly exited: Promise<{ code: number | undefined; signal: string | undefined }>;
  /** The resident memory of the process and its children in bytes, when it can be read (/proc). */
  memoryBytes?(): number | undefined;
  /**
   * What the running turn is known to have spent so far (usage of finished model calls, cost):
   * kept on the run's error when the watchdog ends the turn (a timeout or a stalled stream), as
   * a spawned CLI's usage is kept when it is killed.
   */
  spentSoFar?(): { usage?: InvokeUsage; costUsd?: number } | undefined;
}

export interface WarmDriver {
  /** The executable started when the target names no `command` (`claude`); also in messages. */
  readonly binary: string;
  /** Shown when the executable is missing. */
  readonly installHint: string;
  readonly capabilities: WarmCapabilities;
  /** Variables the driver itself sets in the process's environment (IS_SANDBOX, a config path, …). */
  runtimeEnv?(req: InvokeRequest): Record<string, string>;
  /** A typical resident size of one process (MB) before the pool measures the real one: admission's estimate. */
  readonly memoryEstimateMb: number;
  /**
   * What binds a process to its start: a request with another fingerprint (other model,
   * permission mode, command, environment or system prompt where it is given at start) needs
   * a new process (the pool closes the old one when idle and resumes the session).
   */
  fingerprint(req: InvokeRequest): string;
  /** Starts a process and completes its handshake (resuming `resumeId` if given). */
  start(options: WarmStartOptions): Promise<WarmSession>;
}
