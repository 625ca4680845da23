import { describe, expect, it } from 'vitest';
import { isTinyError } from '../src/errors.ts';
import {
  agentDefaults,
  agentWorkspaceDir,
  applyEnvOverrides,
  effectiveBudgets,
  effectiveLimits,
  effectiveQueue,
  effectiveServer,
  expandHome,
  homePaths,
  resolveTinyHome,
  stripEnvOverrides,
  teamDefaults,
  type Settings,
} from '../src/config/index.ts';

const env = { HOME: '/home/ada' };

describe('paths', () => {
  it('expands ~ and $HOME at the start of a path only', () => {
    expect(expandHome('~', env)).toBe('/home/ada');
    expect(expandHome('~/x/y', env)).toBe('/home/ada/x/y');
    expect(expandHome('$HOME', env)).toBe('/home/ada');
    expect(expandHome('$HOME/ws', env)).toBe('/home/ada/ws');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text a user may write in settings
    expect(expandHome('${HOME}/ws', env)).toBe('/home/ada/ws');
    expect(expandHome('~bob/x', env)).toBe('~bob/x');
    expect(expandHome('$HOMEDIR/x', env)).toBe('$HOMEDIR/x');
    expect(expandHome('/srv/$HOME', env)).toBe('/srv/$HOME');
    expect(expandHome('relative/~', env)).toBe('relative/~');
  });

  it('resolves TINYAGI_HOME or ~/.tinyagi and the files in it', () => {
    expect(resolveTinyHome(env)).toBe('/home/ada/.tinyagi');
    expect(resolveTinyHome({ ...env, TINYAGI_HOME: '~/agi-data' })).toBe('/home/ada/agi-data');
    expect(resolveTinyHome({ ...env, TINYAGI_HOME: '/var/lib/tinyagi' })).toBe('/var/lib/tinyagi');
    expect(homePaths('/h')).toEqual({
      home: '/h',
      settings: '/h/settings.json',
      db: '/h/tinyagi.db',
      logs: '/h/logs',
      files: '/h/files',
      channels: '/h/channels',
      plugins: '/h/plugins',
      apiToken: '/h/api-token',
      pidFile: '/h/tinyagi.pid',
      lockFile: '/h/daemon.lock',
    });
  });

  it('places agent workspaces under workspace.path and confines relative working directories', () => {
    const settings: Settings = {
      workspace: { path: '$HOME/agents' },
      agents: { a: {}, b: { working_directory: '~/elsewhere/b' }, c: { working_directory: 'team/c' }, d: { working_directory: '../escape' }, e: { working_directory: '/abs/e' } },
    };
    expect(agentWorkspaceDir({}, 'a', env)).toBe('/home/ada/tinyagi-workspace/a');
    expect(agentWorkspaceDir(settings, 'a', env)).toBe('/home/ada/agents/a');
    expect(agentWorkspaceDir(settings, 'b', env)).toBe('/home/ada/elsewhere/b');
    expect(agentWorkspaceDir(settings, 'c', env)).toBe('/home/ada/agents/team/c');
    expect(agentWorkspaceDir(settings, 'e', env)).toBe('/abs/e');
    expect(agentWorkspaceDir({ workspace: { path: 'ws' } }, 'a', env)).toBe('/home/ada/ws/a');
    expect(() => agentWorkspaceDir(settings, 'd', env)).toThrow(expect.objectContaining({ code: 'INVALID_PATH' }));
    let error: unknown;
    try {
      agentWorkspaceDir(settings, '../../etc', env);
    } catch (err) {
      error = err;
    }
    expect(isTinyError(error, 'INVALID_ID')).toBe(true);
  });
});

