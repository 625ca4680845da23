/**
 * Quota-aware scheduling (docs/quotas.md). A runtime that says its
 * account is exhausted (`InvokeRequest.onQuota` with status `exhausted`, or a `rate_limited`
 * InvokeError whose wait is at least `MIN_ERROR_HOLD_MS`) puts the account on hold until the
 * reset time: every agent whose target uses the same account (quotas/account.ts) is skipped by
 * the queue's claims (no attempt spent, no rate-limit wait counted) and the run that hit the limit
 * is requeued for the reset. Holds are written to the `quota_holds` table, so a restart keeps
 * them; each change is said as a `runtime.quota` event. With several nodes on one PostgreSQL
 * database each node reloads the table when it sees a `runtime.quota` event (`refresh`).
 */
import type { Env } from '../config/paths.ts';
import type { Settings } from '../config/schema.ts';
import { errorMessage } from '../errors.ts';
import type { EventLogApi } from '../events/store.ts';
// The invoker's vocabulary only (its error and its types): the board never loads a runtime.
import { addSpend, InvokeError, isInvokeError, spendOf } from '../invoker/invoke-error.ts';
import type { InvokeTarget, QuotaReport } from '../invoker/types.ts';
import { MIN_ERROR_HOLD_MS } from '@tinyagi/sandbox';
import { type QuotaAccount, quotaAccount } from './account.ts';
import type { QuotaHold, QuotaStoreApi } from './store.ts';

/** An exhausted report without a reset time holds the account this long. */
export const DEFAULT_QUOTA_HOLD_MS = 5 * 60_000;
/** A `rate_limited` failure holds the whole account only when its wait is at least this long (sandbox/quota-report.ts: the model proxy goes by it too). */
export { MIN_ERROR_HOLD_MS };
/** No hold lasts longer than this (a reset time far in the future is a runtime's mistake). */
export const MAX_QUOTA_HOLD_MS = 8 * 86_400_000;

/**
 * The target an agent of `settings` runs on (the invoker's `resolveInvokeTarget`; throws when the
 * agent cannot be resolved): the board reads its account from it, and a fallback's target.
 */
export type ResolveTarget = (settings: Settings, agentId: string, env: Env) => InvokeTarget;

export interface QuotaBoardOptions {
  store: QuotaStoreApi;
  events: Pick<EventLogApi, 'append'>;
  getSettings: () => Settings;
  /** How an agent's target is found (`resolveInvokeTarget`). */
  resolveTarget: ResolveTarget;
  env?: Env;
  /** Called when a hold ends: the queue worker claims the held agents' messages again. */
  onRelease?: () => void;
  onError?: (err: unknown) => void;
  now?: () => number;
}

/** A hold as the API shows it: with the agents it holds now. */
export interface QuotaHoldView extends QuotaHold {
  agents: string[];
}

const NONE: ReadonlySet<string> = new Set();

export class QuotaBoard {
  readonly #opts: QuotaBoardOptions;
  readonly #holds = new Map<string, QuotaHold>();
  /** The last non-exhausted status said per account, so a warning is told once, not per turn. */
  readonly #said = new Map<string, QuotaReport['status']>();
  #accounts: { settings: Settings; byAgent: Map<string, QuotaAccount | null>; fallbacks: Map<string, InvokeTarget | null> } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The last report applied (reports are applied one at a time). */
  #last: Promise<void> = Promise.resolve();

