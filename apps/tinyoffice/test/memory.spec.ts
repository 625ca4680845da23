/**
 * Memory in TinyOffice (docs/memory.md), as a person meets it: an agent proposes with its MCP tools
 * `remember` and `forget` from inside its run (test/fixtures/mcp-memory.mjs speaks to `tinyagi mcp`
 * with the run's token, as an agent CLI does); the proposal waits on the memory page of its team or
 * agent (counted live in the header); the person edits then accepts it, replaces an entry it
 * contradicts, rejects one, retires one an agent proposed to forget, pins and searches; each shows
 * its provenance and decision, and a later run is given what was accepted, never what was
 * rejected. And the agent's chat opened while its run works shows the person's message before the
 * reply (the run waits at a mock gate the test opens).
 */
import { fileURLToPath } from 'node:url';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { CLI_BIN, SETTINGS, openOffice, type Daemon } from './daemon';
import { look } from './look';

test.describe.configure({ mode: 'serial' });

const MEMORY_TOOLS = fileURLToPath(new URL('./fixtures/mcp-memory.mjs', import.meta.url));

/** A mock rule: on `match`, the agent calls its MCP memory tools (`"$found"`: the id the previous call's answer named), then replies. */
const callsTools = (match: string, calls: Array<{ tool: string; arguments: Record<string, string> }>) =>
  ({ match, actions: [{ run: [process.execPath, MEMORY_TOOLS, CLI_BIN, JSON.stringify(calls)] }], reply: `Done: ${calls.map((c) => c.tool).join(', ')}` }) as never;
const remembers = (match: string, args: Record<string, string>) => callsTools(match, [{ tool: 'remember', arguments: args }]);

let daemon: Daemon;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  ({ daemon, context, page } = await openOffice(browser, {
    settings: (root) => {
      const settings = SETTINGS(root);
      settings.agents.coder.mock.replies.unshift(
        remembers('deploy day', { text: 'We deploy on Thursdays after the tests pass', kind: 'decision', reason: 'The person said so in chat', scope: 'team', scope_id: 'dev' }),
        remembers('release day', { text: 'Releases are tagged on Fridays', kind: 'decision', reason: 'The release moved', scope: 'team', scope_id: 'dev' }),
        remembers('office cat', { text: 'The office cat is called Biscuit', kind: 'fact', reason: 'It came up' }),
        // recall, then forget what it found.
        callsTools('forget thursdays', [
          { tool: 'recall', arguments: { query: 'deploy thursdays' } },
          { tool: 'forget', arguments: { id: '$found', reason: 'We deploy every day now' } },
        ]),
        { match: 'mid-run', gate: 'mid', reply: 'answered after the gate' } as never,
      );
      return settings;
    },
  }));
});

test.afterAll(async () => {
  await context?.close();
  await daemon?.cleanup();
});

const proposals = () => page.getByTestId('memory-proposal');
const entries = () => page.getByRole('list', { name: 'Accepted entries' }).getByTestId('memory-entry');

