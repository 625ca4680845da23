/**
 * Benchmark (not a test): how long the conversation page takes to render a 1,365-run tree
 * (depth 5, fan-out 4) and to collapse and expand it, in Debian's Chromium against a real
 * daemon. The tree's data is generated and served to the page in place of
 * GET /api/conversations/:id (the daemon would need minutes of mock runs to build one);
 * everything the page does with it is real. Run after `pnpm build`:
 *   node apps/tinyoffice/scripts/bench-tree.ts
 */
import { chromium } from '@playwright/test';
import { startDaemon } from '../test/daemon.ts';

type Node = {
  runId: string;
  agentId: string;
  parentRunId: string | null;
  depth: number;
  cause: string;
  status: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  error: null;
  startedAt: number;
  endedAt: number;
  children: Node[];
};

let count = 0;
function build(depth: number, parent: string | null): Node {
  const runId = `run_bench_${count++}`;
  const now = Date.now();
  const node: Node = {
    runId,
    agentId: `agent${depth}`,
    parentRunId: parent,
    depth,
    cause: parent ? 'spawn' : 'user',
    status: 'completed',
    inputTokens: 100,
    outputTokens: 50,
    costUsd: 0.001,
    error: null,
    startedAt: now - 2000,
    endedAt: now,
    children: [],
  };
  if (depth < 5) for (let i = 0; i < 4; i++) node.children.push(build(depth + 1, runId));
  return node;
}
const root = build(0, null);
const last = `run_bench_${count - 1}`;
const conversation = {
  id: 'conv_bench',
  teamId: null,
  rootAgentId: 'agent0',
  channel: 'web',
  sender: 'bench',
  senderId: 'bench',
  threadKey: null,
  title: 'bench tree',
  status: 'completed',
  replyMode: 'each',
  hops: 0,
  messageCount: count,
  spawnCount: count - 1,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  stopReason: null,
  addressed: 'agent',
  createdAt: Date.now(),
  updatedAt: Date.now(),
  completedAt: Date.now(),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const daemon = await startDaemon();
const browser = await chromium.launch({
  executablePath: process.env['TINYOFFICE_CHROMIUM'] ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.route('**/api/conversations/conv_bench', (r) => r.fulfill({ json: { conversation, roots: [root] } }));
  await page.route('**/api/conversations/conv_bench/transcript', (r) => r.fulfill({ json: { conversationId: 'conv_bench', entries: [] } }));
  await page.goto(await daemon.loginLink());
  await page.waitForURL(`${daemon.url}/`);
  const render: number[] = [];
  const collapse: number[] = [];
  const expand: number[] = [];
  for (let i = 0; i < 5; i++) {
    // A full page load (scripts, session check, office summary, the tree) to the rows in the DOM.
    const t0 = Date.now();
    await page.goto(`${daemon.url}/conversations/view?id=conv_bench`);
    await page.locator('[data-run="run_bench_2"]').waitFor({ state: 'attached' });
    render.push(Date.now() - t0);
    const rootToggle = page.getByRole('button', { name: 'Collapse agent0' });
    let t = Date.now();
    await rootToggle.click();
    await page.locator('[data-run="run_bench_2"]').waitFor({ state: 'detached' });
    collapse.push(Date.now() - t);
    t = Date.now();
    await page.getByRole('button', { name: 'Expand agent0' }).click();
    await page.locator('[data-run="run_bench_2"]').waitFor({ state: 'attached' });
    expand.push(Date.now() - t);
  }
  // Everything expanded: open every collapsed row, then time the root's collapse and expand.
  const closed = page.getByRole('button', { name: /^Expand / });
  while ((await page.locator(`[data-run="${last}"]`).count()) === 0) {
    if ((await closed.count()) > 0) await closed.first().click();
  }
  await page.locator(`[data-run="${last}"]`).waitFor({ state: 'attached' });
  const rows = await page.locator('[role="treeitem"]').count();
  let t = Date.now();
  await page.getByRole('button', { name: 'Collapse agent0' }).click();
  await page.locator(`[data-run="${last}"]`).waitFor({ state: 'detached' });
  const collapseAll = Date.now() - t;
  // Collapsing unmounts the rows (their open state too): expanding again shows two levels.
  t = Date.now();
  await page.getByRole('button', { name: 'Expand agent0' }).click();
  await page.locator('[data-run="run_bench_2"]').waitFor({ state: 'attached' });
  const reexpand = Date.now() - t;

  console.log(
    JSON.stringify({
      runs: count,
      loadAndRender2LevelsMs: median(render),
      collapseRootMs: median(collapse),
      expandRootMs: median(expand),
      rowsFullyExpanded: rows,
      collapseFullyExpandedRootMs: collapseAll,
      reexpandRootMs: reexpand,
    }),
  );
} finally {
  await browser.close();
  await daemon.cleanup();
}
