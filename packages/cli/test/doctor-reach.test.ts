/**
 * `tinyagi doctor` lists every unconfined agent a sandboxed agent can reach by a call or a handoff
 * (docs/sandbox.md, "Calls between agents"): its teammates when `may_call` is absent, the listed
 * ones when it is set; nothing when no sandboxed agent reaches an unconfined one.
 */
import { SettingsSchema } from '@tinyagi/core';
import { expect, it } from 'vitest';
import { networkFinding, reachFindings, unconfinedReach } from '../src/doctor/sandbox.ts';
import { agentDefaultsFindings, agentDifferences } from '../src/doctor/agent-defaults.ts';

it('lists the unconfined agents a sandboxed one reaches, by may_call or, without one, as its teammates', () => {
  const settings = SettingsSchema.parse({
    agents: { coder: { sandbox: 'on' }, tinyagi: {}, reviewer: { sandbox: 'required' }, ops: { sandbox: 'off' } },
    teams: { dev: { agents: ['coder', 'tinyagi', 'ops'], leader_agent: 'coder' } },
  });
  // reviewer has no list and no team: it reaches sandboxed agents only.
  expect(unconfinedReach(settings)).toEqual([{ from: 'coder', to: ['tinyagi', 'ops'] }]);
  expect(unconfinedReach(SettingsSchema.parse({ agents: { ...settings.agents, reviewer: { sandbox: 'required', may_call: ['*'] } } }))).toEqual([{ from: 'reviewer', to: ['tinyagi', 'ops'] }]);
  const [finding] = reachFindings(settings);
  expect(finding).toMatchObject({ check: 'sandbox:reach', status: 'warn' });
  expect(finding?.message).toContain('coder → tinyagi, ops');
  expect(finding?.hint).toContain('agents.tinyagi.sandbox');

  const limited = SettingsSchema.parse({ agents: { coder: { sandbox: 'on', may_call: ['reviewer'] }, tinyagi: {}, reviewer: { sandbox: 'on', may_call: [] } } });
  expect(unconfinedReach(limited)).toEqual([]);
  expect(reachFindings(limited)).toEqual([]);
  const allowed = SettingsSchema.parse({ agents: { coder: { sandbox: 'on', may_call: ['tinyagi'] }, tinyagi: {} } });
  expect(unconfinedReach(allowed)).toEqual([{ from: 'coder', to: ['tinyagi'] }]);
});

it('agents:defaults lists what an agent leaves out of the new-agent defaults; an unconfined one a sandboxed agent reaches is a warning with the command', () => {
  // A machine where the boundary holds, the Claude Code CLI installed or not (the defaults do not depend on it).
  const machine = { boundary: { ok: true }, env: { PATH: '/nonexistent' } };
  const settings = SettingsSchema.parse({
    agents: {
      coder: { provider: 'claude-code', sandbox: 'on', process: 'warm', permission_mode: 'ask', permissions: { rules: [] } },
      old: { provider: 'claude-code' },
      loose: { provider: 'claude-code', sandbox: 'off', process: 'per-message', permission_mode: 'default' },
      scripted: { provider: 'mock' },
    },
    teams: { dev: { agents: ['coder', 'old', 'loose'], leader_agent: 'coder' } },
  });
  expect(agentDifferences(settings, machine).map((d) => `${d.agent}.${d.key}`)).toEqual(['old.sandbox', 'old.process', 'old.permission_mode']);
  const reached = new Set(unconfinedReach(settings).flatMap((r) => r.to));
  const [finding] = agentDefaultsFindings(settings, machine, reached);
  expect(finding).toMatchObject({ check: 'agents:defaults', status: 'warn' });
  expect(finding?.message).toContain('A sandboxed agent can call or hand work to old');
  expect(finding?.hint).toContain('`tinyagi agent sandbox old on`');
  expect(finding?.hint).toContain('Nothing is changed for you');

  // Where the boundary does not hold, a new agent gets no sandbox either: only process and permissions differ, for information.
  const unsure = agentDefaultsFindings(settings, { boundary: { ok: false, reason: 'no bwrap' } }, new Set());
  expect(unsure[0]).toMatchObject({ status: 'info' });
  expect(unsure[0]?.details?.['differences']).toEqual(expect.not.arrayContaining([expect.objectContaining({ key: 'sandbox' })]));
  // Agents as made today: nothing to say.
  expect(agentDefaultsFindings(SettingsSchema.parse({ agents: { coder: settings.agents?.['coder'] } }), machine, new Set())).toEqual([]);
});

it("says how a sandboxed start gets its network: the agent's, or its own per start when turned off", () => {
  expect(networkFinding({ PATH: process.env.PATH ?? '' })).toMatchObject({ check: 'sandbox:network', status: 'ok' });
  const off = networkFinding({ PATH: process.env.PATH ?? '', TINYAGI_SANDBOX_SHARED_NET: '0' });
  expect(off).toMatchObject({ check: 'sandbox:network', status: 'info' });
  expect(off.message).toContain('TINYAGI_SANDBOX_SHARED_NET=0');
});
