/**
 * Defaults and effective (fully defaulted) views of settings. The file keeps only what the user
 * wrote; everything that reads settings goes through these helpers instead of `?? 3777` at each
 * call site.
 */
import type { AgentSettings, BudgetSettings, BusyPolicy, LimitsSettings, ReplyMode, SessionMode, Settings, SteerCommand, TeamSettings } from './schema.ts';
import { type LimitsSchema, STEER_COMMANDS } from './schema.ts';
import { ownEntry } from './object-path.ts';

export const DEFAULT_LIMITS = {
  max_depth: 5,
  max_hops: 10,
  max_messages: 50,
  max_fanout: 8,
  max_children_per_run: 8,
  max_concurrent_children: 4,
  max_spawns_per_conversation: 50,
  conversation_timeout_s: 3600,
  child_timeout_s: 1800,
  ping_pong_max: 4,
} as const satisfies { [K in keyof typeof LimitsSchema.shape]: number };

export const SETTINGS_DEFAULTS = {
  server: {
    host: '127.0.0.1',
    port: 3777,
    allowed_origins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
    allowed_hosts: [] as string[],
    rate_limit: { messages_per_second: 20, message_burst: 1000, auth_failures_per_minute: 30 },
  },
  // 3 attempts × agent.inactivity_s bounds how long a hung agent CLI holds its agent (about 10 min).
  queue: { durability: 'full', max_attempts: 3, concurrency: 8, lease_ms: 60_000, sweep_ms: 1000 },
  retention: { days: 14 },
  limits: DEFAULT_LIMITS,
  budgets: { soft_limit_fraction: 0.8 },
  monitoring: { heartbeat_interval: 3600 },
  agent: {
    timeout_s: 1800,
    // Claude Code's Bash tool gives up after 2 min by default, so 3 min of silence means a hang.
    inactivity_s: 180,
    // Silence allowed from a CLI's start until its first output (never less than inactivity_s): a
    // CLI starting on a loaded machine may say nothing for a while before it is hung.
    start_grace_s: 180,
    busy_policy: 'collect',
    session_mode: 'shared',
    steering: STEER_COMMANDS,
    heartbeat_enabled: true,
    cross_team: false,
  },
  team: { reply_mode: 'each' },
  // The session pool of warm agent processes (docs/sessions.md).
  sessions: { max_total: 16, max_per_agent: 4, idle_minutes: 15, memory_share: 0.6 },
} as const;

export interface EffectiveServer {
  host: string;
  port: number;
  allowed_origins: string[];
  allowed_hosts: string[];
  rate_limit: { messages_per_second: number; message_burst: number; auth_failures_per_minute: number };
}

export interface EffectiveQueue {
  durability: 'full' | 'normal';
  max_attempts: number;
  concurrency: number;
  lease_ms: number;
  sweep_ms: number;
}

export type EffectiveLimits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

export interface EffectiveBudgets {
  conversation_usd?: number;
  conversation_tokens?: number;
  agent_daily_usd?: number;
  agent_daily_tokens?: number;
  global_daily_usd?: number;
  global_daily_tokens?: number;
  soft_limit_fraction: number;
}

export type EffectiveAgent = AgentSettings & {
  timeout_s: number;
  inactivity_s: number;
  start_grace_s: number;
  busy_policy: BusyPolicy;
  session_mode: SessionMode;
  steering: SteerCommand[];
  max_attempts: number;
  cross_team: boolean;
  heartbeat: { enabled: boolean; interval: number };
};

export type EffectiveTeam = TeamSettings & { reply_mode: ReplyMode; agents: string[] };

export function effectiveServer(settings: Settings): EffectiveServer {
  const s = settings.server ?? {};
  const d = SETTINGS_DEFAULTS.server;
  return {
    host: s.host ?? d.host,
    port: s.port ?? d.port,
    allowed_origins: [...(s.allowed_origins ?? d.allowed_origins)],
    allowed_hosts: [...(s.allowed_hosts ?? d.allowed_hosts)],
    rate_limit: {
      messages_per_second: s.rate_limit?.messages_per_second ?? d.rate_limit.messages_per_second,
      message_burst: s.rate_limit?.message_burst ?? d.rate_limit.message_burst,
      auth_failures_per_minute: s.rate_limit?.auth_failures_per_minute ?? d.rate_limit.auth_failures_per_minute,
    },
  };
}

export function effectiveQueue(settings: Settings): EffectiveQueue {
  const q = settings.queue ?? {};
  const d = SETTINGS_DEFAULTS.queue;
  return {
    durability: q.durability ?? d.durability,
    max_attempts: q.max_attempts ?? d.max_attempts,
    concurrency: q.concurrency ?? d.concurrency,
    lease_ms: q.lease_ms ?? d.lease_ms,
    sweep_ms: q.sweep_ms ?? d.sweep_ms,
  };
}

