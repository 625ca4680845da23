/**
 * Steering from the run tree, as a person does it, against a real daemon whose agent is the fake
 * Claude Code CLI (@tinyagi/test-kit's bin/claude on PATH, its answer held at a gate the test
 * opens: FAKE:gate): before Pause is pressed the row says a CLI agent cannot be paused mid-turn;
 * paused, the turn's answer is held (the run stays running, nothing is posted); an injected
 * message and every command show under the run with who sent them, and in the transcript;
 * resumed, the run takes one more turn. One daemon and one logged-in page for the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { createDaemon, FAKE_BIN_DIR, type TestDaemon } from '@tinyagi/test-kit';
import { look } from './look';

test.describe.configure({ mode: 'serial' });

let kit: TestDaemon;
let page: Page;
/** FAKE_GATE_DIR of the fake CLI: a turn with FAKE:gate=<name> answers once <gates>/<name> exists. */
const gates = mkdtempSync(join(tmpdir(), 'tinyoffice-steering-gates-'));
const openGate = (name: string): void => writeFileSync(join(gates, name), '');

test.beforeAll(async ({ browser }) => {
  kit = await createDaemon({
    prefix: 'tinyoffice-steering-',
    path: [FAKE_BIN_DIR],
    env: { FAKE_GATE_DIR: gates },
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      models: { provider: 'anthropic', anthropic: { api_key: 'sk-ant-test' } },
      agents: {
        cc: { name: 'Claude', provider: 'anthropic', env_passthrough: ['FAKE_GATE_DIR'] },
        cc2: { name: 'Second', provider: 'anthropic', env_passthrough: ['FAKE_GATE_DIR'] },
      },
      teams: { t: { name: 'T', agents: ['cc', 'cc2'], leader_agent: 'cc' } },
    }),
  });
  await kit.start();
  page = await (await browser.newContext()).newPage();
  const out = await kit.cliOk(['office', '--no-open'], { timeoutMs: 90_000 });
  const link = /http:\/\/\S+\/login#code=\S+/.exec(out)?.[0];
  if (!link) throw new Error(`tinyagi office printed no link:\n${out}`);
  await page.goto(link);
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
});

test.afterAll(async () => {
  await page?.context().close();
  await kit?.cleanup();
  rmSync(gates, { recursive: true, force: true });
});

test('a CLI run: the row says what pause does before it is used; paused, its answer is held; steering shows who sent what', async () => {
  const sent = await kit.api.sendMessage({ body: { agent: 'cc', message: 'FAKE:gate=first-turn FAKE:reply=first answer' } });
  await page.goto(`${kit.url}/conversations/view?id=${sent.conversationId}`);
  const row = page.getByTestId('run-tree').locator('[data-agent="cc"]').first();
  await expect(row).toHaveAttribute('data-status', 'running');
  // Said before any control is used.
  await expect(row.getByTestId('steering-limits')).toHaveText(
    'claude-code agent: pause, inject, redirect take effect when its current turn ends, not inside it; paused, its answer is held until you resume.',
  );
  await look(page, '/conversations/view (a CLI run)');

  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row.getByRole('status')).toContainText('pause: accepted · A CLI agent cannot pause mid-turn');
  await expect(row.getByRole('button', { name: 'Resume' })).toBeVisible();
  // The turn ends while paused: its answer is held, the run stays running, nothing was posted.
  openGate('first-turn');
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

  // The paused row with its steering.
  await look(page, '/conversations/view (a paused CLI run with its steering)');

  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(row).toHaveAttribute('data-status', 'completed');
  await expect(steering.getByRole('listitem')).toHaveCount(3);
  const transcript = page.getByTestId('transcript');
  await expect(transcript).toContainText('TinyOffice → @cc · steering (inject)');
  await expect(transcript).toContainText('[Injected] also add tests');
  // After a reload the tree still lists who steered the run (the API's tree carries it).
  await page.reload();
  await expect(page.getByTestId('run-tree').getByTestId('steering').first().getByRole('listitem')).toHaveCount(3);
});

test('cancelling the last open run of a chain from the run tree ends the conversation cancelled, saying who cancelled it', async () => {
  // cc answers with a handoff to cc2, whose turn waits at a gate nobody opens and is cancelled from the tree.
  openGate('handing-over');
  const sent = await kit.api.sendMessage({ body: { agent: 'cc', message: 'FAKE:gate=handing-over FAKE:reply=handing over [@cc2: FAKE:gate=never please finish]' } });
  await page.goto(`${kit.url}/conversations/view?id=${sent.conversationId}`);
  const second = page.getByTestId('run-tree').locator('[data-agent="cc2"]');
  await expect(second).toHaveAttribute('data-status', 'running');
  await expect(page.getByTestId('run-tree').locator('[data-agent="cc"]').first()).toHaveAttribute('data-status', 'completed');
  await second.getByRole('button', { name: "Cancel cc2's run" }).click();
  await expect(second).toHaveAttribute('data-status', 'cancelled');
  await expect(page.getByTestId('conversation-status')).toContainText('cancelled');
  await expect(page.getByText('Ended: cancelled by TinyOffice')).toBeVisible();
});
