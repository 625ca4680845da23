/**
 * Review comments follow the code (docs/git-tasks.md, "comments follow the code"): a line followed
 * across a zero-context diff's hunks (pure), then across real commits: shifted, outdated, a renamed
 * file, a deleted one, a binary one, an `old` side, a commit git cannot read. A real repository in a
 * temp folder, nothing of ours mocked.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReviewAnchor } from '@tinyagi/client/contract';
import { reviewPlaceText } from '@tinyagi/client/contract';
import { cleanupTemp } from '@tinyagi/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { followComments, followLine, zeroContextHunks } from '../src/review-position.ts';
import { commitFile, gitFixture, sh } from './fixture.ts';

afterEach(cleanupTemp);

const lines = (n: number, tag = 'line'): string => Array.from({ length: n }, (_, i) => `${tag} ${i + 1}\n`).join('');

describe('followLine', () => {
  it('keeps a line before a hunk, shifts one after it, and marks one inside it outdated', () => {
    const hunks = zeroContextHunks(['diff --git a/f b/f', '--- a/f', '+++ b/f', '@@ -2,0 +3,2 @@ x', '+a', '+b', '@@ -5 +7 @@', '-five', '+FIVE', '@@ -8,2 +9,0 @@', '-eight', '-nine', ''].join('\n'));
    expect(hunks).toEqual([
      { oldStart: 2, oldCount: 0, newStart: 3, newCount: 2 },
      { oldStart: 5, oldCount: 1, newStart: 7, newCount: 1 },
      { oldStart: 8, oldCount: 2, newStart: 9, newCount: 0 },
    ]);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((l) => followLine(hunks, l))).toEqual([1, 2, 5, 6, null, 8, 9, null, null, 10, 11]);
    expect(followLine([], 4)).toBe(4);
    // An insertion at the top of the file (after line 0) moves every line.
    expect(followLine([{ oldStart: 0, oldCount: 0, newStart: 1, newCount: 3 }], 1)).toBe(4);
  });
});

describe('followComments', () => {
  it('follows each comment from its commit to the tip with git’s diff, the stored anchor untouched', async () => {
    const fx = gitFixture();
    const repo = fx.repoDir;
    commitFile(repo, 'a.txt', lines(10));
    commitFile(repo, 'moved.txt', lines(20, 'moved'));
    commitFile(repo, 'gone.txt', lines(3));
    writeFileSync(join(repo, 'logo.bin'), Buffer.from([0, 1, 2, 0]));
    sh(repo, 'add', 'logo.bin');
    sh(repo, 'commit', '--quiet', '-m', 'binary');
    const written = sh(repo, 'rev-parse', 'HEAD');
    // The agent's next commit: two lines on top of a.txt, line 5 changed; moved.txt renamed and a line added on top; gone.txt deleted; the binary changed.
    writeFileSync(join(repo, 'a.txt'), `new 1\nnew 2\n${lines(10).replace('line 5\n', 'LINE 5\n')}`);
    sh(repo, 'mv', 'moved.txt', 'renamed.txt');
    writeFileSync(join(repo, 'renamed.txt'), `top\n${lines(20, 'moved')}`);
    sh(repo, 'rm', '--quiet', 'gone.txt');
    writeFileSync(join(repo, 'logo.bin'), Buffer.from([0, 9, 9, 0]));
    sh(repo, 'add', '-A');
    sh(repo, 'commit', '--quiet', '-m', 'next');
    const tip = sh(repo, 'rev-parse', 'HEAD');

    const at = (path: string, line: number, side: ReviewAnchor['side'] = 'new', commitSha: string | null = written) => ({ id: line, anchor: { path, line, side, commitSha } });
    const comments: Array<{ id: number; anchor: ReviewAnchor | null }> = [
      at('a.txt', 3),
      at('a.txt', 5),
      at('moved.txt', 10),
      at('gone.txt', 1),
      at('logo.bin', 1),
      at('a.txt', 7, 'old'),
      at('a.txt', 4, 'new', tip),
      at('a.txt', 4, 'new', 'f'.repeat(40)),
      { id: 0, anchor: null },
    ];
    const followed = await followComments(repo, tip, comments);
    expect(followed.map((c) => c.anchor?.current ?? null)).toEqual([
      { path: 'a.txt', line: 5, commitSha: tip },
      { path: 'a.txt', line: null, commitSha: tip },
      { path: 'renamed.txt', line: 11, commitSha: tip },
      { path: 'gone.txt', line: null, commitSha: tip },
      { path: 'logo.bin', line: null, commitSha: tip },
      { path: 'a.txt', line: 7, commitSha: tip },
      { path: 'a.txt', line: 4, commitSha: tip },
      { path: 'a.txt', line: null, commitSha: tip },
      null,
    ]);
    // Stored as written; the copy says where it is now.
    expect(comments[0]!.anchor).toEqual({ path: 'a.txt', line: 3, side: 'new', commitSha: written });
    expect(followed.slice(0, 3).map((c) => reviewPlaceText(c.anchor!))).toEqual([
      'a.txt:5 (written on line 3)',
      'a.txt:5 (outdated: the line changed since)',
      'renamed.txt:11 (written on moved.txt:10)',
    ]);
  });
});
