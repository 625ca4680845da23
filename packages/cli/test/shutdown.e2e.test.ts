/**
 * A stop while a run is in flight: the daemon hands the run's message back to the queue after a
 * short grace instead of waiting out a long run (it used to wait 20 s, as long as a test kit's or
 * supervisor's stop timeout), and exits; the next start runs the message again and it completes,
 * answered once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';

let daemon: TestDaemon | undefined;
afterAll(async () => {
  await daemon?.cleanup();
});

const settings = (root: string, latencyMs: number) => ({
  workspace: { path: join(root, 'workspace') },
  models: { provider: 'mock' },
  agents: { slowpoke: { provider: 'mock', mock: { reply: 'hi', replies: [{ match: 'slow', latency_ms: latencyMs, reply: 'finally done' }] } } },
  channels: { enabled: [] },
});

it('SIGTERM with a 10-minute run in flight exits within seconds; after the next start the message runs again and completes', async () => {
  // SQLite only: the quick second run comes from editing settings.json while the daemon is down (on
  // PostgreSQL settings live in the database); the PostgreSQL queue's release is in core's conformance suite.
  daemon = await createDaemon({ prefix: 'tinyagi-shutdown-', settings: ({ root }) => settings(root, 600_000) });
  const d = daemon;
  await d.start();
  const sent = await d.api.sendMessage({ body: { agent: 'slowpoke', message: 'slow work please', sender: 'tester' } });
  await waitFor(async () => ((await d.api.queueStatus()).processing === 1 ? true : undefined), 30_000, 'the run in flight');

  const t0 = Date.now();
  // The kit's stop waits 20 s before it SIGKILLs: the daemon used to wait out that long itself.
  const exit = await d.stop(15_000);
  expect(exit?.code).toBe(0);
  expect(Date.now() - t0).toBeLessThan(10_000);
  // Handed back, not failed: the next start runs it again (made quick here), with no attempt spent on the interrupted one.
  writeFileSync(join(d.home, 'settings.json'), JSON.stringify(settings(d.root, 50), null, 2));
  await d.start();
  const done = await waitFor(
    async () => {
      const m = await d.api.getMessage({ params: { id: sent.messageId } });
      return m.message.status === 'completed' ? m : undefined;
    },
    30_000,
    'the message run again after the restart',
  );
  expect(done.message.attempts).toBe(1);
  expect(done.run?.status).toBe('completed');
  expect(done.replies.map((r) => r.text.split('\n')[0])).toEqual(['finally done']);
  // What made the second attempt a retry (a CLI agent then does not resume the interrupted turn).
  expect(done.message.lastError).toContain('interrupted by a shutdown');
});
