/**
 * Benchmark (not a test): the kanban with 1,000 tasks, in Debian's Chromium against a real
 * daemon (the browser tests' set-up). It creates a project with 1,000 tasks (200 per column,
 * unassigned so nothing is dispatched), then measures
 * - time to render: from navigation start to all 1,000 cards in the DOM;
 * - per mouse drag (a card moved between Backlog and To do, 20 times): the drop -> DOM time
 *   (mouse up until the card is in the other column), the reorder request's round trip, the
 *   frames per second while the card is dragged, and the longest main-thread task (Long Tasks
 *   API) seen during the drags.
 * Every wait is bounded. Run after `pnpm --filter tinyagi... build && pnpm --filter tinyoffice build`:
 *   node apps/tinyoffice/scripts/bench-kanban.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { createApiClient } from '@tinyagi/client';
import { startDaemon } from '../test/daemon.ts';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 1000);
const DRAGS = Number(process.env['BENCH_DRAGS'] ?? 20);
const STATUSES = ['backlog', 'todo', 'in_progress', 'review', 'done'] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const max = (xs: number[]) => Math.max(...xs);
const round = (x: number) => Math.round(x * 10) / 10;

const daemon = await startDaemon();
const client = createApiClient({ baseUrl: daemon.url, token: readFileSync(join(daemon.home, 'api-token'), 'utf8').trim() });
const browser = await chromium.launch({
  executablePath: process.env['TINYOFFICE_CHROMIUM'] ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
});
try {
  const project = await client.createProject({ body: { name: 'Bench' } });
  const seedStart = Date.now();
  for (let i = 0; i < TASKS; i++) {
    await client.createTask({ body: { title: `Task number ${i + 1} with a title of usual length`, projectId: project.id, status: STATUSES[i % STATUSES.length]! } });
  }
  console.log(`seeded ${TASKS} tasks in ${Date.now() - seedStart} ms`);

  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  await page.goto(await daemon.loginLink());
  await page.waitForSelector('[data-testid="connection"][data-state="open"]', { timeout: 60_000 });
  await page.addInitScript(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });

  const renders: number[] = [];
  for (let run = 0; run < 3; run++) {
    await page.goto(`${daemon.url}/projects?project=${project.id}`);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="kanban"] li[data-task]').length === n, TASKS, { timeout: 120_000, polling: 'raf' });
    renders.push(await page.evaluate(() => performance.now()));
  }

  await page.evaluate(() => ((window as unknown as { longTasks: number[] }).longTasks = []));
  const dropToDom: number[] = [];
  const roundTrips: number[] = [];
  const fps: number[] = [];
  for (let i = 0; i < DRAGS; i++) {
    const [from, to] = i % 2 === 0 ? ['backlog', 'todo'] : ['todo', 'backlog'];
    const card = page.locator(`[data-column="${from}"] li[data-task]`).first();
    const id = await card.getAttribute('data-task');
    const handle = card.locator('button').first();
    const a = (await handle.boundingBox())!;
    const b = (await page.locator(`[data-column="${to}"] ol`).boundingBox())!;
    await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await page.mouse.down();
    await page.evaluate(() => {
      const w = window as unknown as { frames: number; counting: boolean; t0: number };
      w.frames = 0;
      w.counting = true;
      w.t0 = performance.now();
      const tick = () => {
        if (!w.counting) return;
        w.frames++;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await page.mouse.move(a.x + 10, a.y + 10, { steps: 3 });
    await page.mouse.move(b.x + b.width / 2, b.y + 40, { steps: 25 });
    const rate = await page.evaluate(() => {
      const w = window as unknown as { frames: number; counting: boolean; t0: number };
      w.counting = false;
      return (w.frames * 1000) / (performance.now() - w.t0);
    });
    fps.push(rate);
    const request = page.waitForResponse((r) => r.url().endsWith('/api/tasks/reorder'), { timeout: 60_000 });
    const up = Date.now();
    await page.mouse.up();
    await page.waitForFunction(([col, task]) => document.querySelector(`[data-column="${col}"] li[data-task="${task}"]`) !== null, [to, id] as const, { timeout: 60_000, polling: 'raf' });
    dropToDom.push(Date.now() - up);
    await request;
    roundTrips.push(Date.now() - up);
  }
  const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
  const persisted = (await client.listTasks({ query: { projectId: project.id } })).length;

  console.log(
    JSON.stringify(
      {
        tasks: TASKS,
        persisted,
        renderMs: { runs: renders.map(round), median: round(median(renders)) },
        drags: DRAGS,
        dropToDomMs: { median: round(median(dropToDom)), max: round(max(dropToDom)) },
        reorderRoundTripMs: { median: round(median(roundTrips)), max: round(max(roundTrips)) },
        fpsWhileDragging: { median: round(median(fps)), min: round(Math.min(...fps)) },
        longTasksDuringDrags: { count: longTasks.length, maxMs: longTasks.length ? round(max(longTasks)) : 0 },
      },
      null,
      2,
    ),
  );
} finally {
  await browser.close();
  await daemon.cleanup();
}
