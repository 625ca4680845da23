/**
 * Held accounts on the dashboard (docs/quotas.md): the REST
 * snapshot and `runtime.quota` events keep the list, the layout shows a banner under the header
 * until the reset, and the activity says when a hold starts and ends.
 */
import { describe, expect, it } from 'vitest';
import type { QuotaHoldInfo } from '@tinyagi/client';
import { initialState, layout, reduce, type DashboardState } from '../src/index.ts';
import { eventFactory, T0 } from './fixtures.ts';

const text = (state: DashboardState, now: number): string[] => layout(state, { width: 120, height: 40, now }).map((line) => line.map((s) => s.text).join(''));

const hold: QuotaHoldInfo = {
  account: 'claude-code:0123456789ab',
  runtime: 'claude-code',
  label: 'claude-code · 0123456789ab',
  status: 'exhausted',
  resetsAt: T0 + 30 * 60_000,
  limit: 'five_hour',
  message: null,
  reportedBy: 'coder',
  agents: ['coder', 'reviewer'],
  createdAt: T0,
  updatedAt: T0,
};

describe('dashboard: held accounts', () => {
  it('a snapshot shows a banner with the agents waiting and the time left; it goes once the reset passed', () => {
    const state = reduce(initialState(null), { type: 'snapshot', quotas: [hold] });
    const lines = text(state, T0 + 60_000);
    const banner = lines.find((l) => l.includes('rate limited'));
    expect(banner).toContain('claude-code · 0123456789ab: @coder @reviewer wait until');
    expect(banner).toContain('(in 29m00s), five_hour');
    expect(lines.indexOf(banner!)).toBe(1);
    expect(text(state, hold.resetsAt + 1).some((l) => l.includes('rate limited'))).toBe(false);
  });

  it('runtime.quota events add and remove the hold and say so in the activity', () => {
    const ev = eventFactory();
    const data = { account: hold.account, label: hold.label, runtime: 'claude-code', resetsAt: hold.resetsAt, limit: 'five_hour', message: null, agents: ['coder'] };
    let state = reduce(initialState(null), { type: 'event', event: ev('runtime.quota', { ...data, status: 'exhausted' }) });
    expect(Object.keys(state.quotas)).toEqual([hold.account]);
    expect(state.activity.at(-1)).toMatchObject({ level: 'warn', text: expect.stringContaining('rate limit: claude-code · 0123456789ab (@coder) held until') });
    state = reduce(state, { type: 'event', event: ev('runtime.quota', { ...data, status: 'released' }) });
    expect(state.quotas).toEqual({});
    expect(state.activity.at(-1)?.text).toBe('rate limit over: claude-code · 0123456789ab (@coder) runs again');
    expect(text(state, T0).some((l) => l.includes('rate limited'))).toBe(false);
  });
});
