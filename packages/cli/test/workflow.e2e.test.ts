/**
 * `tinyagi workflow run|forecast|list|show|cancel` (docs/cli.md, "Workflows") against the built
 * daemon, with mock agents: a workflow module written to a temp folder runs two agent steps in
 * parallel and one after; `run --wait` prints its forecast, a line per step and the result;
 * `forecast` prices the steps from the runs before; `list` and `show` show the run and its step tree; input that is not JSON and a missing file are refused before anything is sent; a
 * finished run's cancel is refused with the daemon's code; a run its budget paused asks a person
 * (`tinyagi approvals`), answered with `tinyagi budget <id> raise|stop`, closed by a resume.
 *
 * The crash test: six sequential agent steps, the daemon SIGKILLed once the second has completed
 * and the third's agent has started (a mock gate holds it in the middle of its run), started again:
 * the run goes on by itself and ends with the same result as an undisturbed run, each step with one
 * conversation whose message completed once; the steps finished before the kill are not run again,
 * and the third's run (cut off by the kill) is taken up again by the queue in its own conversation,
 * not sent as a second message (the `run.started`, `run.completed` and `queue.retry` events of each
 * conversation, read back from the event log).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient, Approval, EventOf, WorkflowRun, WorkflowRunDetail } from '@tinyagi/client';
import { createDaemon, tempDir, type TestDaemon, waitFor } from '@tinyagi/test-kit';

let daemon: TestDaemon;
let dir: string;

const PARALLEL = `export default async (wf, input) => {
  const [draft, review] = await wf.parallel([
    () => wf.agent('writer', 'write about ' + input.topic),
    () => wf.agent('reviewer', 'review ' + input.topic),
  ]);
  const summary = await wf.agent('writer', 'summarise ' + draft.length + ' and ' + review.length);
  return { draft, review, summary };
};
`;

const CHAIN = `export default async (wf, input) => {
  const trail = [];
  let last = input.seed;
  for (let i = 1; i <= 6; i++) {
    last = await wf.agent('chain', 'link ' + i + ' after ' + last.length);
    trail.push(last);
  }
  return trail;
};
`;

/** The mock gate that holds the chain's third step in its agent (mock-gate.ts). */
const GATE = 'link-3';

beforeAll(async () => {
  dir = tempDir('tinyagi-workflow-files-');
  writeFileSync(join(dir, 'parallel.mjs'), PARALLEL);
  writeFileSync(join(dir, 'chain.mjs'), CHAIN);
  daemon = await createDaemon({
    prefix: 'tinyagi-workflow-',
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      agents: {
        writer: { provider: 'mock', mock: { reply: 'W<{{message}}>', usage: { input_tokens: 10, output_tokens: 5, cost_usd: 0.001 } } },
        reviewer: { provider: 'mock', mock: { reply: 'R<{{message}}>', usage: { input_tokens: 20, output_tokens: 5, cost_usd: 0.002 } } },
        chain: { provider: 'mock', mock: { reply: 'C<{{message}}>', replies: [{ match: 'link 3 ', gate: GATE, reply: 'C<{{message}}>' }] } },
      },
      channels: { enabled: [] },
    }),
  });
  await daemon.start();
}, 120_000);

afterAll(async () => {
  await daemon?.cleanup();
});

const json = async <T>(args: string[]): Promise<T> => JSON.parse(await daemon.cliOk([...args, '--json'])) as T;

