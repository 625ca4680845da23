/**
 * What the git-task route files share: a harness whose agents (`coder`, `reviewer`) are
 * test-kit's fake claude, so a task's run really runs a CLI process in the task's worktree; one
 * harness per test, closed after it.
 */
import { onTestFinished } from 'vitest';
import { invokeAgent, type InvokeRequest, type Settings } from '@tinyagi/core';
import { fakeCli } from '@tinyagi/test-kit';
import { baseSettings, type ServerHarness, startHarness } from './harness.ts';

export async function startCoderHarness(): Promise<ServerHarness> {
  const settings = (home: string): Settings => ({ ...baseSettings(home), agents: { coder: { name: 'Coder', provider: 'anthropic' }, reviewer: { name: 'Reviewer', provider: 'anthropic' } } });
  const invoke = (req: InvokeRequest) => invokeAgent({ ...req, target: { ...req.target, command: fakeCli('claude') } });
  const harness = await startHarness({ settings, invoke });
  // Closed by the test that started it (a hook registered here, not at module level: test files share one module cache).
  onTestFinished(() => harness.close());
  return harness;
}