test('an agent’s proposal waits on its team’s memory page; the person edits and accepts it, and it shows its provenance', async () => {
  await page.goto(`${daemon.url}/teams`);
  await expect(page.getByTestId('memory-count')).toHaveAttribute('data-count', '0');
  await daemon.cli(['send', '--agent', 'coder', '--wait', '--quiet', 'remember the deploy day']);
  // The header counts it live: "Memory 1 waiting".
  await expect(page.getByRole('link', { name: 'Memory 1 waiting' })).toBeVisible();
  await page.getByRole('link', { name: 'Memory of team dev' }).click();
  await expect(page).toHaveURL(/\/memory\?scope=team&id=dev$/);
  await expect(page).toHaveTitle('team dev · Memory · TinyOffice');
  await expect(page.getByTestId('memory-scope')).toContainText('Team dev’s memory: every member reads it.');
  await expect(page.getByTestId('memory-proposals-summary')).toHaveText('1 proposal waits for your decision; agents are not given a proposal until it is accepted.');
  const card = proposals().first();
  await expect(card.getByRole('heading')).toHaveText('@coder proposes a decision for team dev');
  await expect(card.getByTestId('memory-text')).toHaveText('We deploy on Thursdays after the tests pass');
  await expect(card.getByTestId('memory-reason')).toHaveText('Why: The person said so in chat');
  await expect(card.getByTestId('memory-proposed-by')).toContainText('@coder');
  await expect(page.getByTestId('memory-entries-summary')).toHaveText('No accepted entries yet: nothing from memory goes into an agent’s context.');
  await look(page, 'memory-proposal');

  await card.getByRole('button', { name: 'Edit, then accept' }).click();
  await card.getByLabel('The entry as it will be remembered').fill('We deploy on Thursdays, after the tests pass and a person approves');
  await card.getByLabel('Pinned (in every turn)').check();
  await look(page, 'memory-edit');
  await card.getByRole('button', { name: 'Accept edited' }).click();

  await expect(page.getByTestId('memory-proposals-summary')).toHaveText('No proposal waits for your decision.');
  await expect(page.getByTestId('memory-count')).toHaveAttribute('data-count', '0');
  const entry = entries().filter({ hasText: 'a person approves' });
  await expect(entry).toContainText('pinned: in every turn');
  await expect(entry.getByTestId('memory-decision')).toHaveText(/^Accepted by tinyoffice on /);
  await expect(entry.getByTestId('memory-proposed-by')).toContainText('@coder');
  const id = await entry.getAttribute('data-id');
  const record = await daemon.kit.api.getMemoryRecord({ params: { id: id! } });
  expect(record).toMatchObject({ status: 'accepted', decidedBy: 'tinyoffice', pinned: true, text: 'We deploy on Thursdays, after the tests pass and a person approves' });
  expect(record.provenance).toMatchObject({ proposedBy: '@coder', conversationId: expect.any(String), runId: expect.any(String) });
  // The provenance names the conversation (a link to it) and the run it came from.
  await expect(entry.getByRole('link', { name: record.provenance.conversationId! })).toBeVisible();
  await expect(entry.getByTestId('memory-provenance')).toContainText(`run ${record.provenance.runId}`);
  await look(page, 'memory-accepted');

  // The loop closes: a later conversation of a member of team dev is given the entry before its turn.
  const later = JSON.parse(await daemon.cli(['send', '--agent', 'reviewer', '--wait', '--quiet', '--json', 'which day do we deploy?'])) as { conversationId: string };
  const run = (await daemon.kit.api.getTranscript({ params: { id: later.conversationId } })).entries[0]!.runId;
  expect((await daemon.kit.api.getRunMemoryInjection({ params: { id: run } }))?.entryIds).toContain(record.id);
  // Its run tree says what memory the run got (in another tab: the next test goes on from this page).
  const tree = await context.newPage();
  await tree.goto(`${daemon.url}/conversations/view?id=${later.conversationId}`);
  await expect(tree.locator(`[data-run="${run}"]`).getByTestId('run-memory')).toHaveText(/^memory: 1 entry · \d+\/1000 tok$/);
  await tree.close();
});

test('a proposal that contradicts an entry shows it; accepted, it replaces it, and the old one is history', async () => {
  const monday = await daemon.kit.api.createMemory({ body: { scope: { kind: 'team', id: 'dev' }, kind: 'decision', text: 'Releases are tagged on Mondays', by: 'cli' } });
  // Added from elsewhere (no event): Reload reads it.
  await page.getByRole('button', { name: 'Reload' }).click();
  await expect(entries().filter({ hasText: 'Releases are tagged on Mondays' })).toHaveCount(1);
  // The page open, the proposal appears on it live (memory.proposed).
  await daemon.cli(['send', '--agent', 'coder', '--wait', '--quiet', 'remember the release day']);
  const card = proposals().filter({ hasText: 'Releases are tagged on Fridays' });
  await expect(card.getByTestId('memory-target')).toContainText('It contradicts this accepted entry');
  await expect(card.getByTestId('memory-target')).toContainText('Releases are tagged on Mondays');
  await expect(card.getByRole('button', { name: 'Accept, keep both' })).toBeVisible();
  await look(page, 'memory-contradiction', { widths: [1280, 390] });
  await card.getByRole('button', { name: 'Accept and replace' }).click();

  await expect(entries().filter({ hasText: 'Releases are tagged on Fridays' })).toHaveCount(1);
  await expect(entries().filter({ hasText: 'Releases are tagged on Mondays' })).toHaveCount(0);
  expect((await daemon.kit.api.getMemoryRecord({ params: { id: monday.id } })).status).toBe('retired');
  await page.getByLabel('Show history (rejected and retired)').check();
  const old = page.getByRole('list', { name: 'History' }).getByTestId('memory-entry').filter({ hasText: 'Releases are tagged on Mondays' });
  await expect(old.getByTestId('memory-decision')).toHaveText(/^Retired by tinyoffice on /);
  await expect(old.getByTestId('memory-retired-by')).toContainText('“Releases are tagged on Fridays”');
  await look(page, 'memory-history');
});

