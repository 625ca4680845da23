import { describe, expect, it } from 'vitest';
import { checkResultText } from '../src/check-text.ts';
import type { TaskCheckResult } from '../src/contract/git-tasks.ts';

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
