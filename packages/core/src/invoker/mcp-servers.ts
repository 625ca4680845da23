/**
 * MCP servers given to an agent's CLI for one invocation (docs/mcp.md): TinyAGI's own
 * (`tinyagi mcp --agent-tools`, the teamwork tools), in the form each CLI reads, always beside
 * the user's own MCP servers, never instead of them:
 * - Claude Code: `--mcp-config <file>` (servers of that file are added to the user's; no
 *   `--strict-mcp-config`);
 * - Codex: `-c mcp_servers.<name>.…` overrides (merged into the user's config.toml), with
 *   `env_vars` forwarding the variables from codex's own environment (no token in argv);
 * - OpenCode: the `mcp` block of the config TinyAGI gives it;
 * - ACP agents: `mcpServers` of `session/new` and `session/load`.
 *
 * The server reads its run from the environment (`envVars`): the run id and token of a
 * per-message CLI, or TINYAGI_RUN_FILE of a warm session (the current run, rewritten every turn).
 * Claude Code and OpenCode start their MCP servers with their own environment, so their config
 * names none of it: it is the same for every run (no token on disk, no file written per
 * message). Codex starts them with a minimal environment (hence `env_vars`); an ACP agent is given
 * the values, once per process.
 */

export interface McpServerSpec {
  /** The server's name in the CLI (its tools are `mcp__<name>__<tool>` in Claude Code). */
  name: string;
  command: string;
  args: string[];
  /** Variables of the CLI's environment the server needs (those set are passed on). */
  envVars: string[];
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

/** The variables `tinyagi mcp --agent-tools` reads its run from. */
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

/** Claude Code's `--mcp-config` JSON (the servers inherit Claude Code's environment). */
export function claudeMcpConfig(specs: readonly McpServerSpec[]): string {
  const mcpServers: Record<string, unknown> = {};
  for (const spec of specs) mcpServers[spec.name] = { type: 'stdio', command: spec.command, args: spec.args, ...(spec.toolTimeoutS !== undefined ? { timeout: spec.toolTimeoutS * 1000 } : {}) };
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
    args.push('-c', `${key}.command=${toml(spec.command)}`, '-c', `${key}.args=${toml(spec.args)}`);
    if (spec.envVars.length > 0) args.push('-c', `${key}.env_vars=${toml(spec.envVars)}`);
    if (spec.toolTimeoutS !== undefined) args.push('-c', `${key}.tool_timeout_sec=${spec.toolTimeoutS}`);
    // Codex (0.169) waits only 1 s (`mcp_optional_startup_grace_ms`) for an optional server before
    // the first turn starts without its tools, for the whole session, and gives up on starting it
    // after startup_timeout_sec (10 s by default). A Node server on a loaded machine can take longer
    // (seen in the real-CLI suite: TinyAGI's tools missing while the user's own faster servers were
    // there). `required` makes the turn wait for this server (up to startup_timeout_sec) and fail
    // the run, which the daemon retries, if it cannot start; the user's own servers keep Codex's
    // defaults.
    args.push('-c', `${key}.required=true`);
    args.push('-c', `${key}.startup_timeout_sec=${CODEX_MCP_STARTUP_TIMEOUT_S}`);
  }
  return args;
}

/** OpenCode's `mcp` config block (the servers inherit OpenCode's environment). */
export function opencodeMcpConfig(specs: readonly McpServerSpec[]): Record<string, unknown> {
  const mcp: Record<string, unknown> = {};
  for (const spec of specs) mcp[spec.name] = { type: 'local', command: [spec.command, ...spec.args], enabled: true };
  return mcp;
}

/** ACP's `mcpServers` (stdio servers: name, command, args, env as name/value pairs). */
export function acpMcpServers(specs: readonly McpServerSpec[], env: Record<string, string>): Array<{ name: string; command: string; args: string[]; env: Array<{ name: string; value: string }> }> {
  return specs.map((spec) => ({ name: spec.name, command: spec.command, args: spec.args, env: Object.entries(envOf(spec, env)).map(([name, value]) => ({ name, value })) }));
}
