/**
 * Benchmark (not a test): the Usage page over 100,000 runs. A real daemon (packages/cli/dist) in
 * a temp home; while it is stopped, 100,000 finished runs over the last 365 days (20 agents, 4
 * teams, 3 providers, 5 channels, 2,000 conversations) are written to its SQLite file with core's
 * own store; then it starts again. Times GET /api/usage (series per bucket) and
 * GET /api/usage/conversations over loopback, and in Debian's Chromium the page from navigation
 * to the chart drawn, and each bucket/group switch to the chart redrawn. Medians of 5.
 * Run after `pnpm build`:  node apps/tinyoffice/scripts/bench-usage.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { startDaemon } from '../test/daemon.ts';

// The daemon's own store code, from the built core (tinyoffice itself only talks HTTP).
interface BenchStores {
  db: { write(fn: () => void): void };
  runs: {
    createConversation(input: { rootAgentId: string; channel: string; title: string }): { id: string };
    createRun(input: Record<string, unknown>): { id: string };
    finishRun(id: string, result: Record<string, unknown>): boolean;
  };
  close(): void;
}
const core = (await import(new URL('../../../packages/core/dist/index.js', import.meta.url).href)) as { openStores(options: { dbPath: string }): BenchStores };

const RUNS = 100_000;
const DAY = 86_400_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const daemon = await startDaemon();
await daemon.stop();
const plantStart = Date.now();
const stores = core.openStores({ dbPath: join(daemon.home, 'tinyagi.db') });
const now = Date.now();
const conversations: string[] = [];
stores.db.write(() => {
  for (let c = 0; c < 2000; c++) conversations.push(stores.runs.createConversation({ rootAgentId: `agent${c % 20}`, channel: 'api', title: `bench conversation ${c}` }).id);
  for (let i = 0; i < RUNS; i++) {
    const agent = i % 20;
    const run = stores.runs.createRun({
      conversationId: conversations[i % conversations.length]!,
      agentId: `agent${agent}`,
      teamId: agent % 5 === 4 ? null : `team${agent % 4}`,
      channel: ['api', 'telegram', 'discord', 'whatsapp', 'web'][i % 5]!,
      provider: ['anthropic', 'openai', 'opencode'][agent % 3]!,
      cause: 'user',
      status: 'running',
      createdAt: now - Math.floor(((i * 7919) % RUNS) * ((365 * DAY) / RUNS)),
    });
    stores.runs.finishRun(run.id, { status: 'completed', usage: { inputTokens: 500 + (i % 900), outputTokens: 50 + (i % 300) }, costUsd: 0.001 * (1 + (i % 40)) });
  }
});
stores.close();
const plantMs = Date.now() - plantStart;
await daemon.start();

const token = readFileSync(join(daemon.home, 'api-token'), 'utf8').trim();
async function timeGet(path: string): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  const res = await fetch(`${daemon.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body}`);
  return { ms: performance.now() - t, bytes: body.length };
}

const since = now - 365 * DAY;
const api: Record<string, { medianMs: number; bytes: number }> = {};
for (const [name, path] of [
  ['by agent, day buckets, 365 days', `/api/usage?by=agent&bucket=day&tz=Europe%2FBerlin&since=${since}&until=${now}`],
  ['by provider, week buckets, 365 days', `/api/usage?by=provider&bucket=week&tz=Europe%2FBerlin&since=${since}&until=${now}`],
  ['by team, month buckets, 365 days', `/api/usage?by=team&bucket=month&tz=Europe%2FBerlin&since=${since}&until=${now}`],
  ['by agent, day buckets, last 30 days', `/api/usage?by=agent&bucket=day&tz=Europe%2FBerlin&since=${now - 30 * DAY}&until=${now}`],
  ['top 10 conversations, 365 days', `/api/usage/conversations?since=${since}&until=${now}&limit=10`],
] as const) {
  await timeGet(path);
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await timeGet(path));
  api[name] = { medianMs: +median(runs.map((r) => r.ms)).toFixed(1), bytes: runs[0]!.bytes };
}

const browser = await chromium.launch({
  executablePath: process.env['TINYOFFICE_CHROMIUM'] ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
});
const chart = (page: Page) => page.getByTestId('usage-chart');
async function choose(page: Page, name: string): Promise<void> {
  await page.getByRole('radio', { name, exact: true }).locator('xpath=..').click();
}
/** Waits until the chart's attribute is no longer `before` (the page redrew with new data). */
async function changed(page: Page, attr: string, before: string | null): Promise<void> {
  await page.waitForFunction(([a, b]) => document.querySelector('[data-testid="usage-chart"]')?.getAttribute(a!) !== b, [attr, before], { timeout: 120_000 });
}
/** Click an option, ms until the chart shows the new data. */
async function timed(page: Page, option: string, attr: string): Promise<number> {
  const before = await chart(page).getAttribute(attr);
  const t = Date.now();
  await choose(page, option);
  await changed(page, attr, before);
  return Date.now() - t;
}
const page_: Record<string, number> = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(await daemon.loginLink());
  await page.waitForURL(`${daemon.url}/`);
  const load: number[] = [];
  const toWeek: number[] = [];
  const toDay: number[] = [];
  const toProvider: number[] = [];
  const toAgent: number[] = [];
  for (let i = 0; i < 5; i++) {
    // A full page load (scripts, session, the API answers, the lazy chart chunk) to bars in the SVG (30 days by agent).
    const t = Date.now();
    await page.goto(`${daemon.url}/usage`);
    await chart(page).locator('svg rect[data-key]').first().waitFor({ state: 'attached' });
    load.push(Date.now() - t);
    await page.getByLabel('Range').selectOption('365');
    await changed(page, 'data-buckets', '31');
    toWeek.push(await timed(page, 'Week', 'data-buckets'));
    toDay.push(await timed(page, 'Day', 'data-buckets'));
    toProvider.push(await timed(page, 'Provider', 'data-series'));
    toAgent.push(await timed(page, 'Agent', 'data-series'));
  }
  page_['load /usage to chart drawn (30 days by agent)'] = median(load);
  page_['365 days: day -> week buckets, redrawn'] = median(toWeek);
  page_['365 days: week -> day buckets (about 366 buckets × 8 stacked series), redrawn'] = median(toDay);
  page_['365 days by day: agent -> provider, redrawn'] = median(toProvider);
  page_['365 days by day: provider -> agent, redrawn'] = median(toAgent);
  page_['SVG rects, 365 days by day and agent'] = await chart(page).locator('rect[data-key]').count();
} finally {
  await browser.close();
  await daemon.cleanup();
}

console.log(JSON.stringify({ runs: RUNS, plantMs, api, page: page_ }, null, 2));
