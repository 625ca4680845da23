/**
 * What the git-task route files share: a harness whose agents (`coder`, `reviewer`) are
 * test-kit's fake claude, so a task's run really runs a CLI process in the task's worktree; one
 * harness per test, closed after it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { fakeCli, tempDir } from '@tinyagi/test-kit';
import { baseSettings, type HarnessOptions, type ServerHarness, startHarness } from './harness.ts';

/** `fakeLog`: a file each run of the fake claude appends `{cwd, prompt, env}` to (as one JSON line); `log`: where the daemon's warnings go. */
export async function startCoderHarness(options: { fakeLog?: string; log?: HarnessOptions['log'] } = {}): Promise<ServerHarness> {
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic' }, reviewer: { name: 'Reviewer', provider: 'anthropic' } } });
  const env: Record<string, string> = options.fakeLog === undefined ? {} : { FAKE_LOG: options.fakeLog };
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, ...env } });
  const harness = await startHarness({ settings, invoke, ...(options.log ? { log: options.log } : {}) });
  // Closed by the test that started it (a hook registered here, not at module level: test files share one module cache).
  onTestFinished(() => harness.close());
  return harness;
}

/**
 * The agent as a script: its task's title ends with `FAKE:bash=sh <agent.sh> #`, so each of its
 * runs (the dispatch, each feedback message: both carry the title) runs the next step in its
 * working directory (the worktree), then says done through its own `update_task` route with its
 * run-scoped token (to the node that ran it), as the MCP tool does. `#` makes the rest of the
 * message's first line a comment. The harness runs in the test's process, so its agents have the
 * machine's HOME and proxy variables: curl reads neither a `.curlrc` (`-q`) nor a proxy for it.
 */
export function scriptedAgent(steps: string[]): { title: (text: string) => string; stepsRun: () => number } {
  const dir = tempDir('tinyagi-git-agent-');
  for (const [i, step] of steps.entries()) writeFileSync(join(dir, `step-${i}.sh`), `set -e\n${step}\n`);
  const agent = join(dir, 'agent.sh');
  writeFileSync(
    agent,
    [
      `n=$(cat "${dir}/count" 2>/dev/null || echo 0); echo $((n+1)) > "${dir}/count"`,
      `sh "${dir}/step-$n.sh" > "${dir}/step-$n.out" 2>&1 || echo "step $n failed: $?" >> "${dir}/step-$n.out"`,
      `curl -q -sS --noproxy "*" -X PATCH -H "authorization: Bearer $TINYAGI_RUN_TOKEN" -H 'content-type: application/json' -d '{"status":"review"}' "$TINYAGI_API_URL/api/runs/$TINYAGI_RUN_ID/task" > "${dir}/done-$n.json"`,
      '',
    ].join('\n'),
  );
  return {
    title: (text) => `${text} FAKE:bash=sh ${agent} #`,
    stepsRun: () => (existsSync(join(dir, 'count')) ? Number(readFileSync(join(dir, 'count'), 'utf8').trim()) : 0),
  };
}

/** The prompts the fake claude received, in order (each run appends `{cwd, prompt, env}` to `FAKE_LOG` as one JSON line). */
export function prompts(logFile: string): string[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { prompt: string }).prompt);
}
