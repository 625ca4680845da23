import { describe, expect, it } from 'vitest';
import { autoMergeRefusalOf, checkResultText } from '../src/check-text.ts';
import type { TaskCheckResult, TaskGit } from '../src/contract/git-tasks.ts';

const base: TaskCheckResult = { name: 'lint', argv: ['pnpm', 'lint'], exitCode: 0, signal: null, timedOut: false, ok: true, durationMs: 1200, log: '', omittedBytes: 0 };

describe('checkResultText', () => {
  it('says how a check ended: passed, an exit code, a timeout, no start, a signal', () => {
    expect(checkResultText(base)).toBe('passed');
    expect(checkResultText({ ...base, ok: false, exitCode: 2 })).toBe('exit 2');
    expect(checkResultText({ ...base, ok: false, exitCode: null, timedOut: true, timeoutMs: 30_000, durationMs: 30_050 })).toBe('timed out after 30 s');
    expect(checkResultText({ ...base, ok: false, exitCode: null, spawnError: 'ENOENT' })).toBe('could not start (ENOENT)');
    expect(checkResultText({ ...base, ok: false, exitCode: null, signal: 'SIGKILL' })).toBe('ended by SIGKILL');
  });
});

describe('autoMergeRefusalOf', () => {
  it('is the recorded refusal while the task waits in Review unmerged, nothing otherwise', () => {
    const refused = { code: 'INVALID_STATE', message: 'in the way', at: 1, attempts: 1, retryAt: 2, tip: null, base: null };
    const git: TaskGit = { state: 'ready', branch: 'b', worktreePath: null, headSha: null, error: null, updatedAt: 1, autoMergeRefused: refused };
    expect(autoMergeRefusalOf({ status: 'review', git })).toEqual(refused);
    expect(autoMergeRefusalOf({ status: 'in_progress', git })).toBeUndefined();
    expect(autoMergeRefusalOf({ status: 'review', git: { ...git, merge: { method: 'merge', branch: 'b', baseRef: 'main', tip: 'a', commit: 'a', mergedAt: 1 } } })).toBeUndefined();
    expect(autoMergeRefusalOf({ status: 'review', git: null })).toBeUndefined();
  });
});
