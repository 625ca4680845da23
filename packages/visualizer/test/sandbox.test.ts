/**
 * Each agent's sandbox status on the dashboard (docs/sandbox.md, "A status that tells the
 * truth"): the REST snapshot's `sandboxStatus` is kept per agent (dropped when off), the agent's
 * line carries a mark (`⛨ enforced`, `⚠ degraded`), and why a degraded one is not confined, with
 * the fix, is written under the agents, wrapped to the width.
 */
import { describe, expect, it } from 'vitest';
import type { Agent, AgentSandboxStatusView } from '@tinyagi/client';
import { initialState, layout, reduce, type DashboardState } from '../src/index.ts';
import { wrapText } from '../src/layout.ts';
import { T0 } from './fixtures.ts';

// What the daemon says (core sandbox/status.ts agentSandboxStatus) for a runtime inside the daemon and a machine without user namespaces.
const inDaemon: AgentSandboxStatusView = {
  setting: 'on',
  state: 'degraded',
  reason: 'the mock runtime runs inside the daemon: there is no process to confine; it runs unconfined',
  fix: 'use a CLI runtime (claude-code, codex, opencode, acp) for a sandboxed agent, or set its sandbox to "off"',
};
const noUserns = (setting: 'on' | 'required'): AgentSandboxStatusView => ({
  setting,
  state: 'degraded',
  reason: `setting up uid map: Permission denied; ${setting === 'required' ? 'it does not run (sandbox "required")' : 'it runs unconfined'}`,
  fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1',
  ...(setting === 'required' ? { refused: true } : {}),
});
const enforced: AgentSandboxStatusView = { setting: 'on', state: 'enforced', memoryMb: 4096 };

const agents = (statuses: Record<string, AgentSandboxStatusView | undefined>): Agent[] =>
  Object.entries(statuses).map(([id, sandboxStatus]) => ({ id, provider: 'claude-code', model: 'sonnet', ...(sandboxStatus ? { sandboxStatus } : {}) }));

const snapshot = (state: DashboardState, statuses: Record<string, AgentSandboxStatusView | undefined>): DashboardState =>
  reduce(state, { type: 'snapshot', agents: agents(statuses), teams: [{ id: 'dev', name: 'Dev', agents: Object.keys(statuses), leader_agent: Object.keys(statuses)[0]! }] });

const text = (state: DashboardState, width = 80, height = 24): string[] => layout(state, { width, height, now: T0 }).map((line) => line.map((s) => s.text).join(''));
const lineOf = (lines: string[], agent: string): string => lines.find((l) => l.includes(`@${agent} `) && /idle/.test(l)) ?? '';

