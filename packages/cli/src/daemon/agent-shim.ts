/**
 * Every agent's system prompt tells it to run `tinyagi call`, but however the user installed
 * TinyAGI (`node packages/cli/dist/bin.js`, an alias, npm link, a global install) the agent's
 * shell may have no `tinyagi` on PATH. The daemon therefore writes a shim, `tinyagi`, into a
 * private directory of its home that execs this very node binary and CLI entry point (absolute
 * paths, fixed at daemon start), and puts that directory first on every agent CLI's PATH.
 * A shell whose start-up files reset PATH (a login shell reads /etc/profile, which does on
 * Debian) would lose it, so the shim's absolute path also travels as TINYAGI_CLI, which start-up
 * files leave alone and the system prompt names; and Codex is told not to start login shells
 * (runtimes/codex.ts in @tinyagi/core).
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { InvokeRequest, InvokeResult } from '@tinyagi/core';
import { AGENT_TOOLS_ENV, type McpServerSpec } from '../core-internal.ts';
import { binScript, childExecArgv } from './launch.ts';

/** Node flags worth keeping in the shim (`--conditions=…` for a daemon run from sources); never debugger flags. */
function shimNodeFlags(execArgv: readonly string[]): string[] {
  return execArgv.filter((flag) => !/^--(inspect|debug)/.test(flag));
}

/** One word for /bin/sh: single-quoted, with embedded single quotes closed and escaped. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function shimScript(node: string, nodeFlags: readonly string[], entry: string): string {
  const argv = [node, ...nodeFlags, entry].map(shellQuote).join(' ');
  return `#!/bin/sh\n# Written by the TinyAGI daemon for its agents: \`tinyagi\` is this daemon's own CLI.\nexec ${argv} "$@"\n`;
}

/** Writes `<dir>/tinyagi` (0700, replaced atomically) and returns the directory. */
export function writeAgentShim(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = join(dir, 'tinyagi');
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, shimScript(process.execPath, shimNodeFlags(childExecArgv(process.execArgv)), binScript()), { mode: 0o700 });
  renameSync(temp, file);
  return dir;
}

/** `dir` first on a PATH, without repeating it. */
export function prependPath(dir: string, path: string | undefined): string {
  const rest = (path ?? '').split(delimiter).filter((p) => p !== '' && p !== dir);
  return [dir, ...rest].join(delimiter);
}

/** A tool call may wait this long (call_agent, ask_human): the run's own time limits end it sooner. */
const AGENT_TOOL_TIMEOUT_S = 86_400;

/**
 * Wraps an invoke function so every agent CLI finds the shim first on its PATH, and by absolute
 * path in TINYAGI_CLI, and gets TinyAGI's MCP server beside its own MCP servers (docs/mcp.md):
 * the daemon's own `/mcp` over HTTP (the run's API URL), or, for an ACP agent that takes no HTTP
 * servers, `tinyagi mcp --agent-tools` through the shim on stdio.
 */
export function withShimOnPath(invoke: (req: InvokeRequest) => Promise<InvokeResult>, dir: string, daemonPath: string | undefined): (req: InvokeRequest) => Promise<InvokeResult> {
  const cli = join(dir, 'tinyagi');
  const stdio = { name: 'tinyagi', command: cli, args: ['mcp', '--agent-tools'], envVars: AGENT_TOOLS_ENV, permissionPromptTool: 'approval_prompt', toolTimeoutS: AGENT_TOOL_TIMEOUT_S };
  return (req) => {
    const apiUrl = req.env?.['TINYAGI_API_URL'];
    const tinyagi: McpServerSpec = apiUrl ? { ...stdio, http: { url: `${apiUrl.replace(/\/+$/, '')}/mcp` } } : stdio;
    return invoke({ ...req, env: { ...req.env, PATH: prependPath(dir, req.env?.['PATH'] ?? daemonPath), TINYAGI_CLI: cli }, mcpServers: [...(req.mcpServers ?? []), tinyagi] });
  };
}
