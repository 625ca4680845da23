/**
 * The CLI edits settings and schedules through the daemon's API when it runs and through core's
 * settings-editing service when it does not. This property test drives both with the same random
 * sequences of edits — agents, teams (leader and members), built-in and custom providers,
 * channels, schedules — on two homes: A with a real `tinyagi run` daemon (the editor goes
 * online), B without one (offline). After every step settings.json (parsed) and the schedules
 * must be identical, and so must every refusal (code and message).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTinyError } from '@tinyagi/core';
import { channelsPatch, type ScheduleRecord } from '@tinyagi/core/internal';
import { isApiError } from '@tinyagi/client';
import { cliContext } from '../src/context.ts';
import { registerHomeKinds } from '../src/kinds.ts';
import { settingsEditor, type SettingsEditor } from '../src/settings-editor.ts';
import { createDaemon, type TestDaemon } from '@tinyagi/test-kit';

const AGENTS = ['coder', 'reviewer', 'writer', 'ghost', 'BadId'] as const;
const TEAMS = ['dev', 'qa', 'coder'] as const;
const CUSTOM = ['acme', 'local', 'BadId'] as const;
const LABELS = ['standup', 'nightly', 'once'] as const;
const FUTURE = Date.UTC(2099, 0, 1, 9, 0, 0);

/** What the daemon-less and the daemon home both start each run from. */
const BASELINE = {
  models: { provider: 'mock' },
  custom_providers: { acme: { name: 'Acme', runtime: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-acme-0123456789' } },
  agents: {
    coder: { name: 'Coder', provider: 'mock', mock: { reply: 'ok' } },
    reviewer: { name: 'Reviewer', provider: 'custom:acme', heartbeat: { enabled: false } },
  },
  teams: { dev: { name: 'Dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' } },
  channels: { enabled: [] },
} as const;

type Op =
  | { kind: 'createAgent'; id: string; body: Record<string, unknown> }
  | { kind: 'patchAgent'; id: string; patch: Record<string, unknown> }
  | { kind: 'deleteAgent'; id: string; workspace: 'archive' | 'delete' | 'keep' | undefined }
  | { kind: 'createTeam'; id: string; agents: string[]; leader: string; extra: Record<string, unknown> }
  | { kind: 'patchTeam'; id: string; patch: Record<string, unknown> }
  | { kind: 'deleteTeam'; id: string }
  | { kind: 'setProvider'; name: 'anthropic' | 'openai'; change: Record<string, unknown> }
  | { kind: 'putCustomProvider'; id: string; body: { runtime: 'claude' | 'codex' | 'openai' | 'anthropic'; base_url: string } & Record<string, unknown> }
  | { kind: 'deleteCustomProvider'; id: string }
  | { kind: 'channels'; disable: string[]; tokens: Record<string, string> }
  | { kind: 'createSchedule'; body: Record<string, unknown> & { message: string } }
  | { kind: 'patchSchedule'; label: string; patch: Record<string, unknown> }
  | { kind: 'deleteSchedule'; label: string };

/** Mostly ids that exist or will; now and then an unknown or invalid one. */
const pick = <T>(common: readonly T[], rare: readonly T[]): fc.Arbitrary<T> => fc.oneof({ arbitrary: fc.constantFrom(...common), weight: 6 }, { arbitrary: fc.constantFrom(...rare), weight: 1 });
const agentId = pick(AGENTS.slice(0, 3), AGENTS.slice(3));
const teamId = pick(TEAMS.slice(0, 2), TEAMS.slice(2));
const provider = pick(['mock', 'custom:acme', 'custom:local'], ['nonsense']);
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });
const compact = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const agentBody = fc
  .record({
    name: optional(fc.constantFrom('A', 'Agent two')),
    provider: optional(provider),
    model: optional(fc.constantFrom('m1', 'm2')),
    heartbeat: optional(fc.record({ enabled: fc.boolean() })),
    mock: optional(fc.constantFrom({ reply: 'hi' }, { replly: 'typo' })),
    timeout: optional(fc.constant(30)),
    permission_mode: optional(fc.constantFrom('plan', 'yolo')),
  })
  .map(compact);

const agentPatch = fc
  .record({
    name: optional(fc.constantFrom('Renamed', null)),
    provider: optional(provider),
    model: optional(fc.constantFrom('m3', null)),
    heartbeat: optional(fc.constantFrom({ interval: 900 }, { enabled: true }, null)),
    some_old_key: optional(fc.constant(null)),
    timeout_s: optional(fc.constantFrom(60, -1)),
  })
  .map(compact);

const members = fc.uniqueArray(agentId, { minLength: 1, maxLength: 3 });

