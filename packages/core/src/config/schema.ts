/**
 * The settings.json schema: the reference's keys (snake_case, all optional) plus ours.
 *
 * Contract:
 * - Every object is loose: keys this version does not know are kept, so a file written by a
 *   newer TinyAGI or by the reference never loses data when we write it back.
 * - The schema validates only; it has no defaults and no transforms, so a valid file parses to
 *   exactly what is on disk. Defaults live in ./defaults.ts (`effectiveLimits`, `agentDefaults`,
 *   …) and are never written into the user's file.
 * - Rules that span keys (id format, uniqueness, team membership, provider references) are in
 *   ./rules.ts and run even when some value has the wrong type, so one load reports every problem.
 */
import { z } from 'zod';
import { checkSettingsRules } from './rules.ts';

/** `HH:MM-HH:MM`, 24-hour clock; groups: start hour, start minute, end hour, end minute. */
export const QUIET_HOURS_PATTERN = /^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$/;

export const BUILTIN_PROVIDERS = ['anthropic', 'openai', 'opencode', 'mock'] as const;
export const HARNESSES = ['claude', 'codex', 'openai', 'anthropic'] as const;
export const STEER_COMMANDS = ['inject', 'redirect', 'pause', 'resume', 'cancel'] as const;
export const BUSY_POLICIES = ['collect', 'sequential'] as const;
export const SESSION_MODES = ['shared', 'per-sender', 'per-thread'] as const;
export const REPLY_MODES = ['each', 'aggregate'] as const;
export const DURABILITIES = ['full', 'normal'] as const;
export const MOCK_FAILURES = ['retryable', 'permanent', 'rate_limited', 'crash', 'hang'] as const;
/**
 * Claude Code's own `--permission-mode` values, plus `bypassPermissions` (the default here:
 * `--dangerously-skip-permissions`, since nobody is at a terminal to approve a tool call).
 */
export const PERMISSION_MODES = ['bypassPermissions', 'acceptEdits', 'default', 'plan', 'dontAsk'] as const;
/** An environment variable name, for `env_passthrough`. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const positiveInt = z.int().positive();
/** A file system path: no NUL byte (the OS cannot take one; spawn and fs calls would throw at every use). */
const PathSchema = z.string().refine((path) => !path.includes('\0'), { error: 'A path must not contain a NUL byte' });
const nonNegative = z.number().nonnegative();

/** "anthropic" | "openai" | "opencode" | "mock" | "custom:<provider id>". */
export const ProviderNameSchema = z.union([z.enum(BUILTIN_PROVIDERS), z.templateLiteral(['custom:', z.string().min(1)])], {
  error: (issue) => `Unknown provider ${JSON.stringify(issue.input)}`,
});

export const LimitsSchema = z.looseObject({
  max_depth: positiveInt.optional(),
  max_hops: positiveInt.optional(),
  max_messages: positiveInt.optional(),
  max_fanout: positiveInt.optional(),
  max_children_per_run: positiveInt.optional(),
  max_concurrent_children: positiveInt.optional(),
  max_spawns_per_conversation: positiveInt.optional(),
  conversation_timeout_s: z.number().positive().optional(),
  child_timeout_s: z.number().positive().optional(),
  ping_pong_max: positiveInt.optional(),
});

export const BudgetsSchema = z.looseObject({
  conversation_usd: nonNegative.optional(),
  conversation_tokens: z.int().nonnegative().optional(),
  agent_daily_usd: nonNegative.optional(),
  agent_daily_tokens: z.int().nonnegative().optional(),
  global_daily_usd: nonNegative.optional(),
  global_daily_tokens: z.int().nonnegative().optional(),
  soft_limit_fraction: z.number().gt(0).max(1).optional(),
});

const UsageSchema = z.looseObject({
  input_tokens: z.int().nonnegative().optional(),
  output_tokens: z.int().nonnegative().optional(),
  cost_usd: nonNegative.optional(),
});

export const MockRuleSchema = z.looseObject({
  /** Substring of the incoming message that selects this rule. */
  match: z.string(),
  reply: z.string().optional(),
  fail: z.enum(MOCK_FAILURES).optional(),
  latency_ms: nonNegative.optional(),
  spawn: z.array(z.looseObject({ agent: z.string(), task: z.string(), session: z.string().optional() })).optional(),
  usage: UsageSchema.optional(),
});

/** The scripted, deterministic provider used for demos, tests and fresh installs. */
export const MockScriptSchema = z.looseObject({
  latency_ms: nonNegative.optional(),
  reply: z.string().optional(),
  usage: UsageSchema.optional(),
  rules: z.array(MockRuleSchema).optional(),
});

export const AgentSchema = z.looseObject({
  name: z.string().optional(),
  provider: ProviderNameSchema.optional(),
  model: z.string().optional(),
  working_directory: PathSchema.optional(),
  system_prompt: z.string().optional(),
  /** Wins over system_prompt (as in the reference). */
  prompt_file: PathSchema.optional(),
  heartbeat: z
    .looseObject({
      enabled: z.boolean().optional(),
      /** Seconds. */
      interval: z.number().positive().optional(),
    })
    .optional(),
  limits: LimitsSchema.optional(),
  timeout_s: z.number().positive().optional(),
  inactivity_s: z.number().positive().optional(),
  busy_policy: z.enum(BUSY_POLICIES).optional(),
  session_mode: z.enum(SESSION_MODES).optional(),
  steering: z.array(z.enum(STEER_COMMANDS)).optional(),
  max_attempts: positiveInt.optional(),
  /** Claude Code agents: how tool use is approved (see PERMISSION_MODES). */
  permission_mode: z.enum(PERMISSION_MODES).optional(),
  /** Names of extra variables of the daemon's environment this agent's CLI receives (cloud credentials). */
  env_passthrough: z
    .array(
      z
        .string()
        .regex(ENV_NAME_PATTERN, 'must be an environment variable name (letters, digits and "_", not starting with a digit)')
        .refine((name) => !name.toUpperCase().startsWith('TINYAGI_'), {
          error: 'TINYAGI_* variables (the API token among them) never reach agents; the daemon sets the ones an agent needs',
        }),
    )
    .max(100)
    .optional(),
  mock: MockScriptSchema.optional(),
  cross_team: z.boolean().optional(),
  /** This agent's own daily caps (UTC day), instead of budgets.agent_daily_usd / _tokens. */
  budgets: z.looseObject({ daily_usd: nonNegative.optional(), daily_tokens: z.int().nonnegative().optional() }).optional(),
});

