/**
 * What the git-task route files share: a harness whose agents (`coder`, `reviewer`) are
 * test-kit's fake claude, so a task's run really runs a CLI process in the task's worktree; one
 * harness per test, closed after it.
 */
import { onTestFinished } from 'vitest';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { fakeCli } from '@tinyagi/test-kit';
import { baseSettings, type ServerHarness, startHarness } from './harness.ts';

/** `fakeLog`: a file each run of the fake claude appends `{cwd, prompt, env}` to (as one JSON line). */
export async function startCoderHarness(options: { fakeLog?: string } = {}): Promise<ServerHarness> {
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic' }, reviewer: { name: 'Reviewer', provider: 'anthropic' } } });
  const env: Record<string, string> = options.fakeLog === undefined ? {} : { FAKE_LOG: options.fakeLog };
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') }, env: { ...req.env, ...env } });
  const harness = await startHarness({ settings, invoke });
  // Closed by the test that started it (a hook registered here, not at module level: test files share one module cache).
  onTestFinished(() => harness.close());
  return harness;
}
