/**
 * Kinds: the families of things TinyAGI can be extended with — chat channels and agent runtimes.
 * A kind is described once, by a descriptor that loads without its implementation (a channel's in
 * its folder in @tinyagi/channels, a built-in runtime's in core's `kinds/runtimes/`) and is
 * registered in its family's registry (core's `kinds/`). Every list that used to be kept by hand —
 * the channels with a delivering client, environment overrides, secret paths, doctor checks, the
 * supervisor's environment allowlist, CLI help, the settings blocks, the CLIs' verified versions,
 * the telemetry provider names, TinyOffice's forms — is derived from the registered descriptors
 * (docs/kinds.md).
 *
 * This file holds the descriptor types (zod schemas included, for validating a kind's settings
 * block) and the serialisable view that `GET /api/kinds` returns.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, Str, StrArray } from './common.ts';

/** A kind's name: lower-case letters, digits and `-`, as in settings keys and CLI arguments. */
export const KIND_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** An environment variable that overrides a settings value of the kind (`TELEGRAM_BOT_TOKEN` → `bot_token`). */
export interface KindEnvBinding {
  readonly variable: string;
  /** Dotted path inside the kind's settings block. */
  readonly path: string;
}

export interface ChannelCapabilities {
  /** Conversations live in threads or topics (Slack threads, Telegram topics, Discord threads). */
  readonly threads: boolean;
  /** A sent message can be edited afterwards (live progress replies). */
  readonly editsMessages: boolean;
  /** Direct (one-to-one) chats are told apart from group chats. */
  readonly privateReplies: boolean;
  /** Files can be received and sent. */
  readonly files: boolean;
  /** Interactive buttons can be attached to a message (approvals). */
  readonly buttons: boolean;
}

/**
 * Live replies (docs/channels.md): while an agent works, `off` shows typing only, `status` one
 * progress message with the current tool or plan line and the elapsed time, `text` the agent's
 * text so far. The channel host reads it, so every kind (built-in or a plugin's) takes it.
 */
export const LIVE_REPLY_MODES = ['off', 'status', 'text'] as const;
export type LiveReplyMode = (typeof LIVE_REPLY_MODES)[number];

/** Settings of every channel's block whatever its kind (checked beside the kind's own schema). */
export const ChannelCommonSettingsSchema = z.looseObject({
  live_replies: z.enum(LIVE_REPLY_MODES).describe('progress in the chat while an agent works: off, status (default) or text').optional(),
});

/** A chat channel: Discord, Telegram, WhatsApp, … */
export interface ChannelKind {
  readonly family: 'channel';
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** The block `channels.<name>` of settings.json. */
  readonly settings: z.ZodType;
  /** Paths inside the block that hold secrets (masked on every read). */
  readonly secrets: readonly string[];
  /**
   * Which secrets must be set, when that depends on a setting of the block (Slack: Socket Mode
   * needs the app-level token, the HTTP Events API the signing secret). Left out: every secret.
   */
  readonly requiredSecrets?: { readonly by: string; readonly default: string; readonly when: Readonly<Record<string, readonly string[]>> };
  readonly env: readonly KindEnvBinding[];
  /** How the channel logs in: a token in its settings block, or a QR code scanned from a phone. */
  readonly login: 'token' | 'qr';
  /** Variables of the daemon's environment the channel's process receives (proxies, the platform's own switches). */
  readonly processEnv: readonly string[];
  /** The longest text one platform message takes (longer replies are split). */
  readonly maxMessageChars: number;
  readonly capabilities: ChannelCapabilities;
  /**
   * Where the channel process finds the adapter of a kind that is not built into
   * @tinyagi/channels (a plugin's): a module specifier or file URL exporting
   * `createAdapter(context)` (@tinyagi/channels `ChannelAdapterModule`). Built-in kinds leave it out.
   */
  readonly adapterModule?: string;
}

