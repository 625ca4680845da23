/**
 * A warm driver for bin/fake-warm (the session pool's tests, the warm-session e2e test and B0's
 * warm column): a real subprocess per session speaking a tiny JSON-lines protocol, driven the
 * way core's WarmDriver contract asks (packages/core/src/invoker/warm/types.ts). Structurally a
 * `WarmDriver` — it imports nothing from core, so a plugin module in TINYAGI_HOME/kinds/ can
 * bring it to a built daemon, which proves plugins can bring warm drivers.
 *
 * Run epochs: every turn carries an id; a line for another id (a stopped turn's late answer) is
 * dropped. `epochs: false` makes a naive driver that settles the running turn with any result,
 * for the test that shows the pool never lets a stale process reach a later turn.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const FAKE_WARM_BIN = fileURLToPath(new URL('../bin/fake-warm', import.meta.url));

// The parts of core's types this driver uses (structural: core's WarmDriver accepts it).
interface Req {
  agentId: string;
  prompt: string;
  cwd: string;
  target: { command?: string; model?: string; killGraceMs?: number };
  env?: Record<string, string>;
}
interface Usage {
  inputTokens: number;
  outputTokens: number;
}
interface Result {
  text: string;
  sessionId?: string;
  usage?: Usage;
}
type Progress = { type: 'text'; text: string } | { type: 'status'; message: string };
interface Turn {
  prompt: string;
  emit: (event: Progress) => void;
  activity: () => void;
}
interface StartOptions {
  req: Req;
  resumeId: string | undefined;
  env: Record<string, string>;
  what: string;
  onActivity: () => void;
  signal?: AbortSignal;
}

export interface FakeWarmDriverOptions {
  /** false: a naive driver without run epochs (settles the running turn with any result). */
  epochs?: boolean;
  memoryEstimateMb?: number;
  /** Extra variables for the process (FAKE_WARM_*). */
  env?: Record<string, string>;
}

class TurnFailed extends Error {
  readonly kind = 'retryable';
  readonly code = 'INVOKE_FAILED';
}

export class FakeWarmSession {
  readonly #child: ChildProcess;
  readonly #epochs: boolean;
  #sessionId: string | undefined;
  #epoch = 0;
  #running: { id: number; turn: Turn; resolve: (r: Result) => void; reject: (e: Error) => void } | undefined;
  #ready: ((session: string) => void) | undefined;
  #exit: { code: number | undefined; signal: string | undefined } | undefined;
  #stderr = '';
  readonly exited: Promise<{ code: number | undefined; signal: string | undefined }>;

