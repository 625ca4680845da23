/**
 * `tinyagi doctor`: each agent on the `acp` runtime (docs/sessions.md, "The `acp` runtime"). Its
 * `acp.command` must be found where the daemon starts it (on the daemon's PATH, or an absolute
 * path): a missing one is a failure naming the agent and the command, as its messages would all
 * fail. A found one is asked what it is: ACP `initialize` (the protocol's own handshake; the agent
 * answers with `agentInfo` {name, version} where it has one, and its protocol version), started
 * the way the daemon starts it (its arguments, the agent's environment, its workspace); without a
 * version there, `<command> --version`.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Settings } from '@tinyagi/core';
import { agentWorkspaceDir, baseChildEnv, ownEntry, resolveInvokeTarget, type Env } from '../core-internal.ts';
import { findOnPath } from '../daemon/agent-clis.ts';
import type { Finding } from './finding.ts';

/** How long an agent may take to answer `initialize` (Gemini CLI takes about 2 s), and `--version`. */
const INITIALIZE_TIMEOUT_MS = 20_000;
const VERSION_TIMEOUT_MS = 10_000;
/** The ACP protocol version TinyAGI speaks (core's invoker/warm/acp-warm.ts). */
const ACP_PROTOCOL_VERSION = 1;

export interface AcpAgentInfo {
  /** What `initialize` answered: the agent's own name and version (agentInfo) and its protocol version. */
  name?: string;
  title?: string;
  version?: string;
  protocolVersion?: number;
  /** Why `initialize` gave no answer (a timeout, an exit, an error answer). */
  error?: string;
}

/** An executable file at `path`. */
function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the daemon would find `command`: an absolute path as it is, a name on `path`. */
export function resolveAcpCommand(command: string, path: string | undefined): string | undefined {
  if (isAbsolute(command)) return executable(command) ? command : undefined;
  if (command.includes('/')) return undefined;
  return findOnPath(command, { PATH: path });
}

/**
 * Starts the agent, sends ACP `initialize` and reads its answer; then closes its stdin (an ACP
 * agent ends with its connection) and kills what is left of its process group.
 */
export function probeAcpAgent(path: string, args: readonly string[], env: Record<string, string>, cwd: string, timeoutMs = INITIALIZE_TIMEOUT_MS): Promise<AcpAgentInfo> {
  return new Promise((resolve) => {
    let settled = false;
    let buffer = '';
    let stderr = '';
    const child = spawn(path, [...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
    const finish = (info: AcpAgentInfo): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(info);
      child.stdin.end();
      // The agent's children (Gemini CLI relaunches itself) are in its process group.
      const kill = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 2_000);
      kill.unref();
      child.once('exit', () => {
        clearTimeout(kill);
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      });
    };
    const tail = (): string => {
      const last = stderr.trim().split('\n').slice(-3).join(' ').trim();
      return last === '' ? '' : `: ${last.slice(0, 300)}`;
    };
    const timer = setTimeout(() => finish({ error: `it did not answer ACP initialize within ${Math.round(timeoutMs / 1000)} s${tail()}` }), timeoutMs);
    child.on('error', (err) => finish({ error: `it could not be started: ${err.message}` }));
    child.on('exit', (code, signal) => finish({ error: `it exited (${signal ?? `code ${code ?? '?'}`}) before answering ACP initialize${tail()}` }));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let at = buffer.indexOf('\n'); at >= 0; at = buffer.indexOf('\n')) {
        const line = buffer.slice(0, at).trim();
        buffer = buffer.slice(at + 1);
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // not a JSON-RPC line (an agent's banner)
        }
        if (message.id !== 1 || 'method' in message) continue;
        const error = message.error as { message?: unknown } | undefined;
        if (error) {
          finish({ error: `it answered ACP initialize with an error: ${String(error.message ?? JSON.stringify(error))}` });
          return;
        }
        const result = (message.result ?? {}) as Record<string, unknown>;
        const agentInfo = (result.agentInfo ?? {}) as Record<string, unknown>;
        const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
        const info: AcpAgentInfo = {};
        if (str(agentInfo.name)) info.name = str(agentInfo.name);
        if (str(agentInfo.title)) info.title = str(agentInfo.title);
        if (str(agentInfo.version)) info.version = str(agentInfo.version);
        if (typeof result.protocolVersion === 'number') info.protocolVersion = result.protocolVersion;
        finish(info);
        return;
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.write(
      `${JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: ACP_PROTOCOL_VERSION,
          clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
          clientInfo: { name: 'tinyagi-doctor', version: '1' },
        },
      })}\n`,
    );
  });
}

