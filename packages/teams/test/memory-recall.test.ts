/**
 * Recall before a turn (docs/memory.md), through the real orchestrator and the mock runtime: the
 * prompt the runtime receives starts with one memory block holding the pinned and relevant entries
 * of the agent's own, its teams' and its task's project's memory — never another agent's or team's —
 * and the run records what went in (its run tree, the observers). The agent's memory files are
 * imported at its first turn.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invokeAgent, type MemoryInjectedEvent, type Settings } from '@tinyagi/core';
import { addMemory, agentWorkspaceDir } from '@tinyagi/core/internal';
import { afterEach, expect, it } from 'vitest';
import { closeAll, harness, recordingInvoker, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const echo = { provider: 'mock' as const, mock: { reply: 'ok' } };
const settings = (budget?: number): Settings => ({
  agents: { bot: { ...echo, ...(budget !== undefined ? { memory: { budget_tokens: budget } } : {}) }, eve: echo },
  teams: { dev: { agents: ['bot'], leader_agent: 'bot' }, ops: { agents: ['eve'], leader_agent: 'eve' } },
});

it("the turn's prompt starts with the pinned and relevant entries the agent reads, and the run records them", async () => {
  const log = recordingInvoker((req) => invokeAgent(req));
  const h = await harness(settings(), { invoke: log.invoke });
  const m = h.stores.memory;
  const team = await addMemory(m, { scope: { kind: 'team', id: 'dev' }, kind: 'procedure', text: 'The website is deployed with the release workflow', by: 'cli' });
  const pinned = await addMemory(m, { scope: { kind: 'agent', id: 'bot' }, kind: 'preference', text: 'Answer in short sentences', pinned: true, by: 'cli' });
  await addMemory(m, { scope: { kind: 'team', id: 'ops' }, kind: 'fact', text: 'The website deploy is frozen this week', by: 'cli' });
  await addMemory(m, { scope: { kind: 'agent', id: 'eve' }, kind: 'fact', text: 'Eve deployed the website yesterday', by: 'cli' });
  await addMemory(m, { scope: { kind: 'team', id: 'dev' }, kind: 'fact', text: 'The coffee machine is on the third floor', by: 'cli' });

  const sent = await h.orchestrator.submit({ message: '@bot how is the website deployed?', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  const prompt = log.calls.at(-1)!.prompt;
  expect(prompt.startsWith('<tinyagi-memory>\n')).toBe(true);
  expect(prompt).toContain(`[${pinned.id} · agent bot · preference · pinned] Answer in short sentences`);
  expect(prompt).toContain(`[${team.id} · team dev · procedure] The website is deployed with the release workflow`);
  expect(prompt).not.toMatch(/frozen|Eve deployed|coffee/);
  expect(prompt.indexOf('</tinyagi-memory>')).toBeLessThan(prompt.indexOf('how is the website deployed?'));
  const [run] = await h.stores.runs.listRuns(sent.conversationId);
  const injection = await m.injectionOf(run!.id);
  expect(injection).toMatchObject({ runId: run!.id, entryIds: [pinned.id, team.id], budget: 1000 });
  expect(injection!.tokens).toBe(Math.ceil(prompt.slice(0, prompt.indexOf('</tinyagi-memory>') + '</tinyagi-memory>'.length).length / 4));
  expect((await m.get(team.id))?.lastUsedAt).not.toBeNull();
});

it("a task's conversation reads its project's memory; a budget of 0 turns recall off", async () => {
  const log = recordingInvoker((req) => invokeAgent(req));
  const h = await harness(settings(), { invoke: log.invoke });
  const project = await h.stores.tasks.createProject({ name: 'Web' });
  const task = await h.stores.tasks.createTask({ title: 'Fix the login page', projectId: project.id });
  const fact = await addMemory(h.stores.memory, { scope: { kind: 'project', id: project.id }, kind: 'fact', text: 'The login page lives in src/login.ts', by: 'cli' });
  const onTask = await h.orchestrator.submit({ message: '@bot fix the login page', senderId: `task:${task.id}` });
  await waitForCompletion(h, onTask.conversationId);
  expect(log.calls.at(-1)!.prompt).toContain(`[${fact.id} · project ${project.id} · fact]`);
  const plain = await h.orchestrator.submit({ message: '@bot fix the login page', senderId: 'u1' });
  await waitForCompletion(h, plain.conversationId);
  expect(log.calls.at(-1)!.prompt).not.toContain('tinyagi-memory');

  h.setSettings(settings(0));
  const off = await h.orchestrator.submit({ message: '@bot fix the login page', senderId: `task:${task.id}` });
  await waitForCompletion(h, off.conversationId);
  expect(log.calls.at(-1)!.prompt).toBe('fix the login page');
  const [run] = await h.stores.runs.listRuns(off.conversationId);
  expect(await h.stores.memory.injectionOf(run!.id)).toBeUndefined();
});

it("the agent's memory/*.md files are imported at its first turn, recalled, and the run tree and the observers say what went in", async () => {
  const log = recordingInvoker((req) => invokeAgent(req));
  const told: MemoryInjectedEvent[] = [];
  const h = await harness(settings(), { invoke: log.invoke, observers: [{ name: 'memory-watch', memoryInjected: (e) => told.push(e) }] });
  const folder = join(agentWorkspaceDir(h.settings, 'bot', process.env), 'memory');
  mkdirSync(join(folder, 'people'), { recursive: true });
  writeFileSync(join(folder, 'people', 'carol.md'), '---\nname: Carol\nsummary: Carol prefers answers in French\n---\n\nCarol, our customer at ACME, prefers answers in French.\n');
  writeFileSync(join(folder, 'notes.md'), 'No front matter: not an entry.\n');

  const sent = await h.orchestrator.submit({ message: '@bot which language does Carol prefer?', senderId: 'u1' });
  await waitForCompletion(h, sent.conversationId);
  const [entry] = await h.stores.memory.list({ scopes: [{ kind: 'agent', id: 'bot' }] });
  expect(entry).toMatchObject({ status: 'accepted', decidedBy: 'import', name: 'Carol', provenance: { proposedBy: 'import:memory/people/carol.md' } });
  expect(log.calls.at(-1)!.prompt).toContain(`[${entry!.id} · agent bot · fact] Carol, our customer at ACME, prefers answers in French.`);

  const [run] = await h.stores.runs.listRuns(sent.conversationId);
  const tree = await h.facets.views.tree(sent.conversationId);
  expect(tree.roots[0]!.memory).toEqual(await h.stores.memory.injectionOf(run!.id));
  expect(tree.roots[0]!.memory).toMatchObject({ runId: run!.id, entryIds: [entry!.id], budget: 1000 });
  expect(told).toEqual([{ run: expect.objectContaining({ id: run!.id }), entryIds: [entry!.id], tokens: tree.roots[0]!.memory!.tokens, budget: 1000 }]);

  // A second turn imports nothing again, and a turn without memory has none in the tree.
  const other = await h.orchestrator.submit({ message: '@eve hello there', senderId: 'u1' });
  await waitForCompletion(h, other.conversationId);
  expect((await h.facets.views.tree(other.conversationId)).roots[0]!.memory).toBeUndefined();
  expect(await h.stores.memory.list({ scopes: [{ kind: 'agent', id: 'bot' }] })).toHaveLength(1);
  expect(told).toHaveLength(1);
});
