/**
 * A burst of requests in one chat (docs/approvals.md, "A burst of requests"): when a request
 * asks what a prompt still waiting in the same chat asks (the daemon's `groupKey`, same kind), it
 * is not posted on its own; that prompt becomes one message for all of them: how many, which
 * agents, a sample, and two buttons that answer every request it holds at once ("Allow all N
 * once", "Deny all N"; POST /api/approvals/decisions, each request still decided and recorded on
 * its own). As requests are answered (here or anywhere) the message says how many still wait;
 * once none does, it says how they ended and its buttons go. Only platforms that can edit a
 * prompt's buttons (`ApprovalPromptAdapter.update`: Telegram) group; the others post each request.
 * Bursts are recorded in `approval-bursts.json` beside the prompts, so a restart settles them.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { approvalOutcome, isApiError } from '@tinyagi/client';
import type { Approval } from '@tinyagi/client/contract';
import type { ApprovalPrompt, ChannelAdapter } from './adapter.ts';
import type { ChannelLog } from './log.ts';
import { errorText } from './retry.ts';

export interface BurstMember {
  id: string;
  agentId: string;
  summary: string;
  expiresAt: number | null;
}

export interface Burst {
  /** The first request's id: the buttons carry `<id>:ga` (allow all once) and `<id>:gd` (deny all). */
  id: string;
  route: string;
  messageId: string;
  kind: 'permission' | 'egress';
  /** The requests' `groupKey`. */
  key: string;
  /** The requests still waiting. */
  members: BurstMember[];
  /** How the answered ones ended: `Allowed once by telegram:1` -> how many. */
  outcomes: Record<string, number>;
}

/** The tokens of a burst's buttons. */
export const BURST_ACTIONS = { ga: 'allow_once', gd: 'deny' } as const;
const SAMPLE = 3;
/** Between two edits of a burst's message where the platform names no interval of its own. */
const DEFAULT_EDIT_INTERVAL_MS = 1500;
/** Edits of a burst's message tried again after one failed, before waiting for its next change. */
const MAX_EDIT_RETRIES = 3;

export interface ApprovalBurstsOptions {
  stateDir: string;
  adapter: ChannelAdapter;
  log: ChannelLog;
  pace?: () => Promise<void>;
}

export class ApprovalBursts {
  readonly #o: ApprovalBurstsOptions;
  readonly #file: string;
  readonly #bursts = new Map<string, Burst>();
  /** Each burst message's last edit, and the edit waiting for the platform's interval (the latest state is shown when it fires). */
  readonly #edits = new Map<string, { at: number; timer?: NodeJS.Timeout; failures?: number }>();

  constructor(options: ApprovalBurstsOptions) {
    this.#o = options;
    this.#file = join(options.stateDir, 'approval-bursts.json');
    this.#load();
  }

  /** True when the platform can turn a prompt into a burst's. */
  get enabled(): boolean {
    return this.#o.adapter.approvals?.update !== undefined;
  }

