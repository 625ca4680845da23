/**
 * MCP servers given to an agent's CLI for one invocation (docs/mcp.md): TinyAGI's own (the
 * teamwork tools), in the form each CLI reads, always beside the user's own MCP servers, never
 * instead of them:
 * - Claude Code: `--mcp-config <file>` (servers of that file are added to the user's; no
 *   `--strict-mcp-config`);
 * - Codex: `-c mcp_servers.<name>.…` overrides (merged into the user's config.toml);
 * - OpenCode: the `mcp` block of the config TinyAGI gives it;
 * - ACP agents: `mcpServers` of `session/new` and `session/load`.
 *
 * A server with `http` is reached over streamable HTTP (TinyAGI's agent tools on the daemon's
 * `/mcp`: no process per CLI), with the CLI process's tools token (TINYAGI_TOOLS_TOKEN,
 * tools-tokens.ts) as its bearer token. Claude Code and OpenCode read it from their own
 * environment (`${VAR}`, `{env:VAR}`) and Codex by `bearer_token_env_var`, so their config is the
 * same for every run and holds no token; an ACP agent is given the value, once per process. An
 * ACP agent that does not take HTTP servers (`mcpCapabilities.http`) gets the stdio form
 * (`command`, `args`), which reads its run from the environment (`envVars`): the run id and token
 * of a per-message CLI, or TINYAGI_RUN_FILE of a warm process.
 */
import { TOOLS_TOKEN_ENV } from './tools-tokens.ts';

export interface McpServerSpec {
  /** The server's name in the CLI (its tools are `mcp__<name>__<tool>` in Claude Code). */
  name: string;
  /** The stdio form: the command that serves it. */
  command: string;
  args: string[];
  /** Variables of the CLI's environment the stdio server needs (those set are passed on). */
  envVars: string[];
  /** The HTTP form, used wherever the CLI can: the server's URL, reached with the process's tools token. */
  http?: { url: string };
  /**
   * The server's tool that answers Claude Code's permission prompts (TinyAGI's `approval_prompt`):
   * a per-message Claude Code agent with `permission_mode: "ask"` gets
   * `--permission-prompt-tool mcp__<name>__<tool>` (docs/approvals.md).
   */
  permissionPromptTool?: string;
  /**
   * How long one tool call may take, in seconds, where the CLI has a limit of its own: Codex's
   * `tool_timeout_sec` (default 60 s) would cut off `call_agent` and `ask_human`, which wait for
   * a teammate or a person; Claude Code (2.1.330) cuts off a stdio tool call silent for 30 min
   * (CLAUDE_CODE_MCP_TOOL_IDLE_TIMEOUT) unless the server's `timeout` (ms) is longer, and every
   * call at MCP_TOOL_TIMEOUT (default 1e8 ms, about 28 h). OpenCode and ACP agents have none.
   */
  toolTimeoutS?: number;
}

/** The variables the stdio server `tinyagi mcp --agent-tools` reads its run from. */
export const AGENT_TOOLS_ENV = ['TINYAGI_API_URL', 'TINYAGI_RUN_ID', 'TINYAGI_RUN_TOKEN', 'TINYAGI_CONVERSATION_ID', 'TINYAGI_RUN_FILE'];

function envOf(spec: McpServerSpec, env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of spec.envVars) if (env[name] !== undefined && env[name] !== '') out[name] = env[name];
  return out;
}

/** Claude Code's `--permission-prompt-tool` name for the first server that offers one (`mcp__tinyagi__approval_prompt`). */
export function claudePermissionPromptTool(specs: readonly McpServerSpec[] | undefined): string | undefined {
  const spec = specs?.find((s) => s.permissionPromptTool);
  return spec ? `mcp__${spec.name}__${spec.permissionPromptTool}` : undefined;
}

/** Claude Code's `--mcp-config` JSON (`${TINYAGI_TOOLS_TOKEN}` is expanded from Claude Code's environment; stdio servers inherit it). */
export function claudeMcpConfig(specs: readonly McpServerSpec[]): string {
  const mcpServers: Record<string, unknown> = {};
  for (const spec of specs) {
    const timeout = spec.toolTimeoutS !== undefined ? { timeout: spec.toolTimeoutS * 1000 } : {};
    mcpServers[spec.name] = spec.http
      ? { type: 'http', url: spec.http.url, headers: { Authorization: `Bearer \${${TOOLS_TOKEN_ENV}}` }, ...timeout }
      : { type: 'stdio', command: spec.command, args: spec.args, ...timeout };
  }
  return JSON.stringify({ mcpServers });
}

