/**
 * What a Claude Code run records is what the model served (issue 48 §2), also for a run that ends
 * before its result: per message, cancelled while its second model call is under way. Claude Code
 * prints one `assistant` event per content block with the usage of the call's start (its output
 * tokens are 1 there), and nothing at all on SIGTERM; on SIGINT it ends the turn and prints its
 * result (`error_during_execution`) with the calls' real usage and cost. The served figures are
 * the issue's (its 17,555 recorded input tokens were this run's two calls, 8,769 + 8,786, not one
 * call twice).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, priceOf, startRig, tokensOf, type Rig } from './harness.ts';
import { describeOutcome } from './suite.ts';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig(CLI_CASES.claude);
}, 120_000);

afterAll(async () => {
  await rig?.cleanup();
  cleanupTemp();
});

it('claude: a run cancelled during its second model call records the first call as served (tokens and cost), not the output of its first event', async () => {
  const first = { inputTokens: 17, cacheWriteTokens: 8000, cacheReadTokens: 752, outputTokens: 33 };
  rig.rule('USAGE-CUT-4f', (request) => (toolOutput(request) === undefined ? { shell: 'echo step-one', usage: first } : { hang: true }));
  const o = await rig.send({
    agent: 'alpha',
    senderId: 'usage-cut',
    message: 'USAGE-CUT-4f run the step',
    whileRunning: async (messageId) => {
      await waitFor(() => rig.model.calls.some((c) => 'hang' in c.action && toolOutput(c.request)?.includes('step-one')) || undefined, 120_000, 'the second call to hang');
      await rig.daemon.api.cancelMessage({ params: { id: messageId } });
    },
  });
  expect(o.runs[0]?.status, describeOutcome(o)).toBe('cancelled');
  // The failed attempt's spend is added to the run after the cancel ended it (its own transaction).
  const run = await waitFor(
    async () => (await rig.daemon.api.getConversation({ params: { id: o.tree.conversation.id } })).roots.find((r) => r.inputTokens > 0),
    30_000,
    "the cancelled attempt's spend to be recorded",
  );
  const served = tokensOf('anthropic', first);
  expect({ input: run.inputTokens, output: run.outputTokens }, 'the cancelled run records the finished call as served').toEqual({ input: served.input, output: served.output });
  expect(run.costUsd, 'and what it cost (Claude Code prices it)').toBeCloseTo(priceOf(first), 6);
});
