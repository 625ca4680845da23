/**
 * A person's agent survives a teammate's confined turn (docs/sessions.md, "When a run changes
 * side"), through the orchestrator with the fake Claude Code keeping its sessions in HOME as the
 * real one does, and the real bwrap: the person talks to an unconfined agent, a sandboxed
 * teammate hands it work (which runs confined, in its private home), and the person's next
 * message still gets an answer. Before, the confined run resumed the person's session id in the
 * private home, failed with "No conversation found" on every attempt and went to the dead letters.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { invokeAgent, SettingsSchema, type InvokeRequest } from '@tinyagi/core';
import { fakeCli } from '@tinyagi/test-kit';
import { closeAll, harness, waitForCompletion } from './helpers.ts';

/** In ~/.cache: inside the sandbox /tmp is a private tmpfs. */
let root: string;
let savedHome: string | undefined;

beforeAll(() => {
  mkdirSync(join(homedir(), '.cache'), { recursive: true });
  root = mkdtempSync(join(homedir(), '.cache', 'tinyagi-sides-'));
  // The person's home, where the unconfined CLI keeps its sessions.
  savedHome = process.env.HOME;
  process.env.HOME = join(root, 'home');
  mkdirSync(process.env.HOME, { recursive: true });
});
afterEach(closeAll);
afterAll(() => {
  process.env.HOME = savedHome;
  rmSync(root, { recursive: true, force: true });
});

it("a sandboxed teammate's handoff to the person's unconfined agent, and the person's next message: every run answers, none is retried", async () => {
  const env = { ...process.env, TINYAGI_HOME: join(root, 'home', '.tinyagi') };
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, FAKE_SESSIONS_IN_HOME: '1' } });
  const h = await harness(
    SettingsSchema.parse({
      workspace: { path: join(root, 'home', 'workspace') },
      agents: { boxed: { provider: 'anthropic', sandbox: 'required' }, hand2: { provider: 'anthropic' } },
      teams: { t: { name: 't', agents: ['boxed', 'hand2'], leader_agent: 'boxed' } },
    }),
    { invoke, env },
  );
  /** The runs of the message's conversation, each with how many attempts its message took. */
  const send = async (agent: string, message: string) => {
    const sent = await h.orchestrator.submit({ agent, message, senderId: 'u1' });
    await waitForCompletion(h, sent.conversationId);
    const runs = await h.stores.runs.listRuns(sent.conversationId);
    return Promise.all(runs.map(async (r) => [r.agentId, r.status, (await h.stores.queue.get(r.messageIds[0]!))?.attempts]));
  };
  expect(await send('hand2', 'hello')).toEqual([['hand2', 'completed', 1]]);
  // hand2 runs confined (its caller is sandboxed): a new CLI session in its private home.
  expect(await send('boxed', 'FAKE:reply=[@hand2: run the checks]')).toEqual([
    ['boxed', 'completed', 1],
    ['hand2', 'completed', 1],
  ]);
  expect(await send('hand2', 'hello again')).toEqual([['hand2', 'completed', 1]]);
  const [session] = await h.stores.agentSessions.list('hand2');
  expect(session?.turns).toBe(3);
});
