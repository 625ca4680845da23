/**
 * Which node ran a run, in the conversation's run tree (docs/postgresql.md#which-node-ran-a-run):
 * the daemon on the local PostgreSQL (a schema of its own) records its node on each run it
 * starts, and the run's row says `on <node>`. On SQLite (one process) rows say nothing of nodes.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { pgTestDatabase, testSchema } from '@tinyagi/test-kit/pg';
import { openOffice, SETTINGS, type Daemon } from './daemon';
import { look } from './look';

const schema = testSchema('office');
let url = '';
let daemon: Daemon;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  const db = await pgTestDatabase();
  test.skip(db.skip !== undefined, db.skip);
  url = db.url;
  ({ daemon, context, page } = await openOffice(browser, { settings: (root) => ({ ...SETTINGS(root), storage: { url, schema } }) }));
  daemon.openGate('quick');
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
  // TinyOffice has no PostgreSQL client of its own: psql (beside the server) drops the schema.
  if (url !== '') execFileSync('psql', [url, '-qc', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], { env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' } });
});

test('a run on PostgreSQL shows the node that ran it in the run tree', async () => {
  const { kit } = daemon;
  const self = (await kit.api.status()).nodes.find((n) => n.self);
  expect(self).toBeDefined();
  const sent = await kit.api.sendMessage({ body: { agent: 'coder', message: 'quick one' } });
  await expect.poll(async () => (await kit.api.getConversation({ params: { id: sent.conversationId } })).roots[0]?.status, { timeout: 60_000 }).toBe('completed');
  await page.goto(`${kit.url}/conversations/view?id=${sent.conversationId}`);
  const row = page.getByTestId('run-tree').locator('[data-agent="coder"]').first();
  await expect(row.getByTestId('run-node')).toHaveText(`on ${self!.name}`);
  await look(page, '/conversations/view (a run with its node)');
});
