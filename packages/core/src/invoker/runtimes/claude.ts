/**
 * Claude Code: `claude -p --output-format stream-json --verbose …` with the prompt on stdin, one
 * process per message. An agent with `process: "warm"` runs through the warm driver instead
 * (claude-warm.ts: one process per session, stream-json on stdin too); both read the stream with
 * claude-stream.ts, and the rules below hold for both.
 *
 * - The prompt is read from stdin (`-p` without a prompt argument): a message of any size
 *   reaches the CLI (one argv string is capped at 128 KiB on Linux, E2BIG), it never shows in
 *   `ps`, and a message starting with `-` is never read as a flag.
 * - The system prompt goes through `--append-system-prompt-file` (a 0600 temp file): it keeps
 *   Claude Code's own prompt (tools, safety) and stays out of argv. `--system-prompt-snapshot off`:
 *   by default Claude Code 2.1 records a conversation's first system prompt and sends that on
 *   every resume, so an edited prompt (teammates, memory) would never reach a resumed session.
 * - Sessions are explicit: `--session-id <new uuid>` starts one, `--resume <id>` continues it,
 *   so two agents (or two senders of one agent) never share a "most recent" session.
 * - Every resume is `--resume <id> --resume-session-at <uuid of the last completed turn's last
 *   assistant message>` (kept in the session's runtime state): a failed or killed attempt's
 *   half turn (and the "No response requested." Claude Code adds after a kill) is left on a
 *   side branch, so a retried message reaches the model once.
 * - Usage and cost are the call's own: `result.model_usage_since_last_result` (per model, with
 *   `costUSD`). A cancel sends SIGINT first, on which Claude Code ends the turn with such a result
 *   (`error_during_execution`, checked with 2.1.330; SIGTERM prints nothing), so a cancelled run
 *   records what it spent too. `total_cost_usd` and `modelUsage` are the session's running totals on a resume;
 *   only without the per-call field is the cost the difference to the total kept in the state.
 * - `IS_SANDBOX=1` lets `--dangerously-skip-permissions` run as root (containers); an agent's
 *   `permission_mode` other than `bypassPermissions` is passed as `--permission-mode` instead.
 * - `permission_mode: "ask"` is Claude Code's `default` mode with `--permission-prompt-tool
 *   mcp__tinyagi__approval_prompt` (TinyAGI's MCP server, given with `--mcp-config`): every call
 *   the mode does not allow by itself asks the run's approval desk (rules, else a person,
 *   docs/approvals.md). Other modes get no prompt tool: what they do not allow is refused, as
 *   Claude Code does in `-p` with nobody to ask. Without TinyAGI's MCP server (core used on its
 *   own) `ask` has nobody to ask either and refuses the same way.
 */
import { randomUUID } from 'node:crypto';
import { cliFailure, cliRunBase, runCliProcess } from '../cli-runner.ts';
import { claudeMcpConfig, claudePermissionPromptTool } from '../mcp-servers.ts';
import { addSpend } from '../invoke-error.ts';
import { asNumber, asString, parseJsonRecord } from '../json-read.ts';
import { withPrivateTempDir } from '../private-temp.ts';
import { messageFor, readRuntimeState, resumeIdOf } from '../session-state.ts';
import { emitProgress, type InvokeRequest, type InvokeResult } from '../types.ts';
import { CLAUDE_PASSTHROUGH } from '../../kinds/runtimes/claude-code.ts';
import { pickEnv, type RuntimeImpl, type RuntimeEnv, type RuntimeModelRoute } from '../runtime.ts';
import { DEFAULT_BASE_URLS } from '@tinyagi/sandbox';
import { baseChildEnv } from '../child-env.ts';
import { CLAUDE_OAUTH_BETA, claudeLoginFailure, claudeOAuthToken, claudeSandboxLogin } from './claude-login.ts';
import { CLAUDE_INSTALL_HINT, callSpend, ClaudeStream, claudeRuntimeEnv, claudeErrorText, permissionArgs, refusesResumePoint } from './claude-stream.ts';
import { claudeWarmDriver } from './claude-warm.ts';

export async function invokeClaude(req: InvokeRequest): Promise<InvokeResult> {
  const resumed = await invokeClaudeOnce(req, false);
  if (resumed) return resumed;
  // A resume point Claude Code cannot find: a new session with the transcript, the message once
  // (a new session has no resume point to refuse).
  return (await invokeClaudeOnce(req, true))!;
}

