/**
 * One invocation on a warm session (docs/sessions.md): lease the (agent, session key)'s process
 * from the pool (starting or resuming one if needed), tell the process's tools which run is
 * current, give it the turn, and keep the invoker's promises:
 *
 * - the wall clock and the inactivity watchdog as for a spawned CLI (every protocol message is
 *   a sign of life; the start grace lasts until the turn's first one; a stalled stream is a hung
 *   session: its process is closed, the run retried);
 * - cancel interrupts the turn and keeps the process warm where the protocol can (the turn must
 *   settle within the kill grace), else the process is closed;
 * - operator input sent while the turn runs is steered into it at once where the protocol can
 *   (`onSteer` wakes us, `checkpoint` hands the input over), else it waits for the next turn;
 * - a process that dies mid-turn fails the run as retryable with what it spent; the pool
 *   forgets it, and the retry starts a new process that resumes the provider session.
 *
 * The per-run variables (TINYAGI_RUN_ID, TINYAGI_RUN_TOKEN, …) cannot be in a warm process's
 * environment (it outlives its runs): they are written to a private file (0600) before each
 * turn, named by TINYAGI_RUN_FILE, which `tinyagi call` reads; and the process's tools token
 * (TINYAGI_TOOLS_TOKEN, tools-tokens.ts), with which its CLI reaches TinyAGI's agent tools on the
 * daemon's `/mcp`, is pointed at the turn's run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runBoundary } from '../agent-boundary.ts';
import { buildChildEnv } from '../child-env.ts';
import { addSpend, InvokeError, spendOf } from '../invoke-error.ts';
import { privateTempPath } from '../private-temp.ts';
import { resumeIdOf } from '../session-state.ts';
import { DEFAULT_KILL_GRACE_MS, emitProgress, runLimits, type InvokeRequest, type InvokeResult, type RunLimits } from '../types.ts';
import { expiryError, startWatchdog, type WatchdogExpiry } from '../watchdog.ts';
import { sessionPool, type PoolLease, type SessionPool } from './pool.ts';
import { findRuntime } from '../runtime.ts';
import { closeToolsToken, openToolsToken, setToolsRun, TOOLS_TOKEN_ENV } from '../tools-tokens.ts';
import type { InvokeTarget } from '../types.ts';
import type { WarmCapabilities, WarmDriver, WarmSession } from './types.ts';

/** Variables of a request's env that belong to one run; everything else may stay in a warm process's environment. */
const PER_RUN_ENV = ['TINYAGI_RUN_ID', 'TINYAGI_RUN_TOKEN', 'TINYAGI_CONVERSATION_ID', 'TINYAGI_DEPTH', 'TRACEPARENT', 'TRACESTATE'];

export function splitRunEnv(env: Record<string, string> | undefined): { lasting: Record<string, string>; perRun: Record<string, string> } {
  const lasting: Record<string, string> = {};
  const perRun: Record<string, string> = {};
  for (const [name, value] of Object.entries(env ?? {})) (PER_RUN_ENV.includes(name) ? perRun : lasting)[name] = value;
  return { lasting, perRun };
}

/**
 * Lasting variables that name the run that started the process, so they differ every run: the
 * CLI's OpenTelemetry resource attributes (`telemetry.cli_telemetry`, docs/telemetry.md). The
 * process keeps its start's values, as it keeps the rest of its environment.
 */
const START_ONLY_ENV = ['OTEL_RESOURCE_ATTRIBUTES'];

