/**
 * Every event a full run of the orchestrator emits validates against its schema in the event
 * map (`EventSchema` of `@tinyagi/client/contract`, the one the OpenAPI document and the
 * clients use), and carries no field the schema does not declare. Real orchestrator, real
 * SQLite, mock-provider agents: a team leader fans out to two members, one hands off along a
 * chain, one spawns a sub-agent, the budget's soft limit warns, a flaky agent is retried and
 * dead-lettered, and a second conversation is stopped by its budget.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EVENT_PAYLOADS, EventSchema, type EventType } from '@tinyagi/client/contract';
import type { Settings, TinyEvent } from '@tinyagi/core';
import { waitFor } from '@tinyagi/test-kit';
import { closeAll, eventsOf, harness, waitForCompletion } from './helpers.ts';

afterEach(closeAll);

const settings: Settings = {
  agents: {
    lead: { provider: 'mock', mock: { replies: [{ match: 'plan', reply: 'Splitting it. [@writer: draft it] [@coder: build it]' }], usage: { cost_usd: 0.01 } } },
    writer: { provider: 'mock', mock: { reply: 'Drafted; over to review. [@reviewer: check the draft]', usage: { cost_usd: 0.01 } } },
    reviewer: { provider: 'mock', mock: { reply: 'Looks good.', usage: { cost_usd: 0.01 } } },
    coder: { provider: 'mock', mock: { replies: [{ match: 'build', spawn: [{ agent: 'helper', task: 'write the tests' }], reply: 'Built:\n{{spawn_results}}' }], usage: { cost_usd: 0.01 } } },
    helper: { provider: 'mock', mock: { reply: 'tests written' } },
    flaky: { provider: 'mock', max_attempts: 2, mock: { replies: [{ match: 'boom', fail: 'retryable' }] } },
    spender: { provider: 'mock', mock: { reply: '[@echo: again]', usage: { cost_usd: 0.04 } } },
    echo: { provider: 'mock', mock: { reply: '[@spender: again]', usage: { cost_usd: 0.04 } } },
  },
  teams: {
    crew: { agents: ['lead', 'writer', 'reviewer', 'coder'], leader_agent: 'lead' },
    loop: { agents: ['spender', 'echo'], leader_agent: 'spender' },
  },
  budgets: { conversation_usd: 0.1, soft_limit_fraction: 0.2 },
  limits: { ping_pong_max: 100 },
};

/** The payload schema with unknown keys refused (top level; run.progress per variant; system.notice too, though it accepts extra keys in general). */
function strictPayload(type: EventType): z.ZodType {
  const schema: z.ZodType = EVENT_PAYLOADS[type];
  if (schema instanceof z.ZodObject) return schema.strict();
  if (schema instanceof z.ZodDiscriminatedUnion) return z.union(schema.options.map((o) => (o instanceof z.ZodObject ? o.strict() : o)) as [z.ZodType, z.ZodType]);
  return schema;
}

function problems(events: readonly TinyEvent[]): string[] {
  const out: string[] = [];
  for (const event of events) {
    const envelope = EventSchema.safeParse(event);
    if (!envelope.success) out.push(`${event.type} #${event.id}: ${z.prettifyError(envelope.error)}`);
    if (!Object.hasOwn(EVENT_PAYLOADS, event.type)) {
      out.push(`${event.type} #${event.id}: not in the event map`);
      continue;
    }
    const strict = strictPayload(event.type).safeParse(event.data);
    if (!strict.success) out.push(`${event.type} #${event.id} data ${JSON.stringify(event.data)}: ${z.prettifyError(strict.error)}`);
  }
  return out;
}

describe('event schemas', () => {
  it('every event of chains, fan-out, sub-agents, budget warnings, retries and dead letters matches its schema', async () => {
    const h = await harness(settings);
    const team = await h.orchestrator.submit({ message: '@crew plan the release', channel: 'api', sender: 'ana', senderId: 'u1' });
    const flaky = await h.orchestrator.submit({ message: '@flaky boom', senderId: 'u2' });
    const loop = await h.orchestrator.submit({ message: '@loop go', channel: 'discord', senderId: 'u3' });
    await waitForCompletion(h, team.conversationId);
    await waitForCompletion(h, loop.conversationId);
    await waitFor(async () => (await h.stores.queue.get(flaky.messageId))?.status === 'dead', 20_000, 'the flaky message to be dead-lettered');
    await waitForCompletion(h, flaky.conversationId);

    const events = await eventsOf(h.stores);
    const types = new Set(events.map((e) => e.type));
    for (const expected of [
      'conversation.started',
      'message.received',
      'message.enqueued',
      'run.started',
      'run.completed',
      'agent.mention',
      'subagent.started',
      'subagent.completed',
      'budget.warning',
      'budget.exceeded',
      'queue.retry',
      'queue.dead',
      'outbox.enqueued',
      'conversation.completed',
    ] as const) {
      expect(types, `a ${expected} event`).toContain(expected);
    }
    // The chain: lead -> writer -> reviewer.
    const mentions = (await eventsOf(h.stores, { conversationId: team.conversationId, types: ['agent.mention'] })).map((e) => `${e.data.fromAgent}->${e.data.toAgent}`);
    expect(mentions.sort()).toEqual(['lead->coder', 'lead->writer', 'writer->reviewer']);
    expect(problems(events)).toEqual([]);
  });

  it('the check is real: a payload with a wrong or an undeclared field is reported', () => {
    const base = { id: 1, ts: 1, conversationId: null, runId: null, parentRunId: null, depth: null, agentId: null };
    const wrong = { ...base, type: 'budget.warning', data: { limitName: 'conversation_usd', used: '0.5', limit: 1, fraction: 0.5 } } as unknown as TinyEvent;
    const extra = { ...base, type: 'budget.warning', data: { limitName: 'conversation_usd', used: 0.5, limit: 1, fraction: 0.5, message: 'x' } } as unknown as TinyEvent;
    const unknownType = { ...base, type: 'run.exploded', data: {} } as unknown as TinyEvent;
    expect(problems([wrong])).toHaveLength(2);
    expect(problems([extra])).toHaveLength(1);
    expect(problems([unknownType]).length).toBeGreaterThan(0);
  });
});
