/**
 * Registered workflows over real HTTP (docs/workflows.md, "Registered workflows"): registered
 * through the settings API, listed, started by name with their input checked against the input
 * schema (a 400 naming the path of the problem), `file` and `workflow` exclusive; an agent's own
 * run token, live, starts a workflow that lists its agent (the run records the agent), reads that
 * run and no other, and is refused a workflow that does not list it, a module by its path, an
 * unknown name (told the ones it may start) and the list. A forecast is checked as a start is, and
 * records nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type ApiClient } from '@tinyagi/client';
import { waitFor } from '@tinyagi/test-kit';
import { liveRunClient, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
let dir: string;

const INPUT = {
  type: 'object',
  properties: { files: { type: 'array', items: { type: 'string' }, minItems: 1 }, depth: { type: 'integer', minimum: 1 } },
  required: ['files'],
  additionalProperties: false,
};

beforeAll(async () => {
  h = await startHarness();
  dir = join(h.home, 'workflows');
  mkdirSync(join(dir, 'team'), { recursive: true });
  writeFileSync(join(dir, 'team', 'review.mjs'), `export default async (wf, input) => ({ reviews: await wf.map(input.files, (f) => wf.agent('reviewer', 'review ' + f)) });`);
  writeFileSync(join(dir, 'hello.mjs'), `export default async (wf) => wf.agent('reviewer', 'hello');`);
  await h.client.patchSettings({
    body: {
      workflows: {
        review: { file: 'team/review.mjs', description: 'Review each file', input: INPUT, agents: ['coder'] },
        hello: { file: join(dir, 'hello.mjs') },
        gone: { file: 'gone.mjs', agents: ['coder'] },
      },
    },
  });
});
afterAll(() => h?.close());

async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string; message: string; details: unknown }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${err === undefined ? 'a success' : String(err)}`);
  return { status: err.status, code: err.code, message: err.message, details: err.details };
}

async function ended(client: ApiClient, id: string) {
  return waitFor(
    async () => {
      const detail = await client.getWorkflowRun({ params: { id } });
      return detail.run.status === 'running' ? undefined : detail;
    },
    20_000,
    `workflow run ${id} to end`,
  );
}

const coderRunClient = () => liveRunClient(h);

describe('registered workflows', () => {
  it('are listed as registered: the module resolved from TINYAGI_HOME/workflows/, whether it is there, description, input schema and agents', async () => {
    expect((await h.client.listWorkflows()).workflows).toEqual([
      { name: 'gone', description: null, file: join(dir, 'gone.mjs'), fileExists: false, input: null, agents: ['coder'] },
      { name: 'hello', description: null, file: join(dir, 'hello.mjs'), fileExists: true, input: null, agents: [] },
      { name: 'review', description: 'Review each file', file: join(dir, 'team', 'review.mjs'), fileExists: true, input: INPUT, agents: ['coder'] },
    ]);
    // The settings refuse a name an agent id could not be, and an input that is not a JSON Schema.
    const bad = await refusal(h.client.patchSettings({ body: { workflows: { 'Bad Name': { file: 'a.mjs' }, ok: { file: 'a.mjs', input: { type: 'nonsense' } } } } }));
    expect(bad).toMatchObject({ status: 400, code: 'CONFIG_INVALID' });
    expect(bad.message).toContain('Invalid workflow name "Bad Name"');
    expect(bad.message).toContain('workflows.ok.input');
  });

  it('a person starts one by name: named after it, its input checked against its schema with the path of each problem', async () => {
    const { run } = await h.client.startWorkflow({ body: { workflow: 'review', input: { files: ['a.ts', 'b.ts'] } } });
    expect(run).toMatchObject({ name: 'review', registered: 'review', startedBy: 'person', file: join(dir, 'team', 'review.mjs'), status: 'running' });
    expect((await ended(h.client, run.id)).run).toMatchObject({ status: 'completed', result: { reviews: ['reviewed', 'reviewed'] } });

    const before = (await h.client.listWorkflowRuns()).runs.length;
    for (const [input, path, says] of [
      [{ files: ['a.ts', 7] }, 'body.input.files.1', 'expected string'],
      [{ files: [] }, 'body.input.files', 'Too small'],
      [{ files: ['a.ts'], depth: 0 }, 'body.input.depth', '>=1'],
      [{ files: ['a.ts'], extra: true }, 'body.input', 'Unrecognized key: "extra"'],
      [undefined, 'body.input', 'expected object, received null'],
    ] as const) {
      const answer = await refusal(h.client.startWorkflow({ body: { workflow: 'review', ...(input === undefined ? {} : { input }) } }));
      expect(answer, JSON.stringify(input)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', details: { issues: [{ path }] } });
      expect(answer.message).toContain(`${path}: `);
      expect(answer.message).toContain(says);
    }
    // Both or neither of file and workflow; an unknown name; a registered module that is not there.
    const both = await refusal(h.client.startWorkflow({ body: { workflow: 'hello', file: join(dir, 'hello.mjs') } }));
    expect(both).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', details: { issues: [{ path: 'body.workflow' }] } });
    expect(await refusal(h.client.startWorkflow({ body: {} }))).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    const unknown = await refusal(h.client.startWorkflow({ body: { workflow: 'nightly' } }));
    expect(unknown).toMatchObject({ status: 404, code: 'WORKFLOW_NOT_FOUND' });
    expect(unknown.message).toContain('No registered workflow "nightly". Registered: "gone", "hello", "review".');
    const gone = await refusal(h.client.startWorkflow({ body: { workflow: 'gone' } }));
    expect(gone).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', details: { issues: [{ path: 'body.workflow' }] } });
    expect(gone.message).toContain(`${join(dir, 'gone.mjs')}, is not a file`);
    expect((await h.client.listWorkflowRuns()).runs.length).toBe(before);
  });

  it("an agent's run token starts a registered workflow that lists its agent and reads that run; every other start, read and the list are refused", async () => {
    const { client: coder } = await coderRunClient();
    const { run } = await coder.startWorkflow({ body: { workflow: 'review', input: { files: ['c.ts'] } } });
    expect(run).toMatchObject({ name: 'review', registered: 'review', startedBy: 'coder', status: 'running' });
    const detail = await ended(coder, run.id);
    expect(detail.run).toMatchObject({ status: 'completed', startedBy: 'coder', result: { reviews: ['reviewed'] } });
    expect(detail.steps).toMatchObject([{ agentId: 'reviewer', status: 'completed' }]);

    // Its input is checked as a person's is.
    expect(await refusal(coder.startWorkflow({ body: { workflow: 'review', input: { files: 'c.ts' } } }))).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      details: { issues: [{ path: 'body.input.files' }] },
    });
    // A workflow that does not list coder.
    const unlisted = await refusal(coder.startWorkflow({ body: { workflow: 'hello' } }));
    expect(unlisted).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN' });
    expect(unlisted.message).toContain('@coder may not start workflow "hello": workflows.hello.agents does not list it');
    expect(unlisted.message).toContain('@coder may start "gone", "review".');
    // A module by its path: a person's only, even one a registered workflow names.
    const byPath = await refusal(coder.startWorkflow({ body: { file: join(dir, 'team', 'review.mjs'), input: { files: ['c.ts'] } } }));
    expect(byPath).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN' });
    expect(byPath.message).toContain('starts only a registered workflow that lists its agent, by name');
    // An unknown name says which it may start, not every registered one.
    const unknown = await refusal(coder.startWorkflow({ body: { workflow: 'nightly' } }));
    expect(unknown).toMatchObject({ status: 404, code: 'WORKFLOW_NOT_FOUND' });
    expect(unknown.message).toContain('@coder may start "gone", "review".');
    expect(unknown.message).not.toContain('"hello"');

    // A run a person started is not coder's to read; the list, cancel and resume are a person's.
    const { run: mine } = await h.client.startWorkflow({ body: { workflow: 'hello' } });
    const foreign = await refusal(coder.getWorkflowRun({ params: { id: mine.id } }));
    expect(foreign).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN' });
    expect(foreign.message).toContain('reads only the workflow runs its agent (@coder) started');
    for (const call of [coder.listWorkflows(), coder.listWorkflowRuns(), coder.cancelWorkflowRun({ params: { id: run.id } }), coder.resumeWorkflowRun({ params: { id: run.id }, body: {} })]) {
      expect(await refusal(call)).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN' });
    }
    await ended(h.client, mine.id);
  });

  it('a forecast is asked as a start is: by name with its input checked, by an agent the workflow lists; it records nothing', async () => {
    const before = (await h.client.listWorkflowRuns()).runs.length;
    const { forecast } = await h.client.forecastWorkflow({ body: { workflow: 'review', input: { files: ['a.ts', 'b.ts', 'c.ts'] } } });
    // The reviewer's runs from the tests above price its three steps; the run above is the workflow's past.
    expect(forecast).toMatchObject({ steps: 3, unpriced: 0, complete: true, note: null, agents: [{ agentId: 'reviewer', provider: 'mock', steps: 3 }] });
    expect(forecast.agents[0]!.samples).toBeGreaterThan(0);
    expect(forecast.pastRuns?.runs).toBeGreaterThan(0);
    const byPath = await h.client.forecastWorkflow({ body: { file: join(dir, 'hello.mjs') } });
    expect(byPath.forecast).toMatchObject({ steps: 1, complete: true });
    expect(await refusal(h.client.forecastWorkflow({ body: { workflow: 'review', input: { files: [] } } }))).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      details: { issues: [{ path: 'body.input.files' }] },
    });
    expect(await refusal(h.client.forecastWorkflow({ body: { file: 'relative.mjs' } }))).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', details: { issues: [{ path: 'body.file' }] } });

    const { client: coder } = await coderRunClient();
    expect((await coder.forecastWorkflow({ body: { workflow: 'review', input: { files: ['x.ts'] } } })).forecast.steps).toBe(1);
    expect(await refusal(coder.forecastWorkflow({ body: { workflow: 'hello' } }))).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN' });
    expect(await refusal(coder.forecastWorkflow({ body: { file: join(dir, 'hello.mjs') } }))).toMatchObject({ status: 403, code: 'SCOPE_FORBIDDEN' });
    expect((await h.client.listWorkflowRuns()).runs.length).toBe(before);
  });
});