export interface RuntimeCapabilities {
  /** The runtime resumes a session of its own across turns (Claude Code, Codex, OpenCode). */
  readonly keepsSession: boolean;
  /** A message can be given to a turn while it runs, without restarting it. */
  readonly steersMidTurn: boolean;
  /** A running turn can be paused and resumed. */
  readonly pauses: boolean;
  /** The runtime can ask a person before it acts (tool permission requests). */
  readonly asksApproval: boolean;
  /** The runtime reads the workspace's AGENTS.md / CLAUDE.md itself (TinyAGI does not paste it into the prompt). */
  readonly readsAgentsMd: boolean;
  /** The runtime runs tools (shell, files) in the agent's workspace. */
  readonly usesTools: boolean;
  /**
   * The runtime has a warm driver: with `process: "warm"` one process per session stays between
   * messages (docs/sessions.md). New agents of such a runtime are warm unless they say otherwise.
   * Absent: false (a plugin runtime without a warm driver).
   */
  readonly staysWarm?: boolean;
}

/** What a retried turn does with the runtime's own session (docs/agent-clis.md#retries). */
export const RUNTIME_RETRY_MODES = ['resume-at', 'fresh-session', 'history'] as const;
export type RuntimeRetry = (typeof RUNTIME_RETRY_MODES)[number];

/** How a custom provider (`custom_providers.<id>` with this runtime) reaches its endpoint. */
export interface RuntimeCustomProvider {
  /** Said in help and forms: what TinyAGI sets (`ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN`, `model_providers.tinyagi`, …). */
  readonly via: string;
  /** The provider is useless without `base_url` (an HTTP runtime, a CLI that takes the URL from its config). */
  readonly needsBaseUrl: boolean;
}

/**
 * What TinyAGI verified of a CLI runtime's command, and how to ask it its version
 * (docs/agent-clis.md#cli-versions): the daemon's start-up check, doctor, flags chosen by version.
 */
export interface RuntimeVerifiedVersions {
  /** The version the real-CLI suite pins (tested end to end). */
  readonly pinned: string;
  /** Versions taken as verified: at least `min`, below `below` (the pinned minor's later patches). */
  readonly min: string;
  readonly below: string;
  /** The arguments that make the command print its version (`--version`). */
  readonly versionArgs: readonly string[];
  /** Features chosen by version: the first version known to have each (older ones may, unchecked). */
  readonly features: Readonly<Record<string, string>>;
  /** How to install the pinned version (`npm install -g @openai/codex@0.169.0`). */
  readonly install: string;
}

/** `gen_ai.provider.name` from the model instead: the `<provider>` of a model written `<provider>/<model>` (OpenCode's). */
export interface RuntimeTelemetryFromModel {
  readonly fromModel: true;
}