  constructor(child: ChildProcess, epochs: boolean, onActivity: () => void) {
    this.#child = child;
    this.#epochs = epochs;
    child.stdin?.on('error', () => {});
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      onActivity();
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      onActivity();
      this.#line(line);
    });
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.#exit = { code: code ?? undefined, signal: signal ?? undefined };
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is gone already
        }
        const running = this.#running;
        this.#running = undefined;
        running?.reject(new TurnFailed(`fake-warm exited mid-turn (code ${code}, signal ${signal}): ${this.#stderr.trim()}`));
        resolve(this.#exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  ready(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new TurnFailed('fake-warm: the start was given up')), { once: true });
      const timer = setTimeout(() => reject(new TurnFailed(`fake-warm did not say ready within ${timeoutMs} ms`)), timeoutMs);
      this.#ready = (session) => {
        clearTimeout(timer);
        this.#sessionId = session;
        resolve();
      };
      void this.exited.then((exit) => {
        clearTimeout(timer);
        reject(new TurnFailed(`fake-warm exited before it was ready (code ${exit.code}): ${this.#stderr.trim()}`));
      });
    });
  }

  #line(line: string): void {
    let msg: { ev?: string; id?: number; text?: string; session?: string; usage?: { input: number; output: number } };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    if (msg.ev === 'ready') {
      this.#ready?.(String(msg.session));
      this.#ready = undefined;
      return;
    }
    const running = this.#running;
    if (!running) return;
    // A line of another turn (a stopped turn's late answer) belongs to no running turn: dropped.
    if (this.#epochs && msg.id !== running.id) return;
    running.turn.activity();
    if (msg.ev === 'text' && msg.text) running.turn.emit({ type: 'text', text: msg.text });
    else if (msg.ev === 'steered') running.turn.emit({ type: 'status', message: `steered: ${msg.text}` });
    else if (msg.ev === 'result') {
      this.#running = undefined;
      if (msg.session) this.#sessionId = msg.session;
      running.resolve({ text: String(msg.text), sessionId: this.#sessionId, usage: { inputTokens: msg.usage?.input ?? 0, outputTokens: msg.usage?.output ?? 0 } });
    } else if (msg.ev === 'interrupted') {
      this.#running = undefined;
      running.reject(Object.assign(new Error('the turn was interrupted'), { kind: 'cancelled', code: 'INVOKE_CANCELLED' }));
    }
  }

  turn(turn: Turn): Promise<Result> {
    if (this.#exit) return Promise.reject(new TurnFailed('fake-warm has exited'));
    if (this.#running) return Promise.reject(new Error('fake-warm: a turn is already running'));
    const id = ++this.#epoch;
    return new Promise((resolve, reject) => {
      this.#running = { id, turn, resolve, reject };
      this.#write({ op: 'turn', id, prompt: turn.prompt });
    });
  }

  async steer(text: string): Promise<boolean> {
    if (!this.#running) return false;
    return this.#write({ op: 'steer', text });
  }

  async interrupt(): Promise<boolean> {
    if (!this.#running) return true;
    return this.#write({ op: 'interrupt' });
  }

  async close(_reason: string): Promise<void> {
    if (this.#exit) return;
    this.#child.stdin?.end();
    const pid = this.#child.pid;
    const term = setTimeout(() => {
      try {
        if (pid) process.kill(-pid, 'SIGTERM');
      } catch {
        // gone
      }
    }, 1_000);
    await this.exited;
    clearTimeout(term);
  }

  memoryBytes(): number | undefined {
    const pid = this.#child.pid;
    if (!pid || this.#exit) return undefined;
    try {
      const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return rss ? Number(rss[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  #write(msg: object): boolean {
    const stdin = this.#child.stdin;
    if (this.#exit || !stdin || !stdin.writable) return false;
    stdin.write(`${JSON.stringify(msg)}\n`);
    return true;
  }
}

export function fakeWarmDriver(options: FakeWarmDriverOptions = {}) {
  return {
    binary: 'fake-warm',
    installHint: 'it is packages/test-kit/bin/fake-warm',
    capabilities: { steersMidTurn: true, interrupts: true, pausePoint: null },
    memoryEstimateMb: options.memoryEstimateMb ?? 40,
    fingerprint: (req: Req) => JSON.stringify([req.target.command ?? FAKE_WARM_BIN, req.target.model ?? '', req.cwd]),
    async start(opts: StartOptions): Promise<FakeWarmSession> {
      const command = opts.req.target.command ?? FAKE_WARM_BIN;
      const args = opts.resumeId ? ['--resume', opts.resumeId] : [];
      const child = spawn(command, args, { cwd: opts.req.cwd, env: { ...opts.env, ...options.env }, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      const session = new FakeWarmSession(child, options.epochs !== false, opts.onActivity);
      await session.ready(30_000, opts.signal).catch(async (err: unknown) => {
        await session.close('no handshake');
        throw err;
      });
      return session;
    },
  };
}

/** One turn of bin/fake-warm run as a spawned CLI (`--once`): the per-message runtime beside the warm one. */
export async function fakeWarmOnce(req: Req & { session?: { resumeId?: string | null | undefined } | undefined }, env: Record<string, string> = {}): Promise<Result> {
  const command = req.target.command ?? FAKE_WARM_BIN;
  const args = ['--once', ...(req.session?.resumeId ? ['--resume', req.session.resumeId] : []), req.prompt];
  const child = spawn(command, args, { cwd: req.cwd, env: { ...process.env, ...req.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new TurnFailed(`fake-warm --once exited ${code}: ${stderr.trim()}`);
  const msg = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { text: string; session: string; usage: { input: number; output: number } };
  return { text: msg.text, sessionId: msg.session, usage: { inputTokens: msg.usage.input, outputTokens: msg.usage.output } };
}