test('from the agent’s page, its own memory: a proposal rejected goes to the history and is never given to the agent', async () => {
  await daemon.cli(['send', '--agent', 'coder', '--wait', '--quiet', 'remember the office cat']);
  await page.goto(`${daemon.url}/agents/view?id=coder`);
  await page.getByRole('link', { name: 'Memory entries and proposals' }).click();
  await expect(page).toHaveURL(/\/memory\?scope=agent&id=coder$/);
  await expect(page.getByTestId('memory-scope')).toContainText('@coder’s own memory: only @coder reads it.');
  const card = proposals().filter({ hasText: 'The office cat is called Biscuit' });
  await expect(card.getByRole('heading')).toHaveText('@coder proposes a fact for @coder');
  await card.getByRole('button', { name: 'Reject' }).click();
  await expect(page.getByTestId('memory-proposals-summary')).toHaveText('No proposal waits for your decision.');
  // The card is gone: focus is on the line that says none is left, not lost.
  await expect(page.getByTestId('memory-proposals-summary')).toBeFocused();
  await page.getByLabel('Show history (rejected and retired)').check();
  const rejected = page.getByRole('list', { name: 'History' }).getByTestId('memory-entry').filter({ hasText: 'Biscuit' });
  await expect(rejected.getByTestId('memory-decision')).toHaveText(/^Rejected by tinyoffice on /);
  await expect(rejected.getByRole('button')).toHaveCount(0);
  const biscuit = await rejected.getAttribute('data-id');
  const later = JSON.parse(await daemon.cli(['send', '--agent', 'coder', '--wait', '--quiet', '--json', 'what is the cat called?'])) as { conversationId: string };
  const run = (await daemon.kit.api.getTranscript({ params: { id: later.conversationId } })).entries[0]!.runId;
  // Given the team's pinned entry, never the rejected one.
  const given = (await daemon.kit.api.getRunMemoryInjection({ params: { id: run } }))?.entryIds ?? [];
  expect(given.length).toBeGreaterThan(0);
  expect(given).not.toContain(biscuit);
});

test('a project’s page leads to its memory; search finds accepted entries by their words; unpin and retire act at once', async () => {
  const project = await daemon.kit.api.createProject({ body: { name: 'Website' } });
  await page.goto(`${daemon.url}/projects?project=${project.id}`);
  await page.getByRole('link', { name: 'Memory of project Website' }).click();
  await expect(page.getByTestId('memory-scope')).toContainText('Project Website’s memory: the agents working on its tasks read it.');
  await expect(page.getByTestId('memory-entries-summary')).toHaveText('No accepted entries yet: nothing from memory goes into an agent’s context.');
  await page.getByLabel('Whose memory').selectOption('All scopes');
  await expect(page).toHaveURL(/\/memory$/);
  await expect(page.getByTestId('memory-scope')).toContainText('Every scope');
  await page.getByRole('searchbox', { name: 'Search the accepted entries' }).fill('thursday deploys');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('memory-entries-summary')).toHaveText('1 entry matches “thursday deploys”, most relevant first.');
  const entry = entries().first();
  await expect(entry).toContainText('We deploy on Thursdays');
  await look(page, 'memory-search');
  await entry.getByRole('button', { name: 'Unpin' }).click();
  await expect(entry.getByRole('button', { name: 'Pin' })).toBeVisible();
  await expect(entry).not.toContainText('pinned: in every turn');

  await page.getByRole('searchbox', { name: 'Search the accepted entries' }).fill('zebra');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('memory-entries-summary')).toHaveText('No accepted entry matches “zebra”.');
  await page.getByRole('searchbox', { name: 'Search the accepted entries' }).fill('');
  await expect(page.getByTestId('memory-entries-summary')).toHaveText(/^2 entries, newest first/);
  await entries().filter({ hasText: 'Fridays' }).getByRole('button', { name: 'Retire' }).click();
  await expect(page.getByTestId('memory-entries-summary')).toHaveText(/^1 entry, newest first/);
  const fridays = (await daemon.kit.api.listMemory({ query: { status: 'retired', q: 'fridays' } })).map((e) => e.text);
  expect(fridays).toEqual(['Releases are tagged on Fridays']);
});

