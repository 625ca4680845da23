/**
 * The settings.json schema: the reference's keys (snake_case, all optional) plus ours. It lives
 * in the contract so the server, the CLI (through core) and TinyOffice's forms validate with the
 * same schema; core adds the validation that spans keys (ids, team membership, provider references,
 * workspace escapes) in packages/core/src/config/cross-key.ts.
 *
 * Contract:
 * - Every object is loose: keys this version does not know are kept, so a file written by a
 *   newer TinyAGI or by the reference never loses data when we write it back.
 * - The schema validates only; it has no defaults and no transforms, so a valid file parses to
 *   exactly what is on disk. Defaults live in core (`effectiveLimits`, `agentDefaults`, …) and
 *   are never written into the user's file.
 */
import * as z from 'zod';
import { PermissionRuleSchema } from './approvals.ts';
import { STEER_COMMANDS } from './conversations.ts';
import { NodeNameSchema, OptionalBool, OptionalCount, OptionalPositive, OptionalStr, Str, StrArray } from './common.ts';

export { NODE_NAME_PATTERN, NodeNameSchema } from './common.ts';
import { GlobalMemorySettingsSchema, MemorySettingsSchema } from './memory.ts';
import { McpRememberInput } from './mcp.ts';
import { WorkflowSettingsSchema } from './workflows.ts';

/**
 * A model id as the providers' CLIs and APIs take it: `sonnet`, `claude-sonnet-4-6`,
 * `sonnet[1m]`, `openai/gpt-5`, `gpt-5.1-codex`. No spaces or control characters: such a value
 * is always a typo and would only fail later, inside an agent run. Empty means the provider's
 * default (files written by the reference's setup carry `"model": ""`).
 */
export const MODEL_NAME_PATTERN = /^(?:[A-Za-z0-9][A-Za-z0-9._:/@+\-[\]]{0,199})?$/;
export const ModelNameSchema = z.string().regex(MODEL_NAME_PATTERN, {
  error: 'must be a model id such as "sonnet" or "claude-sonnet-4-6": letters, digits and . _ : / @ + - [ ], no spaces, at most 200 characters',
});

/** `HH:MM-HH:MM`, 24-hour clock; groups: start hour, start minute, end hour, end minute. */
export const QUIET_HOURS_PATTERN = /^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$/;

export const BUSY_POLICIES = ['collect', 'sequential'] as const;
export const SESSION_MODES = ['shared', 'per-sender', 'per-thread'] as const;
export const REPLY_MODES = ['each', 'aggregate'] as const;
export const DURABILITIES = ['full', 'normal'] as const;
export const MOCK_FAILURES = ['retryable', 'permanent', 'rate_limited', 'crash', 'hang'] as const;
/**
 * Claude Code's own `--permission-mode` values, plus `bypassPermissions` (the default here:
 * `--dangerously-skip-permissions`, since nobody is at a terminal to approve a tool call).
 */
export const PERMISSION_MODES = ['bypassPermissions', 'acceptEdits', 'default', 'plan', 'dontAsk', 'ask'] as const;
/** How a CLI agent's process lives: one warm process per conversation session, or one start per message. */
export const AGENT_PROCESS_MODES = ['warm', 'per-message'] as const;
/**
 * The boundary of a CLI agent (docs/sandbox.md): `off` runs it as the user; `on` inside the
 * bubblewrap boundary when the machine allows it (else unconfined, its status `degraded` with the
 * reason); `required` not at all unless the boundary is enforced.
 */
export const SANDBOX_MODES = ['off', 'on', 'required'] as const;
/** An environment variable name, for `env_passthrough`. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const positiveInt = z.int().positive();

/**
 * A host an agent's processes may connect to through the egress proxy (docs/sandbox.md#egress):
 * a name (`registry.npmjs.org`), every name under a domain (`*.example.com`: not the domain
 * itself), or an IP address. Matched without regard to case; any port.
 */
