/**
 * Benchmark (not a test): event -> DOM latency at about 100 events/s, in Debian's Chromium
 * against a real daemon. Messages go to the mock agent coder through POST /api/message (each
 * makes several events: enqueued, run started/completed, conversation …), paced so the daemon
 * publishes about 100 events/s for 20 s. The Control page's live feed renders every event as
 * `#<id> <type>`; a MutationObserver installed before the page's scripts notes when each id's
 * row enters the DOM (timeOrigin + performance.now(), the machine's clock). The event's `ts`
 * comes from the same stream read in this process. Every wait is bounded; it reports how many
 * events were published and how many rows were seen. Run after `pnpm build`:
 *   node apps/tinyoffice/scripts/bench-events.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { createApiClient } from '@tinyagi/client';
import { startDaemon } from '../test/daemon.ts';

const RATE = Number(process.env['BENCH_EVENTS_PER_S'] ?? 100);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!);

/** Waits until `count()` stays the same for `quietMs` or `maxMs` passed; never longer. */
async function settle(count: () => number, quietMs: number, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  let last = count();
  let since = Date.now();
  while (Date.now() < end && Date.now() - since < quietMs) {
    await sleep(100);
    if (count() !== last) {
      last = count();
      since = Date.now();
    }
  }
}

const daemon = await startDaemon();
const token = readFileSync(join(daemon.home, 'api-token'), 'utf8').trim();
const client = createApiClient({ baseUrl: daemon.url, token });
const browser = await chromium.launch({
  executablePath: process.env['TINYOFFICE_CHROMIUM'] ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
});
const published = new Map<number, number>();
const sub = client.subscribe({ lastEventId: (await client.status()).lastEventId });
sub.onEvent((e) => void published.set(e.id, e.ts));
let sent = 0;
let refused = 0;
const send = () =>
  client.sendMessage({ body: { agent: 'coder', message: `bench ${sent++}` } }).catch(() => {
    refused++;
  });
try {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { __seen: Record<string, number> }).__seen = seen;
    const note = (el: Element) => {
      const id = /^#(\d+)\s/.exec(el.textContent ?? '')?.[1];
      if (id !== undefined && seen[id] === undefined) seen[id] = performance.timeOrigin + performance.now();
    };
    new MutationObserver((records) => {
      for (const r of records)
        for (const n of r.addedNodes) {
          if (!(n instanceof Element)) continue;
          if (n.tagName === 'LI') note(n);
          for (const li of n.querySelectorAll('[data-testid="feed"] li')) note(li);
        }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(await daemon.loginLink());
  await page.waitForURL(`${daemon.url}/`);
  await page.goto(`${daemon.url}/control`);
  await page.getByRole('heading', { name: 'Live events' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('connection').and(page.locator('[data-state="open"]')).waitFor({ timeout: 30_000 });

  // Warm-up: how many events one message makes, to pace the messages.
  const before = published.size;
  for (let i = 0; i < 5; i++) await send();
  await settle(() => published.size, 1500, 15_000);
  const perMessage = Math.max(1, (published.size - before) / 5);
  const perSecond = RATE / perMessage;

  const start = published.size;
  const firstId = Math.max(0, ...published.keys());
  const t0 = Date.now();
  while (Date.now() - t0 < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * perSecond);
    while (sent - 5 < due) void send();
    await sleep(10);
  }
  const sendMs = Date.now() - t0;
  await settle(() => published.size, 3000, 30_000);
  const lastPublished = published.size;
  // The page may still be drawing the last ones: wait for the newest id's row, 10 s at most.
  const newest = Math.max(0, ...published.keys());
  await page.waitForFunction((id) => (window as unknown as { __seen: Record<string, number> }).__seen[String(id)] !== undefined, newest, { timeout: 10_000 }).catch(() => undefined);
  const seen = await page.evaluate(() => (window as unknown as { __seen: Record<string, number> }).__seen);
  const ids = [...published.keys()].filter((id) => id > firstId);
  const latencies: number[] = [];
  for (const id of ids) {
    const at = seen[String(id)];
    if (at !== undefined) latencies.push(at - published.get(id)!);
  }
  const round = (x: number | null) => (x === null ? null : Math.round(x));
  console.log(
    JSON.stringify({
      eventsPerMessage: perMessage,
      messagesSent: sent - 5,
      messagesRefused: refused,
      eventsPublished: ids.length,
      eventsPublishedPerS: Math.round((lastPublished - start) / (sendMs / 1000)),
      rowsSeen: latencies.length,
      p50Ms: round(pct(latencies, 50)),
      p95Ms: round(pct(latencies, 95)),
      maxMs: round(pct(latencies, 100)),
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
    }),
  );
} finally {
  sub.close();
  await browser.close();
  await daemon.cleanup();
}
