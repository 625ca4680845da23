/**
 * Steering from the run tree, as a person does it, against a real daemon whose agent is the fake
 * Claude Code CLI (@tinyagi/test-kit's bin/claude on PATH, its reply streamed slowly): before
 * Pause is pressed the row says a CLI agent cannot be paused mid-turn; paused, the turn's answer
 * is held (the run stays running, nothing is posted); an injected message and every command show
 * under the run with who sent them, and in the transcript; resumed, the run takes one more turn.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { createDaemon, FAKE_BIN_DIR, type TestDaemon } from '@tinyagi/test-kit';

test.describe.configure({ mode: 'serial' });

const SHOTS = process.env['TINYOFFICE_SHOTS'] ?? '/tmp/shots-32';

let kit: TestDaemon;

test.beforeAll(async () => {
  kit = await createDaemon({
    prefix: 'tinyoffice-steering-',
    path: [FAKE_BIN_DIR],
    // Each third of the fake CLI's reply 2.5 s apart: a turn long enough to press Pause in.
    env: { FAKE_SLOW_MS: '2500' },
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'anthropic', anthropic: { api_key: 'sk-ant-test' } },
      agents: {
        cc: { name: 'Claude', provider: 'anthropic', env_passthrough: ['FAKE_SLOW_MS'] },
        cc2: { name: 'Second', provider: 'anthropic', env_passthrough: ['FAKE_SLOW_MS'] },
      },
      teams: { t: { name: 'T', agents: ['cc', 'cc2'], leader_agent: 'cc' } },
    }),
  });
  await kit.start();
});

test.afterAll(async () => {
  await kit?.cleanup();
});

async function login(page: Page): Promise<void> {
  const out = await kit.cliOk(['office', '--no-open'], { timeoutMs: 90_000 });
  const link = /http:\/\/\S+\/login#code=\S+/.exec(out)?.[0];
  if (!link) throw new Error(`tinyagi office printed no link:\n${out}`);
  await page.goto(link);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
}

test('a CLI run: the row says what pause does before it is used; paused, its answer is held; steering shows who sent what', async ({ page }) => {
  await login(page);
  const sent = await kit.api.sendMessage({ body: { agent: 'cc', message: 'FAKE:slow FAKE:reply=first answer' } });
  await page.goto(`${kit.url}/conversations/view?id=${sent.conversationId}`);
  const row = page.getByTestId('run-tree').locator('[data-agent="cc"]').first();
  await expect(row).toHaveAttribute('data-status', 'running');
  // Said before any control is used.
  await expect(row.getByTestId('steering-limits')).toHaveText(
    'claude-code agent: pause, inject, redirect take effect when its current turn ends, not inside it; paused, its answer is held until you resume.',
  );
  expect((await new AxeBuilder({ page }).include('[data-testid="run-tree"]').analyze()).violations.filter((v) => v.impact !== 'minor')).toEqual([]);

  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row.getByRole('status')).toContainText('pause: accepted · A CLI agent cannot pause mid-turn');
  await expect(row.getByRole('button', { name: 'Resume' })).toBeVisible();
  // The turn ends while paused: its answer is held, the run stays running, nothing was posted.
  await expect(row).toContainText('paused: turn 1 finished; its answer is held until the run is resumed');
  await expect(row).toHaveAttribute('data-status', 'running');
  expect(await kit.api.listOutbox({ query: { conversationId: sent.conversationId } })).toEqual([]);

  await row.getByRole('button', { name: 'Inject' }).click();
  await page.getByLabel('inject text').fill('also add tests');
  await row.getByRole('button', { name: 'Send' }).click();
  const steering = row.getByTestId('steering').first();
  await expect(steering.getByRole('listitem')).toHaveCount(2);
  await expect(steering.getByRole('listitem').nth(0)).toContainText('TinyOffice · pause');
  await expect(steering.getByRole('listitem').nth(1)).toContainText('TinyOffice · inject: “also add tests”');

  // The paused row with its steering, as it looks: 1280 and 390 px, light and dark; axe clean in both themes.
  mkdirSync(SHOTS, { recursive: true });
  for (const dark of [false, true]) {
    await page.evaluate((d) => document.documentElement.classList.toggle('dark', d), dark);
    const problems = (await new AxeBuilder({ page }).include('[data-testid="run-tree"]').analyze()).violations.filter((v) => v.impact !== 'minor');
    expect(problems.map((v) => `${v.id} ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`)).toEqual([]);
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 800 });
      await page.getByTestId('run-tree').screenshot({ path: join(SHOTS, `steering-paused-${width}-${dark ? 'dark' : 'light'}.png`) });
    }
  }
  await page.evaluate(() => document.documentElement.classList.remove('dark'));
  await page.setViewportSize({ width: 1280, height: 800 });

  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 30_000 });
  await expect(steering.getByRole('listitem')).toHaveCount(3);
  const transcript = page.getByTestId('transcript');
  await expect(transcript).toContainText('TinyOffice → @cc · steering (inject)');
  await expect(transcript).toContainText('[Injected] also add tests');
  // After a reload the tree still lists who steered the run (the API's tree carries it).
  await page.reload();
  await expect(page.getByTestId('run-tree').getByTestId('steering').first().getByRole('listitem')).toHaveCount(3);
});

test('cancelling the last open run of a chain from the run tree ends the conversation cancelled, saying who cancelled it', async ({ page }) => {
  await login(page);
  // cc answers (slowly) with a handoff to cc2, whose slow turn is then cancelled from the tree.
  const sent = await kit.api.sendMessage({ body: { agent: 'cc', message: 'FAKE:slow FAKE:reply=handing over [@cc2: FAKE:slow please finish]' } });
  await page.goto(`${kit.url}/conversations/view?id=${sent.conversationId}`);
  const second = page.getByTestId('run-tree').locator('[data-agent="cc2"]');
  await expect(second).toHaveAttribute('data-status', 'running', { timeout: 30_000 });
  await expect(page.getByTestId('run-tree').locator('[data-agent="cc"]').first()).toHaveAttribute('data-status', 'completed');
  await second.getByRole('button', { name: "Cancel cc2's run" }).click();
  await expect(second).toHaveAttribute('data-status', 'cancelled');
  await expect(page.getByTestId('conversation-status')).toContainText('cancelled');
  await expect(page.getByText('Ended: cancelled by TinyOffice')).toBeVisible();
});