export interface EffectiveSessions {
  max_total: number;
  max_per_agent: number;
  idle_minutes: number;
  memory_share: number;
  process_memory_mb: number | undefined;
}

export function effectiveSessions(settings: Settings): EffectiveSessions {
  const s = settings.sessions ?? {};
  const d = SETTINGS_DEFAULTS.sessions;
  return {
    max_total: s.max_total ?? d.max_total,
    max_per_agent: s.max_per_agent ?? d.max_per_agent,
    idle_minutes: s.idle_minutes ?? d.idle_minutes,
    memory_share: s.memory_share ?? d.memory_share,
    process_memory_mb: s.process_memory_mb,
  };
}

export function effectiveRetentionDays(settings: Settings): number {
  return settings.retention?.days ?? SETTINGS_DEFAULTS.retention.days;
}

export function heartbeatIntervalSeconds(settings: Settings): number {
  return settings.monitoring?.heartbeat_interval ?? SETTINGS_DEFAULTS.monitoring.heartbeat_interval;
}

/**
 * Limits for a run: global (defaulted), then the team's, then the agent's values override —
 * except max_depth, which is the smallest of the global, team and agent values, so a team or
 * agent can tighten the recursion cap but never loosen it past the global one.
 */
export function effectiveLimits(settings: Settings, scope: { teamId?: string; agentId?: string } = {}): EffectiveLimits {
  const layers: LimitsSettings[] = [settings.limits ?? {}];
  if (scope.teamId !== undefined) layers.push(ownEntry(settings.teams, scope.teamId)?.limits ?? {});
  if (scope.agentId !== undefined) layers.push(ownEntry(settings.agents, scope.agentId)?.limits ?? {});
  const out = { ...DEFAULT_LIMITS } as EffectiveLimits;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof EffectiveLimits)[]) {
    layers.forEach((layer, index) => {
      const value = layer[key];
      if (value === undefined) return;
      out[key] = key === 'max_depth' && index > 0 ? Math.min(out[key], value) : value;
    });
  }
  return out;
}

/** Global budgets with a team's budgets overriding them. Unset caps stay unset (no cap). */
/**
 * Budgets in force: the global `budgets`, overridden key by key by the team's; with `agentId`,
 * the agent's own `budgets.daily_usd` / `daily_tokens` replace the agent-daily caps.
 */
export function effectiveBudgets(settings: Settings, scope: { teamId?: string; agentId?: string } = {}): EffectiveBudgets {
  const team = scope.teamId !== undefined ? ownEntry(settings.teams, scope.teamId)?.budgets : undefined;
  const merged: BudgetSettings = { ...settings.budgets, ...stripUndefined(team ?? {}) };
  const own = scope.agentId !== undefined ? ownEntry(settings.agents, scope.agentId)?.budgets : undefined;
  if (own?.daily_usd !== undefined) merged.agent_daily_usd = own.daily_usd;
  if (own?.daily_tokens !== undefined) merged.agent_daily_tokens = own.daily_tokens;
  const out: EffectiveBudgets = { soft_limit_fraction: merged.soft_limit_fraction ?? SETTINGS_DEFAULTS.budgets.soft_limit_fraction };
  for (const key of ['conversation_usd', 'conversation_tokens', 'agent_daily_usd', 'agent_daily_tokens', 'global_daily_usd', 'global_daily_tokens'] as const) {
    if (merged[key] !== undefined) out[key] = merged[key];
  }
  return out;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * An agent with every one of our keys filled in. With `settings`, max_attempts falls back to
 * queue.max_attempts and the heartbeat interval to monitoring.heartbeat_interval.
 */
export function agentDefaults(agent: AgentSettings, settings: Settings = {}): EffectiveAgent {
  const d = SETTINGS_DEFAULTS.agent;
  return {
    ...agent,
    timeout_s: agent.timeout_s ?? d.timeout_s,
    inactivity_s: agent.inactivity_s ?? d.inactivity_s,
    start_grace_s: agent.start_grace_s ?? d.start_grace_s,
    busy_policy: agent.busy_policy ?? d.busy_policy,
    session_mode: agent.session_mode ?? d.session_mode,
    steering: [...(agent.steering ?? d.steering)],
    max_attempts: agent.max_attempts ?? effectiveQueue(settings).max_attempts,
    cross_team: agent.cross_team ?? d.cross_team,
    heartbeat: {
      ...agent.heartbeat,
      enabled: agent.heartbeat?.enabled ?? d.heartbeat_enabled,
      interval: agent.heartbeat?.interval ?? heartbeatIntervalSeconds(settings),
    },
  };
}

export function teamDefaults(team: TeamSettings): EffectiveTeam {
  return { ...team, agents: [...(team.agents ?? [])], reply_mode: team.reply_mode ?? SETTINGS_DEFAULTS.team.reply_mode };
}
