/**
 * GET /api/health on a node that cannot keep its heartbeat (issue 33): 503 NOT_AVAILABLE with
 * `details: { status: 'degraded', reason }` while `daemon.problem` names one, the usual 200
 * `{ ok, version }` otherwise (what `tinyagi start`, doctor and the test kit read).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiError } from '@tinyagi/client';
import { raw, startHarness, type ServerHarness } from './harness.ts';

let h: ServerHarness;
let problem: string | undefined;
const logged: string[] = [];

beforeAll(async () => {
  h = await startHarness({
    daemon: { problem: () => problem },
    log: { warn: (m) => logged.push(`WARN ${m}`), error: (m) => logged.push(`ERROR ${m}`) },
  });
});

afterAll(async () => {
  await h?.close();
});

describe('health of a node', () => {
  it('answers 503 with the reason while the node is degraded, 200 again once it is not', async () => {
    expect(await raw(h, 'GET', '/api/health', { auth: false })).toMatchObject({ status: 200, body: { ok: true, version: '0.0.0-test' } });
    problem = 'no heartbeat of node "api" reached the database for 12.0 s (last error: timeout)';
    const res = await raw(h, 'GET', '/api/health', { auth: false });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: 'NOT_AVAILABLE', message: `This node is degraded: ${problem}.`, details: { status: 'degraded', reason: problem } } });
    const err = await h.client.health().catch((e: unknown) => e);
    expect(isApiError(err, 'NOT_AVAILABLE')).toBe(true);
    // A probe of a degraded node is one warning line each, never an error with a stack.
    expect(logged).toHaveLength(2);
    for (const line of logged) expect(line).toMatch(/^WARN request \S+ GET \/api\/health answered 503 NOT_AVAILABLE: This node is degraded: .*\.$/);
    problem = undefined;
    expect(await h.client.health()).toEqual({ ok: true, version: '0.0.0-test' });
  });
});
