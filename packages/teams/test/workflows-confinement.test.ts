/**
 * A workflow run an agent started is confined as that agent is (docs/workflows.md, "Registered
 * workflows"): its agent steps go only to agents the starter may call (a step to another fails
 * CALL_NOT_ALLOWED naming the starter's `may_call`, and is never sent), and they run confined by
 * the starter, as its call would (their messages carry its chain, so a handoff from a step is
 * held to the starter's `may_call` too). A person's run of the same program reaches every agent.
 * Real orchestrator and stores, core's mock runtime.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { invokeAgent, SettingsSchema } from '@tinyagi/core';
import { unconfinedWorkRefusal } from '../src/guards/confinement.ts';
import { runReaching, workflowEngine } from './workflow-helpers.ts';
import { closeAll, harness, recordingInvoker, waitForCompletion, type Harness } from './helpers.ts';

afterEach(closeAll);

const PROGRAM = `export default async (wf) => {
  const allowed = await wf.agent('writer', 'draft it');
  await wf.agent('writer', 'pass it on');
  const refused = await wf.agent('vault', 'the secret').catch((err) => err.message);
  return { allowed, refused };
};`;

/** The meta of the message an agent step sent (its conversation's first run's message). */
async function stepMeta(h: Harness, conversationId: string): Promise<Record<string, unknown>> {
  const [run] = await h.stores.runs.listRuns(conversationId);
  const message = await h.stores.queue.get(run!.messageIds[0]!);
  return message!.meta;
}

it('a run an agent started sends its steps only to agents that agent may call, confined by it; a person’s run reaches every agent', async () => {
  const recorder = recordingInvoker(invokeAgent);
  const h = await harness(
    {
      agents: {
        boss: { provider: 'mock', sandbox: 'on', may_call: ['writer'], mock: { reply: 'on it' } },
        writer: { provider: 'mock', mock: { reply: 'wrote: {{message}}', replies: [{ match: 'pass it on', reply: 'passing it on [@vault: tell me the secret]' }] } },
        vault: { provider: 'mock', mock: { reply: 'SECRET-42' } },
      },
      // Teammates: the writer may hand work to the vault, unless a chain it works for may not.
      teams: { t: { agents: ['writer', 'vault'], leader_agent: 'writer' } },
    },
    { invoke: recorder.invoke },
  );
  const w = workflowEngine(h);
  await w.start();
  const file = join(h.dir, 'review.mjs');
  writeFileSync(file, PROGRAM);

  // A person's run of the program: every agent, unconfined. (First: a confined run leaves the
  // writer's workspace held, and the writer's later runs there confined too: docs/sandbox.md.)
  const mine = await w.startRun({ file });
  expect(mine).toMatchObject({ name: 'review', registered: null, startedBy: 'person' });
  const personal = await runReaching(w, mine.id, 'ended');
  expect(personal.run.result).toEqual({ allowed: 'wrote: draft it', refused: 'SECRET-42' });
  // The handoff and the step both reached the vault.
  expect(recorder.calls.filter((c) => c.agentId === 'vault')).toHaveLength(2);
  const meta = await stepMeta(h, personal.steps[0]!.conversationId!);
  expect(meta['confinedBy']).toBeUndefined();
  expect(meta['callers']).toBeUndefined();

  // The boss's own run, as its run token would name it.
  const sent = await h.orchestrator.submit({ message: 'start the review', agent: 'boss' });
  await waitForCompletion(h, sent.conversationId);
  const [bossRun] = await h.stores.runs.listRuns(sent.conversationId);

  const started = await w.startRun({ file, registered: 'review', startedBy: { agentId: 'boss', runId: bossRun!.id } });
  expect(started).toMatchObject({ name: 'review', registered: 'review', startedBy: 'boss' });
  const { run, steps } = await runReaching(w, started.id, 'ended');
  expect(run.status).toBe('completed');
  const result = run.result as { allowed: string; refused: string };
  expect(result.allowed).toBe('wrote: draft it');
  expect(result.refused).toMatch(/^Step 3:agent failed: CALL_NOT_ALLOWED: @boss may not call @vault: agents\.boss\.may_call is \[writer\]\. Add "vault" to it/);
  expect(steps.map((s) => [s.stepId, s.agentId, s.status])).toEqual([
    ['1:agent', 'writer', 'completed'],
    ['2:agent', 'writer', 'completed'],
    ['3:agent', 'vault', 'failed'],
  ]);
  // The refused step was never sent (no conversation), and the writer's handoff to the vault was held to the boss's may_call: the vault did not run again.
  expect(steps[2]!.conversationId).toBeNull();
  expect(recorder.calls.filter((c) => c.agentId === 'vault')).toHaveLength(2);
  expect(steps[1]!.output).toContain("@writer's message to @vault was not delivered: @boss (earlier in this chain) may not call @vault");
  // The allowed steps run confined by the boss, as the boss's call would.
  expect(await stepMeta(h, steps[0]!.conversationId!)).toMatchObject({ confinedBy: ['boss'], callers: ['boss'] });

  await w.stop();
});

it('a task step of a confined chain goes only to an agent sandboxed at least as tightly, since the task runs with its agent’s own settings', () => {
  const settings = SettingsSchema.parse({ agents: { boss: { sandbox: 'on' }, strict: { sandbox: 'required' }, plain: {}, boxed: { sandbox: 'on' } } });
  expect(unconfinedWorkRefusal(settings, [], 'plain')).toBeUndefined();
  expect(unconfinedWorkRefusal(settings, ['boss'], 'boxed')).toBeUndefined();
  expect(unconfinedWorkRefusal(settings, ['boss'], 'plain')).toBe(
    'a task runs @plain with its own settings (sandbox "off"), outside the confinement of @boss. Set agents.plain.sandbox to "on" to allow it.',
  );
  expect(unconfinedWorkRefusal(settings, ['boss', 'strict'], 'boxed')).toContain('Set agents.boxed.sandbox to "required"');
});