describe('workflow run, list, show, cancel', () => {
  let run: WorkflowRun;

  it('run --wait prints a line per step as it starts and ends, then the result as JSON', async () => {
    // The file is given relative to the current directory, as a person types it.
    const result = await daemon.cli(['workflow', 'run', relative(process.cwd(), join(dir, 'parallel.mjs')), '--input', '{"topic":"tests"}', '--wait']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ draft: 'W<write about tests>', review: 'R<review tests>', summary: 'W<summarise 20 and 15>' });
    for (const [step, agent, totals] of [
      ['1:parallel[0]/1:agent', '@writer', '$0.0010  15 tok'],
      ['1:parallel[1]/1:agent', '@reviewer', '$0.0020  25 tok'],
      ['2:agent', '@writer', '$0.0010  15 tok'],
    ] as const) {
      expect(result.stderr).toContain(`● ${step}  ${agent}  running\n`);
      expect(result.stderr).toContain(`✔ ${step}  ${agent}  completed  ${totals}\n`);
    }
    // Its forecast first: no run of writer or reviewer yet prices its three steps.
    expect(result.stderr.split('\n')[0]).toBe("Forecast: 3 steps, not priced: no past run of their agents' runtime and model");
    // Its `running` event comes again once the message is sent: the line is printed once.
    expect(result.stderr.split('\n').filter((l) => l.startsWith('● 2:agent'))).toHaveLength(1);
    run = (await json<WorkflowRun[]>(['workflow', 'list']))[0]!;
    expect(run).toMatchObject({ name: 'parallel', status: 'completed', input: { topic: 'tests' }, steps: { total: 3, completed: 3 } });
  });

  it('list shows the run; show prints it with its steps as a tree and its result', async () => {
    const listed = await daemon.cliOk(['workflow', 'list']);
    const row = listed.split('\n').find((l) => l.startsWith(run.id));
    expect(row).toMatch(new RegExp(`^${run.id}\\s+parallel\\s+completed\\s+3/3\\s+\\$0\\.0040\\s+\\d{4}-`));
    expect(await daemon.cliOk(['workflow', 'list', '--status', 'failed'])).toContain('No failed workflow runs.');

    const shown = await daemon.cliOk(['workflow', 'show', run.id]);
    expect(shown).toMatch(/status:\s+completed/);
    const tree = shown.split('\n').filter((l) => /^[├└│─ ]*[✔●✖] /.test(l));
    expect(tree.map((l) => l.replace(/ {2}\S*<.*$/, ''))).toEqual([
      '✔ 1:parallel  completed  2/2 steps  $0.0030  40 tok',
      '├─ ✔ 1:parallel[0]  completed  1/1 steps  $0.0010  15 tok',
      '│  └─ ✔ 1:agent  @writer  completed  $0.0010  15 tok',
      '└─ ✔ 1:parallel[1]  completed  1/1 steps  $0.0020  25 tok',
      '   └─ ✔ 1:agent  @reviewer  completed  $0.0020  25 tok',
      '✔ 2:agent  @writer  completed  $0.0010  15 tok',
    ]);
    expect(shown).toContain('W<');
    expect(shown).toContain('Result:');
    const detail = await json<WorkflowRunDetail>(['workflow', 'show', run.id]);
    expect(detail.steps.map((s) => s.stepId)).toEqual(expect.arrayContaining(['1:parallel[0]/1:agent', '1:parallel[1]/1:agent', '2:agent']));
  });

  it('forecast prices each step from the runs before it, per agent, beside the past runs of the workflow; run warns of a budget below it', async () => {
    const file = join(dir, 'parallel.mjs');
    const shown = await daemon.cliOk(['workflow', 'forecast', file, '--input', '{"topic":"again"}']);
    // Priced from the runs of their runtime and model (mock, its default), the writer's and the reviewer's alike: $0.001, $0.001, $0.002.
    expect(shown).toContain('Forecast: $0.0030–$0.0060, 45–75 tok for 3 steps\n');
    expect(shown).toMatch(/@writer\s+mock\s+2 steps\s+3 past runs\s+\$0\.0020–\$0\.0040\n/);
    expect(shown).toMatch(/@reviewer\s+mock\s+1 step\s+3 past runs\s+\$0\.0010–\$0\.0020\n/);
    expect(shown).toContain('Past runs of parallel: 1, $0.0040, 55 tok');
    const asJson = await json<{ steps: number; complete: boolean }>(['workflow', 'forecast', file, '--input', '{"topic":"again"}']);
    expect(asJson).toMatchObject({ steps: 3, complete: true });

    const warned = await daemon.cli(['workflow', 'run', file, '--input', '{"topic":"budget"}', '--budget', '0.001']);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr, JSON.stringify(warned)).toContain('The budget $0.0010 is below even its low: the run may pause at it');
    const id = /Started workflow run (wf_\w+)/.exec(warned.stdout)?.[1];
    await waitFor(async () => ((await daemon.api.getWorkflowRun({ params: { id: id! } })).run.status === 'running' ? undefined : true), 30_000, 'the budgeted run to stop');
  });

  it('refuses input that is not JSON (--input or --input-file) and a file that is not there, before asking the daemon', async () => {
    const file = join(dir, 'parallel.mjs');
    const before = (await json<WorkflowRun[]>(['workflow', 'list'])).length;
    const notJson = await daemon.cli(['workflow', 'run', file, '--input', '{topic: tests}']);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain("option '--input <json>' argument '{topic: tests}' is invalid");
    expect(notJson.stderr).toContain('expected JSON');
    writeFileSync(join(dir, 'not.json'), '{topic: tests}');
    const notJsonFile = await daemon.cli(['workflow', 'run', file, '--input-file', join(dir, 'not.json')]);
    expect(notJsonFile.code).toBe(2);
    expect(notJsonFile.stderr).toContain(`--input-file ${join(dir, 'not.json')} is not JSON`);
    const missing = await daemon.cli(['workflow', 'run', join(dir, 'nope.mjs')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`No workflow file at ${join(dir, 'nope.mjs')}.`);
    expect(await json<WorkflowRun[]>(['workflow', 'list'])).toHaveLength(before);
  });

  it('a run its budget pauses: --wait exits 1 saying why and how to resume; resume --wait with a larger budget completes it', async () => {
    const file = join(dir, 'parallel.mjs');
    // Both parallel steps start at once (nothing spent yet); the step after them would pass the budget.
    writeFileSync(join(dir, 'budgets.json'), '{"topic":"budgets"}');
    const paused = await daemon.cli(['workflow', 'run', file, '--input-file', join(dir, 'budgets.json'), '--budget-tokens', '30', '--wait']);
    expect(paused.code).toBe(1);
    expect(paused.stdout).toBe('');
    const id = /Workflow run (wf_\w+) paused\. Paused at its budget: used 40 of 30 tokens\./.exec(paused.stderr)?.[1];
    expect(id, paused.stderr).toBeDefined();
    expect(paused.stderr).toContain(
      `A person is asked (\`tinyagi approvals\`, then \`tinyagi budget <request id> raise\` or \`stop\`); or resume it with \`tinyagi workflow resume ${id}\`, with a larger --budget or --budget-tokens.`,
    );
    expect(paused.stderr).not.toContain('2:agent');
    // A person is asked: the request waits in `tinyagi approvals`, saying how to answer it.
    const listed = await daemon.cliOk(['approvals']);
    expect(listed).toContain('Workflow parallel paused at its budget: used 40 of 30 tokens');
    expect(listed).toContain('A workflow run paused at its budget waits until answered: `tinyagi budget <id> raise`');
    const ask = (await json<Approval[]>(['approvals'])).find((a) => a.kind === 'workflow_budget');

    const resumed = await daemon.cli(['workflow', 'resume', id!, '--budget-tokens', '1000', '--wait']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ draft: 'W<write about budgets>', summary: 'W<summarise 22 and 17>' });
    // Only the step not run before runs now.
    expect(resumed.stderr).toContain('✔ 2:agent  @writer  completed');
    expect(resumed.stderr).not.toContain('1:parallel');
    // The resume closed the request: it has nothing left to decide.
    expect((await json<Approval[]>(['approvals', '--all'])).find((a) => a.id === ask?.id)).toMatchObject({ status: 'cancelled', decidedBy: 'resume' });
  });

  it('a run its budget paused is answered with `tinyagi budget <id> raise` (the same again) or `stop`', async () => {
    const file = join(dir, 'parallel.mjs');
    const asked = async (runId: string): Promise<Approval> =>
      waitFor(async () => (await json<Approval[]>(['approvals'])).find((a) => (a.input as { workflowRunId?: string }).workflowRunId === runId), 20_000, `the request of ${runId}`);
    const raised = (await json<WorkflowRun>(['workflow', 'run', file, '--input', '{"topic":"more"}', '--budget-tokens', '30'])).id;
    const stopped = (await json<WorkflowRun>(['workflow', 'run', file, '--input', '{"topic":"less"}', '--budget-tokens', '30'])).id;
    const [raise, stop] = [await asked(raised), await asked(stopped)];

    const wrong = await daemon.cli(['budget', stop.id, 'stop', '--budget', '5']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('A budget goes with `raise` only.');
    // 40 tokens spent of 30: the same again is 70.
    expect(await daemon.cliOk(['budget', raise.id, 'raise'])).toContain('Budget raised by cli: Workflow parallel paused at its budget: used 40 of 30 tokens (the same again).');
    expect(await daemon.cliOk(['budget', stop.id, 'stop'])).toContain('Stopped by cli: Workflow parallel paused at its budget');
    const done = await waitFor(
      async () => {
        const d = await json<WorkflowRunDetail>(['workflow', 'show', raised]);
        return d.run.status === 'completed' ? d : undefined;
      },
      20_000,
      `${raised} completed`,
    );
    expect(done.run.budget).toEqual({ usd: null, tokens: 70 });
    expect((await json<WorkflowRunDetail>(['workflow', 'show', stopped])).run.status).toBe('cancelled');
  });

  it("refuses to cancel a finished run with the daemon's code", async () => {
    const refused = await daemon.cli(['workflow', 'cancel', run.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(INVALID_STATE)');
    const unknown = await daemon.cli(['workflow', 'show', 'wfr_nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('(WORKFLOW_NOT_FOUND)');
  });
});

interface RunCounts {
  started: number;
  completed: number;
  /** Its message taken up again after its run was cut off (`queue.retry`: the same run goes on). */
  retried: number;
}

/** Each conversation's `run.started`, `run.completed` and `queue.retry` events, read from the event log up to the workflow run's end. */
async function runCounts(api: ApiClient, runId: string): Promise<Map<string, RunCounts>> {
  const counts = new Map<string, RunCounts>();
  const events = api.subscribe({ types: ['run.started', 'run.completed', 'queue.retry', 'workflow.changed'], lastEventId: 0 });
  for await (const event of events) {
    if (event.type === 'workflow.changed') {
      if (event.data.runId === runId && event.data.status === 'completed') break;
      continue;
    }
    if (event.conversationId === null) continue;
    const count = counts.get(event.conversationId) ?? { started: 0, completed: 0, retried: 0 };
    if (event.type === 'run.started') count.started += 1;
    else if (event.type === 'run.completed') count.completed += 1;
    else count.retried += 1;
    counts.set(event.conversationId, count);
  }
  return counts;
}

/** The run's `workflow.step` events after `after`, up to its end. */
async function stepEvents(api: ApiClient, runId: string, after: number): Promise<EventOf<'workflow.step'>[]> {
  const steps: EventOf<'workflow.step'>[] = [];
  for await (const event of api.subscribe({ types: ['workflow.step', 'workflow.changed'], lastEventId: after })) {
    if (event.data.runId !== runId) continue;
    if (event.type === 'workflow.step') steps.push(event);
    else if (event.data.status === 'completed') break;
  }
  return steps;
}

/** Resolves once the run's second step has completed and its third step's agent has started (held by its gate), with the id of the event that told. */
async function inFlight(api: ApiClient, runId: string, after: number): Promise<number> {
  let secondDone = false;
  let third: string | null = null;
  const running = new Set<string>();
  for await (const event of api.subscribe({ types: ['workflow.step', 'run.started'], lastEventId: after })) {
    if (event.type === 'run.started') {
      if (event.conversationId !== null) running.add(event.conversationId);
    } else if (event.data.runId === runId) {
      if (event.data.stepId === '2:agent' && event.data.status === 'completed') secondDone = true;
      if (event.data.stepId === '3:agent') third ??= event.conversationId;
    }
    if (secondDone && third !== null && running.has(third)) return event.id;
  }
  throw new Error('the event stream ended');
}

describe('a crash in the middle of a run', () => {
  it('SIGKILLed after its second step, started again: the run completes with the same result, and every step ran its agent once', { timeout: 180_000 }, async () => {
    const chain = join(dir, 'chain.mjs');
    const gate = join(daemon.home, 'mock-gates', GATE);
    // The undisturbed run, the gate open.
    mkdirSync(join(daemon.home, 'mock-gates'), { recursive: true });
    writeFileSync(gate, '');
    const undisturbed = JSON.parse(await daemon.cliOk(['workflow', 'run', chain, '--input', '{"seed":"abc"}', '--wait'])) as string[];
    expect(undisturbed).toHaveLength(6);
    rmSync(gate);

    const before = (await daemon.api.status()).lastEventId;
    const started = await json<WorkflowRun>(['workflow', 'run', chain, '--input', '{"seed":"abc"}']);
    const killedAfter = await inFlight(daemon.api, started.id, before);
    await daemon.kill();

    await daemon.start();
    writeFileSync(gate, '');
    const detail = await waitFor(
      async () => {
        const d = await daemon.api.getWorkflowRun({ params: { id: started.id } });
        if (d.run.status === 'failed' || d.run.status === 'cancelled') throw new Error(`the run ${d.run.status}: ${d.run.reason}`);
        return d.run.status === 'completed' ? d : undefined;
      },
      90_000,
      'the run to complete after the restart',
    );
    expect(detail.run.result).toEqual(undisturbed);
    expect(detail.steps.map((s) => [s.stepId, s.status])).toEqual([1, 2, 3, 4, 5, 6].map((i) => [`${i}:agent`, 'completed']));

    const counts = await runCounts(daemon.api, started.id);
    // The steps finished before the kill were not started again: after it, only the third step (going on) and the rest.
    expect([...new Set((await stepEvents(daemon.api, started.id, killedAfter)).map((e) => e.data.stepId))]).toEqual(['3:agent', '4:agent', '5:agent', '6:agent']);
    const conversations = detail.steps.map((s) => s.conversationId);
    expect(new Set(conversations).size).toBe(6);
    // One run each, completed once; the third step's (in the middle of its agent at the kill) taken up
    // again by the queue after the start, in its own conversation, not sent a second time.
    expect(conversations.map((id) => counts.get(id!))).toEqual([1, 2, 3, 4, 5, 6].map((step) => ({ started: 1, completed: 1, retried: step === 3 ? 1 : 0 })));
  });
});