const op: fc.Arbitrary<Op> = fc
  .oneof(
    { arbitrary: fc.record({ kind: fc.constant('createAgent' as const), id: agentId, body: agentBody }), weight: 3 },
    fc.record({ kind: fc.constant('patchAgent' as const), id: agentId, patch: agentPatch }),
    fc.record({ kind: fc.constant('deleteAgent' as const), id: agentId, workspace: fc.constantFrom(undefined, 'archive' as const, 'delete' as const, 'keep' as const) }),
    fc.record({
      kind: fc.constant('createTeam' as const),
      id: teamId,
      agents: members,
      // Mostly a member (the leader must be one); sometimes any agent.
      leader: fc.oneof({ arbitrary: fc.nat(2), weight: 4 }, { arbitrary: agentId, weight: 1 }),
      extra: fc.record({ name: optional(fc.constant('Team')), reply_mode: optional(fc.constantFrom('each', 'aggregate')) }).map(compact),
    }),
    fc.record({
      kind: fc.constant('patchTeam' as const),
      id: teamId,
      patch: fc.record({ agents: optional(fc.uniqueArray(agentId, { maxLength: 3 })), leader_agent: optional(agentId), reply_mode: optional(fc.constantFrom('aggregate', null)) }).map(compact),
    }),
    fc.record({ kind: fc.constant('deleteTeam' as const), id: teamId }),
    fc.record({
      kind: fc.constant('setProvider' as const),
      name: fc.constantFrom('anthropic' as const, 'openai' as const),
      change: fc.record({ api_key: optional(fc.constantFrom('sk-new-key-123456789')), model: optional(fc.constant('big')), make_default: optional(fc.boolean()) }).map(compact),
    }),
    fc.record({
      kind: fc.constant('putCustomProvider' as const),
      id: pick(CUSTOM.slice(0, 2), CUSTOM.slice(2)),
      body: fc
        .record({
          runtime: fc.constantFrom('claude' as const, 'codex' as const, 'openai' as const, 'anthropic' as const),
          base_url: fc.constantFrom('http://127.0.0.1:11434/v1', 'not a url'),
          api_key: optional(fc.constant('sk-local-123456789')),
          model: optional(fc.constant('llama')),
        })
        .map((b) => compact(b) as typeof b),
    }),
    fc.record({ kind: fc.constant('deleteCustomProvider' as const), id: pick(CUSTOM.slice(0, 2), CUSTOM.slice(2)) }),
    fc.record({
      kind: fc.constant('channels' as const),
      disable: fc.uniqueArray(fc.constantFrom('discord', 'telegram'), { maxLength: 2 }),
      tokens: fc.record({ discord: optional(fc.constant('discord-token-0123456789')), telegram: optional(fc.constant('123:telegram-token-abcdef')) }).map((t) => compact(t) as Record<string, string>),
    }),
    fc.record({
      kind: fc.constant('createSchedule' as const),
      body: fc
        .record({
          label: fc.constantFrom(...LABELS),
          message: fc.constant('status?'),
          agent: optional(agentId),
          team: optional(teamId),
          cron: optional(fc.constantFrom('0 9 1 1 *', 'every day')),
          timezone: optional(fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Olympus')),
          runAt: optional(fc.constantFrom(FUTURE, 1000)),
          missedPolicy: optional(fc.constantFrom('run-once' as const, 'skip' as const)),
        })
        .map((b) => compact(b) as typeof b & { message: string }),
    }),
    fc.record({
      kind: fc.constant('patchSchedule' as const),
      label: fc.constantFrom(...LABELS),
      patch: fc
        .record({
          enabled: optional(fc.boolean()),
          cron: optional(fc.constantFrom('30 18 1 1 *', 'nope', null)),
          runAt: optional(fc.constantFrom(FUTURE + 60_000, null)),
          team: optional(teamId),
          agent: optional(agentId),
          timezone: optional(fc.constantFrom('Asia/Tokyo', 'Mars/Olympus')),
        })
        .map(compact),
    }),
    fc.record({ kind: fc.constant('deleteSchedule' as const), label: fc.constantFrom(...LABELS) }),
  )
  .map((o) => (o.kind === 'createTeam' && typeof o.leader === 'number' ? { ...o, leader: o.agents[o.leader % o.agents.length]! } : o) as Op);

/** Runs one edit; what it reports back (created, the workspace outcome) must match too. */
async function apply(editor: SettingsEditor, o: Op): Promise<unknown> {
  switch (o.kind) {
    case 'createAgent':
      return editor.createAgent(o.id, o.body);
    case 'patchAgent':
      return editor.patchAgent(o.id, o.patch);
    case 'deleteAgent':
      return (await editor.deleteAgent(o.id, o.workspace)).action;
    case 'createTeam':
      return editor.createTeam(o.id, { ...o.extra, agents: o.agents, leader_agent: o.leader });
    case 'patchTeam':
      return editor.patchTeam(o.id, o.patch);
    case 'deleteTeam':
      return editor.deleteTeam(o.id);
    case 'setProvider':
      return editor.setProvider(o.name, o.change);
    case 'putCustomProvider':
      return editor.putCustomProvider(o.id, o.body);
    case 'deleteCustomProvider':
      return editor.deleteCustomProvider(o.id);
    case 'channels':
      return editor.patchSettings(channelsPatch(await editor.read(), { disable: o.disable, tokens: o.tokens }));
    case 'createSchedule':
      return void (await editor.createSchedule(o.body));
    case 'patchSchedule':
      return void (await editor.patchSchedule(o.label, o.patch));
    case 'deleteSchedule':
      return editor.deleteSchedule(o.label);
  }
}

interface Side {
  home: TestDaemon;
  editor: SettingsEditor;
}

/** The outcome of one step: ok, or the refusal as a user sees it (paths of the home made neutral). */
async function outcome(side: Side, o: Op): Promise<string> {
  try {
    return `ok ${JSON.stringify((await apply(side.editor, o)) ?? null)}`;
  } catch (err) {
    const text = isApiError(err) ? `${err.code}: ${err.message}` : isTinyError(err) ? `${err.code}: ${err.message}${err.hint ? ` ${err.hint}` : ''}` : `unexpected: ${String(err)}`;
    return neutral(side, text);
  }
}

function neutral(side: Side, text: string): string {
  return text.split(side.home.root).join('<root>');
}

/**
 * settings.json, neutral. A new agent's `sandbox` is left out: it is the machine's fact, not the
 * edit's (the online daemon's self-test, done or not yet when the agent is made; the offline
 * editor knows no machine). That every way of making an agent stores the same sandbox is
 * new-agent-defaults.e2e.test.ts's table.
 */
function settingsOf(side: Side): unknown {
  const settings = JSON.parse(neutral(side, readFileSync(join(side.home.home, 'settings.json'), 'utf8'))) as { agents?: Record<string, Record<string, unknown>> };
  for (const agent of Object.values(settings.agents ?? {})) delete agent['sandbox'];
  return settings;
}

async function schedulesOf(side: Side): Promise<Array<Partial<ScheduleRecord>>> {
  return (await side.editor.listSchedules()).map(({ id: _id, createdAt: _c, updatedAt: _u, ...rest }) => rest);
}

async function reset(side: Side): Promise<void> {
  await side.editor.patchSettings({ agents: null, teams: null, custom_providers: null, models: null, channels: null });
  await side.editor.patchSettings(structuredClone(BASELINE) as unknown as Record<string, unknown>);
  for (const s of await side.editor.listSchedules()) await side.editor.deleteSchedule(s.id);
}

describe('offline and online settings edits are the same edits', () => {
  let online: Side;
  let offline: Side;

  beforeAll(async () => {
    const [a, b] = [await createDaemon({ build: 'source' }), await createDaemon({ build: 'source' })];
    for (const h of [a, b]) {
      // Only the workspace differs: each names its home's own directory (made neutral when compared).
      mkdirSync(h.home, { recursive: true });
      writeFileSync(join(h.home, 'settings.json'), `${JSON.stringify({ workspace: { path: join(h.root, 'workspace') }, ...BASELINE }, null, 2)}\n`, { mode: 0o600 });
    }
    await a.start();
    // The offline edits are this process's, as a `tinyagi` process of b's home makes them: with b's
    // kinds (none), not those an earlier test file's home registered (files share a process).
    await registerHomeKinds(b.home, (message) => {
      throw new Error(message);
    });
    online = { home: a, editor: settingsEditor(cliContext({}, a.env)) };
    offline = { home: b, editor: settingsEditor(cliContext({}, b.env)) };
    expect([online.editor.online, offline.editor.online]).toEqual([true, false]);
  }, 60_000);

  afterAll(async () => {
    await online?.home.cleanup();
    await offline?.home.cleanup();
  });

  it('random edit sequences give identical settings.json, schedules and errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30, size: 'medium' }), async (ops) => {
        await reset(online);
        await reset(offline);
        expect(settingsOf(offline)).toEqual(settingsOf(online));
        for (const [i, o] of ops.entries()) {
          const [a, b] = [await outcome(online, o), await outcome(offline, o)];
          expect({ step: i, op: o, outcome: b }).toEqual({ step: i, op: o, outcome: a });
          expect(settingsOf(offline)).toEqual(settingsOf(online));
          expect(await schedulesOf(offline)).toEqual(await schedulesOf(online));
        }
      }),
      { numRuns: 50 },
    );
  }, 300_000);
});
