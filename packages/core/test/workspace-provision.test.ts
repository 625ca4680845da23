import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTinyError } from '../src/errors.ts';
import { archiveWorkspace, provisionWorkspace, removeWorkspace, TEMPLATES_DIR, WORKSPACE_PATHS } from '../src/workspace/index.ts';

const roots: string[] = [];
function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'tinyagi-ws-'));
  roots.push(root);
  return root;
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

async function expectTinyError(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTinyError(err) && err.code).toBe(code);
}

describe('provisionWorkspace', () => {
  it('creates the layout from the templates', async () => {
    const dir = join(tempRoot(), 'workspace', 'coder');
    const result = await provisionWorkspace({ dir, agentId: 'coder' });

    expect(result.alreadyProvisioned).toBe(false);
    expect(result.created).toEqual(expect.arrayContaining(['.', 'AGENTS.md', 'SOUL.md', 'heartbeat.md', 'memory', '.agents/skills/send-file', '.agents/skills/memory', '.claude/skills']));
    expect(readFileSync(join(dir, 'AGENTS.md'), 'utf8')).toBe(readFileSync(join(TEMPLATES_DIR, 'AGENTS.md'), 'utf8'));
    expect(readFileSync(join(dir, 'SOUL.md'), 'utf8')).toBe(readFileSync(join(TEMPLATES_DIR, 'SOUL.md'), 'utf8'));
    expect(readFileSync(join(dir, 'heartbeat.md'), 'utf8')).toBe(readFileSync(join(TEMPLATES_DIR, 'heartbeat.md'), 'utf8'));
    expect(lstatSync(join(dir, 'memory')).isDirectory()).toBe(true);
    expect(readFileSync(join(dir, '.agents/skills/send-file/SKILL.md'), 'utf8')).toContain('[send_file:');

    const link = join(dir, '.claude', 'skills');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('../.agents/skills');
    expect(readdirSync(link).sort()).toEqual(readdirSync(join(dir, '.agents/skills')).sort());

    expect(JSON.parse(readFileSync(join(dir, WORKSPACE_PATHS.marker), 'utf8'))).toMatchObject({ version: 1, agentId: 'coder' });
  });

  it('takes the fast path once provisioned', async () => {
    const dir = join(tempRoot(), 'coder');
    await provisionWorkspace({ dir, agentId: 'coder' });
    rmSync(join(dir, 'heartbeat.md'));

    const again = await provisionWorkspace({ dir, agentId: 'coder' });
    expect(again).toEqual({ dir, created: [], alreadyProvisioned: true });
    // The marker short-circuits all checks: a deleted file is the user's choice until the version changes.
    expect(existsSync(join(dir, 'heartbeat.md'))).toBe(false);
  });

  it('keeps user edits byte-identical and only fills in what is missing', async () => {
    const dir = join(tempRoot(), 'coder');
    await provisionWorkspace({ dir, agentId: 'coder' });
    const edits: Record<string, Buffer> = {
      'AGENTS.md': Buffer.from('You write Rust.\n\u00e9\u00e8 trailing spaces   \r\n'),
      'SOUL.md': Buffer.from('# SOUL\nCalm and precise.'),
      'heartbeat.md': Buffer.from(''),
      '.agents/skills/send-file/SKILL.md': Buffer.from('my own version of the skill'),
    };
    for (const [path, bytes] of Object.entries(edits)) writeFileSync(join(dir, path), bytes);
    rmSync(join(dir, '.agents/skills/memory'), { recursive: true });
    rmSync(join(dir, 'memory'), { recursive: true });
    // An outdated marker forces the full pass, as after an upgrade.
    writeFileSync(join(dir, WORKSPACE_PATHS.marker), JSON.stringify({ version: 0 }));

    const result = await provisionWorkspace({ dir, agentId: 'coder' });

    expect(result.alreadyProvisioned).toBe(false);
    expect(result.created.sort()).toEqual(['.agents/skills/memory', 'memory']);
    for (const [path, bytes] of Object.entries(edits)) expect(readFileSync(join(dir, path)).equals(bytes), path).toBe(true);
    expect(existsSync(join(dir, '.agents/skills/memory/SKILL.md'))).toBe(true);
  });

  it('lets concurrent calls provision the same workspace once', async () => {
    const dir = join(tempRoot(), 'coder');
    const results = await Promise.all(Array.from({ length: 4 }, () => provisionWorkspace({ dir, agentId: 'coder' })));

    const createdSkills = results.flatMap((result) => result.created).filter((path) => path === '.agents/skills/send-file');
    expect(createdSkills).toHaveLength(1);
    expect(readdirSync(join(dir, '.agents/skills')).sort()).toEqual(['memory', 'send-file']);
    expect(readFileSync(join(dir, '.agents/skills/send-file/SKILL.md'), 'utf8')).toBe(readFileSync(join(TEMPLATES_DIR, 'skills/send-file/SKILL.md'), 'utf8'));
  });

  it("seeds SOUL.md from the reference's .tinyagi/SOUL.md", async () => {
    const dir = join(tempRoot(), 'writer');
    mkdirSync(join(dir, '.tinyagi'), { recursive: true });
    writeFileSync(join(dir, '.tinyagi/SOUL.md'), 'I am the writer.');
    await provisionWorkspace({ dir, agentId: 'writer' });
    expect(readFileSync(join(dir, 'SOUL.md'), 'utf8')).toBe('I am the writer.');
  });

  it('rejects invalid agent ids and relative directories', async () => {
    const root = tempRoot();
    await expectTinyError(provisionWorkspace({ dir: join(root, 'x'), agentId: '../etc' }), 'INVALID_ID');
    await expectTinyError(provisionWorkspace({ dir: 'relative/coder', agentId: 'coder' }), 'INVALID_PATH');
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('archiveWorkspace', () => {
  it('moves the workspace with its contents intact', async () => {
    const root = tempRoot();
    const dir = join(root, 'workspace', 'coder');
    await provisionWorkspace({ dir, agentId: 'coder' });
    writeFileSync(join(dir, 'memory', 'note.md'), '---\nname: Note\n---\nbody');
    const archiveRoot = join(root, 'archive');

    const { archivedTo } = await archiveWorkspace({ dir, archiveRoot, now: new Date('2025-01-02T03:04:05.006Z') });

    expect(archivedTo).toBe(join(archiveRoot, 'coder-2025-01-02T03-04-05-006Z'));
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync(join(archivedTo, 'memory', 'note.md'), 'utf8')).toBe('---\nname: Note\n---\nbody');
    expect(readFileSync(join(archivedTo, 'AGENTS.md'), 'utf8')).toBe(readFileSync(join(TEMPLATES_DIR, 'AGENTS.md'), 'utf8'));
    expect(readlinkSync(join(archivedTo, '.claude/skills'))).toBe('../.agents/skills');
  });

  it('never reuses an archive name', async () => {
    const root = tempRoot();
    const now = new Date('2025-01-02T03:04:05.006Z');
    const archiveRoot = join(root, 'archive');
    const first = join(root, 'a', 'coder');
    const second = join(root, 'b', 'coder');
    mkdirSync(first, { recursive: true });
    mkdirSync(second, { recursive: true });
    writeFileSync(join(first, 'f'), '1');
    writeFileSync(join(second, 'f'), '2');

    const a = await archiveWorkspace({ dir: first, archiveRoot, now });
    const b = await archiveWorkspace({ dir: second, archiveRoot, now });

    expect(b.archivedTo).toBe(`${a.archivedTo}-1`);
    expect(readFileSync(join(a.archivedTo, 'f'), 'utf8')).toBe('1');
    expect(readFileSync(join(b.archivedTo, 'f'), 'utf8')).toBe('2');
  });

  it('refuses a missing workspace and an archive root inside the workspace', async () => {
    const root = tempRoot();
    const dir = join(root, 'coder');
    await expectTinyError(archiveWorkspace({ dir, archiveRoot: join(root, 'archive') }), 'INVALID_PATH');
    mkdirSync(dir);
    await expectTinyError(archiveWorkspace({ dir, archiveRoot: join(dir, 'old') }), 'INVALID_PATH');
    expect(existsSync(dir)).toBe(true);
  });
});

describe('removeWorkspace', () => {
  it('deletes only with purge: true and only a provisioned workspace', async () => {
    const root = tempRoot();
    const dir = join(root, 'coder');
    await provisionWorkspace({ dir, agentId: 'coder' });

    await expectTinyError(removeWorkspace({ dir } as unknown as { dir: string; purge: true }), 'INVALID_STATE');
    expect(existsSync(join(dir, 'AGENTS.md'))).toBe(true);

    const project = join(root, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'main.rs'), 'fn main() {}');
    await expectTinyError(removeWorkspace({ dir: project, purge: true }), 'INVALID_PATH');
    expect(existsSync(join(project, 'main.rs'))).toBe(true);

    expect(await removeWorkspace({ dir, purge: true })).toBe(true);
    expect(existsSync(dir)).toBe(false);
    expect(await removeWorkspace({ dir, purge: true })).toBe(false);
  });
});
