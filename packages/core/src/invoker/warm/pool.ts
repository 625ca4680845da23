/**
 * The session pool (docs/sessions.md): warm CLI processes, one per (agent, session key) — a
 * session key is one conversation's thread of an agent (`shared`, `sender:…`, `thread:…`), so a
 * process holds exactly one session, its crash touches one conversation, and two
 * conversations of one agent never queue behind each other in one process.
 *
 * - A lease gives one invocation exclusive use of a session; a second invocation for the same
 *   key waits for the release (the queue runs one run per session at a time; this is the guard).
 * - A session is reused when its fingerprint (driver.fingerprint: model, permission mode,
 *   environment, …) and its session id match the request's; otherwise it is closed
 *   and a new process resumes the stored session. A retry never reuses one (its
 *   process may hold the failed attempt's half turn), and a discarded process (hung, timed out,
 *   cancelled without settling) is never leased again: a stale completion it still streams can
 *   reach no later turn.
 * - Caps: `maxPerAgent` and `maxTotal` processes; at a cap the least recently used idle session
 *   is closed to make room, and with none idle the request waits for a release (or its signal).
 * - Admission by memory: before a start, the machine's used memory (MemTotal - MemAvailable)
 *   plus the new process's estimate (`processMemoryMb` when set, else the measured average of
 *   this driver's warm processes, else the driver's `memoryEstimateMb`) must stay within `memoryShare` of
 *   MemTotal. Over it, idle sessions are closed (least recently used first, waiting for their
 *   exit); still over it, the start waits up to `admissionWaitMs` for a busy session to become
 *   idle (and closable), then is refused: a retryable SESSION_POOL_FULL error.
 * - A start (the driver's handshake) that takes longer than `startTimeoutMs` fails as a timeout;
 *   a process that arrives later is closed.
 * - Idle sessions are closed after `idleMs`; a process that exits is forgotten at once.
 */
import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { InvokeError } from '../invoke-error.ts';
import type { WarmSession } from './types.ts';

export interface SessionPoolOptions {
  /** Warm processes in all. */
  maxTotal: number;
  /** Warm processes of one agent. */
  maxPerAgent: number;
  /** A session unused for this long is closed. */
  idleMs: number;
  /** Warm processes plus the machine's other use may not push used memory past this share of the total (0-1). */
  memoryShare: number;
  /** One process's memory (MB) for admission, instead of the measured average of the driver's warm processes or its estimate. */
  processMemoryMb: number | undefined;
  /** How long a start refused for memory waits for a busy session to become idle before it fails. */
  admissionWaitMs: number;
}

export const DEFAULT_SESSION_POOL_OPTIONS: SessionPoolOptions = {
  maxTotal: 16,
  maxPerAgent: 4,
  idleMs: 15 * 60_000,
  memoryShare: 0.6,
  processMemoryMb: undefined,
  admissionWaitMs: 30_000,
};

/** The machine's memory in bytes: total and available (what new processes can use without swapping). */
export interface MachineMemory {
  totalBytes: number;
  availableBytes: number;
}

/** /proc/meminfo's MemTotal and MemAvailable; elsewhere os.totalmem()/freemem(). */
function readMachineMemory(): MachineMemory {
  try {
    const info = readFileSync('/proc/meminfo', 'utf8');
    const total = /^MemTotal:\s+(\d+)\s+kB/m.exec(info);
    const available = /^MemAvailable:\s+(\d+)\s+kB/m.exec(info);
    if (total && available) return { totalBytes: Number(total[1]) * 1024, availableBytes: Number(available[1]) * 1024 };
  } catch {
    // not Linux
  }
  return { totalBytes: totalmem(), availableBytes: freemem() };
}

export interface PoolKey {
  agentId: string;
  sessionKey: string;
}

export interface AcquireOptions extends PoolKey {
  /** The driver's name (`claude`): admission's measured average and messages. */
  driver: string;
  /** The driver's estimate of one process (MB), before the pool has measured one of its processes. */
  memoryEstimateMb: number;
  fingerprint: string;
  /** The session the request continues; undefined: a new one. */
  resumeId: string | undefined;
  /** A retry of a failed attempt: never reuse a warm process. */
  retry: boolean;
  signal: AbortSignal | undefined;
  /** How long the driver's start (spawn and handshake) may take. */
  startTimeoutMs: number;
  /** Starts the process; `onActivity` is its sign of life, routed to whichever lease holds it. */
  start: (hooks: { onActivity: () => void; signal: AbortSignal }) => Promise<WarmSession>;
}

export interface PoolLease {
  readonly session: WarmSession;
  /** How many turns this process has been given before this one (0: it was started for this lease). */
  readonly turnsBefore: number;
  /** Where the process's signs of life (stderr, protocol traffic between turns) go while this lease holds it. */
  onActivity(touch: () => void): void;
  /** The turn ended and the process is healthy: it stays warm for the next. */
  release(): void;
  /** The process cannot be trusted any more (hung, killed mid-turn, interrupted without an answer): close it. */
  discard(reason: string): void;
}