export const TeamSchema = z.looseObject({
  name: z.string().optional(),
  agents: z.array(z.string()).optional(),
  leader_agent: z.string().optional(),
  reply_mode: z.enum(REPLY_MODES).optional(),
  limits: LimitsSchema.optional(),
  budgets: BudgetsSchema.optional(),
});

export const CustomProviderSchema = z.looseObject({
  name: z.string().optional(),
  harness: z.enum(HARNESSES).optional(),
  base_url: z
    .string()
    .refine((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
      error: (issue) => `Not an http(s) URL: ${JSON.stringify(issue.input)}`,
    })
    .optional(),
  api_key: z.string().optional(),
  model: z.string().optional(),
});

const tokenBlock = z.looseObject({ bot_token: z.string().optional() });

export const SettingsShapeSchema = z.looseObject({
  workspace: z.looseObject({ path: PathSchema.optional(), name: z.string().optional() }).optional(),
  channels: z
    .looseObject({
      enabled: z.array(z.string()).optional(),
      discord: tokenBlock.optional(),
      telegram: tokenBlock.optional(),
      whatsapp: z.looseObject({}).optional(),
      /** Sticky default target per sender id (an agent or team id), written by channel clients. */
      defaults: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  models: z
    .looseObject({
      provider: ProviderNameSchema.optional(),
      anthropic: z.looseObject({ model: z.string().optional(), api_key: z.string().optional(), oauth_token: z.string().optional() }).optional(),
      openai: z.looseObject({ model: z.string().optional(), api_key: z.string().optional() }).optional(),
      opencode: z.looseObject({ model: z.string().optional() }).optional(),
    })
    .optional(),
  agents: z.record(z.string(), AgentSchema).optional(),
  teams: z.record(z.string(), TeamSchema).optional(),
  custom_providers: z.record(z.string(), CustomProviderSchema).optional(),
  monitoring: z
    .looseObject({
      heartbeat_interval: z.number().positive().optional(),
      /** No heartbeats in this daily range of the daemon's local time; it may wrap past midnight. */
      quiet_hours: z.string().regex(QUIET_HOURS_PATTERN, 'must look like "22:00-07:00" (24-hour local time; the range may wrap past midnight)').optional(),
    })
    .optional(),
  server: z
    .looseObject({
      host: z.string().min(1).optional(),
      port: z.int().min(0).max(65_535).optional(),
      allowed_origins: z.array(z.string()).optional(),
      /** Extra Host header values; localhost, 127.0.0.1 and [::1] with the port are always allowed. */
      allowed_hosts: z.array(z.string()).optional(),
      /** API rate limits (see docs/security.md). */
      rate_limit: z
        .looseObject({
          /** POST /api/message per token: sustained rate, after a burst of `message_burst`. */
          messages_per_second: z.number().positive().optional(),
          message_burst: positiveInt.optional(),
          /** Requests with a missing or wrong token, per client address (also the burst). */
          auth_failures_per_minute: positiveInt.optional(),
        })
        .optional(),
    })
    .optional(),
  queue: z
    .looseObject({
      durability: z.enum(DURABILITIES).optional(),
      max_attempts: positiveInt.optional(),
      /** Global number of agent invocations running at once. */
      concurrency: positiveInt.optional(),
      lease_ms: positiveInt.optional(),
      sweep_ms: positiveInt.optional(),
    })
    .optional(),
  retention: z.looseObject({ days: z.number().positive().optional() }).optional(),
  limits: LimitsSchema.optional(),
  budgets: BudgetsSchema.optional(),
});

/**
 * The full settings schema. The cross-key rules run even when the shape has errors (`when`), so
 * they receive possibly malformed input and check every type themselves.
 */
export const SettingsSchema = SettingsShapeSchema.superRefine(checkSettingsRules, { when: () => true });

export type Settings = z.infer<typeof SettingsSchema>;
export type AgentSettings = z.infer<typeof AgentSchema>;
export type TeamSettings = z.infer<typeof TeamSchema>;
export type CustomProviderSettings = z.infer<typeof CustomProviderSchema>;
export type LimitsSettings = z.infer<typeof LimitsSchema>;
export type BudgetSettings = z.infer<typeof BudgetsSchema>;
export type MockScript = z.infer<typeof MockScriptSchema>;
export type MockRule = z.infer<typeof MockRuleSchema>;
export type ProviderName = z.infer<typeof ProviderNameSchema>;
export type ServerSettings = NonNullable<Settings['server']>;
export type QueueSettings = NonNullable<Settings['queue']>;
export type SteerCommand = (typeof STEER_COMMANDS)[number];
export type BusyPolicy = (typeof BUSY_POLICIES)[number];
export type SessionMode = (typeof SESSION_MODES)[number];
export type ReplyMode = (typeof REPLY_MODES)[number];
export type PermissionMode = (typeof PERMISSION_MODES)[number];