/** TOML values for `-c key=value` (codex parses the value as TOML). */
const toml = (value: string | string[]): string => (Array.isArray(value) ? `[${value.map((v) => JSON.stringify(v)).join(',')}]` : JSON.stringify(value));

/** How long Codex waits for an MCP server to start (its own default is 10 s). */
export const CODEX_MCP_STARTUP_TIMEOUT_S = 60;

/** Codex's `-c mcp_servers.<name>.…` overrides. */
export function codexMcpArgs(specs: readonly McpServerSpec[]): string[] {
  const args: string[] = [];
  for (const spec of specs) {
    const key = `mcp_servers.${spec.name}`;
    if (spec.http) args.push('-c', `${key}.url=${toml(spec.http.url)}`, '-c', `${key}.bearer_token_env_var=${toml(TOOLS_TOKEN_ENV)}`);
    else {
      args.push('-c', `${key}.command=${toml(spec.command)}`, '-c', `${key}.args=${toml(spec.args)}`);
      if (spec.envVars.length > 0) args.push('-c', `${key}.env_vars=${toml(spec.envVars)}`);
    }
    if (spec.toolTimeoutS !== undefined) args.push('-c', `${key}.tool_timeout_sec=${spec.toolTimeoutS}`);
    // Codex (0.169) waits only 1 s (`mcp_optional_startup_grace_ms`) for an optional server before
    // the first turn starts without its tools, for the whole session, and gives up on starting it
    // after startup_timeout_sec (10 s by default). A Node server (or a daemon) on a loaded machine can take longer
    // (seen in the real-CLI suite: TinyAGI's tools missing while the user's own faster servers were
    // there). `required` makes the turn wait for this server (up to startup_timeout_sec) and fail
    // the run, which the daemon retries, if it cannot start; the user's own servers keep Codex's
    // defaults.
    args.push('-c', `${key}.required=true`);
    args.push('-c', `${key}.startup_timeout_sec=${CODEX_MCP_STARTUP_TIMEOUT_S}`);
  }
  return args;
}

/** OpenCode's `mcp` config block (`{env:TINYAGI_TOOLS_TOKEN}` is substituted from OpenCode's environment; local servers inherit it). */
export function opencodeMcpConfig(specs: readonly McpServerSpec[]): Record<string, unknown> {
  const mcp: Record<string, unknown> = {};
  for (const spec of specs) {
    // `oauth: false`: a refused token is an error to show, not a reason to start an OAuth login.
    mcp[spec.name] = spec.http
      ? { type: 'remote', url: spec.http.url, headers: { Authorization: `Bearer {env:${TOOLS_TOKEN_ENV}}` }, oauth: false, enabled: true }
      : { type: 'local', command: [spec.command, ...spec.args], enabled: true };
  }
  return mcp;
}

type NameValue = Array<{ name: string; value: string }>;
export type AcpMcpServer = { type: 'http'; name: string; url: string; headers: NameValue } | { name: string; command: string; args: string[]; env: NameValue };

/**
 * ACP's `mcpServers`: HTTP servers (with the process's tools token as the header's value) when
 * the agent takes them (`mcpCapabilities.http` of its `initialize` answer), else stdio servers
 * (name, command, args, env as name/value pairs).
 */
export function acpMcpServers(specs: readonly McpServerSpec[], env: Record<string, string>, agentTakesHttp: boolean): AcpMcpServer[] {
  const token = env[TOOLS_TOKEN_ENV];
  return specs.map((spec) =>
    spec.http && agentTakesHttp && token
      ? { type: 'http', name: spec.name, url: spec.http.url, headers: [{ name: 'Authorization', value: `Bearer ${token}` }] }
      : { name: spec.name, command: spec.command, args: spec.args, env: Object.entries(envOf(spec, env)).map(([name, value]) => ({ name, value })) },
  );
}