interface Entry extends PoolKey {
  key: string;
  driver: string;
  fingerprint: string;
  session: WarmSession;
  busy: boolean;
  turns: number;
  startedAt: number;
  lastUsed: number;
  closing: boolean;
  activity: () => void;
}

interface Starting {
  agentId: string;
  driver: string;
  estimateBytes: number;
}

export interface PoolStats {
  sessions: number;
  busy: number;
  /** Resident memory of the warm processes (bytes), where it can be read. */
  memoryBytes: number;
  byAgent: Record<string, number>;
}

/** One warm session as `GET /api/sessions` shows it. */
export interface PoolSessionInfo {
  agentId: string;
  sessionKey: string;
  driver: string;
  pid: number | undefined;
  /** The runtime's own id of the session (Claude Code session, Codex thread, ACP session), once known. */
  sessionId: string | undefined;
  busy: boolean;
  /** Turns this process has completed. */
  turns: number;
  startedAt: number;
  /** When the last turn ended (or the process started); the session is idle since then unless busy. */
  lastUsedAt: number;
  memoryBytes: number | undefined;
}

const MB = 1024 * 1024;

export class SessionPool {
  #options: SessionPoolOptions;
  readonly #entries = new Map<string, Entry>();
  /** Starts under way, counted against the caps and the memory share. */
  readonly #starting = new Map<string, Starting>();
  readonly #startsInFlight = new Set<Promise<unknown>>();
  readonly #startAborts = new Set<() => void>();
  readonly #waiters = new Set<() => void>();
  readonly #readMemory: () => MachineMemory | undefined;
  /** Bumped by closeAll: a start that began before it is closed when it arrives. */
  #generation = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: Partial<SessionPoolOptions> = {}, readMemory: () => MachineMemory | undefined = readMachineMemory) {
    this.#options = { ...DEFAULT_SESSION_POOL_OPTIONS, ...options };
    this.#readMemory = readMemory;
  }

  configure(options: Partial<SessionPoolOptions>): void {
    const defined = Object.fromEntries(Object.entries(options).filter(([name, value]) => value !== undefined || name === 'processMemoryMb'));
    this.#options = { ...this.#options, ...defined };
    if (this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      this.#ensureSweeper();
    }
    this.#wake();
  }

  get options(): SessionPoolOptions {
    return this.#options;
  }

  async acquire(opts: AcquireOptions): Promise<PoolLease> {
    const key = poolKey(opts);
    let waitedForMemorySince: number | undefined;
    for (;;) {
      if (opts.signal?.aborted) throw new InvokeError('cancelled', `Agent ${opts.agentId}: cancelled while waiting for a warm session.`);
      const entry = this.#entries.get(key);
      if (entry && !entry.closing) {
        if (entry.busy) {
          await this.#waitForChange(opts.signal);
          continue;
        }
        if (!opts.retry && entry.fingerprint === opts.fingerprint && opts.resumeId !== undefined && entry.session.sessionId === opts.resumeId) {
          entry.busy = true;
          return this.#lease(entry);
        }
        await this.#closeAndWait(entry, opts.retry ? 'a retry starts a new process' : 'its settings or session changed');
        continue;
      }
      if (this.#starting.has(key) || !this.#makeRoom(opts.agentId)) {
        await this.#waitForChange(opts.signal);
        continue;
      }
      const estimateBytes = this.#estimateBytes(opts.driver, opts.memoryEstimateMb);
      const admission = this.#admission(estimateBytes);
      if (admission) {
        const idle = this.#leastRecentlyUsedIdle(() => true);
        if (idle) {
          await this.#closeAndWait(idle, `memory: ${admission.usedPercent}% of the machine's memory is in use`);
          continue;
        }
        waitedForMemorySince ??= Date.now();
        const left = this.#options.admissionWaitMs - (Date.now() - waitedForMemorySince);
        if (left > 0 && [...this.#entries.values()].some((e) => e.busy && !e.closing)) {
          await this.#waitForChange(opts.signal, left);
          continue;
        }
        throw this.#refusal(opts, estimateBytes, admission);
      }
      return this.#startEntry(key, opts, estimateBytes);
    }
  }

  /** Over the memory share with one more process of `estimateBytes`: what it would come to; undefined: admitted. */
  #admission(estimateBytes: number): { usedPercent: number; totalBytes: number } | undefined {
    const memory = this.#readMemory();
    if (!memory || memory.totalBytes <= 0) return undefined;
    const starting = [...this.#starting.values()].reduce((sum, s) => sum + s.estimateBytes, 0);
    const after = memory.totalBytes - memory.availableBytes + starting + estimateBytes;
    if (after <= this.#options.memoryShare * memory.totalBytes) return undefined;
    return { usedPercent: Math.round((after / memory.totalBytes) * 100), totalBytes: memory.totalBytes };
  }

  #refusal(opts: AcquireOptions, estimateBytes: number, admission: { usedPercent: number; totalBytes: number }): InvokeError {
    const gib = admission.totalBytes / (1024 * MB);
    return new InvokeError(
      'retryable',
      `warm session refused: starting another ${opts.driver} (~${Math.round(estimateBytes / MB)} MB) would take memory use to ${admission.usedPercent}% of ${gib >= 10 ? Math.round(gib) : gib.toFixed(1)} GiB, above sessions.memory_share ${this.#options.memoryShare}.`,
      {
        code: 'SESSION_POOL_FULL',
        hint: 'The run is retried later. Free memory, lower sessions.max_total, raise sessions.memory_share, or run the agent with process: "per-message".',
      },
    );
  }

  /** One more process of `driver`: the override if set, else the average resident size of its warm processes, else the driver's estimate. */
  #estimateBytes(driver: string, estimateMb: number): number {
    if (this.#options.processMemoryMb !== undefined) return this.#options.processMemoryMb * MB;
    let sum = 0;
    let count = 0;
    for (const e of this.#entries.values()) {
      if (e.driver !== driver || e.closing) continue;
      const bytes = e.session.memoryBytes?.();
      if (bytes === undefined) continue;
      sum += bytes;
      count++;
    }
    if (count > 0) return sum / count;
    return estimateMb * MB;
  }

  async #startEntry(key: string, opts: AcquireOptions, estimateBytes: number): Promise<PoolLease> {
    this.#starting.set(key, { agentId: opts.agentId, driver: opts.driver, estimateBytes });
    const generation = this.#generation;
    const hooks = { activity: (): void => {} };
    const giveUp = new AbortController();
    const started = Promise.resolve().then(() => opts.start({ onActivity: () => hooks.activity(), signal: giveUp.signal }));
    this.#startsInFlight.add(started);
    const abort = (): void => giveUp.abort();
    this.#startAborts.add(abort);
    void started.finally(() => this.#startAborts.delete(abort)).catch(() => {});
    // A session that arrives after its start was given up (timeout, cancel, closeAll) is closed.
    let abandoned = false;
    void started.then(
      (session) => {
        this.#startsInFlight.delete(started);
        if (abandoned || generation !== this.#generation) void session.close('its start was given up');
      },
      () => this.#startsInFlight.delete(started),
    );
    let session: WarmSession;
    try {
      session = await raceStart(started, opts);
    } catch (err) {
      abandoned = true;
      giveUp.abort();
      throw err;
    } finally {
      this.#starting.delete(key);
      this.#wake();
    }
    if (generation !== this.#generation) throw new InvokeError('retryable', `Agent ${opts.agentId}: the session pool was closed while ${opts.driver} started.`);
    const now = Date.now();
    const entry: Entry = {
      key,
      agentId: opts.agentId,
      sessionKey: opts.sessionKey,
      driver: opts.driver,
      fingerprint: opts.fingerprint,
      session,
      busy: true,
      turns: 0,
      startedAt: now,
      lastUsed: now,
      closing: false,
      activity: () => {},
    };
    hooks.activity = () => entry.activity();
    this.#entries.set(key, entry);
    void session.exited.then(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      entry.closing = true;
      this.#wake();
    });
    this.#ensureSweeper();
    return this.#lease(entry);
  }

  #lease(entry: Entry): PoolLease {
    let done = false;
    const turnsBefore = entry.turns;
    return {
      session: entry.session,
      turnsBefore,
      onActivity: (touch) => {
        if (!done) entry.activity = touch;
      },
      release: () => {
        if (done) return;
        done = true;
        entry.activity = () => {};
        entry.busy = false;
        entry.turns++;
        entry.lastUsed = Date.now();
        this.#wake();
      },
      discard: (reason) => {
        if (done) return;
        done = true;
        entry.activity = () => {};
        entry.busy = false;
        this.#close(entry, reason);
      },
    };
  }

  /** Frees a slot for `agentId` under the caps by closing least recently used idle sessions; false when every slot is busy. */
  #makeRoom(agentId: string): boolean {
    const { maxTotal, maxPerAgent } = this.#options;
    const open = (): Entry[] => [...this.#entries.values()].filter((e) => !e.closing);
    const ofAgent = (): number => open().filter((e) => e.agentId === agentId).length + [...this.#starting.values()].filter((s) => s.agentId === agentId).length;
    const total = (): number => open().length + this.#starting.size;
    while (ofAgent() >= maxPerAgent) {
      const idle = this.#leastRecentlyUsedIdle((e) => e.agentId === agentId);
      if (!idle) return false;
      this.#close(idle, `the agent's cap of ${maxPerAgent} warm sessions was reached`);
    }
    while (total() >= maxTotal) {
      const idle = this.#leastRecentlyUsedIdle(() => true);
      if (!idle) return false;
      this.#close(idle, `the cap of ${maxTotal} warm sessions was reached`);
    }
    return true;
  }

  #leastRecentlyUsedIdle(filter: (e: Entry) => boolean): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.#entries.values()) if (!e.busy && !e.closing && filter(e) && (!best || e.lastUsed < best.lastUsed)) best = e;
    return best;
  }

  #close(entry: Entry, reason: string): Promise<void> {
    if (!entry.closing) {
      entry.closing = true;
      if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
      void entry.session
        .close(reason)
        .catch(() => {})
        .finally(() => this.#wake());
    }
    return entry.session.exited.then(() => {});
  }

  /** Closes `entry` and waits for its process to exit (its memory freed, its session written). */
  #closeAndWait(entry: Entry, reason: string): Promise<void> {
    return this.#close(entry, reason);
  }

  #waitForChange(signal: AbortSignal | undefined, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => done(), timeoutMs);
      const done = (): void => {
        this.#waiters.delete(done);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #ensureSweeper(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => this.closeIdle(), Math.max(1_000, Math.min(60_000, this.#options.idleMs / 4)));
    this.#sweeper.unref();
  }

  /** Closes sessions idle for longer than `idleMs` (the sweeper calls it). */
  closeIdle(now = Date.now()): void {
    for (const e of [...this.#entries.values()]) if (!e.busy && now - e.lastUsed >= this.#options.idleMs) this.#close(e, 'idle');
    if (this.#entries.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /**
   * Closes the sessions of one agent, or one session of it (`tinyagi agent reset`, an agent
   * removed, `tinyagi sessions --close`), busy ones too (their turn fails and is retried on a
   * new process); resolves when their processes have exited. Returns how many were closed.
   */
  async closeAgent(agentId: string, sessionKey?: string, reason = 'reset'): Promise<number> {
    const closing = [...this.#entries.values()].filter((e) => e.agentId === agentId && (sessionKey === undefined || e.sessionKey === sessionKey));
    await Promise.all(closing.map((e) => this.#close(e, reason)));
    return closing.length;
  }

  /** Closes every session (and any that is still starting) and waits for the processes to exit (daemon stop). */
  async closeAll(reason = 'the daemon is stopping'): Promise<void> {
    this.#generation++;
    for (const abort of this.#startAborts) abort();
    const closing = [...this.#entries.values()].map((e) => this.#close(e, reason));
    const starts = [...this.#startsInFlight].map((p) =>
      p.then(
        (s) => (s as WarmSession).exited,
        () => undefined,
      ),
    );
    await Promise.all([...closing, ...starts]);
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#wake();
  }

  list(): PoolSessionInfo[] {
    return [...this.#entries.values()]
      .filter((e) => !e.closing)
      .map((e) => ({
        agentId: e.agentId,
        sessionKey: e.sessionKey,
        driver: e.driver,
        pid: e.session.pid,
        sessionId: e.session.sessionId,
        busy: e.busy,
        turns: e.turns,
        startedAt: e.startedAt,
        lastUsedAt: e.lastUsed,
        memoryBytes: e.session.memoryBytes?.(),
      }));
  }

  stats(): PoolStats {
    const byAgent: Record<string, number> = {};
    let busy = 0;
    let memoryBytes = 0;
    const sessions = this.list();
    for (const s of sessions) {
      byAgent[s.agentId] = (byAgent[s.agentId] ?? 0) + 1;
      if (s.busy) busy++;
      memoryBytes += s.memoryBytes ?? 0;
    }
    return { sessions: sessions.length, busy, memoryBytes, byAgent };
  }
}

/** The driver's start, bounded by the start timeout and the request's signal. */
function raceStart(started: Promise<WarmSession>, opts: AcquireOptions): Promise<WarmSession> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new InvokeError('timeout', `${opts.driver} (agent ${opts.agentId}) did not complete its start within ${Math.round(opts.startTimeoutMs / 1000)} s.`, {
            hint: 'A warm process that does not answer its handshake is closed; the run is retried with a new one.',
          }),
        ),
      opts.startTimeoutMs,
    );
    const onAbort = (): void => reject(new InvokeError('cancelled', `Agent ${opts.agentId}: cancelled while ${opts.driver} started.`));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    started.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    });
  });
}

function poolKey(k: PoolKey): string {
  return `${k.agentId}\u0000${k.sessionKey}`;
}

/** The daemon's pool (configured from settings' `sessions` block at start and reload, closed at stop). */
export const sessionPool = new SessionPool();
