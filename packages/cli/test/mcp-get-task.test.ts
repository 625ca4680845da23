/**
 * What the agent's `get_task` tool shows of its task's comments (docs/mcp.md): a review comment
 * says first where it sits in the task's diff (`on: "login.ts:2"`, the base's line said so), a
 * plain comment is as the API gives it. Pure: the API's answer in, the tool's view out.
 */
import { expect, it } from 'vitest';
import type { RunTask } from '@tinyagi/client/contract';
import { taskForAgent } from '../src/mcp/server.ts';

it("get_task puts a review comment's file and line first, as path:line; a plain comment is unchanged", () => {
  const base = { taskId: 'task_1', createdAt: 1, sentRound: null };
  const found = {
    task: null,
    comments: [
      { ...base, id: 1, author: 'ann', content: 'Looks close.', anchor: null },
      { ...base, id: 2, author: 'user', content: 'Keep it false.', anchor: { path: 'login.ts', line: 2, side: 'new', commitSha: 'c'.repeat(40) }, sentRound: 1 },
      { ...base, id: 3, author: 'user', content: 'Why removed?', anchor: { path: 'gone.ts', line: 7, side: 'old', commitSha: null } },
    ],
  } satisfies RunTask;
  const view = taskForAgent(found);
  expect(view.comments.map((c) => c.on)).toEqual([undefined, 'login.ts:2', "gone.ts:7 (the base's line)"]);
  expect(Object.keys(view.comments[1]!)[0]).toBe('on');
  expect(view.comments[0]).toEqual(found.comments[0]);
  expect(JSON.stringify(view, null, 2)).toContain('"on": "login.ts:2"');
});
