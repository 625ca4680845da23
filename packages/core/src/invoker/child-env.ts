/**
 * Agent CLIs get an explicit environment, never the daemon's whole `process.env` (which holds
 * channel bot tokens, other providers' keys and the API's own secrets). The base is a short list
 * of variables a CLI needs to find itself, its config home and the network; the provider's
 * credentials come from the target, per-run values (run id/token for `tinyagi call`) from the request.
 */
import { identityEnvOf } from '../task-worktree/identity-env.ts';
import { channelKinds } from '../kinds/registry.ts';
import { LOOPBACK_HOSTS } from '@tinyagi/sandbox';

const BASE_VARIABLES = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TERM',
  'TMPDIR',
  'TZ',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_CACHE_HOME',
  'XDG_STATE_HOME',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
] as const;

/**
 * Variables only the daemon itself may hold, whatever names them for an agent (a CLI's own
 * config file, which the agent can edit): TinyAGI's own (`TINYAGI_*`, the API token among them)
 * and the channels' credentials their kinds bind (`TELEGRAM_BOT_TOKEN`, …).
 */
export function isDaemonOwnVariable(name: string): boolean {
  if (name.toUpperCase().startsWith('TINYAGI_')) return true;
  return channelKinds.list().some((kind) => kind.env.some((binding) => binding.variable === name));
}

export function baseChildEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of BASE_VARIABLES) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  env.TERM ??= 'dumb';
  return withLoopbackDirect(env);
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'] as const;

/**
 * With a proxy in the environment, the loopback goes direct: an agent's tools reach the daemon's
 * API (`$TINYAGI_API_URL`, `tinyagi call`) and a model server on this machine, never through a
 * proxy that cannot see them (curl, Codex and OpenCode read `no_proxy`, each one spelling).
 */
function withLoopbackDirect(env: Record<string, string>): Record<string, string> {
  if (!PROXY_VARIABLES.some((name) => env[name])) return env;
  const listed = [...new Set(`${env.NO_PROXY ?? ''},${env.no_proxy ?? ''}`.split(',').map((entry) => entry.trim()))].filter((entry) => entry !== '');
  const noProxy = [...listed, ...LOOPBACK_HOSTS.filter((host) => !listed.includes(host))].join(',');
  return { ...env, NO_PROXY: noProxy, no_proxy: noProxy };
}

export interface ChildEnvParts {
  agentId: string;
  /**
   * Where the run works. A task's worktree gives the git identity its task recorded
   * (`GIT_AUTHOR_*`, `GIT_COMMITTER_*`, task-worktree/identity-env.ts): a sandboxed CLI does not see
   * `~/.gitconfig`, and nothing else of it is passed.
   */
  cwd?: string;
  provider?: Record<string, string>;
  runtime?: Record<string, string>;
  request?: Record<string, string>;
}

/** Later parts win: base < the worktree's git identity < provider credentials < the runtime's own < request. */
export function buildChildEnv(parts: ChildEnvParts): Record<string, string> {
  return {
    ...baseChildEnv(),
    ...(parts.cwd === undefined ? {} : identityEnvOf(parts.cwd)),
    ...parts.provider,
    ...parts.runtime,
    ...parts.request,
    TINYAGI_AGENT_ID: parts.agentId,
  };
}
