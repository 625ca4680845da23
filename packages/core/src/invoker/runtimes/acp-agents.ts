/**
 * What the `acp` runtime knows about particular ACP agents beyond the protocol (docs/sessions.md,
 * "The `acp` runtime"), recognised by the command that starts them: its name
 * (`claude-agent-acp`, `codex-acp`), or the npm package among the arguments of a launcher
 * (`npx @zed-industries/codex-acp`). Checked with claude-agent-acp 0.101.0 and codex-acp 0.16.0
 * (packages/real-cli-test/test/acp-agents.test.ts). An agent TinyAGI does not know gets the
 * protocol alone (and a mode of the same name as its `permission_mode`, where it offers one).
 *
 * - **claude-agent-acp** (the Claude Agent SDK, which runs Claude Code): reads CLAUDE.md, or
 *   AGENTS.md without one, itself; its session modes are Claude Code's permission modes, so the
 *   agent's `permission_mode` selects the one of the same name (`ask` is `default`, where Claude
 *   Code asks before edits and commands its own rules do not allow; unset is
 *   `bypassPermissions`); `IS_SANDBOX=1` lets that mode run as root, as for the `claude`
 *   runtime, and with a custom `ANTHROPIC_BASE_URL` nothing non-essential goes to Anthropic's
 *   hosts. Its predicted follow-up prompt (a model call after every turn, which TinyAGI would
 *   only throw away) is turned off (`_meta.claudeCode.options.promptSuggestions: false`). Its
 *   cost (`usage_update.cost`) is Claude Code's session total, which after a load goes on from
 *   what Claude Code restored: the last `cost-state` its transcript holds (written when a process
 *   exits, so none when the process was killed first), read as the loaded session's baseline.
 * - **codex-acp** (Codex): reads AGENTS.md itself. Its modes are presets that ask only when the
 *   model requests more than the sandbox allows, so the approval policy comes from the
 *   permission mode as for the `codex` runtime, with `-c` options ahead of the agent's own
 *   arguments (which win): `ask` runs `untrusted` in the `workspace-write` sandbox (commands it
 *   does not know to be safe ask), every other mode `never` without a sandbox. Its shell is not
 *   a login shell (`allow_login_shell=false`): a login shell re-reads /etc/profile, which resets
 *   PATH on Debian and so loses the daemon's `tinyagi` shim. Codex reports through ACP only how
 *   full the context is (`usage_update.used`), and sends its warnings ("Model metadata for `x`
 *   not found…") as agent message chunks, indistinguishable from the reply: the exact per-call
 *   usage and the reply are read from Codex's own record of the session, the rollout file
 *   (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-…-<session id>.jsonl`; `token_count` events and
 *   the turn's `task_complete.last_agent_message`), as OpenCode's are read from its server.
 */
