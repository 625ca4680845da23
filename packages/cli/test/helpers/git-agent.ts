/**
 * What the git-task e2e files share: a built daemon whose agent `coder` is test-kit's fake claude
 * (a task titled `… FAKE:bash=sh <script> #` runs the script in its working directory, the task's
 * worktree), and the agent's "done" as the MCP tool says it: its own update_task route, with the
 * run-scoped token the daemon gave the run.
 */
import { join } from 'node:path';
import { createDaemon, FAKE_BIN_DIR, type TestDaemon } from '@tinyagi/test-kit';

export function createCoderDaemon(prefix: string): Promise<TestDaemon> {
  return createDaemon({
    prefix,
    // The fake claude, then git, sh and curl for its scripts.
    path: [FAKE_BIN_DIR, '/usr/bin', '/bin'],
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'anthropic' },
      agents: { coder: { name: 'Coder', provider: 'anthropic' } },
    }),
  });
}

/**
 * The shell line of the agent saying the task is done. With `answer`, the route's answer is
 * renamed into that file once complete (the shell creates a redirect's file before curl has the
 * answer, so a test never reads a half-written one).
 */
export function sayDoneLine(answer?: string): string {
  const call = `curl -q -sS --noproxy "*" -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"review"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task"`;
  return answer === undefined ? `${call} > /dev/null` : `${call} > "${answer}.tmp" && mv "${answer}.tmp" "${answer}"`;
}