/** What runs an agent: a CLI (Claude Code, Codex, OpenCode) or a model API spoken over HTTP. */
export interface RuntimeKind {
  readonly family: 'runtime';
  readonly name: string;
  /**
   * Other names of this runtime, accepted wherever a runtime is named (a plugin that renamed its
   * runtime). The built-in runtimes' pre-2026-11 names are not aliases: they meant different
   * runtimes in different settings keys, so core's config/runtime-names.ts maps them per key.
   */
  readonly aliases: readonly string[];
  readonly title: string;
  readonly description: string;
  /** The executable a CLI runtime starts (looked up on PATH); null for HTTP and in-process runtimes. */
  readonly command: string | null;
  /** How to install the command, for doctor's hint (`npm install -g @anthropic-ai/claude-code`). */
  readonly installHint: string | null;
  /** Variables of the daemon's environment the runtime passes to its process (credentials, cloud switches). */
  readonly passthroughEnv: readonly string[];
  readonly capabilities: RuntimeCapabilities;
  /** Files the runtime reads instead of AGENTS.md when the workspace has them (Claude Code: CLAUDE.md). */
  readonly instructionFiles: readonly string[];
  /** Where its CLI looks for skills in a workspace (`.claude/skills`): provisioning links it to `.agents/skills`. */
  readonly skillsFolder?: string;
  /** Short model names the runtime takes in `model` (`sonnet` → `claude-sonnet-4-6`); other values are passed as they are. */
  readonly modelAliases: Readonly<Record<string, string>>;
  /** The `models.<block>` of settings.json with this runtime's default model (and credentials), if any. */
  readonly modelsBlock: string | null;
  /** null: a custom provider cannot use this runtime. */
  readonly customProvider: RuntimeCustomProvider | null;
  /**
   * A retry of a failed turn: `resume-at` resumes the session at the last completed turn (the
   * failed half is left on a side branch); `fresh-session` starts a new session with the
   * transcript; `history` sends the stored history again (stateless APIs, mock).
   */
  readonly retry: RuntimeRetry;
  /**
   * Where a running turn takes pause, inject and redirect (`its next model call (between tool
   * rounds)`), when `capabilities.steersMidTurn`; null: only once the turn is over.
   */
  readonly steerPoint: string | null;
  /**
   * The agent's block of this runtime, `agents.<id>.<name>` in settings.json (the mock's script,
   * the acp runtime's command): its zod schema, which settings validation checks the block
   * against (a bad value is refused with its path, `agents.gemini.acp.command`). Left out: the
   * runtime reads no block of its own.
   */
  readonly settings?: z.ZodType;
  /** A CLI runtime's verified versions; left out: its version is not checked. */
  readonly verifiedVersions?: RuntimeVerifiedVersions;
  /**
   * What its CLI says when told to resume a session it does not have (its error or the end of its
   * stderr): the run then starts a new session once instead of failing (invoker/session-side.ts).
   * Left out: such a failure is an ordinary one.
   */
  readonly noSuchSession?: RegExp;
  /**
   * Where its CLI keeps its configuration, login and state (docs/kinds.md, "A CLI's home"): the
   * sandbox hides them, gives the CLI private ones inside, and the self-test proves its login
   * files unreadable; the approval rules protect its project configuration in a workspace. Left
   * out: the runtime runs no CLI of its own.
   */
  readonly home?: RuntimeHome;
  /**
   * `gen_ai.provider.name` of its runs in traces (@tinyagi/otel): its vendor's well-known value
   * (`anthropic`, `openai`), or the model's provider (`{ fromModel: true }`). Left out (or a
   * model without a provider): the runtime's name.
   */
  readonly telemetryProvider?: string | RuntimeTelemetryFromModel;
}

