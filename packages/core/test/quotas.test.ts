/**
 * Quota holds (docs/quotas.md): the account a target spends (a
 * hash of its credentials, never the secret), the SQLite store, and the board that holds every
 * agent on an exhausted account until the reset, releases it then, and keeps it over a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStores, type SqliteStores } from '../src/compose/sqlite-stores.ts';
import type { Settings } from '../src/config/schema.ts';
import { validateSettings } from '../src/config/validate.ts';
import { InvokeError, spendOf, addSpend } from '../src/invoker/invoke-error.ts';
import { resolveInvokeTarget } from '../src/invoker/resolve-target.ts';
import { quotaAccount } from '../src/quotas/account.ts';
import { MIN_ERROR_HOLD_MS, QuotaBoard, quotaHoldViews } from '../src/quotas/board.ts';

let dir: string;
let s: SqliteStores;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-quota-'));
  s = openStores({ dbPath: join(dir, 't.db'), durability: 'normal' });
});
afterEach(() => {
  s.close();
  rmSync(dir, { recursive: true, force: true });
});

const settings = {
  agents: {
    a: { provider: 'mock', mock: { account: 'team-login' } },
    b: { provider: 'mock', mock: { account: 'team-login' } },
    c: { provider: 'mock', mock: { account: 'other-login' } },
    d: { provider: 'claude-code' },
  },
} as unknown as Settings;

function board(options: { now?: () => number; onRelease?: () => void } = {}): QuotaBoard {
  return new QuotaBoard({ store: s.quotas, events: s.events, getSettings: () => settings, resolveTarget: resolveInvokeTarget, env: {}, ...options });
}

function quotaEvents() {
  s.events.flush();
  return s.events.readSince(0, { types: ['runtime.quota'] });
}

describe('quota accounts', () => {
  it('is the runtime and a hash of the credentials: same key, same account; the secret never shows', () => {
    const one = quotaAccount({ runtime: 'claude-code', provider: 'claude-code', env: { ANTHROPIC_API_KEY: 'sk-ant-secret-1', PATH: '/x' } });
    const same = quotaAccount({ runtime: 'claude-code', provider: 'claude-code', env: { PATH: '/y', ANTHROPIC_API_KEY: 'sk-ant-secret-1' } });
    const other = quotaAccount({ runtime: 'claude-code', provider: 'claude-code', env: { ANTHROPIC_API_KEY: 'sk-ant-secret-2' } });
    const otherHome = quotaAccount({ runtime: 'codex', provider: 'codex', env: { CODEX_HOME: '/home/x/.codex-a' } });
    const ambient = quotaAccount({ runtime: 'codex', provider: 'codex' });
    expect(one.key).toBe(same.key);
    expect(one.key).not.toBe(other.key);
    expect(one.key).toMatch(/^claude-code:[0-9a-f]{12}$/);
    expect(JSON.stringify([one, other])).not.toContain('secret');
    expect(otherHome.key).not.toBe(ambient.key);
    expect(ambient).toEqual({ key: 'codex:default', runtime: 'codex', label: 'codex · default login' });
    // A custom provider's base URL and key are the account too.
    const custom = quotaAccount({ runtime: 'codex', provider: 'custom:local', baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'k' });
    expect(custom.label).toMatch(/^codex \(custom:local\) · [0-9a-f]{12}$/);
  });
});

describe('quota store (SQLite)', () => {
  it('puts, replaces, lists soonest first, prunes expired and removes', () => {
    const base = { runtime: 'mock', label: 'mock · x', limit: 'five_hour', message: 'limit', reportedBy: 'a' };
    s.quotas.put({ ...base, account: 'mock:1', resetsAt: 5000 }, 1000);
    s.quotas.put({ ...base, account: 'mock:2', resetsAt: 3000 }, 1000);
    const replaced = s.quotas.put({ ...base, account: 'mock:1', resetsAt: 9000, limit: null }, 2000);
    expect(replaced).toMatchObject({ account: 'mock:1', resetsAt: 9000, limit: null, createdAt: 1000, updatedAt: 2000, status: 'exhausted' });
    expect(s.quotas.list().map((h) => h.account)).toEqual(['mock:2', 'mock:1']);
    expect(s.quotas.prune(3000)).toBe(1);
    expect(s.quotas.remove('mock:1')).toBe(true);
    expect(s.quotas.remove('mock:1')).toBe(false);
    expect(s.quotas.list()).toEqual([]);
  });
});

describe('quota board', () => {
  it('an exhausted report holds every agent on the account until the reset, says so, and releases it then', async () => {
    let released = 0;
    const b = board({ onRelease: () => released++ });
    await b.restore();
    expect(b.heldAgents().size).toBe(0);
    const target = resolveInvokeTarget(settings, 'a', {});
    await b.report('a', target, { status: 'exhausted', resetsAt: Date.now() + 400, limit: 'five_hour', message: 'usage limit reached' });
    expect([...b.heldAgents()].sort()).toEqual(['a', 'b']);
    expect(b.holdOf('c')).toBeUndefined();
    const [view] = b.list();
    expect(view).toMatchObject({ runtime: 'mock', limit: 'five_hour', reportedBy: 'a', agents: ['a', 'b'] });
    expect(quotaHoldViews(s.quotas.list(), settings, resolveInvokeTarget, {})).toEqual([expect.objectContaining({ account: view!.account, agents: ['a', 'b'] })]);
    // The same report again (every stream event carries it) is not a new hold.
    await b.report('b', target, { status: 'exhausted', resetsAt: view!.resetsAt - 10 });
    expect(quotaEvents().map((e) => e.data.status)).toEqual(['exhausted']);
    const started = Date.now();
    while (released === 0 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 20));
    expect(released).toBe(1);
    expect(b.heldAgents().size).toBe(0);
    expect(s.quotas.list()).toEqual([]);
    expect(quotaEvents().map((e) => [e.data.status, e.data.agents])).toEqual([
      ['exhausted', ['a', 'b']],
      ['released', ['a', 'b']],
    ]);
    b.stop();
  });

  it('a restart keeps the hold: a new board over the same database holds the same agents', async () => {
    const first = board();
    await first.restore();
    await first.report('c', resolveInvokeTarget(settings, 'c', {}), { status: 'exhausted', resetsAt: Date.now() + 60_000 });
    first.stop();
    s.close();
    s = openStores({ dbPath: join(dir, 't.db'), durability: 'normal' });
    const second = board();
    await second.restore();
    expect([...second.heldAgents()]).toEqual(['c']);
    expect(second.refusal('c')).toMatchObject({ kind: 'rate_limited' });
    expect(second.refusal('c')!.retryAfterMs).toBeGreaterThan(50_000);
    expect(second.refusal('a')).toBeUndefined();
    second.stop();
  });

  it('an expired hold is dropped at restore', async () => {
    let now = 1_000_000;
    const b = board({ now: () => now });
    await b.report('a', resolveInvokeTarget(settings, 'a', {}), { status: 'exhausted', resetsAt: now + 1000 });
    b.stop();
    now += 5000;
    const again = board({ now: () => now });
    await again.restore();
    expect(again.heldAgents().size).toBe(0);
    expect(s.quotas.list()).toEqual([]);
    again.stop();
  });

  it('a long rate-limit failure holds the account; a short one does not; a rate limit on a held account waits for the reset', async () => {
    const b = board();
    const target = resolveInvokeTarget(settings, 'a', {});
    const short = new InvokeError('rate_limited', '429', { retryAfterMs: 1000 });
    expect(await b.failed('a', target, short)).toBe(short);
    expect(b.heldAgents().size).toBe(0);
    const long = addSpend(new InvokeError('rate_limited', 'usage limit', { retryAfterMs: MIN_ERROR_HOLD_MS + 5000 }), { inputTokens: 3, outputTokens: 4 }, 0.01);
    expect(await b.failed('a', target, long)).toBe(long);
    expect([...b.heldAgents()].sort()).toEqual(['a', 'b']);
    // Another 429 on the held account, with a short wait: requeued for the reset instead.
    const again = (await b.failed('b', target, addSpend(new InvokeError('rate_limited', '429 again', { retryAfterMs: 500 }), { inputTokens: 1, outputTokens: 1 }, 0))) as InvokeError;
    expect(again.kind).toBe('rate_limited');
    expect(again.retryAfterMs).toBeGreaterThan(MIN_ERROR_HOLD_MS);
    expect(spendOf(again)?.usage).toEqual({ inputTokens: 1, outputTokens: 1 });
    // Other failures pass through.
    const crash = new InvokeError('retryable', 'exit 1');
    expect(await b.failed('a', target, crash)).toBe(crash);
    b.stop();
  });

  it('an ok report ends a hold early only from an invocation started after it, about the same limit; a warning is said once', async () => {
    const b = board();
    const target = resolveInvokeTarget(settings, 'c', {});
    await b.report('c', target, { status: 'warning', utilization: 0.9, limit: 'seven_day' });
    await b.report('c', target, { status: 'warning', utilization: 0.92, limit: 'seven_day' });
    await b.report('c', target, { status: 'exhausted', resetsAt: Date.now() + 60_000, limit: 'seven_day' });
    expect(b.heldAgents().has('c')).toBe(true);
    // An ok from an invocation that started before the hold, or about another limit, changes nothing.
    await b.report('c', target, { status: 'ok' }, Date.now() - 60_000);
    await b.report('c', target, { status: 'ok', limit: 'five_hour' }, Date.now() + 1);
    await b.report('c', target, { status: 'ok' });
    expect(b.heldAgents().has('c')).toBe(true);
    await b.report('c', target, { status: 'ok', limit: 'seven_day' }, Date.now() + 1);
    expect(b.heldAgents().size).toBe(0);
    expect(quotaEvents().map((e) => e.data.status)).toEqual(['warning', 'exhausted', 'released']);
    b.stop();
  });
});

describe('quota board: a report and the failure that follows it', () => {
  it("the runtime's report (limit, words) is kept when its run then fails with about the same wait", async () => {
    const b = board();
    const target = resolveInvokeTarget(settings, 'a', {});
    await b.report('a', target, { status: 'exhausted', resetsAt: Date.now() + 60_000, limit: 'five_hour', message: 'usage limit reached' });
    await new Promise((r) => setTimeout(r, 20));
    const err = (await b.failed('a', target, new InvokeError('rate_limited', 'scripted rate limit', { retryAfterMs: 60_000 }))) as InvokeError;
    expect(b.list()).toEqual([expect.objectContaining({ limit: 'five_hour', message: 'usage limit reached' })]);
    expect(err.retryAfterMs).toBeGreaterThan(59_000);
    // A failure that waits clearly longer moves the reset.
    await b.failed('a', target, new InvokeError('rate_limited', 'weekly limit', { retryAfterMs: 3_600_000 }));
    expect(b.list()[0]!.resetsAt).toBeGreaterThan(Date.now() + 3_500_000);
    b.stop();
  });
});

describe('fallback_provider in settings', () => {
  it('is checked like provider: an unknown runtime or an undefined custom provider is refused; a fallback resolves with its own model', () => {
    const bad = validateSettings({ agents: { a: { provider: 'mock', fallback_provider: 'nope' }, b: { provider: 'mock', fallback_provider: 'custom:missing' } } });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues.map((i) => [i.path, i.message])).toEqual([
      ['agents.a.fallback_provider', 'Unknown provider "nope"'],
      ['agents.b.fallback_provider', 'Custom provider "missing" is not defined'],
    ]);
    const good = {
      custom_providers: { alt: { name: 'Alt', runtime: 'openai-api', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-alt' } },
      agents: { a: { provider: 'mock', model: 'scripted', mock: { account: 'x' }, fallback_provider: 'custom:alt', fallback_model: 'alt-model' } },
    };
    expect(validateSettings(good).ok).toBe(true);
    const b = new QuotaBoard({ store: s.quotas, events: s.events, getSettings: () => good as unknown as Settings, resolveTarget: resolveInvokeTarget, env: {} });
    expect(b.fallbackOf('a')).toMatchObject({ runtime: 'openai-api', provider: 'custom:alt', model: 'alt-model', baseUrl: 'http://127.0.0.1:9/v1' });
    expect(b.fallbackOf('nobody')).toBeUndefined();
  });
});
