import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type ServerHarness } from './harness.ts';

let h: ServerHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('smoke', () => {
  it('health, status, openapi', async () => {
    expect(await h.client.health()).toEqual({ ok: true, version: '0.0.0-test' });
    const status = await h.client.status();
    expect(status.ok).toBe(true);
    const res = await fetch(`${h.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).length).toBeGreaterThan(50);
  });
  it('message round trip', async () => {
    const sent = await h.client.sendMessage({ body: { message: 'hello', agent: 'coder' } });
    const detail = await waitFor(async () => {
      const d = await h.client.getMessage({ params: { id: sent.messageId } });
      return d.message.status === 'completed' ? d : undefined;
    });
    expect(detail.replies[0]?.text).toContain('coder done');
  });
});
