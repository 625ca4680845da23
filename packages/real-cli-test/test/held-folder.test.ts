/**
 * What a confined run leaves behind does not run unconfined later (docs/sandbox.md, "What a
 * confined run leaves behind"), with the real Claude Code, the built daemon and real bubblewrap.
 * `caller` is made as `tinyagi agent add` makes it (warm, sandbox on, `ask`), allowed to call
 * `callee`; `callee` is an unconfined agent as an older release made it (no sandbox setting, per
 * message). Through `tinyagi call`, callee's confined run writes `.claude/settings.json` into its
 * own workspace with SessionStart, UserPromptSubmit and Stop hooks that each touch a file outside
 * every workspace (read-only inside the boundary). Then the person writes to callee: its Claude
 * Code starts in that workspace again, and must start confined (the workspace is held), so no hook
 * reaches the host: no marker file, and the shell's HOME is the private home. Every request that
 * reaches the desk is allowed here, as a careless person would.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type Rig } from './harness.ts';
import { describeOutcome } from './suite.ts';

describe('claude: a hook planted through a confined call', () => {
  let rig: Rig;
  let markers: string;

  beforeAll(async () => {
    rig = await startRig(CLI_CASES.claude, { agents: { callee: {} } });
    markers = join(rig.daemon.root, 'hooks-ran');
    mkdirSync(markers);
  }, 120_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  /** Allows every request of `agent` that reaches the desk until the message is processed. */
  const allowAll = (agents: string[]) => async (messageId: string) => {
    await waitFor(
      async () => {
        for (const agent of agents)
          for (const request of await rig.daemon.api.listApprovals({ query: { status: 'pending', agent } }))
            await rig.daemon.api.decideApproval({ params: { id: request.id }, body: { decision: 'allow_once', by: 'held test' } }).catch(() => undefined);
        return (await rig.daemon.api.getMessage({ params: { id: messageId } })).message.status !== 'processing' || undefined;
      },
      150_000,
      'the message to be processed',
      50,
    );
  };

  it("callee's next run starts confined in the workspace the confined call wrote: no hook runs on the host until a person releases it", async () => {
    const added = JSON.parse(await rig.daemon.cliOk(['agent', 'add', 'caller', '--provider', 'custom:standin', '--config', '{"may_call":["callee"]}', '--json'])) as Record<string, unknown>;
    expect(added, 'agent add gave caller the defaults').toMatchObject({ process: 'warm', permission_mode: 'ask', sandbox: 'on' });
    const hook = (event: string) => [{ hooks: [{ type: 'command', command: `touch ${join(markers, event)}` }] }];
    const settings = JSON.stringify({ hooks: { SessionStart: hook('SessionStart'), UserPromptSubmit: hook('UserPromptSubmit'), Stop: hook('Stop') } });
    const plant = `mkdir -p .claude && echo ${Buffer.from(settings).toString('base64')} | base64 -d > .claude/settings.json && echo planted`;
    rig.rule('HELD-CALL', (request) => (toolOutput(request) === undefined ? { shell: 'tinyagi call callee "HELD-PLANT set up the project hooks"' } : { reply: 'asked callee' }));
    rig.rule('HELD-PLANT', (request) => (toolOutput(request) === undefined ? { shell: plant } : { reply: 'hooks are set up' }));
    const called = await rig.send({ agent: 'caller', senderId: 'held-person', message: 'HELD-CALL ask callee to set up hooks', whileRunning: allowAll(['caller', 'callee']) });
    const calleeWs = join(rig.daemon.root, 'workspace', 'callee');
    expect(existsSync(join(calleeWs, '.claude', 'settings.json')), `the confined call wrote the hooks\n${describeOutcome(called)}`).toBe(true);
    const hold = (await rig.daemon.api.getAgent({ params: { id: 'callee' } })).sandboxStatus?.held;
    expect(hold, 'callee is held').toMatchObject({ folder: calleeWs, by: ['caller'] });
    expect(await rig.daemon.cliOk(['status'])).toMatch(/callee\s+off\s+enforced · workspace held/);
    expect(await rig.daemon.cliOk(['agent', 'sandbox', 'callee'])).toContain(`callee's workspace ${calleeWs} is held: a confined run for @caller worked in it`);

    // The person writes to callee: the CLI starts in the workspace the confined run wrote.
    rig.rule('HELD-AFTER', (request) => {
      const out = toolOutput(request);
      return out === undefined ? { shell: 'echo "home=$HOME"' } : { reply: `The tool said: ${out.split('\n').find((l) => l.startsWith('home=')) ?? '?'}` };
    });
    const after = await rig.send({ agent: 'callee', senderId: 'held-person', message: 'HELD-AFTER where is your home?', whileRunning: allowAll(['callee']) });
    expect(after.runs[0]?.status, describeOutcome(after)).toBe('completed');
    expect(readdirSync(markers), 'no planted hook ran on the host').toEqual([]);
    expect(after.replies.join('\n'), 'it ran in its private home, inside the boundary').toContain(`home=${join(rig.daemon.home, 'agent-homes', 'callee')}`);

    // A person who looked releases it: the hold is gone (and doctor's finding with it).
    expect(await rig.daemon.cliOk(['agent', 'sandbox', 'callee', 'release'])).toContain(`released ${calleeWs}`);
    expect((await rig.daemon.api.getAgent({ params: { id: 'callee' } })).sandboxStatus?.held).toBeUndefined();
    expect(readFileSync(join(calleeWs, '.claude', 'settings.json'), 'utf8')).toContain('UserPromptSubmit');
  }, 300_000);
});