/** One run of the CLI; undefined when it refused the resume point (`refusesResumePoint`), nothing spent. */
async function invokeClaudeOnce(req: InvokeRequest, startOver: boolean): Promise<InvokeResult | undefined> {
  const state = readRuntimeState(req.session);
  const resumeAt = asString(state?.at);
  // A retry without a known resume point (a session stored before it was kept) starts over with the transcript.
  const dirty = startOver || (req.session?.retry === true && resumeAt === undefined);
  const resumeId = dirty ? undefined : resumeIdOf(req.session);
  const newSessionId = resumeId ? undefined : randomUUID();
  const prompt = messageFor(req.session, resumeId, req.prompt);

  return withPrivateTempDir(async (tmp) => {
    const args = ['-p', '--output-format', 'stream-json', '--verbose', ...permissionArgs(req.target.permissionMode), '--system-prompt-snapshot', 'off'];
    if (req.target.model) args.push('--model', req.target.model);
    if (req.systemPrompt.trim() !== '') {
      args.push('--append-system-prompt-file', await tmp.write('system-prompt.md', req.systemPrompt));
    }
    if (resumeId) args.push('--resume', resumeId, ...(resumeAt ? ['--resume-session-at', resumeAt] : []));
    else if (newSessionId) args.push('--session-id', newSessionId);

    const stream = new ClaudeStream({ emit: (event) => emitProgress(req, event), quota: (report) => req.onQuota?.(report) });
    const base = cliRunBase(req, {
      binary: 'claude',
      installHint: CLAUDE_INSTALL_HINT,
      runtimeEnv: claudeRuntimeEnv(req),
    });
    // TinyAGI's MCP server beside the user's own: the same file every run (it inherits the run's variables).
    if (req.mcpServers?.length) args.push('--mcp-config', await tmp.write('mcp.json', claudeMcpConfig(req.mcpServers)));
    // `ask`: the calls the mode does not allow go to the run's approval desk through TinyAGI's MCP tool.
    const promptTool = req.target.permissionMode === 'ask' ? claudePermissionPromptTool(req.mcpServers) : undefined;
    if (promptTool) args.push('--permission-prompt-tool', promptTool);
    const outcome = await runCliProcess({
      ...base,
      args,
      input: prompt,
      onLine: (line) => {
        const event = parseJsonRecord(line);
        if (event) stream.handle(event);
      },
      resultSeen: () => stream.result !== undefined,
      // A cancel interrupts (SIGINT): Claude Code ends the turn with a result that has the calls'
      // real usage and cost. Without one (SIGTERM, a crash), what its assistant events said:
      // each call's input, but its output as the call began (1 token).
      interruptSignal: 'SIGINT',
      spentSoFar: () =>
        stream.result ? callSpend(stream.result, resumeId !== undefined && (stream.sessionId ?? resumeId) === resumeId ? asNumber(state?.totalCostUsd) : undefined) : { usage: stream.messagesUsage() },
    });

    const result = stream.result;
    const sessionId = stream.sessionId ?? resumeId ?? newSessionId;
    // The stored resume point and running total belong to the resumed session only.
    const resumed = resumeId !== undefined && sessionId === resumeId;
    const spend = result ? callSpend(result, resumed ? asNumber(state?.totalCostUsd) : undefined) : undefined;
    const runtimeState = (): string => JSON.stringify({ at: stream.lastAssistantUuid ?? (resumed ? resumeAt : undefined), totalCostUsd: asNumber(result?.total_cost_usd) });
    if (result && result.is_error !== true) {
      return { text: asString(result.result) ?? stream.assistantText(), usage: spend?.usage, costUsd: spend?.costUsd, sessionId, runtimeState: runtimeState() };
    }
    if (result && resumeAt !== undefined && resumeId !== undefined && refusesResumePoint(claudeErrorText(result))) return undefined;
    // A failed result still reports what it cost: the attempt is paid for either way.
    if (result) throw addSpend(claudeLoginFailure(base.what, claudeErrorText(result)) ?? cliFailure(base.what, outcome, claudeErrorText(result)), spend?.usage, spend?.costUsd);
    if (outcome.exitCode === 0) return { text: stream.assistantText(), sessionId, runtimeState: runtimeState() };
    // No result (killed, crashed): the model calls its assistant messages report still happened.
    throw addSpend(claudeLoginFailure(base.what, `${outcome.stderrTail}\n${outcome.plainStdoutTail}`) ?? cliFailure(base.what, outcome), stream.messagesUsage(), undefined);
  });
}