  /** A request a burst's message shows. */
  holds(id: string): boolean {
    for (const b of this.#bursts.values()) if (b.members.some((m) => m.id === id)) return true;
    return false;
  }

  get(id: string): Burst | undefined {
    return this.#bursts.get(id);
  }

  find(route: string, kind: Approval['kind'], key: string): Burst | undefined {
    for (const b of this.#bursts.values()) if (b.route === route && b.kind === kind && b.key === key && b.members.length > 0) return b;
    return undefined;
  }

  /** A prompt's message becomes a burst's: its request and `joining`. */
  async form(host: BurstMember & { route: string; messageId: string; kind: 'permission' | 'egress'; key: string }, joining: Approval): Promise<void> {
    const { route, messageId, kind, key, ...first } = host;
    const burst: Burst = { id: first.id, route, messageId, kind, key, members: [first], outcomes: {} };
    this.#bursts.set(burst.id, burst);
    await this.join(burst, joining);
  }

  async join(burst: Burst, a: Approval): Promise<void> {
    if (!burst.members.some((m) => m.id === a.id)) burst.members.push({ id: a.id, agentId: a.agentId, summary: a.summary, expiresAt: a.expiresAt });
    this.#save();
    await this.#show(burst);
  }

  /** A request was decided (an event, an answer here): true when a burst held it (its message now says so). */
  async settle(a: Approval): Promise<boolean> {
    if (a.status === 'pending') return false;
    for (const burst of this.#bursts.values()) {
      if (!burst.members.some((m) => m.id === a.id)) continue;
      burst.members = burst.members.filter((m) => m.id !== a.id);
      const { head, by } = approvalOutcome(a);
      const outcome = `${head}${by ? ` by ${by}` : ''}`;
      burst.outcomes[outcome] = (burst.outcomes[outcome] ?? 0) + 1;
      this.#save();
      await this.#show(burst);
      return true;
    }
    return false;
  }

  /** At each (re)connect: the requests decided meanwhile are settled (`fetch`: the request as the daemon has it now). */
  async catchUp(fetch: (id: string) => Promise<Approval>): Promise<void> {
    for (const burst of [...this.#bursts.values()]) {
      for (const m of [...burst.members]) {
        try {
          await this.settle(await fetch(m.id));
        } catch (err) {
          if (!isApiError(err, 'APPROVAL_NOT_FOUND') && !isApiError(err, 'SCOPE_FORBIDDEN')) {
            this.#o.log('warn', `could not check approval ${m.id}: ${errorText(err)}`);
            continue;
          }
          burst.members = burst.members.filter((x) => x.id !== m.id);
          this.#save();
          await this.#show(burst);
        }
      }
      // Answered while the channel was down, or before its last edit went out.
      if (burst.members.length === 0) await this.#show(burst);
    }
  }

  stop(): void {
    for (const e of this.#edits.values()) clearTimeout(e.timer);
    this.#edits.clear();
  }

  /**
   * The message as the burst is now: its prompt while any request waits, else how they ended. A
   * burst changes faster than a platform lets one message be edited (Telegram: about once a second,
   * less in groups): an edit within the interval of the last one waits for it, and shows the state
   * then.
   */
  async #show(burst: Burst): Promise<void> {
    const edit = this.#edits.get(burst.id) ?? { at: 0 };
    this.#edits.set(burst.id, edit);
    if (edit.timer !== undefined) return;
    const wait = edit.at + (this.#o.adapter.live?.editIntervalFor?.(burst.route) ?? this.#o.adapter.live?.editIntervalMs ?? DEFAULT_EDIT_INTERVAL_MS) - Date.now();
    if (wait > 0) {
      edit.timer = setTimeout(() => {
        edit.timer = undefined;
        void this.#show(burst);
      }, wait);
      return;
    }
    edit.at = Date.now();
    const buttons = this.#o.adapter.approvals;
    let failed = false;
    try {
      await this.#o.pace?.();
      if (burst.members.length > 0) await buttons?.update?.(burst.route, burst.messageId, burstPrompt(burst));
      else {
        await buttons?.settle(burst.route, burst.messageId, burstOutcome(burst));
        this.#bursts.delete(burst.id);
        this.#edits.delete(burst.id);
        this.#save();
      }
      edit.failures = 0;
    } catch (err) {
      failed = true;
      edit.failures = (edit.failures ?? 0) + 1;
      this.#o.log('warn', `could not show the burst of approval ${burst.id} in ${burst.route}: ${errorText(err)}`);
    } finally {
      // The interval runs from the platform's answer: a request slowed on its way (a loaded machine, the pace) must not
      // bring the next edit closer than the platform allows.
      edit.at = Date.now();
    }
    // Still recorded, and shown as it is then once the interval has passed, a few times (a 429, a slow answer); past
    // that (the message deleted, say), at the next change or (re)connect.
    if (failed && (edit.failures ?? 0) <= MAX_EDIT_RETRIES && this.#bursts.has(burst.id)) void this.#show(burst);
  }

  #load(): void {
    if (!existsSync(this.#file)) return;
    try {
      const data = JSON.parse(readFileSync(this.#file, 'utf8')) as { bursts?: Burst[] };
      for (const b of Array.isArray(data.bursts) ? data.bursts : []) if (typeof b?.id === 'string' && Array.isArray(b.members)) this.#bursts.set(b.id, b);
    } catch (err) {
      this.#o.log('warn', `${this.#file} is unreadable (${errorText(err)}); starting without it`);
    }
  }

  #save(): void {
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ bursts: [...this.#bursts.values()] }), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

/** `14:05 UTC`. */
function clock(at: number): string {
  return `${new Date(at).toISOString().slice(11, 16)} UTC`;
}

const code = (text: string): string => (text.includes('`') ? text : `\`${text.length > 300 ? `${text.slice(0, 299)}…` : text}\``);

/** What a burst's message says while requests wait, and its two buttons. */
export function burstPrompt(burst: Burst): ApprovalPrompt {
  const n = burst.members.length;
  // By name: the order they asked in depends on which agent's turn came first.
  const agents = [...new Set(burst.members.map((m) => m.agentId))].sort();
  const answered = Object.values(burst.outcomes).reduce((x, y) => x + y, 0);
  const expiries = burst.members.map((m) => m.expiresAt).filter((e): e is number => e !== null);
  const lines = [
    burst.kind === 'egress' ? `🌐 **${n} requests to connect to a host off the list:** ${code(burst.key)}` : `🔐 **${n} requests ask for permission:** ${code(burst.key)}`,
    `From ${agents
      .slice(0, 5)
      .map((a) => `@${a}`)
      .join(', ')}${agents.length > 5 ? ` and ${agents.length - 5} more` : ''}.`,
    ...burst.members.slice(0, SAMPLE).map((m) => `• @${m.agentId}: ${code(m.summary)}`),
    ...(n > SAMPLE ? [`• and ${n - SAMPLE} more`] : []),
    '',
    ...(answered > 0 ? [`${answered} answered already.`] : []),
    'Answer them all with a button; each one alone from TinyOffice or the CLI (`tinyagi approvals --grouped`).',
    ...(expiries.length > 0 ? [`The first expires at ${clock(Math.min(...expiries))}.`] : []),
  ];
  return {
    id: burst.id,
    kind: 'permission',
    text: lines.join('\n'),
    actions: [
      { label: `Allow all ${n} once`, token: 'ga', style: 'primary' },
      { label: `Deny all ${n}`, token: 'gd', style: 'danger' },
    ],
  };
}

/** What a burst's message says once every request of it is answered. */
export function burstOutcome(burst: Burst): string {
  const total = Object.values(burst.outcomes).reduce((x, y) => x + y, 0);
  const how = Object.entries(burst.outcomes)
    .sort((x, y) => y[1] - x[1])
    .map(([outcome, count]) => `${outcome} (${count})`)
    .join(', ');
  return `✔ ${total} requests answered: ${how}\n${code(burst.key)}`;
}
