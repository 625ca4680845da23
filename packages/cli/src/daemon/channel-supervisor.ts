/**
 * Supervises one child process per enabled channel (a registered channel kind, core's
 * `channelKinds`: docs/kinds.md). Each child is a client of the local API (it gets TINYAGI_API_URL and, as TINYAGI_API_TOKEN, a token scoped
 * to its own channel — never the API token), logs to
 * `logs/<channel>.log`, and is restarted with exponential backoff when it exits. With no
 * channel runner installed, enabled channels are reported as `not_installed`, never as running.
 *
 * A channel's state (docs/channels.md#channel-states) is `connecting` from its start until the
 * platform answered, `connected` once the runner says so (its `<time> STATUS connected` line:
 * Telegram's getMe and a poll, Discord's READY, Slack's hello, WhatsApp's open), `reconnecting`
 * with the attempt and the last error when the runner says its connection failed
 * (`STATUS reconnecting <attempt> <error>`) or its process exited and waits to be restarted,
 * `rejected` when the platform refused its credentials (`STATUS rejected …`, or the exit code
 * CHANNEL_EXIT_REJECTED): not restarted, since trying again cannot help, until a change of the
 * settings (reconcile) or `tinyagi channel start|restart` launches it again; `stopped` when stopped on purpose and `disabled` once it is no longer enabled. Only the
 * platform's answer makes it `connected`: a process that runs is not.
 *
 * The runner is found as `TINYAGI_CHANNEL_RUNNER` (a script path) or the `@tinyagi/channels/runner`
 * module, started as `node <runner> <channel>`. Its environment is PATH, HOME, LANG, TZ and
 * NODE_OPTIONS, plus what the channel's kind names: the variables bound to its settings (its bot
 * token) and its `processEnv`, and TINYAGI_CHANNEL_MODULE for a kind whose adapter lives outside
 * @tinyagi/channels (`adapterModule`). A channel whose kind is not registered is not started. It is resolved with a `require` made for this
 * file: `import.meta.resolve` does not exist in the daemon's start-up snapshot (a CommonJS
 * bundle), where this file's URL reads as dist/chunks/daemon.js. When it cannot be found, the
 * channel's status says why (`detail`), and so does `tinyagi doctor`.
 *
 * Rows a channel process had claimed (leased) when it died are handed back at once instead of
 * waiting out the lease (`handBack`): when a child exits, its own; when a channel starts, those
 * of earlier processes of that channel on this machine that are gone (a previous daemon's
 * channel, which exits within a second of its daemon). The lease owner names the host and pid
 * (`channel:<name>:<host>:<pid>`, @tinyagi/channels host.ts), so another node's leases are left
 * alone.
 *
 * Every state change is recorded as a `channel.status` event (channel, state, previous state,
 * and the exit code, signal or error of a crash), so a crashing channel is visible on the event
 * stream and in the activity log, not only in `GET /api/channels`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { channelKinds, errorMessage } from '@tinyagi/core';
import { processExists, type Env, type EventLogApi, type EventPayloadInput } from '../core-internal.ts';
import { CHANNEL_EXIT_REJECTED, type ChannelState } from '@tinyagi/client';
import type { Logger } from './logger.ts';
import { RotatingLog } from './rotating-log.ts';
import { childExecArgv } from './launch.ts';

export type { ChannelState };

export interface ChannelStatus {
  name: string;
  enabled: boolean;
  state: ChannelState;
  /** While `reconnecting`: the attempt (1 for the first after a failure); 0 otherwise. */
  attempt: number;
  pid: number | null;
  restarts: number;
  startedAt: number | null;
  lastExit: { code: number | null; signal: string | null; at: number } | null;
  nextRestartAt: number | null;
  logFile: string;
  detail?: string;
}

export interface ChannelSupervisorOptions {
  logsDir: string;
  env: Env;
  /** Environment a channel child gets on top of PATH/HOME (API URL, its channel-scoped token, home). */
  childEnv(channel: string): Record<string, string>;
  logger: Logger;
  /** Backoff bounds (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A child that ran this long resets its backoff. */
  stableAfterMs?: number;
  /** Where `channel.status` events go. */
  events?: Pick<EventLogApi, 'append'>;
  /** Finds the runner (default: findChannelRunner). */
  resolveRunner?: (env: Env) => RunnerLookup;
  /**
   * Makes the rows of `channel` leased by an owner `gone` accepts deliverable again now (and
   * wakes the channel); returns how many. Without it, they wait for their lease to run out.
   */
  handBack?: (channel: string, gone: (owner: string) => boolean) => Promise<number>;
  /** How long a channel start waits at most for an earlier process of it to exit before handing back its rows. */
  orphanWaitMs?: number;
}