describe('dashboard: sandbox status', () => {
  it('keeps each agent’s status from the snapshot, drops it when off or absent, and follows a later snapshot', () => {
    let state = snapshot(initialState(null), { coder: enforced, reviewer: inDaemon, plain: { setting: 'off', state: 'off' }, old: undefined });
    expect(state.agents['coder']?.sandbox).toEqual(enforced);
    expect(state.agents['reviewer']?.sandbox).toEqual(inDaemon);
    expect(state.agents['plain']).not.toHaveProperty('sandbox');
    expect(state.agents['old']).not.toHaveProperty('sandbox');
    // Its settings changed: the next snapshot is the truth (set to off: the mark goes).
    state = snapshot(state, { coder: { setting: 'off', state: 'off' }, reviewer: enforced, plain: undefined, old: undefined });
    expect(state.agents['coder']).not.toHaveProperty('sandbox');
    expect(state.agents['reviewer']?.sandbox).toEqual(enforced);
  });

  it('marks each sandboxed agent’s line, pads the others so the columns align, and says why a degraded one is not confined', () => {
    const state = snapshot(initialState(null), { coder: enforced, reviewer: inDaemon, plain: undefined });
    const lines = text(state);
    expect(lineOf(lines, 'coder')).toMatch(/★ @coder\s+○ idle\s+⛨ enforced claude-code\/sonnet/);
    expect(lineOf(lines, 'reviewer')).toMatch(/ {2}@reviewer\s+○ idle\s+⚠ degraded claude-code\/sonnet/);
    expect(lineOf(lines, 'plain')).not.toMatch(/enforced|degraded/);
    // The provider column starts at the same place on every line.
    const column = (agent: string): number => lineOf(lines, agent).indexOf('claude-code');
    expect(column('plain')).toBe(column('coder'));
    expect(column('reviewer')).toBe(column('coder'));
    // Under the agents: the reason and the fix, in full, within 80 columns.
    const at = lines.findIndex((l) => l.startsWith('⚠ @reviewer sandbox degraded: '));
    expect(at).toBe(lines.indexOf(lineOf(lines, 'plain')) + 1);
    const note = lines.slice(at, at + 4);
    for (const l of note) expect(l.length).toBeLessThanOrEqual(80);
    const joined = note.map((l) => l.trim()).join(' ');
    expect(joined).toContain(`sandbox degraded: ${inDaemon.reason} fix: ${inDaemon.fix}`);
    expect(lines.some((l) => l.includes('@coder sandbox'))).toBe(false);
  });

  it('nothing of it when no agent shown names a sandbox (the line is as before)', () => {
    const state = snapshot(initialState(null), { coder: undefined, reviewer: { setting: 'off', state: 'off' } });
    const lines = text(state);
    expect(lineOf(lines, 'coder')).toMatch(/★ @coder\s+○ idle\s+claude-code\/sonnet$/);
    expect(lines.some((l) => /enforced|degraded|⛨|⚠/.test(l))).toBe(false);
  });

  it('agents with one reason share a note; a required one that cannot run has its own; only the team’s agents count', () => {
    let state = snapshot(initialState(null), { a: noUserns('on'), b: noUserns('on'), c: noUserns('required') });
    state = reduce(state, { type: 'snapshot', agents: [...agents({ a: noUserns('on'), b: noUserns('on'), c: noUserns('required') }), { id: 'outside', provider: 'mock', sandboxStatus: inDaemon }] });
    state = reduce(state, { type: 'select-team', team: 'dev' });
    const lines = text(state, 120, 30);
    expect(lines.filter((l) => l.includes('sandbox degraded'))).toEqual([
      '⚠ @a @b sandbox degraded: setting up uid map: Permission denied; it runs unconfined',
      '⚠ @c sandbox degraded: setting up uid map: Permission denied; it does not run (sandbox "required")',
    ]);
    expect(lines.filter((l) => l.includes('fix: sudo sysctl -w kernel.unprivileged_userns_clone=1'))).toHaveLength(2);
    // The required one is red (its messages fail), the others yellow.
    const segments = layout(state, { width: 120, height: 30, now: T0 }).find((line) => line.some((s) => s.text === '@c'))!;
    expect(segments.find((s) => s.text.includes('sandbox degraded'))?.color).toBe('red');
  });

  it('at 40 columns and on a short screen: the marks stay, every line fits, the note is cut with … rather than pushing out the rest', () => {
    const state = snapshot(initialState(null), { coder: enforced, reviewer: inDaemon });
    const narrow = text(state, 40, 24);
    // The agents and the note fit (the header's second line is the painter's to cut, as before).
    const ours = narrow.filter((l) => /@coder|@reviewer|^ {4}/.test(l));
    expect(ours.length).toBeGreaterThanOrEqual(5);
    for (const l of ours) expect(l.length).toBeLessThanOrEqual(40);
    expect(narrow.join(' ')).toContain('fix:');
    expect(lineOf(narrow, 'coder')).toContain('⛨ enforced');
    expect(lineOf(narrow, 'reviewer')).toContain('⚠ degraded');
    const short = text(state, 80, 12);
    expect(short.length).toBeLessThanOrEqual(12);
    const note = short.filter((l) => l.includes('sandbox degraded') || l.startsWith('    '));
    expect(note.length).toBeGreaterThan(0);
    expect(note.length).toBeLessThan(4);
    expect(note.at(-1)!.endsWith('…')).toBe(true);
    expect(short.some((l) => l.startsWith('Conversation') || l.startsWith('No conversations'))).toBe(true);
  });

  it('with several nodes: each mark names the node that runs the agent, the column widens to fit, and an unknown one says why under the agents', () => {
    const stale: AgentSandboxStatusView = {
      setting: 'on',
      state: 'unknown',
      node: 'wk2',
      reason: 'node wk2 is stale (no heartbeat for 40 s): the boundary it runs the agent behind is not known while it is down',
      fix: 'start node wk2 again',
    };
    const state = snapshot(initialState(null), { coder: { ...enforced, node: 'api' }, reviewer: { ...noUserns('on'), node: 'wk1' }, tester: stale, plain: undefined });
    const lines = text(state, 120, 30);
    expect(lineOf(lines, 'coder')).toMatch(/@coder\s+○ idle\s+⛨ enforced on api\s+claude-code\/sonnet/);
    expect(lineOf(lines, 'reviewer')).toMatch(/@reviewer\s+○ idle\s+⚠ degraded on wk1 claude-code\/sonnet/);
    expect(lineOf(lines, 'tester')).toMatch(/@tester\s+○ idle\s+\? unknown on wk2\s+claude-code\/sonnet/);
    const column = (agent: string): number => lineOf(lines, agent).indexOf('claude-code');
    expect(new Set(['coder', 'reviewer', 'tester', 'plain'].map(column)).size).toBe(1);
    const at = lines.findIndex((l) => l.startsWith('⚠ @tester sandbox unknown: '));
    expect(
      lines
        .slice(at, at + 3)
        .map((l) => l.trim())
        .join(' '),
    ).toBe(`⚠ @tester sandbox unknown: ${stale.reason} fix: ${stale.fix}`);
  });

  it('wrapText: words in lines within the width, a word longer than a line cut', () => {
    expect(wrapText('the mock runtime runs inside the daemon', 16)).toEqual(['the mock runtime', 'runs inside the', 'daemon']);
    expect(wrapText('abcdefghijklmnopqrst uv', 8)).toEqual(['abcdefgh', 'ijklmnop', 'qrst uv']);
    expect(wrapText('', 20)).toEqual([]);
  });
});