/** `<command> --version`: the first line with a version number, else undefined (stdin closed, a timeout). */
export function commandVersion(path: string, env: Record<string, string>, timeoutMs = VERSION_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile(path, ['--version'], { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true }, (err, stdout, stderr) => {
      const text = `${stdout}\n${stderr}`;
      const line = text.split('\n').find((l) => /\d+\.\d+/.test(l));
      resolve(err && (err as { killed?: boolean }).killed ? undefined : line?.trim().slice(0, 200));
    });
    child.stdin?.end();
  });
}

/** Every `acp` agent of `settings`: its command found (or not), and what it reports itself to be. */
export async function checkAcpAgents(settings: Settings | undefined, env: Env, path: string | undefined, whose: string, shellEnv: Env): Promise<Finding[]> {
  if (!settings) return [];
  const probes: Array<Promise<Finding>> = [];
  for (const id of Object.keys(settings.agents ?? {})) {
    if (!ownEntry(settings.agents, id)) continue;
    let target: ReturnType<typeof resolveInvokeTarget>;
    try {
      target = resolveInvokeTarget(settings, id, env);
    } catch {
      continue; // reported by the settings checks
    }
    if (target.runtime !== 'acp') continue;
    const check = `acp:${id}`;
    const command = target.command;
    if (command === undefined || command === '') {
      probes.push(
        Promise.resolve({
          check,
          status: 'fail',
          message: `Agent "${id}" runs on the acp runtime but has no acp.command: its messages will fail.`,
          hint: 'Set acp.command (and acp.args), e.g. "gemini" with ["--acp"].',
        }),
      );
      continue;
    }
    const args = target.args ?? [];
    const line = [command, ...args].join(' ');
    const found = resolveAcpCommand(command, path);
    if (found === undefined) {
      const here = isAbsolute(command) || path === shellEnv['PATH'] ? undefined : findOnPath(command, shellEnv);
      probes.push(
        Promise.resolve({
          check,
          status: 'fail',
          message: `Agent "${id}" runs the ACP agent \`${command}\`, which is not ${isAbsolute(command) ? 'an executable file' : `on ${whose}`}: its messages will fail.`,
          hint:
            here !== undefined
              ? `It is on this shell's PATH (${here}): the daemon keeps the PATH it started with, so run \`tinyagi stop && tinyagi start\` from this shell.`
              : `Install it, or set the agent's acp.command to its absolute path (docs/sessions.md, "The \`acp\` runtime").`,
          details: { command, args, path: null },
        }),
      );
      continue;
    }
    // What the agent's process starts with besides its provider's variables (core's child-env.ts).
    const agentEnv = baseChildEnv(env);
    if (path !== undefined) agentEnv.PATH = path;
    Object.assign(agentEnv, target.env ?? {});
    let cwd: string;
    try {
      cwd = agentWorkspaceDir(settings, id, env);
    } catch {
      cwd = env['HOME'] ?? process.cwd();
    }
    if (!existsSync(cwd)) cwd = env['HOME'] && existsSync(env['HOME']) ? env['HOME'] : process.cwd();
    probes.push(
      (async (): Promise<Finding> => {
        const info = await probeAcpAgent(found, args, agentEnv, cwd);
        const version = info.version ?? (await commandVersion(found, agentEnv));
        const details = { command, args, path: found, name: info.name ?? null, version: version ?? null, protocolVersion: info.protocolVersion ?? null };
        const what = info.version ? `${info.title ?? info.name ?? command} ${info.version}` : version ? `\`${command} --version\`: ${version}` : 'no version reported';
        if (info.error) {
          return {
            check,
            status: 'warn',
            message: `Agent "${id}": the ACP agent \`${line}\` is at ${found} (${what}), but ${info.error}.`,
            hint: "Check that these arguments start its ACP mode (Gemini CLI: --acp; older releases --experimental-acp) and that it can start in the agent's environment.",
            details,
          };
        }
        if (info.protocolVersion !== ACP_PROTOCOL_VERSION) {
          return {
            check,
            status: 'fail',
            message: `Agent "${id}": the ACP agent \`${line}\` at ${found} (${what}) speaks ACP protocol version ${String(info.protocolVersion)}, TinyAGI speaks ${ACP_PROTOCOL_VERSION}: its messages will fail.`,
            hint: 'Use a version of the agent that supports ACP protocol version 1.',
            details,
          };
        }
        return { check, status: 'ok', message: `Agent "${id}": ACP agent \`${line}\` at ${found}: ${what}`, details };
      })(),
    );
  }
  return Promise.all(probes);
}
