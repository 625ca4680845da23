/**
 * Binding a project to a git repository from TinyOffice (docs/tinyoffice.md, "A project's
 * repository"): the built daemon and a real git repository (test-kit's gitRepos). The person
 * opens the project's Repository dialog, types the local path and two checks with one name; the
 * daemon's 400 is shown at the second check's name and the form keeps what was typed; renamed,
 * its worktree file is refused on disk (a symlink out of the repository) at that file; fixed,
 * the binding saves (its commands stored as argv, split without a shell), the summary shows it,
 * the dialog reopens with it (closing it with a change asks first; the focus goes back to its
 * button). A check and a forge of a plugin's kinds (a kind module in TINYAGI_HOME/kinds/:
 * test-kit's BINDING_KINDS_MODULE) are shown with their kind and their kind's own keys, refused at
 * that field when the kind finds them wrong, and saved unchanged when another field is edited;
 * Unbind (confirmed, saying the worktrees stay) removes it.
 * axe and screenshots at 1280 and 390 px, light and dark.
 */
import { expect, test } from '@playwright/test';
import { createApiClient } from '@tinyagi/client';
import { BINDING_KINDS_MODULE, gitRepos } from '@tinyagi/test-kit';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openOffice } from './daemon';
import { look } from './look';

test('a project is bound, refused at a field, fixed, reopened and unbound', async ({ browser }) => {
  // git on the daemon's PATH: binding looks at the repository with it. The plugin's kinds: a module the daemon loads.
  const { daemon, context, page } = await openOffice(browser, { path: ['/usr/bin', '/bin'], kindModules: [BINDING_KINDS_MODULE] });
  try {
    const client = createApiClient({ baseUrl: daemon.url, token: readFileSync(join(daemon.home, 'api-token'), 'utf8').trim() });
    const { root, repoDir } = gitRepos();
    // What a worktree file links must exist when the project is bound.
    writeFileSync(join(repoDir, '.env'), 'A=1\n');
    // A folder of the repository that is a symlink out of it: a worktree file through it passes the schema, not the daemon's disk check.
    mkdirSync(join(root, 'outside'));
    symlinkSync(join(root, 'outside'), join(repoDir, 'secrets'));
    const project = await client.createProject({ body: { name: 'Web' } });
    await page.goto(`${daemon.url}/projects?project=${project.id}`);
    const summary = page.getByTestId('repo-summary');
    await expect(summary).toContainText('Not bound');

    await summary.getByRole('button', { name: 'Bind to a repository' }).click();
    const dialog = page.getByRole('dialog', { name: 'Repository of Web' });
    await dialog.getByLabel('Local path (absolute)').fill(repoDir);
    await dialog.getByLabel('Remote', { exact: true }).fill('origin');
    await dialog.getByRole('button', { name: 'Add a file' }).click();
    await dialog.getByLabel('File 1: path').fill('secrets/.env');
    await dialog.getByLabel('File 1: as').selectOption('link');
    await expect(dialog.getByLabel('Each worktree is')).toHaveValue('auto');
    await dialog.getByLabel('Each worktree is').selectOption('full');
    await dialog.getByRole('button', { name: 'Add a check' }).click();
    const first = dialog.getByRole('group', { name: 'Check 1' });
    await first.getByLabel('Name').fill('test');
    await first.getByLabel('Command').fill(`sh -c 'test -f "README.md"'`);
    await expect(first.getByTestId('argv')).toHaveText('argv: ["sh","-c","test -f \\"README.md\\""]');
    await dialog.getByRole('button', { name: 'Add a check' }).click();
    const second = dialog.getByRole('group', { name: 'Check 2' });
    await second.getByLabel('Name').fill('test');
    // Checked as typed, before any save: an open quote is not yet a command.
    await second.getByLabel('Command').fill(`git commit -m 'wip`);
    await expect(second.getByText('Not yet a command: a single quote is not closed.')).toBeVisible();
    await second.getByLabel('Command').fill('git diff --check');
    await dialog.getByLabel('Who merges').selectOption('checked');
    await dialog.getByRole('button', { name: 'Bind' }).click();

    // The daemon's refusal at the field it names; nothing typed is lost; focus on that field.
    await expect(dialog.getByTestId('field-error-checks.1.name')).toContainText('Two checks are named "test"');
    await expect(second.getByLabel('Name')).toBeFocused();
    await expect(dialog.getByTestId('problem-summary')).toContainText('One problem stops this save. Nothing was saved.');
    await expect(dialog.getByLabel('Local path (absolute)')).toHaveValue(repoDir);
    await expect(first.getByLabel('Command')).toHaveValue(`sh -c 'test -f "README.md"'`);
    await look(page, 'refused', { widths: [1280] });
    // At 390 px the field with the problem is scrolled back into view as the focus goes to it.
    await page.setViewportSize({ width: 390, height: 800 });
    await dialog.getByTestId('problem-summary').getByRole('link', { name: 'checks.1.name' }).click();
    await expect(second.getByLabel('Name')).toBeFocused();
    await look(page, 'refused', { widths: [390] });
    await page.setViewportSize({ width: 1280, height: 800 });

    await second.getByLabel('Name').fill('whitespace');
    await dialog.getByRole('button', { name: 'Bind' }).click();
    // The schema passes; the file leads out of the repository on disk: INVALID_PATH, at that file.
    await expect(dialog.getByTestId('field-error-files.0.path')).toContainText('outside the repository');
    await expect(dialog.getByLabel('File 1: path')).toBeFocused();
    await dialog.getByLabel('File 1: path').fill('.env');
    await dialog.getByRole('button', { name: 'Bind' }).click();
    await expect(dialog).toBeHidden();
    await expect(summary.getByTestId('repo-location')).toHaveText(repoDir);
    await expect(summary).toContainText('test, whitespace');
    await expect(summary).toContainText('.env (link)');
    await expect(summary).toContainText('when checks pass (a merge commit)');
    await look(page, 'summary', { widths: [1280, 390] });
    const stored = (await client.getProject({ params: { id: project.id } })).repo;
    expect(stored?.checks.map((c) => c.argv)).toEqual([
      ['sh', '-c', 'test -f "README.md"'],
      ['git', 'diff', '--check'],
    ]);
    expect(stored?.files).toEqual([{ path: '.env', mode: 'link' }]);
    expect(stored?.checkout).toBe('full');
    expect(stored?.autoMerge).toEqual({ when: 'checked', method: 'merge', approvals: 1 });

    await summary.getByRole('button', { name: 'Edit binding' }).click();
    await expect(dialog.getByRole('group', { name: 'Check 1' }).getByLabel('Command')).toHaveValue(`sh -c 'test -f "README.md"'`);
    await expect(dialog.getByRole('group', { name: 'Check 2' }).getByLabel('Name')).toHaveValue('whitespace');
    await expect(dialog.getByLabel('Each worktree is')).toHaveValue('full');
    // The forge's fields and an approvals rule (looked at, not saved): the token only by its variable's name.
    await dialog.getByLabel('Open pull requests on a forge').check();
    await expect(dialog.getByLabel('Forge kind')).toHaveValue('github');
    await dialog.getByLabel('Who merges').selectOption('approved');
    await expect(dialog.getByLabel('Approvals needed')).toHaveValue('1');
    await expect(dialog.getByLabel('Token variable')).toHaveAttribute('placeholder', 'GITHUB_TOKEN');
    await dialog.getByLabel('Approvals needed').focus();
    await look(page, 'forge', { widths: [1280] });
    await page.setViewportSize({ width: 390, height: 800 });
    await dialog.getByLabel('Token variable').focus();
    await look(page, 'forge', { widths: [390] });
    await page.setViewportSize({ width: 1280, height: 800 });
    // Closing with a change asks first: Escape declined keeps it open, Cancel accepted closes it
    // unsaved, the focus back on the button that opened it; Enter opens it again as stored.
    const asks: string[] = [];
    page.on('dialog', (d) => {
      asks.push(d.message());
      void (asks.length === 1 ? d.dismiss() : d.accept());
    });
    await page.keyboard.press('Escape');
    await expect.poll(() => asks.length).toBe(1);
    await expect(dialog.getByLabel('Owner')).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    expect(asks).toEqual(['Close without saving? Your changes to the binding are lost.', 'Close without saving? Your changes to the binding are lost.']);
    await expect(summary.getByRole('button', { name: 'Edit binding' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(dialog.getByLabel('Who merges')).toHaveValue('checked');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();

    // A check and a forge of a plugin's kinds, bound through the API: shown by kind, their own keys as JSON.
    const coverage = { name: 'coverage', kind: 'coverage', minimum: 80, timeoutMs: 5_000 };
    const forge = { kind: 'folder-forge', owner: 'team', repo: 'web', folder: join(root, 'pulls'), pollSeconds: 30, tokenEnv: 'FOLDER_FORGE_TOKEN' };
    const withKinds = (await client.patchProject({ params: { id: project.id }, body: { repo: { ...stored, checks: [...stored!.checks, coverage], forge } } })).repo!;
    await page.reload();
    await summary.getByRole('button', { name: 'Edit binding' }).click();
    const third = dialog.getByRole('group', { name: 'Check 3' });
    await expect(third.getByLabel('Kind', { exact: true })).toHaveValue('coverage');
    await expect(third.getByLabel('Settings of its kind (JSON)')).toHaveValue('{"minimum":80}');
    await expect(third.getByLabel('Command')).toHaveCount(0);
    await expect(dialog.getByLabel('Forge kind')).toHaveValue('folder-forge');
    await expect(dialog.getByLabel("Settings of the forge's kind (JSON)")).toHaveValue(JSON.stringify({ folder: forge.folder }));
    await third.getByLabel('Settings of its kind (JSON)').focus();
    await look(page, 'kinds', { widths: [1280] });
    // The kind's own rule, refused by the daemon at the field holding its keys; then another field edited and saved.
    await third.getByLabel('Settings of its kind (JSON)').fill('{}');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog.getByTestId('field-error-checks.2.settings')).toContainText('The check "coverage" needs its minimum: a whole number of per cent (0-100).');
    await third.getByLabel('Settings of its kind (JSON)').fill('{"minimum":80}');
    await dialog.getByLabel('Max rounds').fill('3');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog).toBeHidden();
    const saved = (await client.getProject({ params: { id: project.id } })).repo;
    expect(saved).toEqual({ ...withKinds, maxRounds: 3 });
    expect(saved?.checks[2]).toEqual(coverage);
    expect(saved?.forge).toEqual(forge);
    await expect(summary).toContainText('folder-forge team/web');
    await summary.getByRole('button', { name: 'Edit binding' }).click();

    await dialog.getByRole('button', { name: 'Unbind…' }).click();
    await expect(summary).toContainText('Not bound');
    expect(asks[2]).toContain('worktrees and branches stay on disk');
    expect((await client.getProject({ params: { id: project.id } })).repo).toBeNull();
  } finally {
    await context.close();
    await daemon.cleanup();
  }
});