test('a proposal to forget shows the entry it would retire; retired, the history says on whose proposal and why', async () => {
  await daemon.cli(['send', '--agent', 'coder', '--wait', '--quiet', 'please forget thursdays']);
  const card = proposals().first();
  await expect(card.getByRole('heading')).toHaveText('@coder proposes to forget an entry of team dev');
  await expect(card.getByTestId('memory-reason')).toHaveText('Why: We deploy every day now');
  await expect(card.getByTestId('memory-target')).toContainText('The entry it would retire:');
  await expect(card.getByTestId('memory-target')).toContainText('We deploy on Thursdays');
  await look(page, 'memory-forget');
  await card.getByRole('button', { name: 'Retire the entry' }).click();
  await expect(page.getByTestId('memory-entries-summary')).toHaveText('No accepted entries yet: nothing from memory goes into an agent’s context.');
  await page.getByLabel('Show history (rejected and retired)').check();
  const gone = page.getByRole('list', { name: 'History' }).getByTestId('memory-entry').filter({ hasText: 'We deploy on Thursdays' });
  await expect(gone.getByTestId('memory-retired-by')).toHaveText("on @coder's proposal: We deploy every day now");
});

test('an agent’s chat opened while its run works shows the person’s message at once, and the reply after it when it comes', async () => {
  daemon.closeGate('mid');
  // Sent from the terminal; the run starts and waits at the gate: no reply can exist yet.
  await daemon.cli(['send', '--agent', 'coder', 'mid-run question from the terminal']);
  await page.goto(`${daemon.url}/agents/view?id=coder&tab=chat`);
  const log = page.getByTestId('chat-log');
  await expect(log.getByTestId('chat-progress')).toBeVisible();
  const person = log.locator('[data-role="user"]').filter({ hasText: 'mid-run question from the terminal' });
  await expect(person).toContainText('cli');
  await expect(log.locator('[data-role="agent"]').filter({ hasText: 'answered after the gate' })).toHaveCount(0);
  await look(page, 'chat-mid-run');

  // The chat open before the message: the person's message shows when its run starts.
  await daemon.cli(['send', '--agent', 'coder', 'a second mid-run question']);
  daemon.openGate('mid');
  const replies = log.locator('[data-role="agent"]').filter({ hasText: 'answered after the gate' });
  await expect(replies).toHaveCount(2);
  await expect(log.locator('[data-role="user"]').filter({ hasText: 'a second mid-run question' })).toHaveCount(1);
  await expect(person).toHaveCount(1);
  // The person's message comes before its reply.
  const roles = await log.locator('[data-role]').evaluateAll((nodes) => nodes.map((n) => `${n.getAttribute('data-role')}:${n.textContent ?? ''}`));
  const asked = roles.findIndex((r) => r.includes('mid-run question from the terminal'));
  const answered = roles.findIndex((r) => r.startsWith('agent:') && r.includes('answered after the gate'));
  expect(asked).toBeGreaterThanOrEqual(0);
  expect(asked).toBeLessThan(answered);
});

test('an entry imported from a memory/*.md file shows the file’s summary, muted, above its text', async () => {
  const content = '---\nname: Carol\nsummary: Carol prefers answers in French\n---\n\nCarol, our customer at ACME, prefers answers in French.\n';
  await daemon.kit.api.importMemory({ body: { agentId: 'coder', files: [{ path: 'carol.md', content }] } });
  await page.goto(`${daemon.url}/memory?scope=agent&id=coder`);
  const carol = entries().filter({ hasText: 'Carol, our customer at ACME' });
  await expect(carol.getByRole('heading')).toHaveText('Carol');
  await expect(carol.getByTestId('memory-summary')).toHaveText('Carol prefers answers in French');
  await expect(carol.getByTestId('memory-text')).toHaveText('Carol, our customer at ACME, prefers answers in French.');
  await look(page, 'memory-imported');
});

test('at 390 px the navigation is one row that scrolls sideways, the current page’s link in view; the page is no wider', async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  try {
    await page.goto(`${daemon.url}/memory?scope=agent&id=coder`);
    const nav = page.getByRole('navigation', { name: 'Main' });
    const links = nav.getByRole('link');
    await expect(links).toHaveCount(14);
    const tops = new Set((await links.evaluateAll((all) => all.map((a) => Math.round(a.getBoundingClientRect().top)))) as number[]);
    expect([...tops]).toHaveLength(1);
    expect(await nav.evaluate((n) => n.scrollWidth > n.clientWidth)).toBe(true);
    // The current page's link is scrolled into the row's view; Tab reaches every link (the last one too).
    await expect(nav.locator('[aria-current="page"]')).toHaveText(/^Memory/);
    await expect(nav.locator('[aria-current="page"]')).toBeInViewport({ ratio: 1 });
    await nav.getByRole('link', { name: 'Settings' }).focus();
    await expect(nav.getByRole('link', { name: 'Settings' })).toBeInViewport({ ratio: 1 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await look(page, 'navigation-390');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});
