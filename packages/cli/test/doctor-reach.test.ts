/**
 * `tinyagi doctor` lists every unconfined agent a sandboxed agent can reach by a call or a handoff
 * (docs/sandbox.md, "Calls between agents"): any agent when `may_call` is absent, the listed ones
 * when it is set; nothing when no sandboxed agent reaches an unconfined one.
 */
import { SettingsSchema } from '@tinyagi/core';
import { expect, it } from 'vitest';
import { reachFindings, unconfinedReach } from '../src/doctor/sandbox.ts';

it('lists the unconfined agents a sandboxed one reaches, by may_call or any agent', () => {
  const settings = SettingsSchema.parse({
    agents: { coder: { sandbox: 'on' }, tinyagi: {}, reviewer: { sandbox: 'required' }, ops: { sandbox: 'off' } },
  });
  expect(unconfinedReach(settings)).toEqual([
    { from: 'coder', to: ['tinyagi', 'ops'] },
    { from: 'reviewer', to: ['tinyagi', 'ops'] },
  ]);
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
