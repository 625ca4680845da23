/**
 * An agent's memory/*.md files through the built daemon and the CLI (docs/memory.md): the files in
 * its workspace become accepted entries at its first turn (decided by `import`) and go into that
 * turn's context; `tinyagi memory export` writes them back byte for byte; `tinyagi memory import
 * --dir` imports another folder once, and a second import adds nothing. Without a model: the mock's
 * `remember` action proposes an entry, `tinyagi status` says a proposal waits, and once accepted the
 * run tree of `tinyagi conversation show` says what memory the next run got.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDaemon, type TestDaemon } from '@tinyagi/test-kit';
import type { MemoryRecord } from '@tinyagi/client/contract';
import { readMemoryFolder } from '../src/commands/memory.ts';

let h: TestDaemon;
const carol = '---\nname: Carol\nsummary: Carol prefers answers in French\n---\n\nCarol, our customer at ACME, prefers answers in French.\n';
const deploy = '---\nname: Deploys\nsummary: How we deploy\nkind: procedure\npinned: true\n---\n\nWe deploy with the release workflow, on Thursdays.\n';

beforeAll(async () => {
  h = await createDaemon({
    settings: ({ root }) => ({
      workspace: { path: `${root}/workspace` },
      agents: {
        scribe: { provider: 'mock', mock: { reply: 'noted' } },
        keeper: {
          provider: 'mock',
          mock: {
            reply: 'ok',
            replies: [{ match: 'remember', reply: 'Proposed.', actions: [{ remember: { text: 'Dave prefers short answers.', kind: 'preference', reason: 'Dave said so' } }] }],
          },
        },
      },
      channels: { enabled: [] },
    }),
  });
  const folder = join(h.root, 'workspace', 'scribe', 'memory');
  mkdirSync(join(folder, 'people'), { recursive: true });
  writeFileSync(join(folder, 'people', 'carol.md'), carol);
  writeFileSync(join(folder, 'deploy.md'), deploy);
  writeFileSync(join(folder, 'scratch.md'), 'no front matter\n');
  await h.start();
});

afterAll(async () => {
  await h?.cleanup();
});

const entries = async (): Promise<MemoryRecord[]> => JSON.parse(await h.cliHereOk(['memory', 'list', '--scope', 'agent:scribe', '--json'])) as MemoryRecord[];

it("the agent's files are imported at its first turn, recalled in it, and export back unchanged", async () => {
  await h.cliHereOk(['send', '--agent', 'scribe', '--wait', 'Which language does Carol prefer?']);
  const imported = await entries();
  expect(imported.map((e) => [e.provenance.proposedBy, e.decidedBy, e.status]).sort()).toEqual([
    ['import:memory/deploy.md', 'import', 'accepted'],
    ['import:memory/people/carol.md', 'import', 'accepted'],
  ]);
  const [conversation] = JSON.parse(await h.cliHereOk(['conversation', 'list', '--json'])) as Array<{ id: string }>;
  const tree = JSON.parse(await h.cliHereOk(['runs', 'tree', conversation!.id, '--json'])) as { roots: Array<{ memory?: { entryIds: string[] } }> };
  expect(tree.roots[0]?.memory?.entryIds.sort()).toEqual(imported.map((e) => e.id).sort());

  const out = mkdtempSync(join(h.root, 'export-'));
  expect(await h.cliHereOk(['memory', 'export', '--agent', 'scribe', '--dir', out])).toContain('Wrote 2 files');
  expect(readMemoryFolder(out)).toEqual([
    { path: 'deploy.md', content: deploy },
    { path: 'people/carol.md', content: carol },
  ]);
  expect(readFileSync(join(out, 'people', 'carol.md'), 'utf8')).toBe(carol);
});

it('`tinyagi memory import --dir` imports a folder once', async () => {
  const dir = mkdtempSync(join(h.root, 'more-'));
  writeFileSync(join(dir, 'standup.md'), '---\nname: Standup\nsummary: The standup is at 9:30\n---\n');
  writeFileSync(join(dir, 'key.md'), '---\nname: Key\nsummary: the key\n---\n\nThe deploy key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz\n');
  const first = await h.cliHereOk(['memory', 'import', '--agent', 'scribe', '--dir', dir]);
  expect(first).toContain('Imported memory/standup.md');
  expect(first).toContain('Skipped key.md: This memory looks like it holds a secret');
  expect(first).toContain('1 imported, 0 imported before, 1 skipped.');
  expect(await h.cliHereOk(['memory', 'import', '--agent', 'scribe', '--dir', dir])).toContain('0 imported, 1 imported before, 1 skipped.');
  // The workspace's own files, asked again: imported before.
  expect(await h.cliHereOk(['memory', 'import', '--agent', 'scribe'])).toContain('0 imported, 2 imported before, 1 skipped.');
  expect((await entries()).length).toBe(3);
});

it("the mock's remember action proposes an entry; status says it waits; accepted, the next run's tree shows the memory it got", async () => {
  await h.cliHereOk(['send', '--agent', 'keeper', '--wait', 'remember that Dave prefers short answers']);
  expect(await h.cliHereOk(['status'])).toMatch(/Memory:\s+1 proposal waiting: tinyagi memory pending/);
  // Run by npx (as npm sets them for `npx tinyagi status`), the commands it prints are in that form;
  // not when npx ran another tool that runs the CLI inside (`npx vitest`).
  const npx = { env: { npm_lifecycle_event: 'npx', npm_command: 'exec', npm_lifecycle_script: "'tinyagi'" } };
  expect(await h.cliHereOk(['status'], npx)).toContain('1 proposal waiting: npx tinyagi memory pending');
  expect(await h.cliHereOk(['memory', 'pending'], npx)).toContain('Decide with `npx tinyagi memory accept <id>`');
  expect(await h.cliHereOk(['memory', 'pending'], { env: { ...npx.env, npm_lifecycle_script: 'vitest' } })).toContain('Decide with `tinyagi memory accept <id>`');
  const [proposal] = JSON.parse(await h.cliHereOk(['memory', 'pending', '--json'])) as MemoryRecord[];
  expect([proposal?.text, proposal?.provenance.proposedBy, proposal?.scope]).toEqual(['Dave prefers short answers.', '@keeper', { kind: 'agent', id: 'keeper' }]);
  await h.cliHereOk(['memory', 'accept', proposal!.id]);
  expect(await h.cliHereOk(['status'])).not.toContain('proposal waiting');

  await h.cliHereOk(['send', '--agent', 'keeper', '--wait', 'How does Dave like his answers?']);
  const [latest] = JSON.parse(await h.cliHereOk(['conversation', 'list', '--json'])) as Array<{ id: string }>;
  expect(await h.cliHereOk(['conversation', 'show', latest!.id])).toMatch(/keeper.*memory: 1 entry, \d+\/1000 tok/);
});
