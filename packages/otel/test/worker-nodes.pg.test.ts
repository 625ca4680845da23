/**
 * One trace across worker nodes (PostgreSQL): two orchestrators on one database, each with its
 * own trace export (as two processes have), the team's lead placed on node A and the writer on
 * node B. The writer's message, claimed by node B, continues the conversation's trace: its span
 * (exported by B) has the conversation's trace id, the run's derived span id, the lead's run span
 * (exported by A) as parent and a handoff link to it, without the nodes sharing any state but
 * the database. Under CI=1 an unreachable database fails this file.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SettingsSchema, type Observer, type Settings } from '@tinyagi/core';
import { openPgStores, type PgStores } from '@tinyagi/core/pg';
import { Orchestrator } from '@tinyagi/teams';
import { cleanupTemp, tempDir, waitFor } from '@tinyagi/test-kit';
import { dropSchema, pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { agentsFromSettings, createTraceObserver, runSpanIdOf, traceIdOf, workflowSpanIdOf, type TraceExport } from '../src/index.ts';
import { httpReceiver } from './receiver.ts';

const db = await pgTestDatabase();
afterAll(cleanupTemp);

describe.skipIf(db.skip !== undefined)('worker nodes on PostgreSQL', () => {
  it('a conversation continued by a second node stays one trace: its run under the run that handed off', async () => {
    const schema = testSchema('otel');
    const settings: Settings = SettingsSchema.parse({
      agents: {
        lead: { provider: 'mock', name: 'Lead', mock: { reply: 'Plan ready. [@writer: draft the post]', usage: { input_tokens: 10, output_tokens: 5 } } },
        writer: { provider: 'mock', name: 'Writer', mock: { reply: 'Post drafted.', usage: { input_tokens: 20, output_tokens: 8 } } },
      },
      teams: { launch: { name: 'Launch', agents: ['lead', 'writer'], leader_agent: 'lead' } },
      workspace: { path: join(tempDir('tinyagi-otel-pg-'), 'ws') },
    });
    const receiver = await httpReceiver();
    const opened: PgStores[] = [];
    const exports: TraceExport[] = [];
    const orchestrators: Orchestrator[] = [];
    try {
      const node = async (name: string, skip: string) => {
        const stores = await openPgStores({ url: db.url, schema, poolSize: 4 });
        opened.push(stores);
        const exp = await createTraceObserver({
          url: `${receiver.endpoint}/v1/traces`,
          serviceName: `tinyagi-${name}`,
          describeAgent: agentsFromSettings(() => settings),
          workflowIdleMs: 200,
          batch: { maxQueueSize: 100, maxExportBatchSize: 50, scheduledDelayMillis: 50, exportTimeoutMillis: 2000 },
        });
        exports.push(exp);
        const orchestrator = new Orchestrator({
          stores,
          owner: `node-${name}`,
          node: name,
          skipAgents: () => new Set([skip]),
          getSettings: () => settings,
          sweepMs: 200,
          observers: [exp.observer as Observer<never>],
        });
        orchestrators.push(orchestrator);
        return { stores, orchestrator };
      };
      const a = await node('a', 'writer');
      const b = await node('b', 'lead');
      a.orchestrator.start();
      b.orchestrator.start();

      const sent = await a.orchestrator.submit({ message: '@launch plan the launch', channel: 'api', sender: 'ana', senderId: 'u1' });
      await waitFor(async () => (await a.stores.events.readSince(0, { conversationId: sent.conversationId, types: ['conversation.completed'] }, 10))[0], 20_000, 'the conversation to complete');
      const runs = await a.stores.runs.listRuns(sent.conversationId);
      const lead = runs.find((r) => r.agentId === 'lead')!;
      const writer = runs.find((r) => r.agentId === 'writer')!;
      expect(writer.parentRunId).toBe(lead.id);

      const spans = await waitFor(
        () => ['invoke_workflow launch', 'invoke_agent Lead', 'invoke_agent Writer'].every((n) => receiver.spans.some((s) => s.name === n)) && receiver.spans,
        20_000,
        'the spans of both nodes',
      );
      const traceId = traceIdOf(sent.conversationId);
      const span = (name: string) => spans.find((s) => s.name === name)!;
      const workflow = span('invoke_workflow launch');
      const leadSpan = span('invoke_agent Lead');
      const writerSpan = span('invoke_agent Writer');
      // Node A: the workflow and the lead's run under it.
      expect(workflow).toMatchObject({ traceId, spanId: workflowSpanIdOf(lead.id), parentSpanId: '' });
      expect(workflow.resource['service.name']).toBe('tinyagi-a');
      expect(leadSpan).toMatchObject({ traceId, spanId: runSpanIdOf(lead.id), parentSpanId: workflow.spanId });
      expect(leadSpan.resource['service.name']).toBe('tinyagi-a');
      // Node B: the writer's run in the same trace, under the lead's run (B has no workflow span of its own), linked as a handoff.
      expect(writerSpan.resource['service.name']).toBe('tinyagi-b');
      expect(writerSpan).toMatchObject({ traceId, spanId: runSpanIdOf(writer.id), parentSpanId: leadSpan.spanId });
      expect(writerSpan.links).toEqual([{ traceId, spanId: leadSpan.spanId, attributes: { 'tinyagi.link.type': 'handoff' } }]);
      expect(writerSpan.attributes).toMatchObject({
        'gen_ai.conversation.id': sent.conversationId,
        'tinyagi.run.parent_id': lead.id,
        'tinyagi.run.status': 'completed',
        'gen_ai.usage.input_tokens': 20,
      });
      // Every span of the conversation, from either node, is in its one trace.
      for (const s of spans) expect(s.traceId).toBe(traceId);
    } finally {
      for (const o of orchestrators) await o.stop(2000);
      for (const e of exports) await e.shutdown();
      if (opened[0]) await dropSchema(opened[0].pool, schema);
      for (const s of opened) await s.close();
      await receiver.close();
    }
  });
});