/** An oauth token wins over an api key; with neither, Claude Code's own variables pass through. */
function claudeCredentials(creds: { api_key?: string | undefined; oauth_token?: string | undefined } | undefined, env: RuntimeEnv): Record<string, string> {
  if (creds?.oauth_token) return { CLAUDE_CODE_OAUTH_TOKEN: creds.oauth_token };
  if (creds?.api_key) return { ANTHROPIC_API_KEY: creds.api_key };
  return pickEnv(env, CLAUDE_PASSTHROUGH);
}

/**
 * The model proxy stands in for an API key or auth token (the proxy forwards it to
 * ANTHROPIC_BASE_URL, default api.anthropic.com, as `x-api-key` or `Authorization: Bearer`
 * respectively), and for a subscription's OAuth token (CLAUDE_CODE_OAUTH_TOKEN, else Claude
 * Code's own login file: claude-login.ts), sent as a bearer with the API's OAuth flag. Not for
 * Bedrock or Vertex. The CLI gets the proxy's URL and placeholder the way a custom provider is
 * given (ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN). Only an agent whose calls go through the
 * proxy (a sandboxed one, through-model-proxy.ts) has its login read: an unconfined agent's CLI
 * reads its login itself.
 */
const CLAUDE_KEY_VARIABLES = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL', 'CLAUDE_CODE_OAUTH_TOKEN'];

const claudeModelRoute: RuntimeModelRoute = {
  upstream: (target) => {
    const env = target.env ?? {};
    if (env.CLAUDE_CODE_USE_BEDROCK || env.CLAUDE_CODE_USE_VERTEX) return undefined;
    const baseUrl = env.ANTHROPIC_BASE_URL || DEFAULT_BASE_URLS.anthropic;
    if (env.ANTHROPIC_AUTH_TOKEN) return { family: 'anthropic', baseUrl, key: env.ANTHROPIC_AUTH_TOKEN, auth: 'bearer' };
    if (env.ANTHROPIC_API_KEY) return { family: 'anthropic', baseUrl, key: env.ANTHROPIC_API_KEY, auth: 'x-api-key' };
    const oauth = claudeOAuthToken({ ...baseChildEnv(), ...env });
    if (oauth) return { family: 'anthropic', baseUrl, key: oauth, auth: 'bearer', headers: { 'anthropic-beta': CLAUDE_OAUTH_BETA } };
    return undefined;
  },
  via: (target, endpoint) => {
    const env = Object.fromEntries(Object.entries(target.env ?? {}).filter(([name]) => !CLAUDE_KEY_VARIABLES.includes(name)));
    return { ...target, env: { ...env, ANTHROPIC_BASE_URL: endpoint.baseUrl, ANTHROPIC_AUTH_TOKEN: endpoint.apiKey } };
  },
};

function permissionMode(agent: { permission_mode?: string | undefined }): { permissionMode?: string } {
  return agent.permission_mode !== undefined ? { permissionMode: agent.permission_mode } : {};
}

export const claudeCodeRuntime: RuntimeImpl = {
  invoke: invokeClaude,
  warm: claudeWarmDriver,
  target: ({ agent, model, credentials, env }) => ({
    model,
    env: { ...pickEnv(env, ['CLAUDE_CONFIG_DIR']), ...claudeCredentials(credentials.anthropic, env) },
    ...permissionMode(agent),
  }),
  customTarget: ({ agent, model, baseUrl, apiKey, env }) => ({
    model,
    env: {
      ...pickEnv(env, ['CLAUDE_CONFIG_DIR']),
      ...(baseUrl ? { ANTHROPIC_BASE_URL: baseUrl } : {}),
      ...(apiKey ? { ANTHROPIC_AUTH_TOKEN: apiKey } : {}),
    },
    ...permissionMode(agent),
  }),
  modelProxy: claudeModelRoute,
  sandboxLogin: claudeSandboxLogin,
};