describe('environment overrides', () => {
  const file: Settings = { server: { port: 3777, host: '0.0.0.0' }, channels: { discord: { bot_token: 'file-token' } } };

  it('applies port and channel tokens in memory and returns the API token separately', () => {
    const result = applyEnvOverrides(file, {
      TINYAGI_API_PORT: '4000',
      TINYAGI_API_TOKEN: 'api-token-from-env',
      DISCORD_BOT_TOKEN: 'discord-from-env',
      TELEGRAM_BOT_TOKEN: 'telegram-from-env',
    });
    expect(result.settings).toEqual({
      server: { port: 4000, host: '0.0.0.0' },
      channels: { discord: { bot_token: 'discord-from-env' }, telegram: { bot_token: 'telegram-from-env' } },
    });
    expect(result.apiToken).toBe('api-token-from-env');
    expect(result.applied).toEqual(['TINYAGI_API_PORT', 'DISCORD_BOT_TOKEN', 'TELEGRAM_BOT_TOKEN']);
    expect(JSON.stringify(result.settings)).not.toContain('api-token-from-env');
    expect(file.server?.port).toBe(3777); // input untouched
  });

  it('TINYAGI_API_HOST replaces server.host (brackets of an IPv6 literal dropped); a URL or a host with a port is refused', () => {
    expect(applyEnvOverrides(file, { TINYAGI_API_HOST: ' 127.0.0.1 ' }).settings.server).toEqual({ port: 3777, host: '127.0.0.1' });
    expect(applyEnvOverrides(file, { TINYAGI_API_HOST: '[::1]' }).settings.server?.host).toBe('::1');
    expect(applyEnvOverrides(file, { TINYAGI_API_HOST: 'tinyagi.internal' }).applied).toEqual(['TINYAGI_API_HOST']);
    for (const bad of ['http://0.0.0.0', '0.0.0.0:3777', 'cafe:3777', 'a b', '/tmp/sock']) {
      expect(() => applyEnvOverrides(file, { TINYAGI_API_HOST: bad }), bad).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { variable: 'TINYAGI_API_HOST', value: bad } }));
    }
    const env = { TINYAGI_API_HOST: '0.0.0.0' };
    const local: Settings = { server: { host: '127.0.0.1' } };
    expect(stripEnvOverrides(applyEnvOverrides(local, env).settings, () => local, env)).toEqual(local);
  });

  it('ignores unset and empty variables and rejects a bad port', () => {
    expect(applyEnvOverrides(file, { DISCORD_BOT_TOKEN: '' })).toEqual({ settings: file, applied: [] });
    expect(() => applyEnvOverrides(file, { TINYAGI_API_PORT: '80a' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('stripEnvOverrides restores file values and removes keys that exist only because of the environment', () => {
    const overrideEnv = { DISCORD_BOT_TOKEN: 'discord-from-env', TELEGRAM_BOT_TOKEN: 'telegram-from-env', TINYAGI_API_PORT: '4000' };
    const { settings } = applyEnvOverrides(file, overrideEnv);
    expect(stripEnvOverrides(settings, () => file, overrideEnv)).toEqual(file);
    const untouched: Settings = { retention: { days: 1 } };
    const neverRead = (): never => {
      throw new Error('the file is only read when an override is found');
    };
    expect(stripEnvOverrides(untouched, neverRead, overrideEnv)).toBe(untouched);
  });
});

describe('effective settings', () => {
  it('fills server and queue defaults', () => {
    expect(effectiveServer({})).toEqual({
      host: '127.0.0.1',
      port: 3777,
      allowed_origins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
      allowed_hosts: [],
      rate_limit: { auth_failures_per_minute: 30, message_burst: 1000, messages_per_second: 20 },
    });
    expect(effectiveQueue({ queue: { durability: 'normal' } })).toEqual({ durability: 'normal', max_attempts: 3, concurrency: 8, lease_ms: 60_000, sweep_ms: 1000 });
  });

  it('lets team and agent limits override global ones, except max_depth which only tightens', () => {
    const settings: Settings = {
      limits: { max_depth: 6, max_hops: 20 },
      agents: { a: { limits: { max_depth: 9, max_fanout: 2 } }, b: {} },
      teams: { t: { agents: ['a', 'b'], leader_agent: 'a', limits: { max_depth: 4, max_hops: 3, max_fanout: 5 } } },
    };
    expect(effectiveLimits(settings)).toMatchObject({ max_depth: 6, max_hops: 20, max_fanout: 8 });
    expect(effectiveLimits(settings, { teamId: 't' })).toMatchObject({ max_depth: 4, max_hops: 3, max_fanout: 5 });
    expect(effectiveLimits(settings, { teamId: 't', agentId: 'a' })).toMatchObject({ max_depth: 4, max_hops: 3, max_fanout: 2 });
    expect(effectiveLimits(settings, { agentId: 'a' })).toMatchObject({ max_depth: 6, max_fanout: 2 });
    expect(effectiveLimits({ agents: { a: { limits: { max_depth: 9 } } } }, { agentId: 'a' }).max_depth).toBe(5);
  });

  it('merges budgets and fills agent and team defaults', () => {
    const settings: Settings = {
      budgets: { conversation_usd: 2, agent_daily_usd: 10 },
      queue: { max_attempts: 4 },
      monitoring: { heartbeat_interval: 900 },
      teams: { t: { agents: ['a'], leader_agent: 'a', budgets: { conversation_usd: 0.5 } } },
    };
    expect(effectiveBudgets(settings)).toEqual({ conversation_usd: 2, agent_daily_usd: 10, soft_limit_fraction: 0.8 });
    expect(effectiveBudgets(settings, { teamId: 't' })).toEqual({ conversation_usd: 0.5, agent_daily_usd: 10, soft_limit_fraction: 0.8 });
    expect(agentDefaults({ name: 'A', busy_policy: 'sequential' }, settings)).toEqual({
      name: 'A',
      timeout_s: 1800,
      inactivity_s: 180,
      start_grace_s: 180,
      busy_policy: 'sequential',
      session_mode: 'shared',
      steering: ['inject', 'redirect', 'pause', 'resume', 'cancel'],
      max_attempts: 4,
      cross_team: false,
      heartbeat: { enabled: true, interval: 900 },
    });
    // A hung CLI holds its agent for at most about 3 × 180 s (plus backoff), not 5 × 600 s.
    expect(agentDefaults({})).toMatchObject({ max_attempts: 3, inactivity_s: 180, timeout_s: 1800 });
    expect(teamDefaults({ name: 'T' })).toEqual({ name: 'T', agents: [], reply_mode: 'each' });
  });
});
