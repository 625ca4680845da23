/**
 * Memory's proposal → review → recall loop with the real Claude Code (docs/memory.md): the built
 * daemon, the agent `tinyagi agent add` makes (warm, sandboxed, asking before it acts), the
 * stand-in model. In one conversation the model calls TinyAGI's MCP tool `remember`; the proposal
 * waits for a person, who accepts it through the decision route TinyOffice and the CLI use
 * (`POST /api/memory/:id/decision`); in a later conversation (another sender, its own session) the
 * model request the stand-in receives carries the entry inside the `<tinyagi-memory>` block, and
 * the run's memory injection (`GET /api/runs/:id/memory-injection`) names it. One daemon, one
 * agent, two turns: this file is on the real-CLI suite's critical path.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, type ModelRequest } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type Rig } from './harness.ts';
import { describeOutcome } from './suite.ts';

const PROPOSE = 'MEMPROPOSE-4b7';
const RECALL = 'MEMRECALL-9e2';
const FACT = 'The deploy window of the billing service is Thursday afternoon, after the tests pass.';

let rig: Rig;

beforeAll(async () => {
  // Claude Code defers MCP tools behind its ToolSearch tool by default; the stand-in model does not search, so they are offered directly.
  rig = await startRig(CLI_CASES.claude, { daemonEnv: { ENABLE_TOOL_SEARCH: 'false' } });
  await rig.daemon.cliHereOk(['agent', 'add', 'keeper', '--provider', 'custom:standin', '--config', JSON.stringify({ env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'] })]);
}, 180_000);

afterAll(async () => {
  await rig?.cleanup();
  cleanupTemp();
});

/** The `<tinyagi-memory>` block of the request's latest user entry, or undefined. */
function memoryBlockOf(request: ModelRequest): string | undefined {
  const user = request.entries.findLast((e) => e.role === 'user' && (e.text.includes(RECALL) || e.text.includes(PROPOSE)));
  return /<tinyagi-memory>[\s\S]*?<\/tinyagi-memory>/.exec(user?.text ?? '')?.[0];
}

it('the model proposes with `remember`, a person accepts it through the decision route, and a later conversation carries it in the memory block; the run records its injection', async () => {
  const api = rig.daemon.api;
  const keeper = await api.getAgent({ params: { id: 'keeper' } });
  // The defaults a user gets: warm, asking before it acts, sandboxed with the boundary holding here.
  expect({ process: keeper['process'], permissionMode: keeper['permission_mode'], sandbox: keeper['sandbox'], boundary: keeper.sandboxStatus?.state }, JSON.stringify(keeper)).toEqual({
    process: 'warm',
    permissionMode: 'ask',
    sandbox: 'on',
    boundary: 'enforced',
  });

  const firstRequests: ModelRequest[] = [];
  rig.rule(PROPOSE, (request) => {
    firstRequests.push(request);
    const out = toolOutput(request);
    if (out === undefined) return { tool: 'remember', input: { text: FACT, kind: 'decision', reason: 'The person told me when deploys happen.' } };
    return { reply: `Proposed: ${out}` };
  });
  const proposed = await rig.send({ agent: 'keeper', senderId: 'mem-first', message: `${PROPOSE} note that deploys of billing happen on Thursday afternoon` });
  expect(proposed.runs[0]?.status, describeOutcome(proposed)).toBe('completed');
  // Nothing was accepted yet: the first turn had no memory block.
  expect(firstRequests.map(memoryBlockOf)).toEqual(firstRequests.map(() => undefined));

  const waiting = await api.listMemory({ query: { scope: 'agent', id: 'keeper', status: 'proposed' } });
  expect(
    waiting.map((e) => ({ text: e.text, kind: e.kind, proposedBy: e.provenance.proposedBy, run: e.provenance.runId })),
    `the remember tool's answer: ${proposed.replies.join('\n')}`,
  ).toEqual([{ text: FACT, kind: 'decision', proposedBy: '@keeper', run: proposed.runs[0]!.runId }]);
  const accepted = await api.decideMemory({ params: { id: waiting[0]!.id }, body: { decision: 'accept' } });
  expect(accepted).toMatchObject({ status: 'accepted', decidedBy: 'api' });

  let block: string | undefined;
  rig.rule(RECALL, (request) => {
    block ??= memoryBlockOf(request);
    return { reply: 'Thursday afternoon.' };
  });
  const later = await rig.send({ agent: 'keeper', senderId: 'mem-later', message: `${RECALL} when is the deploy window of billing?` });
  const run = later.runs[0]!;
  expect(run.status, describeOutcome(later)).toBe('completed');
  expect(block, 'the model request of the later conversation carries the <tinyagi-memory> block').toBeDefined();
  expect(block).toContain(`- [${accepted.id} · agent keeper · decision] ${FACT}`);
  const injection = await api.getRunMemoryInjection({ params: { id: run.runId } });
  expect(injection?.entryIds).toEqual([accepted.id]);
  expect(injection!.tokens).toBeGreaterThan(0);
});
