/**
 * The settings-editing service: merge semantics and reference checks of the pure edits, and the
 * locked write refusing an edit whose result is invalid (the file stays as it was).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTinyError, type TinyErrorCode } from '../src/errors.ts';
import {
  channelsPatch,
  deleteAgent,
  deleteCustomProvider,
  deleteTeam,
  patchAgent,
  patchSettings,
  patchTeam,
  putAgent,
  putCustomProvider,
  putTeam,
  setAgentHeartbeat,
  setBuiltinProvider,
  updateSettings,
  type Settings,
} from '../src/config/index.ts';
import { newScheduleInput, patchedScheduleInput } from '../src/schedules/editing.ts';
import type { ScheduleRecord } from '../src/schedules/store.ts';
import { nextScheduleRun, parseRunAt } from '../src/schedules/timing.ts';

function settings(): Settings {
  return {
    models: { provider: 'mock', anthropic: { api_key: 'sk-ant-stored-0123456789' } },
    custom_providers: { acme: { name: 'Acme', runtime: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-acme-0123456789' } },
    agents: {
      coder: { name: 'Coder', provider: 'mock', heartbeat: { enabled: false, interval: 600 } },
      reviewer: { name: 'Reviewer', provider: 'custom:acme' },
      loner: { provider: 'mock' },
    },
    teams: { dev: { name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder', reply_mode: 'aggregate' } },
  };
}

function refused(edit: () => unknown, code: TinyErrorCode): string {
  try {
    edit();
  } catch (err) {
    if (!isTinyError(err)) throw err;
    expect(err.code).toBe(code);
    return err.message;
  }
  throw new Error(`expected ${code}`);
}

describe('reference checks', () => {
  it('an agent in a team, as member or as leader, cannot be deleted', () => {
    expect(refused(() => deleteAgent(settings(), 'reviewer'), 'INVALID_STATE')).toBe('Agent "reviewer" is in team dev.');
    // The leader alone is enough (the old offline CLI checked members only).
    const leaderOnly = { ...settings(), teams: { dev: { agents: ['reviewer'], leader_agent: 'coder' } } };
    expect(refused(() => deleteAgent(leaderOnly, 'coder'), 'INVALID_STATE')).toContain('in team dev');
    expect(deleteAgent(settings(), 'loner').agents).not.toHaveProperty('loner');
    refused(() => deleteAgent(settings(), 'ghost'), 'AGENT_NOT_FOUND');
    refused(() => deleteAgent(settings(), 'Bad Id'), 'INVALID_ID');
  });

  it('a custom provider in use by an agent or as the default cannot be deleted', () => {
    expect(refused(() => deleteCustomProvider(settings(), 'acme'), 'INVALID_STATE')).toBe('Custom provider "acme" is used by agent reviewer.');
    const asDefault: Settings = { ...settings(), models: { provider: 'custom:acme' }, agents: {} };
    expect(refused(() => deleteCustomProvider(asDefault, 'acme'), 'INVALID_STATE')).toContain('the default provider (models.provider)');
    const unused = { ...settings(), agents: {} };
    expect(deleteCustomProvider(unused, 'acme').custom_providers).toEqual({});
    refused(() => deleteCustomProvider(settings(), 'local'), 'PROVIDER_NOT_FOUND');
  });

  it('teams, agents and providers that do not exist are typed not-founds', () => {
    refused(() => patchTeam(settings(), 'qa', { name: 'x' }), 'TEAM_NOT_FOUND');
    refused(() => deleteTeam(settings(), 'qa'), 'TEAM_NOT_FOUND');
    refused(() => patchAgent(settings(), 'ghost', { name: 'x' }), 'AGENT_NOT_FOUND');
    refused(() => setAgentHeartbeat(settings(), 'ghost', { enabled: true }), 'AGENT_NOT_FOUND');
    refused(() => putTeam(settings(), 'Not Valid', { agents: ['coder'], leader_agent: 'coder' }), 'INVALID_ID');
    refused(() => putCustomProvider(settings(), '../x', { runtime: 'openai', base_url: 'http://x' }), 'INVALID_ID');
  });
});

describe('merge semantics (the API’s)', () => {
  it('PUT agent keeps keys it does not send; PATCH merges; null deletes; a mask sent back keeps the secret', () => {
    const put = putAgent(settings(), 'coder', { name: 'Coder 2', model: 'm1' });
    expect(put.created).toBe(false);
    expect(put.settings.agents?.['coder']).toEqual({ name: 'Coder 2', provider: 'mock', model: 'm1', heartbeat: { enabled: false, interval: 600 } });
    const patched = patchAgent(put.settings, 'coder', { heartbeat: { interval: 900 }, model: null });
    expect(patched.agents?.['coder']).toEqual({ name: 'Coder 2', provider: 'mock', heartbeat: { enabled: false, interval: 900 } });
    expect(putAgent(settings(), 'writer', { provider: 'mock' }).created).toBe(true);
    const provider = setBuiltinProvider(settings(), 'anthropic', { api_key: 'sk-…6789', model: 'big', make_default: true });
    // make_default makes the vendor's CLI runtime the default (anthropic: claude-code; docs/kinds.md).
    expect(provider.models).toEqual({ provider: 'claude-code', anthropic: { api_key: 'sk-ant-stored-0123456789', model: 'big' } });
  });

  it('unknown agent keys are refused with the nearest known one; an echoed id is dropped', () => {
    expect(refused(() => putAgent(settings(), 'coder', { mock: { replly: 'hi' } }), 'VALIDATION_FAILED')).toBe('Invalid agent settings: mock.replly: Unknown key "replly". Did you mean "reply"?');
    expect(refused(() => patchAgent(settings(), 'coder', { timeout: 30 }), 'VALIDATION_FAILED')).toContain('Did you mean "timeout_s"?');
    expect(putAgent(settings(), 'coder', { id: 'coder', name: 'x' }).settings.agents?.['coder']).not.toHaveProperty('id');
    refused(() => putAgent(settings(), 'coder', { id: 'someone-else' }), 'VALIDATION_FAILED');
    // permission_mode and env_passthrough are known keys
    expect(patchAgent(settings(), 'coder', { permission_mode: 'plan', env_passthrough: ['AWS_PROFILE'] }).agents?.['coder']).toMatchObject({ permission_mode: 'plan' });
  });

  it('PUT team keeps keys it does not send (the old offline CLI replaced the team); PATCH replaces arrays', () => {
    const put = putTeam(settings(), 'dev', { agents: ['coder'], leader_agent: 'coder' });
    expect(put).toMatchObject({ created: false, settings: { teams: { dev: { name: 'Dev', agents: ['coder'], leader_agent: 'coder', reply_mode: 'aggregate' } } } });
    expect(patchTeam(settings(), 'dev', { agents: ['reviewer', 'coder'], reply_mode: null }).teams?.['dev']).toEqual({ name: 'Dev', agents: ['reviewer', 'coder'], leader_agent: 'coder' });
  });

  it('channels: enable/disable against the current list, tokens per channel; patchSettings merges', () => {
    const current = { ...settings(), channels: { enabled: ['telegram'] } };
    expect(channelsPatch(current, { enable: ['discord'], disable: ['telegram'], tokens: { discord: 'tok', telegram: undefined } })).toEqual({
      channels: { enabled: ['discord'], discord: { bot_token: 'tok' } },
    });
    expect(channelsPatch(current, { enabled: ['whatsapp'] })).toEqual({ channels: { enabled: ['whatsapp'] } });
    expect(patchSettings(current, { channels: { enabled: [] }, agents: { loner: null } })).toMatchObject({ channels: { enabled: [] } });
  });
});

describe('the locked write refuses an invalid result and changes nothing', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tinyagi-editing-'));
    file = join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify(settings()), { mode: 0o600 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a team with an unknown member', (s: Settings) => putTeam(s, 'qa', { agents: ['ghost'], leader_agent: 'ghost' }).settings, 'teams.qa'],
    ['a leader that is not a member', (s: Settings) => patchTeam(s, 'dev', { leader_agent: 'loner' }), 'teams.dev'],
    ['an agent id that is a team id', (s: Settings) => putAgent(s, 'dev', { provider: 'mock' }).settings, 'dev'],
    ['an agent on an unknown custom provider', (s: Settings) => patchAgent(s, 'loner', { provider: 'custom:ghost' }), 'Custom provider "ghost" is not defined'],
  ])('%s', async (_name, edit, mentioned) => {
    const before = readFileSync(file, 'utf8');
    const err = await updateSettings(file, edit).catch((e: unknown) => e);
    expect(isTinyError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain(mentioned);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});

describe('schedule edits', () => {
  const now = Date.UTC(2030, 0, 1, 0, 0, 0);
  const base = { message: 'status?', label: 'standup' };

  it('validates timing before the target, then checks the target exists', () => {
    expect(refused(() => newScheduleInput(settings(), { ...base, agent: 'ghost', cron: 'every day' }, now), 'VALIDATION_FAILED')).toMatch(/^Invalid schedule: cron: /);
    refused(() => newScheduleInput(settings(), { ...base, agent: 'ghost', cron: '0 9 * * *' }, now), 'AGENT_NOT_FOUND');
    refused(() => newScheduleInput(settings(), { ...base, team: 'qa', cron: '0 9 * * *' }, now), 'TEAM_NOT_FOUND');
    refused(() => newScheduleInput(settings(), { ...base, agent: 'coder', team: 'dev', cron: '0 9 * * *' }, now), 'VALIDATION_FAILED');
    refused(() => newScheduleInput(settings(), { ...base, agent: 'coder' }, now), 'VALIDATION_FAILED');
    expect(refused(() => newScheduleInput(settings(), { ...base, agent: 'coder', runAt: now - 1 }, now), 'VALIDATION_FAILED')).toBe('Invalid schedule: runAt: The one-shot time is in the past.');
    refused(() => newScheduleInput(settings(), { ...base, agent: 'coder', cron: '0 9 * * *', timezone: 'Mars/Olympus' }, now), 'VALIDATION_FAILED');
  });

  it('computes the next run in the time zone; a patch that sets runAt clears cron and may switch the target', () => {
    const created = newScheduleInput(settings(), { ...base, agent: 'coder', cron: '0 9 * * *', timezone: 'Europe/Berlin' }, now);
    expect(created).toMatchObject({ agentId: 'coder', teamId: null, senderId: 'schedule:standup', nextRunAt: Date.UTC(2030, 0, 1, 8, 0, 0) });
    const record: ScheduleRecord = { ...created, id: 'sched_1', lastFiredAt: null, createdAt: now, updatedAt: now };
    const once = patchedScheduleInput(settings(), record, { runAt: now + 60_000, team: 'dev' }, now);
    expect(once).toMatchObject({ cron: null, runAt: now + 60_000, nextRunAt: now + 60_000, agentId: null, teamId: 'dev' });
    // An unchanged past one-shot may still be edited (it is not re-validated as "in the past").
    const fired = { ...record, cron: null, runAt: now - 1000, nextRunAt: null };
    expect(patchedScheduleInput(settings(), fired, { enabled: false }, now)).toMatchObject({ enabled: false, nextRunAt: null });
  });

  it('parses --at values and finds no next run for a past one-shot', () => {
    expect(parseRunAt('+30m', now)).toBe(now + 30 * 60_000);
    expect(parseRunAt('2030-01-31T09:00:00Z')).toBe(Date.UTC(2030, 0, 31, 9));
    expect(parseRunAt('tomorrowish')).toBeUndefined();
    expect(nextScheduleRun({ cron: null, timezone: 'UTC', runAt: now }, now)).toBeNull();
  });
});
