/**
 * Where things live: TINYAGI_HOME and its files, agent workspaces, `~`/`$HOME` expansion.
 * Functions take `env` so that tests and embedders never depend on the real home directory.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { TinyError } from '../errors.ts';
import { assertValidId } from '../ids.ts';
import { ownEntry } from './object-path.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** The keys of settings.json that place workspaces (structural, so the schema's rules can use these helpers). */
export interface WorkspaceSettings {
  workspace?: { path?: string | undefined } | undefined;
  agents?: Readonly<Record<string, { working_directory?: string | undefined }>> | undefined;
}

export const DEFAULT_HOME_DIR_NAME = '.tinyagi';
export const DEFAULT_WORKSPACE_PATH = '~/tinyagi-workspace';

// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text `${HOME}` a user may write in settings
const HOME_PREFIXES = ['~', '$HOME', '${HOME}'];

function userHome(env: Env): string {
  const home = env['HOME'];
  return home !== undefined && home !== '' ? home : homedir();
}

/** The `~`/`$HOME` prefix of `p`, if it has one (only at the start, and only a whole segment). */
function homePrefix(p: string): string | undefined {
  return HOME_PREFIXES.find((prefix) => p === prefix || p.startsWith(`${prefix}/`) || (sep === '\\' && p.startsWith(`${prefix}\\`)));
}

/** Expands a leading `~`, `~/`, `$HOME` or `${HOME}`. `~user` and `$HOME` mid-path are left alone. */
export function expandHome(p: string, env: Env = process.env): string {
  const prefix = homePrefix(p);
  if (prefix === undefined) return p;
  const rest = p.slice(prefix.length + 1);
  return rest === '' ? userHome(env) : join(userHome(env), rest);
}

/** TINYAGI_HOME (with `~` expanded, made absolute) or `~/.tinyagi`. */
export function resolveTinyHome(env: Env = process.env): string {
  const configured = env['TINYAGI_HOME'];
  if (configured !== undefined && configured.trim() !== '') return resolve(expandHome(configured.trim(), env));
  return join(userHome(env), DEFAULT_HOME_DIR_NAME);
}

export interface HomePaths {
  home: string;
  settings: string;
  db: string;
  logs: string;
  files: string;
  channels: string;
  plugins: string;
  apiToken: string;
  pidFile: string;
  /** Held by the running daemon; a second daemon on the same home refuses to start. */
  lockFile: string;
}

export function homePaths(home: string): HomePaths {
  return {
    home,
    settings: join(home, 'settings.json'),
    db: join(home, 'tinyagi.db'),
    logs: join(home, 'logs'),
    files: join(home, 'files'),
    channels: join(home, 'channels'),
    plugins: join(home, 'plugins'),
    apiToken: join(home, 'api-token'),
    pidFile: join(home, 'tinyagi.pid'),
    lockFile: join(home, 'daemon.lock'),
  };
}

/** True for a relative working_directory that climbs out of the workspace (`../x`, `a/../../x`). */
export function workingDirectoryEscapes(workingDirectory: string): boolean {
  if (homePrefix(workingDirectory) !== undefined || isAbsolute(workingDirectory)) return false;
  const normalized = normalize(workingDirectory);
  return normalized === '..' || normalized.startsWith(`..${sep}`);
}

/** The workspace root: workspace.path (default ~/tinyagi-workspace); a relative path is taken from the user's home. */
export function workspaceRoot(settings: WorkspaceSettings, env: Env = process.env): string {
  const configured = settings.workspace?.path;
  const path = configured !== undefined && configured !== '' ? configured : DEFAULT_WORKSPACE_PATH;
  return resolve(userHome(env), expandHome(path, env));
}

/**
 * The agent's working directory: `<workspace root>/<agentId>` unless the agent sets
 * working_directory (absolute, `~`-relative, or relative to the workspace root without escaping it).
 */
export function agentWorkspaceDir(settings: WorkspaceSettings, agentId: string, env: Env = process.env): string {
  assertValidId(agentId, 'agent id');
  const root = workspaceRoot(settings, env);
  const configured = ownEntry(settings.agents, agentId)?.working_directory;
  if (configured === undefined || configured === '') return join(root, agentId);
  const expanded = expandHome(configured, env);
  if (isAbsolute(expanded)) return resolve(expanded);
  if (workingDirectoryEscapes(expanded)) {
    throw new TinyError('INVALID_PATH', `The working_directory of agent "${agentId}" (${JSON.stringify(configured)}) escapes the workspace ${root}.`, {
      hint: `Use a path inside the workspace, or an absolute path, in agents.${agentId}.working_directory.`,
      details: { agentId, workingDirectory: configured, workspace: root },
    });
  }
  return resolve(root, expanded);
}
