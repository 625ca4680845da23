import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatMemoryIndex, parseFrontMatter, readMemoryIndex } from '../src/workspace/index.ts';

const roots: string[] = [];
function workspaceWithMemory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tinyagi-mem-'));
  roots.push(dir);
  mkdirSync(join(dir, 'memory'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, 'memory', path)), { recursive: true });
    writeFileSync(join(dir, 'memory', path), text);
  }
  return dir;
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('parseFrontMatter', () => {
  it('reads key: value lines between fences', () => {
    expect(parseFrontMatter('---\nname: "Website"\nSummary:  stack: next + tailwind \n---\n# body\nname: not this')).toEqual({
      name: 'Website',
      summary: 'stack: next + tailwind',
    });
    expect(parseFrontMatter('\uFEFF---\r\nname: Windows\r\n...\r\n')).toEqual({ name: 'Windows' });
  });

  it('returns undefined without a complete front matter block', () => {
    expect(parseFrontMatter('# Just notes\nname: x')).toBeUndefined();
    expect(parseFrontMatter('---\nname: never closed\n')).toBeUndefined();
    expect(parseFrontMatter('')).toBeUndefined();
  });
});

describe('readMemoryIndex', () => {
  it('indexes front matter files sorted by path and skips the rest', async () => {
    const dir = workspaceWithMemory({
      'projects/website.md': '---\nname: Website\nsummary: Stack and hosting\n---\nDetails',
      'people.md': "---\nname: 'People'\nsummary: Who is who\n---\n",
      'untitled.md': '---\nsummary: No name given\n---\n',
      'plain.md': 'no front matter here',
      'notes.txt': '---\nname: Not markdown\n---\n',
      '.hidden.md': '---\nname: Hidden\n---\n',
      '.private/secret.md': '---\nname: Secret\n---\n',
    });
    symlinkSync('/etc', join(dir, 'memory', 'etc-link'));

    const entries = await readMemoryIndex(dir);

    expect(entries).toEqual([
      { path: 'people.md', name: 'People', summary: 'Who is who' },
      { path: 'projects/website.md', name: 'Website', summary: 'Stack and hosting' },
      { path: 'untitled.md', name: 'untitled', summary: 'No name given' },
    ]);
  });

  it('stops at the file count and folder depth bounds, keeping shallow files first', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 5; i++) files[`top-${i}.md`] = `---\nname: Top ${i}\n---\n`;
    files['a/b/c/d/depth4.md'] = '---\nname: Depth 4\n---\n';
    files['a/b/c/d/e/depth5.md'] = '---\nname: Depth 5\n---\n';
    const dir = workspaceWithMemory(files);

    const deep = await readMemoryIndex(dir, { maxFiles: 200, maxDepth: 4 });
    expect(deep.map((entry) => entry.path)).toContain('a/b/c/d/depth4.md');
    expect(deep.map((entry) => entry.path)).not.toContain('a/b/c/d/e/depth5.md');

    const capped = await readMemoryIndex(dir, { maxFiles: 3, maxDepth: 4 });
    expect(capped.map((entry) => entry.path)).toEqual(['top-0.md', 'top-1.md', 'top-2.md']);
  });

  it('applies the default bound of 200 files', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 205; i++) files[`n${String(i).padStart(3, '0')}.md`] = `---\nname: N${i}\n---\n`;
    const entries = await readMemoryIndex(workspaceWithMemory(files));
    expect(entries).toHaveLength(200);
    expect(entries.at(-1)?.path).toBe('n199.md');
  });

  it('keeps long or multi-line fields to one bounded line', async () => {
    const dir = workspaceWithMemory({ 'long.md': `---\nname: Long\nsummary: ${'word '.repeat(200)}\n---\n` });
    const [entry] = await readMemoryIndex(dir);
    expect(entry?.summary.length).toBeLessThanOrEqual(300);
    expect(entry?.summary.endsWith('…')).toBe(true);
  });

  it('returns nothing when memory/ does not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyagi-mem-'));
    roots.push(dir);
    expect(await readMemoryIndex(dir)).toEqual([]);
  });
});

describe('formatMemoryIndex', () => {
  it('lists name, path and summary, or says there is nothing yet', () => {
    expect(
      formatMemoryIndex([
        { path: 'people.md', name: 'People', summary: 'Who is who' },
        { path: 'projects/x.md', name: 'X', summary: '' },
      ]),
    ).toMatchInlineSnapshot(`
      "- People (memory/people.md): Who is who
      - X (memory/projects/x.md)"
    `);
    expect(formatMemoryIndex([])).toMatch(/^No memories yet/);
  });
});
