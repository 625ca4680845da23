/**
 * TinyAGI's own sub-agent call needs no person, from each real CLI (issue 48 §2): an agent made
 * exactly as `tinyagi agent add` makes it (the daemon's own command, so the starter rules and
 * `permission_mode: "ask"` it gives a CLI that can ask the way it runs, warm by default) runs `tinyagi call beta "…"` through its shell tool (the documented
 * protocol); the call runs without an approval request (none is made at all, so nothing waits for
 * a person), the callee runs as a child of the calling run and its reply is the command's output.
 * The caller's recorded usage is what the stand-in served for its own model calls (issue 48 §2
 * saw one Claude Code call recorded twice; the cached parts are Anthropic's).
 *
 * The desk's side (which lines are TinyAGI's own call) is proven in
 * packages/teams/test/approval-own-protocol.test.ts; this file is the real CLIs' side: what each
 * one asks about, and in what shape, as it reaches the desk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STARTER_PERMISSION_RULES } from '@tinyagi/core/internal';
import { cleanupTemp, occurrences, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, isTitleCall, startRig, tokensOf, type CliName, type Rig } from './harness.ts';
import { describeOutcome, turnsOf } from './suite.ts';

for (const name of ['claude', 'codex', 'opencode'] as CliName[]) {
  describe(name, () => {
    let rig: Rig;

    beforeAll(async () => {
      rig = await startRig(CLI_CASES[name]);
    }, 120_000);

    afterAll(async () => {
      await rig?.cleanup();
      cleanupTemp();
    });

    it(`a new ${name} agent's \`tinyagi call\` through its shell runs without asking a person, and the callee's reply comes back`, async () => {
      // Sandboxed, it may call only its teammates and sandboxed agents unless it lists others: beta is neither.
      const added = JSON.parse(await rig.daemon.cliOk(['agent', 'add', 'caller', '--provider', 'custom:standin', '--config', '{"may_call":["beta"]}', '--json'])) as Record<string, unknown>;
      expect(added, 'agent add gave it the defaults of a CLI that stays warm and can ask').toMatchObject({ process: 'warm', permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES } });
      const parent = `OWN-CALL-${name}`;
      const child = `OWN-CHILD-${name}`;
      // The issue's figures on Anthropic's API (cache reads and writes beside the input); plain ones on the others.
      const [first, second] =
        name === 'claude'
          ? [
              { inputTokens: 17, cacheWriteTokens: 8000, cacheReadTokens: 752, outputTokens: 33 },
              { inputTokens: 34, cacheReadTokens: 8752, outputTokens: 21 },
            ]
          : [
              { inputTokens: 8769, outputTokens: 33 },
              { inputTokens: 8786, outputTokens: 21 },
            ];
      rig.rule(parent, (request) => {
        const out = toolOutput(request);
        if (out === undefined) return { shell: `tinyagi call beta "${child} what is the code?"`, usage: first };
        return { reply: `The sub-agent said: ${out}`, usage: second };
      });
      rig.rule(child, () => ({ reply: 'The own code is 5309.' }));

      // A request that did reach the desk is denied at once (recorded here), so a failure says so instead of waiting.
      const asked: string[] = [];
      const o = await rig.send({
        agent: 'caller',
        senderId: `own-call-${name}`,
        message: `${parent} ask beta for the code`,
        timeoutMs: 120_000,
        whileRunning: async (messageId) => {
          await waitFor(
            async () => {
              for (const request of await rig.daemon.api.listApprovals({ query: { status: 'pending', agent: 'caller' } })) {
                asked.push(`${request.tool}: ${request.summary}`);
                await rig.daemon.api.decideApproval({ params: { id: request.id }, body: { decision: 'deny', reason: 'asked a person', by: 'own-call test' } }).catch(() => undefined);
              }
              return (await rig.daemon.api.getMessage({ params: { id: messageId } })).message.status !== 'processing' || undefined;
            },
            120_000,
            'the message to be processed',
            50,
          );
        },
      });
      expect(asked, `the own call asked a person\n${describeOutcome(o)}`).toEqual([]);
      expect(await rig.daemon.api.listApprovals({ query: { conversationId: o.tree.conversation.id } }), 'no approval request at all').toEqual([]);

      const caller = o.runs[0]!;
      expect(caller.status, describeOutcome(o)).toBe('completed');
      const callee = o.runs.find((r) => r.agentId === 'beta');
      expect(callee?.status, `the callee ran\n${describeOutcome(o)}`).toBe('completed');
      expect(callee?.parentRunId, 'the callee is a child of the calling run').toBe(caller.runId);
      const shellOutput = turnsOf(o.calls)
        .map((c) => toolOutput(c.request))
        .filter((t) => t !== undefined)
        .join('\n');
      expect(shellOutput, "the callee's reply is the command's output").toContain('The own code is 5309.');
      expect(o.replies.join('\n')).toContain('The sub-agent said:');
      expect(o.replies.join('\n')).toContain('The own code is 5309.');

      // The caller's usage: what the stand-in served for its calls (those carrying its message, a title call among them), once each.
      const mine = o.calls.filter((c) => occurrences(c.request, `${parent} ask beta`) > 0);
      expect(turnsOf(mine).length, 'the caller asked the model twice (the call, then the answer)').toBe(2);
      const served = mine.reduce(
        (sum, c) => {
          const t = tokensOf(CLI_CASES[name].api, c.served);
          return { input: sum.input + t.input, output: sum.output + t.output };
        },
        { input: 0, output: 0 },
      );
      const label = `the caller's recorded usage (served: ${mine.map((c) => `${isTitleCall(c.request) ? 'title ' : ''}${JSON.stringify(c.served)}`).join(', ')})`;
      expect({ input: caller.inputTokens, output: caller.outputTokens }, label).toEqual(served);
    }, 180_000);
  });
}
