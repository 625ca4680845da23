/**
 * A burst of approval requests answered group-wise in TinyOffice (docs/approvals.md, "A burst of
 * requests"): ten agents of the CLI suite's approval runtime each ask three things at once
 * (`ASKALL`, as a CLI's parallel tool calls do) through the product, so thirty requests wait. The
 * inbox shows two groups (what is asked, how many, which agents, a sample); one request is
 * answered alone inside its group, one from the API (as the CLI does) and the page follows; then
 * "Approve all 19" and "Deny all 9" answer the rest, each request recorded on its own and every
 * agent told. axe checks the grouped inbox in both themes (test/look.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { createDaemon, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { look, shot } from './look';

test.describe.configure({ mode: 'serial' });

const RUNTIME = fileURLToPath(new URL('../../../packages/cli/test/fixtures/approval-runtime/runtime.mjs', import.meta.url));
const AGENTS = Array.from({ length: 10 }, (_, i) => `agent${String(i + 1).padStart(2, '0')}`);

let kit: TestDaemon;
let page: Page;

test.beforeAll(async ({ browser }) => {
  kit = await createDaemon({
    prefix: 'tinyoffice-burst-',
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      channels: { enabled: [] },
      // Every agent's run asks at once: no agent waits for another's turn.
      queue: { concurrency: 16 },
      agents: Object.fromEntries(AGENTS.map((id) => [id, { provider: 'asks-test', permission_mode: 'ask' }])),
    }),
  });
  mkdirSync(join(kit.home, 'kinds'), { recursive: true });
  writeFileSync(join(kit.home, 'kinds', 'asks-test.mjs'), `export * from ${JSON.stringify(pathToFileURL(RUNTIME).href)};\n`);
  await kit.start();
  const context = await browser.newContext();
  page = await context.newPage();
  const out = await kit.cliOk(['office', '--no-open'], { timeoutMs: 90_000 });
  const link = /http:\/\/\S+\/login#code=\S+/.exec(out)?.[0];
  if (!link) throw new Error(`tinyagi office printed no link:\n${out}`);
  await page.goto(link);
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
});

test.afterAll(async () => {
  await page?.context().close();
  await kit?.cleanup();
});

const asks = (...commands: string[]) => `ASKALL:${JSON.stringify(commands.map((command) => ({ tool: 'Bash', input: { command } })))}`;
const group = (key: string) => page.getByTestId('approval-group').and(page.locator(`[data-key="${key}"]`));

test('thirty requests from ten agents: grouped by what they ask, answered a group at a time, each one still alone', async () => {
  await page.goto(`${kit.url}/approvals`);
  await expect(page.getByTestId('approvals-summary')).toHaveText('Nothing waits for you.');
  const conversations: string[] = [];
  for (const agent of AGENTS) {
    const message = asks(`npm install left-pad-${agent}`, `cd web && npm install --save react-${agent}`, `git push origin ${agent}`);
    conversations.push((await kit.api.sendMessage({ body: { agent, message, sender: 'Alice', senderId: 'alice', channel: 'web' } })).conversationId);
  }
  // Live, as they come: no reload.
  await expect(page.getByTestId('approvals-summary')).toHaveText('30 requests waiting for you.', { timeout: 60_000 });
  const installs = group('Bash: npm install');
  const pushes = group('Bash: git push');
  await expect(installs.getByTestId('approval-group-count')).toHaveText('20 requests waiting · from 10 agents');
  await expect(pushes.getByTestId('approval-group-count')).toHaveText('10 requests waiting · from 10 agents');
  await expect(installs.getByTestId('approval-group-agents')).toHaveText('@agent01, @agent02, @agent03, @agent04, @agent05, @agent06, @agent07, @agent08 and 2 more');
  await expect(installs.getByTestId('approval-group-sample').getByRole('listitem')).toHaveCount(3);
  await expect(page.getByTestId('approval-group')).toHaveCount(2);
  await look(page, 'approvals: a burst, grouped', { widths: [1280, 390] });

  // Each one alone, inside its group: one install allowed for the session.
  await installs.getByText('Each request alone (20)').click();
  const lone = installs.getByTestId('approval').first();
  await lone.getByRole('button', { name: 'Allow for session' }).click();
  await expect(lone.getByTestId('approval-outcome')).toHaveText('Allowed for the session by tinyoffice');
  await expect(installs.getByRole('button', { name: 'Approve all 19' })).toBeVisible();
  // One push answered elsewhere (the API, as the CLI does): the group follows.
  const push = (await kit.api.listApprovals({ query: { status: 'pending' } })).find((a) => a.groupKey === 'Bash: git push')!;
  await kit.api.decideApproval({ params: { id: push.id }, body: { decision: 'deny', reason: 'not this branch', by: 'cli' } });
  await expect(pushes.getByRole('button', { name: 'Deny all 9' })).toBeVisible();

  await installs.getByRole('button', { name: 'Approve all 19' }).click();
  await expect(installs.getByTestId('approval-group-outcome')).toHaveText('Allowed once by tinyoffice: 19 requests.');
  await expect(installs.getByTestId('approval-group-count')).toHaveText('All 20 answered · from 10 agents');
  await pushes.getByRole('textbox', { name: 'Reason for denying all' }).fill('no pushes today');
  await pushes.getByRole('button', { name: 'Deny all 9' }).click();
  await expect(pushes.getByTestId('approval-group-outcome')).toHaveText('Denied by tinyoffice: 9 requests.');
  await expect(page.getByTestId('approvals-summary')).toHaveText('Nothing waits for you.');
  await shot(page, 'answered');

  // Each recorded on its own: who, how, and the batch it was answered in.
  const decided = (await kit.api.listApprovals({ query: { limit: 100 } })).filter((a) => a.status !== 'pending');
  expect(decided).toHaveLength(30);
  const batches = new Map<string, number>();
  for (const a of decided) if (a.batchId) batches.set(a.batchId, (batches.get(a.batchId) ?? 0) + 1);
  expect([...batches.values()].sort((x, y) => x - y)).toEqual([9, 19]);
  expect(
    decided
      .filter((a) => !a.batchId)
      .map((a) => `${a.decision} by ${a.decidedBy}`)
      .sort(),
  ).toEqual(['allow_session by tinyoffice', 'deny by cli']);

  // Every agent is told, each request's answer in its own words.
  const replies = await Promise.all(
    conversations.map((id) => waitFor(async () => (await kit.api.getTranscript({ params: { id } })).entries.find((e) => e.direction === 'out')?.text, 60_000, 'the agent to answer')),
  );
  const lines = replies.flatMap((r) => r.split('\n').map((l) => l.replace(/\n\n— @\S+$/, '')));
  expect(lines.filter((l) => l === 'Bash: allowed (tinyoffice)')).toHaveLength(20);
  expect(lines.filter((l) => l.startsWith('Bash: refused (tinyoffice) denied by tinyoffice: no pushes today'))).toHaveLength(9);
  expect(lines.filter((l) => l.startsWith('Bash: refused (cli) denied by cli: not this branch'))).toHaveLength(1);
});