/** The pid of a lease owner of `channel` on this machine (`channel:<name>:<host>:<pid>`, or the older `channel:<name>:<pid>`). */
export function localLeasePid(owner: string, channel: string): number | undefined {
  const m = /^channel:([^:]+):(?:(.+):)?(\d+)$/.exec(owner);
  if (m === null || m[1] !== channel || (m[2] !== undefined && m[2] !== hostname())) return undefined;
  return Number(m[3]);
}

/** What every channel process gets of the daemon's environment (its kind adds its own variables). */
const BASE_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'NODE_OPTIONS'];

/** The channel runner's path, or why there is none. */
export type RunnerLookup = { path: string } | { error: string };

/** Where the channel runner is: TINYAGI_CHANNEL_RUNNER, else @tinyagi/channels next to the CLI. */
export function findChannelRunner(env: Env): RunnerLookup {
  const configured = env['TINYAGI_CHANNEL_RUNNER'];
  if (configured !== undefined && configured !== '') {
    return existsSync(configured) ? { path: configured } : { error: `TINYAGI_CHANNEL_RUNNER names ${configured}, which does not exist` };
  }
  try {
    return { path: createRequire(import.meta.url).resolve('@tinyagi/channels/runner') };
  } catch (err) {
    return { error: `no channel runner is installed: @tinyagi/channels cannot be found next to the CLI (${errorMessage(err).split('\n')[0]})` };
  }
}

interface Slot {
  status: ChannelStatus;
  child?: ChildProcess;
  log?: RotatingLog;
  timer?: NodeJS.Timeout;
  /** Set while stopping on purpose: the exit is not a crash. */
  stopping?: Promise<void>;
  /** Processes that exited without having connected since the channel last was `connected`. */
  failures: number;
}

/** A runner's report of its platform connection: `<time> STATUS connected` or `<time> STATUS reconnecting|rejected <attempt> <error>`. */
const STATUS_LINE = /^\S+ STATUS (connected|reconnecting|rejected)(?: (\d+))?(?: (.+))?$/;

export class ChannelSupervisor {
  readonly #options: ChannelSupervisorOptions;
  readonly #slots = new Map<string, Slot>();

  constructor(options: ChannelSupervisorOptions) {
    this.#options = options;
  }

  /** Starts enabled channels that are not running and stops the ones no longer enabled. */
  reconcile(enabled: readonly string[]): void {
    for (const name of enabled) {
      const slot = this.#slot(name);
      slot.status.enabled = true;
      if (slot.child === undefined && slot.timer === undefined) this.#launch(name);
    }
    for (const [name, slot] of this.#slots) {
      if (enabled.includes(name)) continue;
      slot.status.enabled = false;
      void this.stop(name);
    }
  }