/** A runtime's CLI home (`RuntimeKind.home`). Paths are relative to the user's home unless said. */
export interface RuntimeHome {
  /** Its folders and files under the home (`.claude`, `.claude.json`): hidden in every sandbox. */
  readonly paths: readonly string[];
  /**
   * Variables that name its config home (`CLAUDE_CONFIG_DIR`): where the daemon's environment
   * points one, that folder is hidden too; with `folder`, the variable points inside the sandbox
   * at that folder of the agent's private home (made before the start).
   */
  readonly variables?: ReadonlyArray<{ readonly variable: string; readonly folder?: string }>;
  /** Its folder under XDG base directories (`XDG_CONFIG_HOME` + `opencode`), hidden where the environment sets them. */
  readonly xdg?: ReadonlyArray<{ readonly variable: 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME' | 'XDG_STATE_HOME' | 'XDG_CACHE_HOME'; readonly folder: string }>;
  /** Files holding its login (`.codex/auth.json`): the sandbox's self-test proves each unreadable inside. */
  readonly credentialFiles?: readonly string[];
  /** Its project configuration in a workspace, as globs (`.claude/**`, `.mcp.json`): an agent's own edits of it ask (approvals' protected paths). */
  readonly projectConfig?: readonly string[];
}

export type Kind = ChannelKind | RuntimeKind;

/** The serialisable view of a channel kind (`GET /api/kinds`). */
export const ChannelKindInfoSchema = z
  .object({
    family: z.literal('channel'),
    name: Str,
    title: Str,
    description: Str,
    /** JSON Schema of `channels.<name>` in settings.json. */
    settings: z.record(Str, z.unknown()),
    secrets: StrArray,
    env: z.array(z.object({ variable: Str, path: Str })),
    login: z.enum(['token', 'qr']),
    maxMessageChars: z.number().int(),
    capabilities: z.object({ threads: Bool, editsMessages: Bool, privateReplies: Bool, files: Bool, buttons: Bool }),
  })
  .meta({ id: 'ChannelKind' });
export type ChannelKindInfo = z.infer<typeof ChannelKindInfoSchema>;

/** The serialisable view of a runtime kind (`GET /api/kinds`). */
export const RuntimeKindInfoSchema = z
  .object({
    family: z.literal('runtime'),
    name: Str,
    aliases: StrArray,
    title: Str,
    description: Str,
    command: Str.nullable(),
    installHint: Str.nullable(),
    passthroughEnv: StrArray,
    capabilities: z.object({ keepsSession: Bool, steersMidTurn: Bool, pauses: Bool, asksApproval: Bool, readsAgentsMd: Bool, usesTools: Bool, staysWarm: Bool.optional() }),
    instructionFiles: StrArray,
    modelAliases: z.record(Str, Str),
    modelsBlock: Str.nullable(),
    customProvider: z.object({ via: Str, needsBaseUrl: Bool }).nullable(),
    retry: z.enum(RUNTIME_RETRY_MODES),
    steerPoint: Str.nullable(),
    /** JSON Schema of the agent's block of this runtime (`agents.<id>.<name>`), or null: it reads none. */
    settings: z.record(Str, z.unknown()).nullable(),
    verifiedVersions: z.object({ pinned: Str, min: Str, below: Str, versionArgs: StrArray, features: z.record(Str, Str), install: Str }).nullable(),
    /** `gen_ai.provider.name` of its runs: a name, or `{ fromModel: true }` (the model's `<provider>/`, else the runtime's name). */
    telemetryProvider: z.union([Str, z.object({ fromModel: z.literal(true) })]),
    /**
     * A runtime that runs a CLI: its command and whether it is installed on the daemon's machine
     * (found on the daemon's PATH; `path`: where). Absent for HTTP and in-process runtimes.
     */
    cli: z.object({ command: Str, installed: Bool, path: Str.optional() }).optional(),
  })
  .meta({ id: 'RuntimeKind' });
export type RuntimeKindInfo = z.infer<typeof RuntimeKindInfoSchema>;

export const KindsSchema = z.object({ channels: z.array(ChannelKindInfoSchema), runtimes: z.array(RuntimeKindInfoSchema) });
export type Kinds = z.infer<typeof KindsSchema>;

export const kindsContract = {
  listKinds: route({
    method: 'GET',
    path: '/api/kinds',
    summary: 'The registered kinds of channels and agent runtimes, with their settings schema and capabilities',
    tag: 'system',
    response: KindsSchema,
  }),
} as const;

/** Identity helpers that check a descriptor's shape where it is written. */
export function defineChannelKind(kind: Omit<ChannelKind, 'family'>): ChannelKind {
  return { family: 'channel', ...kind };
}

/** The secrets an enabled channel needs with this block (`requiredSecrets`, else every secret of its kind). */
export function requiredChannelSecrets(kind: Pick<ChannelKind, 'secrets' | 'requiredSecrets'>, block: unknown): readonly string[] {
  const rule = kind.requiredSecrets;
  if (!rule) return kind.secrets;
  const chosen = block !== null && typeof block === 'object' ? (block as Record<string, unknown>)[rule.by] : undefined;
  return rule.when[typeof chosen === 'string' ? chosen : rule.default] ?? rule.when[rule.default] ?? kind.secrets;
}
export function defineRuntimeKind(kind: Omit<RuntimeKind, 'family'>): RuntimeKind {
  return { family: 'runtime', ...kind };
}
