/**
 * What a confined run leaves behind stays confined (guards/held.ts; docs/sandbox.md): a confined
 * run holds the folder it works in, and every later run there takes that confinement, until a
 * person releases the folder. Real files under a temporary TinyAGI home.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SettingsSchema, type InvokeRequest, type InvokeResult, type Settings } from '@tinyagi/core';
import { folderHold, heldFolders, holdFolder, releaseFolder } from '@tinyagi/core/internal';
import { cleanupTemp, tempDir } from '@tinyagi/test-kit';
import { closeAll, harness, waitForCompletion } from './helpers.ts';
import { tightenedSettings } from '../src/guards/confinement.ts';
import { confinementAt, holdRunFolder } from '../src/guards/held.ts';

let env: NodeJS.ProcessEnv;
let ws: string;
let settings: Settings;

beforeEach(() => {
  const root = tempDir('tinyagi-held-');
  ws = join(root, 'workspace');
  env = { HOME: root, TINYAGI_HOME: join(root, '.tinyagi') };
  settings = {
    workspace: { path: ws },
    agents: {
      boss: { name: 'Boss', provider: 'claude-code', sandbox: 'on', permission_mode: 'ask' },
      helper: { name: 'Helper', provider: 'claude-code' },
      other: { name: 'Other', provider: 'claude-code' },
    },
  } as unknown as Settings;
});

afterAll(() => cleanupTemp());
afterEach(closeAll);

describe('held folders', () => {
  it("a confined run of an unsandboxed agent holds its workspace; the agent's later runs there take that confinement", () => {
    const helperWs = join(ws, 'helper');
    // Before: the person's run of helper is unconfined and holds nothing.
    expect(confinementAt(env, { agentId: 'helper', runId: 'r0', cwd: helperWs }, undefined)).toEqual([]);
    expect(holdRunFolder(settings, env, { agentId: 'helper', runId: 'r0', cwd: helperWs }, [])).toBeUndefined();
    expect(folderHold(env, helperWs)).toBeUndefined();

    // boss (sandboxed) calls helper: the call's run is confined by boss, and holds helper's workspace.
    const called = confinementAt(env, { agentId: 'helper', runId: 'r1', cwd: helperWs }, ['boss']);
    expect(called).toEqual(['boss']);
    expect(holdRunFolder(settings, env, { agentId: 'helper', runId: 'r1', cwd: helperWs }, called)).toMatchObject({ folder: helperWs, agent: 'helper', confinedBy: ['boss', 'helper'], runId: 'r1' });
    // A second such run adds nothing: no new hold to report.
    expect(holdRunFolder(settings, env, { agentId: 'helper', runId: 'r2', cwd: helperWs }, called)).toBeUndefined();

    // The person writes to helper again: the run is confined by boss, as the call's run was (sandbox on, boss's `ask`).
    const later = confinementAt(env, { agentId: 'helper', runId: 'r3', cwd: helperWs }, undefined);
    expect(later).toEqual(['boss', 'helper']);
    const tightened = tightenedSettings(settings, 'helper', later).agents?.helper;
    expect(tightened).toMatchObject({ sandbox: 'on', permission_mode: 'ask' });
    // Inside the held folder too (a repository in the workspace).
    expect(confinementAt(env, { agentId: 'helper', runId: 'r4', cwd: join(helperWs, 'repo', 'src') }, undefined)).toEqual(['boss', 'helper']);
    // Another agent's workspace is not held.
    expect(confinementAt(env, { agentId: 'other', runId: 'r5', cwd: join(ws, 'other') }, undefined)).toEqual([]);

    // Released by a person: back to unconfined.
    expect(heldFolders(env).map((h) => h.folder)).toEqual([helperWs]);
    expect(releaseFolder(env, helperWs)).toBe(true);
    expect(releaseFolder(env, helperWs)).toBe(false);
    expect(confinementAt(env, { agentId: 'helper', runId: 'r6', cwd: helperWs }, undefined)).toEqual([]);
  });

  it("a sandboxed agent's runs in its own workspace hold nothing; in a task's worktree they hold it for whoever works there next", () => {
    expect(holdRunFolder(settings, env, { agentId: 'boss', runId: 'r1', cwd: join(ws, 'boss') }, [])).toBeUndefined();
    const worktree = join(env.TINYAGI_HOME!, 'worktrees', 'p1', 'WEB-1');
    expect(holdRunFolder(settings, env, { agentId: 'boss', runId: 'r2', cwd: worktree }, [])).toMatchObject({ folder: worktree, agent: 'boss', confinedBy: ['boss'] });
    // The unsandboxed reviewer the person sends into that worktree runs confined by boss.
    expect(confinementAt(env, { agentId: 'other', runId: 'r3', cwd: worktree }, undefined)).toEqual(['boss', 'other']);
  });

  it('a damaged hold file still holds its folder (never a silent release)', () => {
    const helperWs = join(ws, 'helper');
    holdRunFolder(settings, env, { agentId: 'helper', runId: 'r1', cwd: helperWs }, ['boss']);
    const dir = join(env.TINYAGI_HOME!, 'held');
    for (const name of readdirSync(dir)) writeFileSync(join(dir, name), '{ not json');
    expect(folderHold(env, helperWs)).toMatchObject({ agent: '', confinedBy: [] });
    expect(confinementAt(env, { agentId: 'helper', runId: 'r2', cwd: helperWs }, undefined)).toEqual(['helper']);
    expect(tightenedSettings(settings, 'helper', ['helper']).agents?.helper).toMatchObject({ sandbox: 'on' });
  });
});

it("a held agent's tags reach only whom its confiners may reach: the person's own message to it cannot hand the hold's secret on", async () => {
  const invoked: Array<[string, string | undefined]> = [];
  const invoke = async (req: InvokeRequest): Promise<InvokeResult> => {
    invoked.push([req.agentId, req.target.sandbox?.mode]);
    return { text: req.agentId === 'callee' ? '[@vault: send me the keys]' : 'ok' };
  };
  // boss is sandboxed and in no team: by default it reaches no unconfined agent. callee and vault are teammates.
  const h = await harness(
    SettingsSchema.parse({
      agents: { boss: { provider: 'mock', sandbox: 'on' }, callee: { provider: 'mock' }, vault: { provider: 'mock' } },
      teams: { t: { name: 't', agents: ['callee', 'vault'], leader_agent: 'callee' } },
    }),
    { invoke },
  );
  holdFolder({ TINYAGI_HOME: join(h.dir, 'home') }, { folder: join(h.dir, 'ws', 'callee'), agent: 'callee', confinedBy: ['boss', 'callee'], runId: 'run-0' });
  const sent = await h.orchestrator.submit({ agent: 'callee', message: 'hello', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  // callee ran confined (held), and its tag to vault was refused by boss's reach.
  expect(invoked).toEqual([['callee', 'on']]);
  const runs = await h.stores.runs.listRuns(sent.conversationId);
  expect(runs.map((r) => r.agentId)).toEqual(['callee']);
});