  status(): ChannelStatus[] {
    return [...this.#slots.values()].map((s) => ({ ...s.status }));
  }

  start(name: string): ChannelStatus {
    const slot = this.#slot(name);
    if (slot.child === undefined) {
      // A restart waiting out its backoff goes now instead.
      clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.status.nextRestartAt = null;
      this.#launch(name);
    }
    return { ...slot.status };
  }

  async restart(name: string): Promise<ChannelStatus> {
    await this.stop(name);
    return this.start(name);
  }

  async stop(name: string, graceMs = 5000): Promise<ChannelStatus> {
    const slot = this.#slot(name);
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.status.nextRestartAt = null;
    const child = slot.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      slot.stopping ??= new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      });
      await slot.stopping;
    }
    slot.status.attempt = 0;
    if (!slot.status.enabled) this.#setState(name, 'disabled');
    else if (slot.status.state !== 'not_installed') this.#setState(name, 'stopped');
    return { ...slot.status };
  }

  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all([...this.#slots.keys()].map((name) => this.stop(name, graceMs)));
    for (const slot of this.#slots.values()) slot.log?.close();
  }

  #slot(name: string): Slot {
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = {
        status: {
          name,
          enabled: false,
          state: 'disabled',
          attempt: 0,
          pid: null,
          restarts: 0,
          startedAt: null,
          lastExit: null,
          nextRestartAt: null,
          logFile: join(this.#options.logsDir, `${name}.log`),
        },
        failures: 0,
      };
      this.#slots.set(name, slot);
    }
    return slot;
  }

  #launch(name: string): void {
    const slot = this.#slot(name);
    const found = (this.#options.resolveRunner ?? findChannelRunner)(this.#options.env);
    if ('error' in found) {
      if (slot.status.state !== 'not_installed') this.#options.logger.error(`channel ${name} cannot start: ${found.error}`);
      slot.status.detail = found.error;
      this.#setState(name, 'not_installed', { error: found.error });
      return;
    }
    const runner = found.path;
    const kind = channelKinds.get(name);
    if (kind === undefined) {
      const error = `no channel kind "${name}" is registered in this daemon (known: ${channelKinds.names().join(', ') || 'none'})`;
      if (slot.status.state !== 'not_installed') this.#options.logger.error(`channel ${name} cannot start: ${error}`);
      slot.status.detail = error;
      this.#setState(name, 'not_installed', { error });
      return;
    }
    // A restart after a failure keeps its last error until the platform answers.
    if (slot.status.state !== 'reconnecting') delete slot.status.detail;
    slot.stopping = undefined;
    slot.log ??= new RotatingLog({ file: slot.status.logFile });
    const log = slot.log;
    const env: Record<string, string> = {};
    for (const key of [...BASE_ENV, ...kind.env.map((e) => e.variable), ...kind.processEnv]) {
      const value = this.#options.env[key];
      if (value !== undefined) env[key] = value;
    }
    if (kind.adapterModule !== undefined) env['TINYAGI_CHANNEL_MODULE'] = kind.adapterModule;
    try {
      // The daemon's pid: the runner exits when it is no longer its parent (an orphan must not poll).
      Object.assign(env, this.#options.childEnv(name), { TINYAGI_CHANNEL: name, TINYAGI_DAEMON_PID: String(process.pid) });
    } catch (err) {
      slot.status.detail = errorMessage(err);
      this.#setState(name, 'stopped', { error: slot.status.detail });
      return;
    }
    let child: ChildProcess;
    try {
      // stdin stays open and unwritten: the runner reads its end as "the daemon is gone" (TINYAGI_DAEMON_STDIN).
      child = spawn(process.execPath, [...childExecArgv(process.execArgv), runner, name], { env: { ...env, TINYAGI_DAEMON_STDIN: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      this.#crashed(name, null, null, errorMessage(err));
      return;
    }
    slot.child = child;
    void this.#handBackOrphans(name, child);
    slot.status.startedAt = Date.now();
    slot.status.pid = child.pid ?? null;
    // A restart after a failure stays `reconnecting` (with its attempt and error) until the platform answers.
    if (slot.status.state !== 'reconnecting') this.#setState(name, 'connecting');
    // The last ERROR line the runner wrote (`<time> ERROR <message>`): a crash's status says why.
    let lastError: string | undefined;
    const output = (): ((chunk: Buffer) => void) => {
      let partial = '';
      return (chunk) => {
        log.write(chunk);
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          lastError = /^\S+ ERROR (.+)$/.exec(line)?.[1] ?? lastError;
          const status = STATUS_LINE.exec(line);
          if (status !== null && slot.child === child) this.#reported(name, status[1] as 'connected' | 'reconnecting' | 'rejected', Number(status[2] ?? 1), status[3]);
        }
      };
    };
    child.stdout?.on('data', output());
    child.stderr?.on('data', output());
    child.once('spawn', () => this.#options.logger.info(`channel ${name} started (pid ${child.pid})`));
    child.once('error', (err) => this.#options.logger.error(`channel ${name}: ${errorMessage(err)}`));
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) this.#handBack(name, (pid) => pid === child.pid);
      if (slot.child !== child) return;
      slot.child = undefined;
      slot.status.pid = null;
      slot.status.lastExit = { code, signal, at: Date.now() };
      if (slot.stopping !== undefined || !slot.status.enabled) {
        this.#setState(name, slot.status.enabled ? 'stopped' : 'disabled', { exitCode: code, signal });
        return;
      }
      if (code === CHANNEL_EXIT_REJECTED || slot.status.state === 'rejected') return this.#rejected(name, code, slot.status.state === 'rejected' ? slot.status.detail : lastError);
      this.#crashed(name, code, signal, lastError);
    });
  }

  /** The runner's report of its platform connection (`attempt`: its own failures in a row since it started). */
  #reported(name: string, state: 'connected' | 'reconnecting' | 'rejected', attempt: number, error: string | undefined): void {
    const slot = this.#slot(name);
    if (state === 'rejected') {
      // Its process exits next; the state is said now.
      if (error !== undefined) slot.status.detail = error;
      this.#setState(name, 'rejected', error !== undefined ? { error } : {});
      return;
    }
    if (state === 'connected') {
      slot.failures = 0;
      slot.status.attempt = 0;
      delete slot.status.detail;
      this.#setState(name, 'connected');
      return;
    }
    slot.status.attempt = slot.failures + attempt;
    if (error !== undefined) slot.status.detail = error;
    this.#setState(name, 'reconnecting', { ...(error !== undefined ? { error } : {}), attempt: slot.status.attempt }, true);
  }

  /** Hands back the rows of `name` whose owner on this machine `gone(pid)` accepts. */
  #handBack(name: string, gone: (pid: number) => boolean): Promise<number> {
    const handBack = this.#options.handBack;
    if (handBack === undefined) return Promise.resolve(0);
    return handBack(name, (owner) => {
      const pid = localLeasePid(owner, name);
      return pid !== undefined && gone(pid);
    }).then(
      (n) => {
        if (n > 0) this.#options.logger.info(`channel ${name}: handed back ${n} ${n === 1 ? 'reply' : 'replies'} an exited channel process had claimed`);
        return n;
      },
      (err: unknown) => {
        this.#options.logger.warn(`channel ${name}: could not hand back the replies of an exited process (their leases run out instead): ${errorMessage(err)}`);
        return 0;
      },
    );
  }

  /**
   * At a channel's start: the rows earlier processes of it held. A dead one's go back at once; a
   * live one (the channel of a daemon that just died, stopping) is waited for, briefly.
   */
  async #handBackOrphans(name: string, child: ChildProcess): Promise<void> {
    const others = (pid: number): boolean => pid !== child.pid && pid !== process.pid;
    const alive = new Set<number>();
    await this.#handBack(name, (pid) => {
      if (!others(pid)) return false;
      if (processExists(pid)) alive.add(pid);
      return !alive.has(pid);
    });
    const until = Date.now() + (this.#options.orphanWaitMs ?? 15_000);
    while (alive.size > 0 && Date.now() < until && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const gone = [...alive].filter((pid) => !processExists(pid));
      if (gone.length === 0) continue;
      for (const pid of gone) alive.delete(pid);
      await this.#handBack(name, (pid) => gone.includes(pid));
    }
  }

  /** Changes a channel's state and records the transition (no event when the state is unchanged, unless `always`: a new attempt). */
  #setState(name: string, state: ChannelState, data: Omit<EventPayloadInput<'channel.status'>, 'channel' | 'state' | 'previous' | 'pid'> = {}, always = false): void {
    const slot = this.#slot(name);
    const previous = slot.status.state;
    slot.status.state = state;
    const events = this.#options.events;
    if ((previous === state && !always) || events === undefined) return;
    // append, not the buffered emit: a transition during shutdown must not flush after the database closed.
    // (On SQLite the append runs synchronously inside the async function; its failure is logged either way.)
    const record = async (): Promise<unknown> => events.append({ type: 'channel.status', data: { channel: name, state, previous, pid: slot.status.pid, ...data } });
    record().catch((err: unknown) => this.#options.logger.error(`channel ${name}: could not record its state (${state}): ${errorMessage(err)}`));
  }

  /** Its process exited because the platform refused its credentials: it stays `rejected`, with no restart planned. */
  #rejected(name: string, code: number | null, detail: string | undefined): void {
    const slot = this.#slot(name);
    slot.failures = 0;
    slot.status.attempt = 0;
    slot.status.detail = detail ?? 'the platform refused its credentials';
    this.#setState(name, 'rejected', { exitCode: code, error: slot.status.detail });
    this.#options.logger.error(`channel ${name}: ${slot.status.detail}. Not restarted until its settings change or \`tinyagi channel start ${name}\`.`);
  }

  #crashed(name: string, code: number | null, signal: string | null, detail?: string): void {
    const slot = this.#slot(name);
    const ranFor = slot.status.startedAt === null ? 0 : Date.now() - slot.status.startedAt;
    if (ranFor >= (this.#options.stableAfterMs ?? 60_000)) slot.status.restarts = 0;
    const min = this.#options.minBackoffMs ?? 1000;
    const max = this.#options.maxBackoffMs ?? 60_000;
    const delay = Math.min(max, min * 2 ** slot.status.restarts);
    slot.status.restarts += 1;
    slot.status.nextRestartAt = Date.now() + delay;
    // The attempts its process reported count too (a process that failed 3 times in itself, then exited: attempt 4).
    slot.failures = (slot.status.state === 'reconnecting' ? slot.status.attempt : slot.failures) + 1;
    slot.status.attempt = slot.failures;
    slot.status.detail = detail ?? `its process exited (code ${code ?? '-'}, signal ${signal ?? '-'})`;
    this.#setState(
      name,
      'reconnecting',
      {
        crashed: true,
        exitCode: code,
        signal,
        ...(detail !== undefined ? { error: detail } : {}),
        restarts: slot.status.restarts,
        attempt: slot.status.attempt,
        nextRestartAt: slot.status.nextRestartAt,
      },
      true,
    );
    this.#options.logger.warn(`channel ${name} exited (code ${code ?? '-'}, signal ${signal ?? '-'}); restarting in ${delay} ms`);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      slot.status.nextRestartAt = null;
      if (slot.status.enabled) this.#launch(name);
    }, delay);
    slot.timer.unref();
  }
}