/** What of a run's environment binds a warm process (a driver's fingerprint): the lasting variables without the start-only ones. */
export function bindingEnv(env: Record<string, string> | undefined): Array<[string, string]> {
  const { lasting } = splitRunEnv(env);
  return Object.entries(lasting)
    .filter(([name]) => !START_ONLY_ENV.includes(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The file a warm process's tools read the current run from: one per process (its path is in
 * the process's environment), in a folder of its own (0700; a sandboxed process gets the folder
 * bound in, so it sees each run's file, which replaces the last by rename), removed with the folder
 * when the process exits.
 */
function newRunFilePath(agentId: string, sessionKey: string): string {
  const id = createHash('sha256').update(`${agentId}\u0000${sessionKey}`).digest('hex').slice(0, 12);
  const dir = privateTempPath(`run-${id}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  return `${dir}/run.json`;
}

function removeRunFile(path: string): void {
  rmSync(dirname(path), { recursive: true, force: true });
}

/** A warm process's run file and tools token, pointed at each turn's run. */
const currentRunOf = new WeakMap<WarmSession, { runFile: string; toolsToken: string }>();

function writeRunFile(path: string, perRun: Record<string, string>): void {
  const aside = `${path}.${process.pid}.new`;
  writeFileSync(aside, JSON.stringify(perRun), { mode: 0o600 });
  renameSync(aside, path);
}

/**
 * What a running turn of `target` can take (steering notes): the warm driver's capabilities when
 * the agent runs warm (`process: "warm"`) on a runtime that has a warm driver; undefined when it
 * runs per message.
 */
export function warmCapabilities(target: Pick<InvokeTarget, 'runtime' | 'warm'>): WarmCapabilities | undefined {
  return target.warm ? findRuntime(target.runtime)?.impl.warm?.capabilities : undefined;
}

export async function invokeWarm(driver: WarmDriver, req: InvokeRequest, pool: SessionPool = sessionPool): Promise<InvokeResult> {
  const what = `${driver.binary} (agent ${req.agentId})`;
  const sessionKey = req.session?.key ?? 'default';
  const resumeId = resumeIdOf(req.session);
  const { lasting, perRun } = splitRunEnv(req.env);
  const limits = runLimits(req);
  const killGraceMs = req.target.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const lease = await leaseSession(driver, req, pool, { what, sessionKey, resumeId, lasting, perRun, limits });
  const session = lease.session;

  let expired: WatchdogExpiry | undefined;
  let interrupted = false;
  let settled = false;
  let exited = false;
  let rejectExpired: (err: unknown) => void = () => {};
  const expiredPromise = new Promise<never>((_, reject) => {
    rejectExpired = reject;
  });
  const fail = (): void => rejectExpired(expiryError(expired ?? 'timeout', limits, what));
  let graceTimer: NodeJS.Timeout | undefined;
  let watchdog: ReturnType<typeof startWatchdog> | undefined;
  let unsubscribe = (): void => {};
  try {
    const current = currentRunOf.get(session);
    if (current) {
      writeRunFile(current.runFile, perRun);
      setToolsRun(current.toolsToken, perRun);
    }
    if (lease.turnsBefore > 0) emitProgress(req, { type: 'status', message: `warm session (pid ${session.pid ?? '?'}), turn ${lease.turnsBefore + 1} on this process` });

    // A process that dies mid-turn: the driver should fail the turn with what it spent; if it
    // says nothing within the grace, the run fails as retryable here (never hangs on a dead pipe).
    void session.exited.then((exit) => {
      exited = true;
      if (settled) return;
      setTimeout(() => {
        if (!settled) rejectExpired(new InvokeError('retryable', `${what}: the warm process exited mid-turn (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code ?? '?'}`}).`));
      }, killGraceMs).unref();
    });

    watchdog = startWatchdog({
      limits,
      signal: req.signal,
      isBusy: req.busyElsewhere,
      onExpire: (kind) => {
        expired = kind;
        // A cancel interrupts the turn and gives it the grace to settle (the process stays warm);
        // a timeout, a stalled stream, a protocol without interrupt or an interrupt not answered
        // in time fails the run at once, and the lease is discarded (the process is closed).
        if (kind === 'cancelled' && driver.capabilities.interrupts && !settled) {
          interrupted = true;
          graceTimer = setTimeout(() => {
            interrupted = false;
            fail();
          }, killGraceMs);
          void session.interrupt().then(
            (ok) => {
              if (ok || settled) return;
              interrupted = false;
              fail();
            },
            () => {
              interrupted = false;
              fail();
            },
          );
          return;
        }
        fail();
      },
    });
    const touch = watchdog.touch;
    lease.onActivity(touch);
    unsubscribe = req.onSteer?.(steerPump(driver, session, req, () => !settled && expired === undefined)) ?? (() => {});

    const turn = session
      .turn({
        prompt: req.prompt,
        req,
        emit: (event) => emitProgress(req, event),
        activity: touch,
        quota: (report) => req.onQuota?.(report),
        checkpoint: () => req.checkpoint?.() ?? Promise.resolve(undefined),
      })
      .finally(() => {
        settled = true;
        if (graceTimer) clearTimeout(graceTimer);
      });
    const result = await Promise.race([turn, expiredPromise]).catch((err: unknown) => {
      // The watchdog's reason wins: a turn interrupted for a cancel fails as cancelled, not as
      // whatever the CLI said about the interrupt; what the turn spent is kept.
      // Ended by the watchdog before the turn settled: what the driver knows was spent so far.
      const spent = spendOf(err) ?? session.spentSoFar?.();
      if (expired) throw addSpend(expiryError(expired, limits, what), spent?.usage, spent?.costUsd);
      throw err;
    });
    if (expired) throw addSpend(expiryError(expired, limits, what), result.usage, result.costUsd);
    lease.release();
    return result;
  } catch (err) {
    // Interrupted for a cancel and settled within the grace: the process stays warm for the next turn.
    if (interrupted && settled && !exited) lease.release();
    else lease.discard(expired ? `the turn ${expired === 'cancelled' ? 'was cancelled' : expired === 'timeout' ? 'timed out' : 'stalled'}` : 'the turn failed');
    throw err;
  } finally {
    unsubscribe();
    watchdog?.dispose();
  }
}