import { existsSync, openSync, readdirSync, readSync, closeSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { asNumber, asRecord, asString, type JsonRecord } from '../json-read.ts';
import type { InvokeRequest } from '../types.ts';
import type { AcpCallUsage, AcpSessionContext } from '../warm/acp-warm.ts';

export type KnownAcpAgent = 'claude-agent-acp' | 'codex-acp';

/** What a known agent adds to a process's launch. */
export interface AcpAgentProfile {
  agent: KnownAcpAgent;
  /** Arguments before the agent's own (its own come last and win). */
  args: string[];
  env: Record<string, string>;
  /** `_meta` of session/new and session/load. */
  sessionMeta?: JsonRecord;
  /** The session mode to select for the agent's permission_mode (undefined: leave it). */
  modeId?: string;
  /** Per-process hooks that read what ACP does not say (codex-acp's rollout). */
  hooks?(env: Record<string, string>): AcpTurnHooks;
}

export interface AcpTurnHooks {
  beforePrompt?(ctx: AcpSessionContext): void;
  turnUsage?(ctx: AcpSessionContext, response: JsonRecord): Promise<AcpCallUsage[] | undefined>;
  turnReply?(ctx: AcpSessionContext): string | undefined;
  loadedCostBaseline?(ctx: AcpSessionContext): number | undefined;
}

const PACKAGES: Record<KnownAcpAgent, string> = {
  'claude-agent-acp': '@agentclientprotocol/claude-agent-acp',
  'codex-acp': '@zed-industries/codex-acp',
};

/** The known agent a command line starts: the command's name, or a launcher's package argument (with or without `@version`). */
export function knownAcpAgent(command: string | undefined, args: readonly string[] = []): KnownAcpAgent | undefined {
  if (command === undefined) return undefined;
  const name = basename(command);
  for (const agent of Object.keys(PACKAGES) as KnownAcpAgent[]) {
    if (name === agent) return agent;
    const pkg = PACKAGES[agent];
    if (args.some((a) => a === pkg || a.startsWith(`${pkg}@`))) return agent;
  }
  return undefined;
}

/** Whether a known agent reads the workspace's AGENTS.md itself, and which files of its own it prefers to it. */
export function acpReadsAgentsMd(agent: KnownAcpAgent | undefined): { reads: boolean; instructionFiles: string[] } | undefined {
  if (agent === 'claude-agent-acp') return { reads: true, instructionFiles: ['CLAUDE.md'] };
  if (agent === 'codex-acp') return { reads: true, instructionFiles: [] };
  return undefined;
}

/** A TOML string for a `-c key=value` option. */
const tomlString = (s: string): string => JSON.stringify(s);

export function acpAgentProfile(req: InvokeRequest): AcpAgentProfile | undefined {
  const agent = knownAcpAgent(req.target.command, req.target.args);
  const mode = req.target.permissionMode;
  if (agent === 'claude-agent-acp') {
    const env: Record<string, string> = { IS_SANDBOX: '1' };
    if (req.target.env?.ANTHROPIC_BASE_URL) env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = '1';
    return {
      agent,
      args: [],
      env,
      sessionMeta: { claudeCode: { options: { promptSuggestions: false } } },
      modeId: mode === undefined ? 'bypassPermissions' : mode === 'ask' ? 'default' : mode,
      hooks: (processEnv) => ({ loadedCostBaseline: (ctx) => claudeRestoredCost(processEnv, ctx.sessionId) }),
    };
  }
  if (agent === 'codex-acp') {
    const ask = mode === 'ask';
    const ours = req.target.confined === true;
    return {
      agent,
      // Inside TinyAGI's boundary (docs/sandbox.md) codex's own sandbox is off; its approval policy stays.
      args: [
        '-c',
        'allow_login_shell=false',
        '-c',
        `approval_policy=${tomlString(ask ? 'untrusted' : 'never')}`,
        '-c',
        `sandbox_mode=${tomlString(ask && !ours ? 'workspace-write' : 'danger-full-access')}`,
      ],
      env: {},
      hooks: (env) => codexRolloutHooks(env),
    };
  }
  return undefined;
}

/**
 * The cost Claude Code restored for a loaded session: the transcript's last `cost-state` entry
 * (`$CLAUDE_CONFIG_DIR` or ~/.claude, `projects/<dir>/<session id>.jsonl`), which Claude Code
 * writes when its process exits and reads back on resume, so its reported total goes on from it;
 * 0 when there is none (a process killed before it wrote one: the total starts again from 0).
 */
export function claudeRestoredCost(env: Record<string, string>, sessionId: string): number {
  const projects = join(env.CLAUDE_CONFIG_DIR || join(env.HOME || homedir(), '.claude'), 'projects');
  let dirs: string[] = [];
  try {
    dirs = readdirSync(projects);
  } catch {
    return 0;
  }
  for (const dir of dirs) {
    const file = join(projects, dir, `${sessionId}.jsonl`);
    if (!existsSync(file)) continue;
    let cost = 0;
    for (const line of readFrom(file, 0).split('\n')) {
      if (!line.includes('"cost-state"')) continue;
      try {
        const entry = asRecord(JSON.parse(line));
        const total = asNumber(entry?.totalCostUSD);
        if (entry?.type === 'cost-state' && (entry.sessionId === undefined || entry.sessionId === sessionId) && total !== undefined) cost = total;
      } catch {
        // a line being written
      }
    }
    return cost;
  }
  return 0;
}

/** How long after a prompt's answer the rollout may take to show the turn's end. */
const ROLLOUT_FLUSH_MS = 3_000;

interface RolloutRead {
  calls: AcpCallUsage[];
  /** The turn ended in the rollout (`task_complete` or `turn_aborted`). */
  ended: boolean;
  reply: string | undefined;
}

/** The rollout file of a Codex session, newest day first; undefined while Codex has not written it. */
export function findCodexRollout(codexHome: string, sessionId: string): string | undefined {
  const sessions = join(codexHome, 'sessions');
  const desc = (dir: string): string[] => {
    try {
      return readdirSync(dir).sort().reverse();
    } catch {
      return [];
    }
  };
  const suffix = `-${sessionId}.jsonl`;
  for (const year of desc(sessions))
    for (const month of desc(join(sessions, year)))
      for (const day of desc(join(sessions, year, month))) {
        const file = desc(join(sessions, year, month, day)).find((f) => f.startsWith('rollout-') && f.endsWith(suffix));
        if (file) return join(sessions, year, month, day, file);
      }
  return undefined;
}

function readFrom(path: string, offset: number): string {
  const size = statSync(path).size;
  if (size <= offset) return '';
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The rollout lines after `offset` (complete lines only): one call per `token_count` whose
 * session total grew (Codex repeats the last one with rate-limit news), its `last_token_usage`
 * (input counts cached input, as OpenAI's does; output counts reasoning); the reply is the last
 * `task_complete.last_agent_message`.
 */
export function parseRollout(text: string, lastTotal: number | undefined): RolloutRead & { lastTotal: number | undefined } {
  const calls: AcpCallUsage[] = [];
  let ended = false;
  let reply: string | undefined;
  let total = lastTotal;
  let model: string | undefined;
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    if (line.trim() === '') continue;
    let entry: JsonRecord | undefined;
    try {
      entry = asRecord(JSON.parse(line));
    } catch {
      continue;
    }
    const payload = asRecord(entry?.payload);
    if (!payload) continue;
    if (entry?.type === 'turn_context') model = asString(payload.model) ?? model;
    if (entry?.type !== 'event_msg') continue;
    if (payload.type === 'token_count') {
      const info = asRecord(payload.info);
      const sessionTotal = asNumber(asRecord(info?.total_token_usage)?.total_tokens);
      const last = asRecord(info?.last_token_usage);
      if (sessionTotal === undefined || !last || sessionTotal === total) continue;
      total = sessionTotal;
      const cached = asNumber(last.cached_input_tokens) ?? 0;
      calls.push({
        inputTokens: asNumber(last.input_tokens) ?? 0,
        outputTokens: asNumber(last.output_tokens) ?? 0,
        ...(cached > 0 ? { cacheReadTokens: cached } : {}),
        ...(model ? { model } : {}),
      });
    } else if (payload.type === 'task_complete') {
      ended = true;
      reply = asString(payload.last_agent_message) ?? reply;
    } else if (payload.type === 'turn_aborted') {
      ended = true;
    }
  }
  return { calls, ended, reply, lastTotal: total };
}

/** codex-acp's usage and reply, read from its rollout file (see the top of this file). */
function codexRolloutHooks(env: Record<string, string>): AcpTurnHooks {
  const codexHome = env.CODEX_HOME || join(env.HOME || homedir(), '.codex');
  let path: string | undefined;
  /** Where the running prompt's lines begin, and the session total before them. */
  let offset = 0;
  let lastTotal: number | undefined;
  let scanned = false;
  let read: RolloutRead | undefined;
  const locate = (sessionId: string): string | undefined => {
    if (path === undefined || !existsSync(path)) path = findCodexRollout(codexHome, sessionId);
    return path;
  };
  return {
    beforePrompt(ctx) {
      read = undefined;
      const file = locate(ctx.sessionId);
      if (!file) {
        offset = 0;
        return;
      }
      try {
        if (!scanned) {
          // A loaded session: the total so far, so a repeated token_count is not a new call.
          lastTotal = parseRollout(readFrom(file, 0), undefined).lastTotal;
          scanned = true;
        }
        offset = statSync(file).size;
      } catch {
        offset = 0;
      }
    },
    async turnUsage(ctx, response) {
      const settled = response.stopReason !== undefined;
      const deadline = Date.now() + (settled ? ROLLOUT_FLUSH_MS : 0);
      for (;;) {
        const file = locate(ctx.sessionId);
        if (file) {
          const parsed = parseRollout(readFrom(file, offset), lastTotal);
          if (parsed.ended || !settled || Date.now() >= deadline) {
            if (settled) {
              // The prompt is over: its lines are accounted, the next prompt starts after them.
              lastTotal = parsed.lastTotal;
              scanned = true;
              offset = statSync(file).size;
              read = parsed;
            }
            return parsed.calls.length > 0 || parsed.ended ? parsed.calls : undefined;
          }
        } else if (!settled || Date.now() >= deadline) {
          return undefined;
        }
        await sleep(50);
      }
    },
    turnReply() {
      // A turn Codex aborted (a refused command) has no reply: what the chunks said was its warnings.
      return read?.ended ? (read.reply ?? '') : undefined;
    },
  };
}
