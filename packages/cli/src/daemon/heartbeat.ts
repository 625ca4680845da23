/**
 * The heartbeat scheduler: wakes each agent every `heartbeat.interval` seconds (per agent, else
 * `monitoring.heartbeat_interval`, default 3600) with the contents of its heartbeat.md.
 *
 * Rules (the reference computed one timer at startup and woke everyone regardless):
 * - Intervals, enabled flags and quiet hours are read live from settings on every tick.
 * - An agent that already has pending or processing work is skipped (no pile-up): it is awake.
 * - An agent whose heartbeat.md is empty is not woken (nothing to check).
 * - During quiet hours nothing is sent; what falls due is sent when they end.
 * - Last-sent times live in memory; after a daemon start the first heartbeat comes one interval
 *   later.
 * - With several nodes each node wakes only the agents `sendsTo` gives it (node.ts: those placed
 *   on it, and the leading node those on no node), so an agent is woken once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, type Settings } from '@tinyagi/core';
import { agentDefaults, agentWorkspaceDir, WORKSPACE_PATHS, type Env } from '../core-internal.ts';
import type { Logger } from './logger.ts';
import { inQuietHours, parseQuietHours, quietHoursEnd, type QuietHours } from './quiet-hours.ts';

export const DEFAULT_HEARTBEAT_PROMPT = 'Heartbeat check: is there unfinished work or a problem that needs attention now? If not, reply with one short sentence.';

/** Longest sleep between ticks, so edited intervals take effect without a restart. */
const MAX_SLEEP_MS = 30_000;

export interface HeartbeatStatus {
  agentId: string;
  enabled: boolean;
  intervalS: number;
  lastSentAt: number | null;
  nextAt: number | null;
  lastSkip?: string;
}

export interface HeartbeatSchedulerOptions {
  getSettings(): Settings;
  /** The agents this node wakes (default: every agent). */
  sendsTo?: (agentId: string) => boolean;
  env: Env;
  /** Agents with pending or processing messages. */
  busyAgents(): Promise<ReadonlySet<string>>;
  /** Enqueues the heartbeat (kind 'heartbeat'); returns the message id. */
  send(agentId: string, content: string): Promise<string>;
  /** Called after a heartbeat was enqueued (the daemon emits `heartbeat.sent`). */
  onSent(agentId: string, messageId: string): unknown;
  logger: Logger;
  now?: () => number;
}

export class HeartbeatScheduler {
  readonly #options: HeartbeatSchedulerOptions;
  readonly #lastSent = new Map<string, number>();
  readonly #lastSkip = new Map<string, string>();
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #ticking: Promise<void> | undefined;
  #warnedQuiet: string | undefined;

  constructor(options: HeartbeatSchedulerOptions) {
    this.#options = options;
    this.#startedAt = this.#now();
  }

  start(): void {
    this.#running = true;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#ticking;
  }

  /** Settings changed: re-plan the next wake-up now. */
  replan(): void {
    if (this.#running) this.#schedule(0);
  }

  status(): HeartbeatStatus[] {
    const settings = this.#options.getSettings();
    const mine = this.#options.sendsTo ?? (() => true);
    return Object.entries(settings.agents ?? {})
      .filter(([agentId]) => mine(agentId))
      .map(([agentId, agent]) => {
        const hb = agentDefaults(agent, settings).heartbeat;
        const last = this.#lastSent.get(agentId) ?? null;
        const skip = this.#lastSkip.get(agentId);
        return {
          agentId,
          enabled: hb.enabled,
          intervalS: hb.interval,
          lastSentAt: last,
          nextAt: hb.enabled ? (last ?? this.#startedAt) + hb.interval * 1000 : null,
          ...(skip !== undefined ? { lastSkip: skip } : {}),
        };
      });
  }

  /** One pass: sends every heartbeat that is due. Exposed for tests and `tinyagi heartbeat --now`. */
  async tick(): Promise<void> {
    const settings = this.#options.getSettings();
    const now = this.#now();
    const quiet = this.#quietHours(settings);
    if (quiet !== undefined && inQuietHours(quiet, new Date(now))) return;
    const due = this.status().filter((s) => s.enabled && s.nextAt !== null && s.nextAt <= now);
    if (due.length === 0) return;
    const busy = await this.#options.busyAgents();
    for (const { agentId } of due) {
      // Counted as a heartbeat period either way, so a busy agent is not retried every tick.
      this.#lastSent.set(agentId, now);
      if (busy.has(agentId)) {
        this.#skip(agentId, 'agent already has work queued or running');
        continue;
      }
      try {
        const content = await this.#prompt(settings, agentId);
        if (content === undefined) {
          this.#skip(agentId, 'heartbeat.md is empty');
          continue;
        }
        const messageId = await this.#options.send(agentId, content);
        this.#lastSkip.delete(agentId);
        await this.#options.onSent(agentId, messageId);
      } catch (err) {
        this.#skip(agentId, `could not enqueue: ${errorMessage(err)}`);
        this.#options.logger.warn(`heartbeat for ${agentId} failed: ${errorMessage(err)}`);
      }
    }
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  #skip(agentId: string, reason: string): void {
    this.#lastSkip.set(agentId, reason);
  }

  #quietHours(settings: Settings): QuietHours | undefined {
    const parsed = parseQuietHours((settings.monitoring as Record<string, unknown> | undefined)?.['quiet_hours']);
    if (typeof parsed === 'string') {
      if (this.#warnedQuiet !== parsed) this.#options.logger.warn(`${parsed}; quiet hours are ignored`);
      this.#warnedQuiet = parsed;
      return undefined;
    }
    return parsed;
  }

  async #prompt(settings: Settings, agentId: string): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(join(agentWorkspaceDir(settings, agentId, this.#options.env), WORKSPACE_PATHS.heartbeatMd), 'utf8');
    } catch {
      return DEFAULT_HEARTBEAT_PROMPT;
    }
    return text.trim() === '' ? undefined : text.trim();
  }

  #nextWake(): number {
    const now = this.#now();
    const settings = this.#options.getSettings();
    const next = Math.min(...this.status().flatMap((s) => (s.nextAt === null ? [] : [s.nextAt])));
    let at = Number.isFinite(next) ? Math.max(next, now) : now + MAX_SLEEP_MS;
    const quiet = this.#quietHours(settings);
    if (quiet !== undefined) at = Math.max(at, quietHoursEnd(quiet, new Date(at)).getTime());
    return Math.min(at - now, MAX_SLEEP_MS);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#ticking = this.tick()
        .catch((err: unknown) => this.#options.logger.error(`heartbeat tick failed: ${errorMessage(err)}`))
        .finally(() => {
          this.#ticking = undefined;
          if (this.#running) this.#schedule(this.#nextWake());
        });
    }, delayMs);
    this.#timer.unref();
  }
}
