/**
 * An empty query value (`GET /api/approvals?agent=`) is a 400 with its name, on every route: a
 * filter left empty must not read as "no filter" (a caller that meant one agent would get every
 * agent's requests). A yes-or-no query value is written `true` or `false` (a query string has no
 * JSON booleans). Driven by the contract, so a new route's query is held to it too.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiContract, type RouteDef } from '@tinyagi/client/contract';
import type { z } from 'zod';
import { raw, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

it('every query parameter of every route refuses an empty value: 400 VALIDATION_FAILED naming it', async () => {
  const cases = (Object.entries(apiContract) as Array<[string, RouteDef]>).flatMap(([name, def]) =>
    Object.keys((def.query as z.ZodObject | undefined)?.shape ?? {}).map((key) => ({ name, def, key })),
  );
  expect(cases.map((c) => `${c.name}.${c.key}`)).toEqual(expect.arrayContaining(['listApprovals.agent', 'listApprovals.conversationId', 'listApprovals.channel', 'listConversations.agent']));
  const wrong: string[] = [];
  for (const { name, def, key } of cases) {
    const path = `${def.path.replace(/:[A-Za-z]+/g, 'coder')}?${key}=`;
    const res = await raw(h, def.method, path);
    const error = (res.body as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status !== 400 || error?.code !== 'VALIDATION_FAILED' || !error.message?.includes(key))
      wrong.push(`${name} ${def.method} ${path} -> ${res.status} ${JSON.stringify(error ?? res.body).slice(0, 160)}`);
  }
  expect(wrong).toEqual([]);
  // A value still filters.
  expect(await h.client.listApprovals({ query: { agent: 'coder' } })).toEqual([]);
});

it('every yes-or-no query parameter takes true and false as a query string writes them, and refuses anything else naming it', async () => {
  const flags = (Object.entries(apiContract) as Array<[string, RouteDef]>).flatMap(([name, def]) =>
    Object.entries((def.query as z.ZodObject | undefined)?.shape ?? {})
      .filter(([, value]) => {
        const schema = value as z.ZodType;
        // A JSON boolean, or a query flag: 'true' but not any word.
        return schema.safeParse(true).success || (schema.safeParse('true').success && !schema.safeParse('yes').success);
      })
      .map(([key]) => ({ name, def, key })),
  );
  expect(flags.map((f) => `${f.name}.${f.key}`)).toContain('deleteTask.force');
  const wrong: string[] = [];
  for (const { name, def, key } of flags) {
    const path = def.path.replace(/:[A-Za-z]+/g, 'nobody');
    for (const value of ['true', 'false']) {
      const res = await raw(h, def.method, `${path}?${key}=${value}`);
      const error = (res.body as { error?: { code?: string; message?: string } } | null)?.error;
      if (error?.code === 'VALIDATION_FAILED' && error.message?.includes(key)) wrong.push(`${name} ${key}=${value} -> ${res.status} ${error.message}`);
    }
    const bad = await raw(h, def.method, `${path}?${key}=yes`);
    const error = (bad.body as { error?: { code?: string; message?: string } } | null)?.error;
    if (bad.status !== 400 || !error?.message?.includes(key)) wrong.push(`${name} ${key}=yes -> ${bad.status}`);
  }
  expect(wrong).toEqual([]);
});