export const EGRESS_HOST_PATTERN =
  /^(?:(?:\*\.)?(?=[A-Za-z0-9-]{1,63}(?:\.|$))[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.(?=[A-Za-z0-9-]{1,63}(?:\.|$))[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$/;
export const EgressHostSchema = z
  .string()
  .max(253)
  .regex(EGRESS_HOST_PATTERN, { error: 'must be a host name such as "registry.npmjs.org", "*.example.com" (every name under it) or an IP address; no scheme, port or path' });

/** A PostgreSQL schema name as TinyAGI accepts it (interpolated into SQL, so a plain identifier). */
export const PG_SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** `postgres://…` or `postgresql://…` that parses as a URL (user, password, host, port, database, query). */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(?:ql)?:\/\/[^\s]+$/i.test(value) && URL.canParse(value);
}

/**
 * Where the stores live (docs/storage.md, "Selecting the backend"): without `url`, the built-in
 * SQLite file; with it, that PostgreSQL database (TINYAGI_DATABASE_URL wins over it). Read at
 * start: a change needs a restart. A password in the URL is masked wherever settings are shown.
 */
export const StorageSettingsSchema = z.looseObject({
  url: z.string().refine(isPostgresUrl, { error: 'must be a PostgreSQL URL such as postgres://user:password@host:5432/database; leave storage.url out for the built-in SQLite database' }).optional(),
  /** The PostgreSQL schema TinyAGI's tables live in (default `tinyagi`). */
  schema: z.string().regex(PG_SCHEMA_PATTERN, { error: 'must be a PostgreSQL schema name: lower-case letters, digits and _, starting with a letter or _, at most 63' }).optional(),
  /** Connections in this process's pool (default 10). */
  pool_size: z.int().min(1).max(200).optional(),
});
/** A file system path: no NUL byte (the OS cannot take one; spawn and fs calls would throw at every use). */
const PathSchema = z.string().refine((path) => !path.includes('\0'), { error: 'A path must not contain a NUL byte' });
const nonNegative = z.number().nonnegative();

/**
 * What an agent runs on: a registered runtime's name (`claude-code`, `codex`, `opencode`,
 * `anthropic-api`, `openai-api`, `mock`, a plugin's) or `custom:<provider id>`. The runtimes are
 * registered in core (docs/kinds.md), which this schema cannot see: core's cross-key validation tests
 * the name against the registry (and accept the pre-2026-11 names, which load forever).
 */
export const ProviderNameSchema = z.string().min(1, { error: 'must name a runtime (e.g. "claude-code") or "custom:<provider id>"' });
/** A custom provider's `runtime`: the runtime that talks to it; checked against the registry in core like ProviderNameSchema. */
export const CustomRuntimeNameSchema = z.string().min(1, { error: 'must name a runtime (e.g. "openai-api")' });

export const LimitsSettingsSchema = z.looseObject({
  max_depth: positiveInt.optional(),
  max_hops: positiveInt.optional(),
  max_messages: positiveInt.optional(),
  max_fanout: positiveInt.optional(),
  max_children_per_run: positiveInt.optional(),
  max_concurrent_children: positiveInt.optional(),
  max_spawns_per_conversation: positiveInt.optional(),
  conversation_timeout_s: OptionalPositive,
  child_timeout_s: OptionalPositive,
  ping_pong_max: positiveInt.optional(),
});

export const BudgetsSettingsSchema = z.looseObject({
  conversation_usd: nonNegative.optional(),
  conversation_tokens: OptionalCount,
  agent_daily_usd: nonNegative.optional(),
  agent_daily_tokens: OptionalCount,
  global_daily_usd: nonNegative.optional(),
  global_daily_tokens: OptionalCount,
  soft_limit_fraction: z.number().gt(0).max(1).optional(),
});

const UsageSchema = z.looseObject({
  input_tokens: OptionalCount,
  output_tokens: OptionalCount,
  cost_usd: nonNegative.optional(),
});

/** One scripted reply of the mock: the first whose `match` the prompt holds answers it (its reply, progress, actions or failure). */
export const MockReplySchema = z.looseObject({
  /** Substring of the incoming message (or `/regex/flags`) that selects this reply. */
  match: Str,
  reply: OptionalStr,
  fail: z.enum(MOCK_FAILURES).optional(),
  /** Holds the run, after its progress and before its latency, until the file `<gate_dir>/<gate>` exists. */
  gate: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'must be a file name: letters, digits, ".", "_" and "-"')
    .optional(),
  latency_ms: nonNegative.optional(),
  /**
   * Progress reported before the delay: a tool used (`{ tool, input, id?, kind?, title? }`), its
   * result (`{ tool_result: name, ok?, id?, output? }`), the plan (`{ plan: [{ text, status }] }`),
   * one model call's usage (`{ usage: { input_tokens, output_tokens, cache_read_tokens?, model? } }`),
   * a status line (`{ status }`) or streamed text (`{ text }`); `after_ms` waits before the step.
   */
  progress: z
    .array(
      z.union([
        z.looseObject({
          tool: Str,
          input: z.record(Str, z.unknown()).optional(),
          id: OptionalStr,
          kind: z.enum(['command', 'file_edit', 'file_read', 'search', 'web', 'mcp', 'agent', 'other']).optional(),
          title: OptionalStr,
          after_ms: nonNegative.optional(),
        }),
        z.looseObject({ tool_result: Str, ok: z.boolean().optional(), id: OptionalStr, output: OptionalStr, after_ms: nonNegative.optional() }),
        z.looseObject({
          plan: z.array(z.object({ text: Str, status: z.enum(['pending', 'in_progress', 'completed']) })),
          after_ms: nonNegative.optional(),
        }),
        z.looseObject({
          usage: z.object({
            input_tokens: z.number().int().nonnegative(),
            output_tokens: z.number().int().nonnegative(),
            cache_read_tokens: z.number().int().nonnegative().optional(),
            model: OptionalStr,
          }),
          after_ms: nonNegative.optional(),
        }),
        z.looseObject({ status: Str, after_ms: nonNegative.optional() }),
        z.looseObject({ text: Str, after_ms: nonNegative.optional() }),
      ]),
    )
    .optional(),
  spawn: z.array(z.looseObject({ agent: Str, task: Str, session: OptionalStr })).optional(),
  /** What it does before it replies, in order (docs/kinds.md, "The mock's actions"); the runtime checks them again when it runs. */
  actions: z
    .array(
      z.union([
        z.strictObject({ write: z.strictObject({ path: z.string().min(1), content: Str }) }),
        z.strictObject({ run: z.array(Str).min(1) }),
        z.strictObject({ commit: z.string().trim().min(1) }),
        z.strictObject({
          update_task: z.strictObject({ status: z.enum(['backlog', 'todo', 'in_progress', 'checking', 'review', 'done']).optional(), comment: z.string().trim().min(1).optional() }),
        }),
        z.strictObject({ ask_approval: z.strictObject({ tool: z.string().min(1), input: z.record(Str, z.unknown()).optional(), summary: OptionalStr }) }),
        z.strictObject({ remember: McpRememberInput }),
      ]),
    )
    .optional(),
  usage: UsageSchema.optional(),
});

/** The scripted, deterministic runtime used for demos, tests and fresh installs: `agents.<id>.mock`, the mock runtime kind's `settings`. */
export const MockScriptSchema = z.looseObject({
  /** Which account the mock says it spends: agents with the same one share quota holds. */
  account: OptionalStr,
  /** The directory of the replies' gate files; default `<TINYAGI_HOME>/mock-gates`. */
  gate_dir: OptionalStr,
  latency_ms: nonNegative.optional(),
  reply: OptionalStr,
  usage: UsageSchema.optional(),
  replies: z.array(MockReplySchema).optional(),
  /** Deprecated: the old name of `replies`, read when `replies` is absent (core's invoker/runtimes/mock.ts). */
  rules: z.array(MockReplySchema).optional(),
});

/** @deprecated The old name of `MockReplySchema`. */
export const MockRuleSchema = MockReplySchema;

/** An executable: a plain name found on PATH (`gemini`) or an absolute path; never a shell string. */
export const EXECUTABLE_PATTERN = /^(?:[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}|\/[^\n]{1,4095})$/;

/**
 * The `acp` runtime (any Agent Client Protocol agent, docs/sessions.md "ACP"): the agent's command
 * and arguments, started without a shell (`{ "command": "gemini", "args": ["--acp"] }`);
 * `agents.<id>.acp`, the acp runtime kind's `settings`.
 */
export const AcpAgentSettingsSchema = z.looseObject({
  command: z
    .string()
    .regex(EXECUTABLE_PATTERN, 'must be an executable name (found on PATH) or an absolute path, without a shell')
    .refine((c) => !c.includes('\u0000'), { error: 'must not contain NUL' }),
  args: z
    .array(
      z
        .string()
        .max(4096)
        .refine((a) => !a.includes('\u0000'), { error: 'must not contain NUL' }),
    )
    .max(64)
    .optional(),
  /**
   * Whether the agent reads its workspace's AGENTS.md itself, so the system prompt leaves it out
   * (each instruction reaches the model once). Default: known for the agents TinyAGI knows by
   * their command (claude-agent-acp, codex-acp: yes), else no. docs/sessions.md.
   */
  reads_agents_md: z.boolean().optional(),
});

export const AgentSettingsSchema = z.looseObject({
  name: OptionalStr,
  provider: ProviderNameSchema.optional(),
  model: ModelNameSchema.optional(),
  working_directory: PathSchema.optional(),
  system_prompt: OptionalStr,
  /** Wins over system_prompt (as in the reference). */
  prompt_file: PathSchema.optional(),
  heartbeat: z
    .looseObject({
      enabled: OptionalBool,
      /** Seconds. */
      interval: OptionalPositive,
    })
    .optional(),
  limits: LimitsSettingsSchema.optional(),
  timeout_s: OptionalPositive,
  inactivity_s: OptionalPositive,
  /** Silence allowed from a CLI's start until its first output (seconds; never less than inactivity_s). */
  start_grace_s: OptionalPositive,
  busy_policy: z.enum(BUSY_POLICIES).optional(),
  session_mode: z.enum(SESSION_MODES).optional(),
  steering: z.array(z.enum(STEER_COMMANDS)).optional(),
  max_attempts: positiveInt.optional(),
  /**
   * How tool use is approved (see PERMISSION_MODES): the CLIs' own modes, or `ask` — every
   * request no permission rule decides goes to a person (docs/approvals.md).
   */
  permission_mode: z.enum(PERMISSION_MODES).optional(),
  /** Permission rules and approval timing, evaluated by the daemon (docs/approvals.md). */
  permissions: z
    .looseObject({
      /** Evaluated in order of action: any matching `deny` wins, then `ask`, then `allow`. */
      rules: z.array(PermissionRuleSchema).max(500).optional(),
      /** How long a person has to answer (seconds; default 600). */
      expires_s: OptionalPositive,
      /** What happens when nobody answered in time (default `deny`). */
      on_expiry: z.enum(['deny', 'allow']).optional(),
      /**
       * Who may answer this agent's requests from the chat apps: globs on `<channel>:<sender id>`
       * (`telegram:12345`, `discord:*`). Left out: any sender paired on the channel the request's
       * conversation came through. The API token, the CLI and TinyOffice may always answer.
       */
      approvers: z.array(z.string().min(1).max(200)).max(200).optional(),
    })
    .optional(),
  /**
   * CLI agents: `warm` keeps one CLI process per conversation session and speaks the CLI's own
   * protocol to it (Claude Code stream-json, Codex app-server, ACP: steering inside the turn, no
   * start per message); `per-message` starts the CLI for every message. docs/sessions.md.
   */
  process: z.enum(AGENT_PROCESS_MODES).optional(),
  /**
   * While the agent's account is held for a rate limit or quota (docs/quotas.md#failover), it
   * runs on this provider (a runtime or `custom:<id>`) and `fallback_model` (absent:
   * that runtime's default), if that provider's account is not held too.
   */
  fallback_provider: ProviderNameSchema.optional(),
  fallback_model: ModelNameSchema.optional(),
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
  // A runtime's own block, `agents.<id>.<runtime>` (the mock's script, MockScriptSchema; the acp
  // runtime's command, AcpAgentSettingsSchema), is checked by core against the schema of the
  // registered runtime kind of that name (core config/runtime-blocks.ts, docs/kinds.md).
  cross_team: OptionalBool,
  /**
   * The node that runs this agent (its name, see NODE_NAME_PATTERN); absent: any node. Only
   * matters with several nodes on one PostgreSQL database (docs/postgresql.md#agent-placement-and-sessions).
   */
  node: NodeNameSchema.optional(),
  /**
   * Sandboxed agents: hosts its processes may connect to without asking, besides
   * `sandbox.egress_defaults` (docs/sandbox.md#egress). An `allow_always` answer to an `egress`
   * request adds its host here.
   */
  egress_allow: z.array(EgressHostSchema).max(500).optional(),
  /** Whether the agent's CLI runs inside the boundary (SANDBOX_MODES, docs/sandbox.md); absent: `off`. */
  sandbox: z.enum(SANDBOX_MODES).optional(),
  /**
   * Who this agent may call (`tinyagi call`, the call tool) and hand work to (tags, the handoff
   * tool): agent ids, `*` for any. Absent: any agent; for a sandboxed agent, its teammates and the
   * agents sandboxed at least as tightly. Every agent up a chain must allow the next (docs/sandbox.md,
   * "Calls between agents").
   */
  may_call: z.array(Str).max(500).optional(),
  /** This agent's own daily caps (UTC day), instead of budgets.agent_daily_usd / _tokens. */
  budgets: z.looseObject({ daily_usd: nonNegative.optional(), daily_tokens: OptionalCount }).optional(),
  /** What this agent recalls before each turn and which of its proposals are accepted without a person (docs/memory.md). */
  memory: MemorySettingsSchema.optional(),
});

export const TeamSettingsSchema = z.looseObject({
  name: OptionalStr,
  agents: StrArray.optional(),
  leader_agent: OptionalStr,
  reply_mode: z.enum(REPLY_MODES).optional(),
  limits: LimitsSettingsSchema.optional(),
  budgets: BudgetsSettingsSchema.optional(),
  /** Which proposals to the team's memory are accepted without a person (docs/memory.md). */
  memory: MemorySettingsSchema.optional(),
});

export const CustomProviderSettingsSchema = z.looseObject({
  name: OptionalStr,
  runtime: CustomRuntimeNameSchema.optional(),
  /** The old name of `runtime` (read forever, `runtime` wins; the next write renames it: core's config/runtime-names.ts). */
  harness: CustomRuntimeNameSchema.optional(),
  base_url: z
    .string()
    .refine((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
      error: (issue) => `Not an http(s) URL: ${JSON.stringify(issue.input)}`,
    })
    .optional(),
  api_key: OptionalStr,
  model: ModelNameSchema.optional(),
});

/**
 * The session pool of warm agent processes (docs/sessions.md): agents with `process: "warm"`.
 * Applied at start and on every settings change.
 */
export const SessionsSettingsSchema = z.looseObject({
  /** Warm processes in all (default 16). */
  max_total: z.int().min(1).max(1000).optional(),
  /** Warm processes of one agent: its conversations at once (default 4). */
  max_per_agent: z.int().min(1).max(1000).optional(),
  /** A warm process unused for this long is closed (default 15). */
  idle_minutes: z.number().positive().optional(),
  /** Warm processes may not push the machine's used memory past this share of its total (default 0.6). */
  memory_share: z.number().gt(0).max(1).optional(),
  /** One process's memory in MB for that check, instead of the measured size of the runtime's warm processes. */
  process_memory_mb: z.number().positive().optional(),
});

/** The boundary of sandboxed agents (docs/sandbox.md); read at each CLI start. */
export const SandboxSettingsSchema = z.looseObject({
  /** Hosts every sandboxed agent may connect to (absent: the package registries and git hosts docs/sandbox.md lists; `[]`: none). */
  egress_defaults: z.array(EgressHostSchema).max(500).optional(),
  /** Memory cap of each sandboxed agent's processes together, in MB (a cgroup, where the daemon can make one; default 4096). */
  memory_mb: z.int().min(64).max(1_048_576).optional(),
});

export const SettingsFileSchema = z.looseObject({
  workspace: z.looseObject({ path: PathSchema.optional(), name: OptionalStr }).optional(),
  /** This node (local: never shared through the database, see core's nodes/settings-split.ts). */
  node: z.looseObject({ name: NodeNameSchema.optional() }).optional(),
  channels: z
    .looseObject({
      enabled: StrArray.optional(),
      // Each channel's own block, `channels.<name>`, is checked by core against the schema of the
      // registered channel kind of that name (core config/channel-blocks.ts, docs/kinds.md).
      /** Sticky default target per sender id (an agent or team id), written by channel clients. */
      defaults: z.record(Str, Str).optional(),
    })
    .optional(),
  models: z
    .looseObject({
      provider: ProviderNameSchema.optional(),
      anthropic: z.looseObject({ model: ModelNameSchema.optional(), api_key: OptionalStr, oauth_token: OptionalStr }).optional(),
      openai: z.looseObject({ model: ModelNameSchema.optional(), api_key: OptionalStr }).optional(),
      opencode: z.looseObject({ model: ModelNameSchema.optional() }).optional(),
    })
    .optional(),
  agents: z.record(Str, AgentSettingsSchema).optional(),
  teams: z.record(Str, TeamSettingsSchema).optional(),
  custom_providers: z.record(Str, CustomProviderSettingsSchema).optional(),
  /** OpenTelemetry trace export (@tinyagi/otel, docs/telemetry.md); off unless `enabled` or OTEL_TRACES_EXPORTER=otlp. */
  telemetry: z
    .looseObject({
      enabled: OptionalBool,
      /** The collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT (`http://localhost:4318`; gRPC `http://localhost:4317`). */
      endpoint: z
        .string()
        .refine((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
          error: (issue) => `must be an http:// or https:// URL such as http://localhost:4318, got ${JSON.stringify(issue.input)}`,
        })
        .optional(),
      protocol: z.enum(['http/protobuf', 'http/json', 'grpc']).optional(),
      /** Sent with every export (secret: masked like API keys). */
      headers: z.record(Str, z.string()).optional(),
      /** The share of conversations traced, 0 to 1. */
      sample_ratio: z.number().min(0).max(1).optional(),
      /** Prompts, replies and tool arguments on the spans (secrets masked). */
      capture_content: OptionalBool,
      service_name: OptionalStr,
      /** Point the agent CLIs' own telemetry (Claude Code's OTLP export, Codex's `[otel]`) at the same collector, inside the run's trace. Default false. */
      cli_telemetry: OptionalBool,
    })
    .optional(),
  monitoring: z
    .looseObject({
      heartbeat_interval: OptionalPositive,
      /** No heartbeats in this daily range of the daemon's local time; it may wrap past midnight. */
      quiet_hours: z.string().regex(QUIET_HOURS_PATTERN, 'must look like "22:00-07:00" (24-hour local time; the range may wrap past midnight)').optional(),
    })
    .optional(),
  server: z
    .looseObject({
      host: z.string().min(1).optional(),
      port: z.int().min(0).max(65_535).optional(),
      allowed_origins: StrArray.optional(),
      /** Extra Host header values; localhost, 127.0.0.1 and [::1] with the port are always allowed. */
      allowed_hosts: StrArray.optional(),
      /** API rate limits (see docs/security.md). */
      rate_limit: z
        .looseObject({
          /** POST /api/message per token: sustained rate, after a burst of `message_burst`. */
          messages_per_second: OptionalPositive,
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
  retention: z.looseObject({ days: OptionalPositive }).optional(),
  storage: StorageSettingsSchema.optional(),
  sessions: SessionsSettingsSchema.optional(),
  /** Sandboxed agents (docs/sandbox.md). */
  sandbox: SandboxSettingsSchema.optional(),
  limits: LimitsSettingsSchema.optional(),
  budgets: BudgetsSettingsSchema.optional(),
  /** Memory beyond an agent's and a team's own block (docs/memory.md). */
  memory: GlobalMemorySettingsSchema.optional(),
  /** Registered workflows, by name (docs/workflows.md, "Registered workflows"). */
  workflows: z.record(Str, WorkflowSettingsSchema).optional(),
});

export type SettingsFile = z.infer<typeof SettingsFileSchema>;
export type AcpAgentSettings = z.infer<typeof AcpAgentSettingsSchema>;
export type AgentSettings = z.infer<typeof AgentSettingsSchema>;
