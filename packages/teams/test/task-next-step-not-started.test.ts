/**
 * nextStep for a task whose Checking waits for a person (docs/git-tasks.md): after the rounds ran
 * out a `task_rounds` request is owed; when a check could not start (its environment) the task
 * waits for a person to fix it and check again, with no request.
 */
import type { ProjectRepo, TaskCheck } from '@tinyagi/client/contract';
import type { TaskRecord } from '@tinyagi/core/internal';
import { CHECK_NOT_STARTED } from '@tinyagi/git-tasks';
import { describe, expect, it } from 'vitest';
import { nextStep } from '../src/tasks/next-step.ts';

const repo = { path: '/repo', baseRef: 'main', branchTemplate: 'tinyagi/{identifier}', files: [], checks: [], keepAbandonedDays: 14, checkout: 'auto', maxRounds: 5 } as ProjectRepo;
const check = (error: TaskCheck['error']): TaskCheck => ({
  state: 'needs_person',
  headSha: null,
  startedAt: 1,
  finishedAt: 2,
  commits: 1,
  uncommitted: [],
  pushed: null,
  checks: [],
  missing: [],
  error,
});
const task = (c: TaskCheck) =>
  ({
    id: 't',
    status: 'checking',
    assigneeAgent: 'dev',
    assigneeTeam: null,
    conversationId: 'c',
    git: { state: 'ready', branch: 'b', worktreePath: '/w', headSha: null, error: null, updatedAt: 1, check: c },
  }) as unknown as TaskRecord;

describe('nextStep of a Checking that waits for a person', () => {
  it('asks for rounds after the last round, and only waits when a check could not start', () => {
    expect(nextStep(task(check(null)), repo)).toEqual({ step: 'ask-rounds' });
    const waiting = nextStep(task(check({ code: CHECK_NOT_STARTED, message: 'The check "test" could not start (exit 127: command not found).' })), repo);
    expect(waiting).toMatchObject({ step: 'wait' });
    expect(waiting.step === 'wait' && waiting.for).toContain('could not start');
  });
});