/**
 * The (agent, session key)'s warm process, leased from the pool: the one it keeps, or one started
 * (inside the agent's boundary when it has one, with the run file and tools token that follow
 * each turn's run) or resumed when it keeps none.
 */
async function leaseSession(
  driver: WarmDriver,
  req: InvokeRequest,
  pool: SessionPool,
  run: { what: string; sessionKey: string; resumeId: string | undefined; lasting: Record<string, string>; perRun: Record<string, string>; limits: RunLimits },
): Promise<PoolLease> {
  const { what, sessionKey, resumeId, lasting, perRun, limits } = run;
  // The boundary, once per warm process (docs/sandbox.md): `required` on a machine without it fails here.
  const boundary = runBoundary(req);

  const withBoundary = (env: Record<string, string>): Record<string, string> => (boundary ? boundary.env(env) : env);
  return pool.acquire({
    agentId: req.agentId,
    sessionKey,
    driver: driver.binary,
    memoryEstimateMb: driver.memoryEstimateMb,
    // A process started inside the boundary serves only runs that want one, and the other way round.
    fingerprint: boundary ? `${driver.fingerprint(req)}+sandbox` : driver.fingerprint(req),
    resumeId,
    retry: req.session?.retry === true,
    signal: req.signal,
    // The handshake is bounded like a silent start: a process that does not answer it within the start grace is hung.
    startTimeoutMs: Math.min(limits.startGraceMs, limits.timeoutMs),
    start: async ({ onActivity, signal }) => {
      const runFile = newRunFilePath(req.agentId, sessionKey);
      writeRunFile(runFile, perRun);
      const toolsToken = openToolsToken(perRun);
      const forget = (): void => {
        removeRunFile(runFile);
        closeToolsToken(toolsToken);
      };
      const session = await driver
        .start({
          req,
          resumeId,
          what,
          onActivity,
          signal,
          boundary,
          env: withBoundary(
            buildChildEnv({
              agentId: req.agentId,
              cwd: req.cwd,
              provider: req.target.env,
              runtime: driver.runtimeEnv?.(req),
              request: { ...lasting, TINYAGI_RUN_FILE: runFile, [TOOLS_TOKEN_ENV]: toolsToken },
            }),
          ),
        })
        .catch((err: unknown) => {
          forget();
          throw err;
        });
      currentRunOf.set(session, { runFile, toolsToken });
      void session.exited.then(forget);
      return session;
    },
  });
}

/**
 * Operator input while the turn runs: taken at once (`takeInput`, which never waits) and
 * steered in where the protocol can; the pump runs one hand-over at a time and goes round again
 * for input that arrived meanwhile. A driver that cannot steer takes nothing: the orchestrator
 * gives the input to the next turn. Input taken by a turn that then fails is given to the retry
 * (the steering board keeps what an attempt received).
 */
function steerPump(driver: WarmDriver, session: WarmSession, req: InvokeRequest, turnOpen: () => boolean): () => void {
  const take = req.takeInput;
  if (!driver.capabilities.steersMidTurn || !take) return () => {};
  let running = false;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void (async () => {
      do {
        again = false;
        // Input is taken only while the turn can still use it: once it has ended (or is being
        // stopped) the input stays on the board for the orchestrator's next turn.
        if (!turnOpen()) break;
        const text = take();
        if (text !== undefined && !(await session.steer(text).catch(() => false))) {
          emitProgress(req, { type: 'status', message: 'operator input could not be given to the running turn (the process did not take it)' });
        }
      } while (again);
      running = false;
    })();
  };
}