  constructor(options: QuotaBoardOptions) {
    this.#opts = options;
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  /** Loads the holds a previous process left (expired ones are removed). */
  async restore(): Promise<void> {
    this.#stopped = false;
    await this.refresh();
  }

  /** Reloads the holds from the store (another node's report, or a restart). */
  async refresh(): Promise<void> {
    const now = this.#now();
    const rows = await this.#opts.store.list();
    const before = new Set(this.#holds.keys());
    this.#holds.clear();
    for (const hold of rows) if (hold.resetsAt > now) this.#holds.set(hold.account, hold);
    if (rows.some((h) => h.resetsAt <= now)) await this.#opts.store.prune(now);
    this.#arm();
    if ([...before].some((account) => !this.#holds.has(account))) this.#opts.onRelease?.();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** The account an agent's target uses (undefined when the agent cannot be resolved). Cached per settings object. */
  accountOf(agentId: string): QuotaAccount | undefined {
    const settings = this.#opts.getSettings();
    if (this.#accounts?.settings !== settings) this.#accounts = { settings, byAgent: new Map(), fallbacks: new Map() };
    const cached = this.#accounts.byAgent.get(agentId);
    if (cached !== undefined) return cached ?? undefined;
    let account: QuotaAccount | null = null;
    try {
      account = quotaAccount(this.#opts.resolveTarget(settings, agentId, this.#opts.env ?? process.env));
    } catch {
      // An agent that cannot be resolved is no account's: its run fails on its own.
    }
    this.#accounts.byAgent.set(agentId, account);
    return account ?? undefined;
  }

  /** The target of the agent's `fallback_provider` (+ `fallback_model`), when it has one that resolves. Cached per settings object. */
  fallbackOf(agentId: string): InvokeTarget | undefined {
    const settings = this.#opts.getSettings();
    this.accountOf(agentId); // (re)builds the cache for these settings
    const cache = this.#accounts!.fallbacks;
    const cached = cache.get(agentId);
    if (cached !== undefined) return cached ?? undefined;
    let target: InvokeTarget | null = null;
    const agent = settings.agents?.[agentId] as (Record<string, unknown> & { fallback_provider?: unknown; fallback_model?: unknown }) | undefined;
    if (agent && Object.hasOwn(settings.agents ?? {}, agentId) && typeof agent.fallback_provider === 'string' && agent.fallback_provider !== '') {
      const { model: _model, ...rest } = agent;
      const fallback = { ...rest, provider: agent.fallback_provider, ...(typeof agent.fallback_model === 'string' ? { model: agent.fallback_model } : {}) };
      try {
        target = this.#opts.resolveTarget({ ...settings, agents: { ...settings.agents, [agentId]: fallback } } as Settings, agentId, this.#opts.env ?? process.env);
      } catch {
        // A fallback that does not resolve (settings validation names it) is no fallback.
      }
    }
    cache.set(agentId, target);
    return target ?? undefined;
  }

  /** The hold on `target`'s account, while it lasts. */
  holdOfTarget(target: Pick<InvokeTarget, 'runtime' | 'provider' | 'env' | 'apiKey' | 'baseUrl' | 'mock'>): QuotaHold | undefined {
    if (this.#holds.size === 0) return undefined;
    const hold = this.#holds.get(quotaAccount(target).key);
    return hold !== undefined && hold.resetsAt > this.#now() ? hold : undefined;
  }

  /**
   * The target a run of the agent uses now: `primary`, or its fallback while the primary's account
   * is held and the fallback's is not (`hold`: the primary's hold, when the fallback is taken).
   */
  targetFor(agentId: string, primary: InvokeTarget): { target: InvokeTarget; hold?: QuotaHold } {
    const hold = this.holdOfTarget(primary);
    if (!hold) return { target: primary };
    const fallback = this.fallbackOf(agentId);
    return fallback && !this.holdOfTarget(fallback) ? { target: fallback, hold } : { target: primary };
  }

  /** The hold on the agent's account, while it lasts. */
  holdOf(agentId: string): QuotaHold | undefined {
    if (this.#holds.size === 0) return undefined;
    const account = this.accountOf(agentId);
    const hold = account === undefined ? undefined : this.#holds.get(account.key);
    return hold !== undefined && hold.resetsAt > this.#now() ? hold : undefined;
  }

  /** Agents whose account is held now (read at every claim: cheap when nothing is held). */
  heldAgents(): ReadonlySet<string> {
    if (this.#holds.size === 0) return NONE;
    const held = new Set<string>();
    for (const agentId of Object.keys(this.#opts.getSettings().agents ?? {})) {
      if (!this.holdOf(agentId)) continue;
      // An agent with a fallback on an account that is not held runs there meanwhile.
      const fallback = this.fallbackOf(agentId);
      if (fallback && !this.holdOfTarget(fallback)) continue;
      held.add(agentId);
    }
    return held;
  }

  /** The agents of the settings on one account. */
  agentsOn(account: string): string[] {
    return Object.keys(this.#opts.getSettings().agents ?? {}).filter((agentId) => this.accountOf(agentId)?.key === account);
  }

  /** Every hold in force, soonest reset first, with the agents it holds. */
  list(): QuotaHoldView[] {
    const now = this.#now();
    return [...this.#holds.values()]
      .filter((h) => h.resetsAt > now)
      .sort((a, b) => a.resetsAt - b.resetsAt)
      .map((h) => ({ ...h, agents: this.agentsOn(h.account) }));
  }

  /**
   * A runtime's report during a run of `agentId` (InvokeRequest.onQuota); `startedAt`: when that
   * invocation started. An `ok` ends a hold early only when it comes from an invocation started
   * after the hold and names the same limit (Claude Code says `allowed` for each of its limits,
   * and a run started before the hold may still say so for the request that got through).
   */
  report(agentId: string, target: Pick<InvokeTarget, 'runtime' | 'provider' | 'env' | 'apiKey' | 'baseUrl' | 'mock'>, report: QuotaReport, startedAt?: number): Promise<void> {
    // One at a time, in the order the runtime said them (a failure after a report sees its hold).
    const next = this.#last.then(() => this.#apply(agentId, target, report, startedAt));
    this.#last = next.catch((err: unknown) => this.#opts.onError?.(err));
    return next;
  }

  async #apply(agentId: string, target: Pick<InvokeTarget, 'runtime' | 'provider' | 'env' | 'apiKey' | 'baseUrl' | 'mock'>, report: QuotaReport, startedAt: number | undefined): Promise<void> {
    const account = quotaAccount(target);
    const now = this.#now();
    if (report.status === 'exhausted') {
      const resetsAt = Math.min(now + MAX_QUOTA_HOLD_MS, report.resetsAt !== undefined && report.resetsAt > now ? report.resetsAt : now + DEFAULT_QUOTA_HOLD_MS);
      const current = this.#holds.get(account.key);
      // The same limit said again (every stream event of a run carries it): nothing new.
      if (current && current.resetsAt >= resetsAt && current.resetsAt > now) return;
      const input = { account: account.key, runtime: account.runtime, label: account.label, resetsAt, limit: report.limit ?? null, message: report.message ?? null, reportedBy: agentId };
      // Held at once (the next claim skips the account's agents), then written down.
      this.#holds.set(account.key, { ...input, status: 'exhausted', createdAt: current?.createdAt ?? now, updatedAt: now });
      const hold = await this.#opts.store.put(input, now);
      this.#holds.set(account.key, hold);
      this.#said.delete(account.key);
      this.#arm();
      await this.#tell(hold.account, hold.label, hold.runtime, 'exhausted', hold.resetsAt, hold.limit, hold.message);
      return;
    }
    // The account works (the runtime says so from a run that started after the hold): the hold ends early.
    const held = this.#holds.get(account.key);
    if (held) {
      const sameLimit = report.limit === undefined || held.limit === null || report.limit === held.limit;
      if (report.status === 'ok' && sameLimit && startedAt !== undefined && startedAt > held.updatedAt) await this.#release(account.key);
      return;
    }
    if (this.#said.get(account.key) === report.status) return;
    this.#said.set(account.key, report.status);
    if (report.status === 'warning') {
      await this.#tell(account.key, account.label, account.runtime, 'warning', report.resetsAt ?? null, report.limit ?? null, report.message ?? null);
    }
  }

  /**
   * A run of `agentId` failed with `err`. A rate limit with a long enough wait holds the account;
   * a rate limit on a held account is requeued for the reset (its wait becomes the time left).
   * Returns the error to throw on (the same one, or a rate limit that waits for the reset).
   */
  async failed(agentId: string, target: Pick<InvokeTarget, 'runtime' | 'provider' | 'env' | 'apiKey' | 'baseUrl' | 'mock'>, err: unknown): Promise<unknown> {
    if (!isInvokeError(err) || err.kind !== 'rate_limited') return err;
    await this.#last;
    const now = this.#now();
    const known = this.#holds.get(quotaAccount(target).key);
    // The runtime's own report of this limit (onQuota, just before it failed) says more than the
    // error: the error holds the account only when it waits clearly longer than that report.
    if (err.retryAfterMs !== undefined && err.retryAfterMs >= MIN_ERROR_HOLD_MS && (!known || known.resetsAt + 1000 < now + err.retryAfterMs)) {
      await this.report(agentId, target, { status: 'exhausted', resetsAt: now + err.retryAfterMs, message: err.message.slice(0, 300) });
    }
    const hold = this.#holds.get(quotaAccount(target).key);
    if (!hold || hold.resetsAt <= now) return err;
    const wait = hold.resetsAt - now;
    if ((err.retryAfterMs ?? 0) >= wait) return err;
    return withSpendOf(err, new InvokeError('rate_limited', err.message, { code: err.code, retryAfterMs: wait, ...(err.stderrTail ? { stderrTail: err.stderrTail } : {}), cause: err }));
  }

  /** Refuses a run on a held account before it starts (a sub-agent, or a batch claimed just before the hold); `target`: the one the run uses (default: the agent's own). */
  refusal(agentId: string, target?: InvokeTarget): InvokeError | undefined {
    const hold = target ? this.holdOfTarget(target) : this.holdOf(agentId);
    if (!hold) return undefined;
    return new InvokeError('rate_limited', `Account ${hold.label} is held until ${new Date(hold.resetsAt).toISOString()} (${hold.limit ?? 'rate limit'} reached).`, {
      retryAfterMs: Math.max(1, hold.resetsAt - this.#now()),
      hint: 'The agent runs again when the limit resets; `tinyagi status` lists held accounts.',
    });
  }

  /** Ends a hold now (the reset time passed, or the runtime said the account works again). */
  async #release(account: string): Promise<void> {
    const hold = this.#holds.get(account);
    if (!hold) return;
    this.#holds.delete(account);
    // With several nodes each ends the hold at the reset: the one whose delete took it says so.
    const removed = await this.#opts.store.remove(account);
    this.#arm();
    if (removed) await this.#tell(hold.account, hold.label, hold.runtime, 'released', hold.resetsAt, hold.limit, null);
    this.#opts.onRelease?.();
  }

  async #tell(account: string, label: string, runtime: string, status: 'exhausted' | 'warning' | 'released', resetsAt: number | null, limit: string | null, message: string | null): Promise<void> {
    await this.#opts.events.append({ type: 'runtime.quota', data: { account, label, runtime, status, resetsAt, limit, message, agents: this.agentsOn(account) } });
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#stopped || this.#holds.size === 0) return;
    const next = Math.min(...[...this.#holds.values()].map((h) => h.resetsAt));
    const delay = Math.max(1, Math.min(next - this.#now() + 1, 2 ** 31 - 1));
    this.#timer = setTimeout(() => void this.#expire(), delay);
    this.#timer.unref();
  }

  async #expire(): Promise<void> {
    const now = this.#now();
    try {
      for (const hold of [...this.#holds.values()]) if (hold.resetsAt <= now) await this.#release(hold.account);
    } catch (err) {
      this.#opts.onError?.(new Error(`quota holds: ${errorMessage(err)}`));
    }
    this.#arm();
  }
}

function withSpendOf(from: unknown, to: InvokeError): InvokeError {
  const spend = spendOf(from);
  return spend ? addSpend(to, spend.usage, spend.costUsd) : to;
}

/**
 * Holds as the API shows them, from the stored rows (any process may answer, a daemon or an API
 * node): those in force, soonest reset first, each with the agents of `settings` on its account.
 */
export function quotaHoldViews(holds: readonly QuotaHold[], settings: Settings, resolveTarget: ResolveTarget, env: Env = process.env, now = Date.now()): QuotaHoldView[] {
  const live = holds.filter((h) => h.resetsAt > now).sort((a, b) => a.resetsAt - b.resetsAt);
  if (live.length === 0) return [];
  const byAccount = new Map<string, string[]>();
  for (const agentId of Object.keys(settings.agents ?? {})) {
    try {
      const key = quotaAccount(resolveTarget(settings, agentId, env)).key;
      byAccount.set(key, [...(byAccount.get(key) ?? []), agentId]);
    } catch {
      // not resolvable: on no account
    }
  }
  return live.map((h) => ({ ...h, agents: byAccount.get(h.account) ?? [] }));
}
