/**
 * The real CLIs inside the boundary (issue 50, docs/sandbox.md): Claude Code, Codex and OpenCode,
 * each on a daemon of its own, against the stand-in model API through the daemon's model proxy
 * (the stand-in is on the host's loopback; inside, the CLI reaches the proxy's socket through
 * sandbox-init's bridge). Per CLI an agent with `sandbox: "required"` and no egress list, run per
 * message; for Codex also one as `tinyagi agent add` makes it (warm, `permission_mode: "ask"`:
 * Codex's own sandbox is off inside ours, its approvals still reach the desk). One turn each: a
 * shell call edits the workspace, prints the environment, reads the API token, `~/.ssh/id_*` (the
 * private home's and the user's) and another agent's workspace, and `curl`s a host off the list.
 * Then:
 * - the edit reached the workspace, HOME is the private home, and neither the provider's key nor
 *   the token nor any of the files reached the model (the calls carried the key: the proxy put it in);
 * - the connection became an `egress` approval request on the run (denied here through the API),
 *   the command saw the egress proxy's refusal, and nothing reached the host;
 * - what the proxy metered on the run equals what the stand-in served.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '@tinyagi/client';
import { cleanupTemp, toolOutput, waitFor, type ModelUsage } from '@tinyagi/test-kit';
import { CLI_CASES, PROVIDER_KEY, startRig, tokensOf, type CliName, type Rig } from './harness.ts';
import { describeOutcome, turnsOf } from './suite.ts';

const FIRST: ModelUsage = { inputTokens: 2100, outputTokens: 31, cacheReadTokens: 400, cacheWriteTokens: 250 };
const SECOND: ModelUsage = { inputTokens: 2300, outputTokens: 12, cacheReadTokens: 700 };

interface Boxed {
  agent: string;
  label: string;
  settings: Record<string, unknown>;
  /** Whether the CLI asks before the command (its approvals, answered allow once here). */
  asks: boolean;
}

const PER_MESSAGE: Boxed = { agent: 'boxed', label: 'per message', settings: { sandbox: 'required' }, asks: false };
const WARM_ASK: Boxed = { agent: 'boxed-ask', label: 'warm, asking', settings: { sandbox: 'required', process: 'warm', permission_mode: 'ask' }, asks: true };

/** Codex's warm "ask" is its `untrusted` policy, whose sandbox ours switches off: proven here; OpenCode's and Claude Code's asking agents run `tinyagi call` inside in own-call.test.ts. */
const AGENTS: Record<CliName, Boxed[]> = { claude: [PER_MESSAGE], codex: [PER_MESSAGE, WARM_ASK], opencode: [PER_MESSAGE] };

for (const name of ['claude', 'codex', 'opencode'] as CliName[]) {
  describe(`${name} inside the boundary`, () => {
    const sshSecret = `ssh-private-key-real-${name}-5e1f`;
    const otherSecret = `alpha-notes-real-${name}-0b7d`;
    let rig: Rig;
    // A host off the list (127.0.0.2 is not in NO_PROXY): it records whatever reaches it.
    const reached: string[] = [];
    const offList = createServer((socket) => {
      reached.push(String(socket.remoteAddress));
      socket.destroy();
    });

    beforeAll(async () => {
      await new Promise<void>((resolve) => offList.listen(0, '127.0.0.2', resolve));
      rig = await startRig(CLI_CASES[name], {
        agents: Object.fromEntries(AGENTS[name].map((b) => [b.agent, b.settings])),
        settings: { sandbox: { egress_defaults: [] } },
        prepareHome: (home) => {
          mkdirSync(join(home, '.ssh'), { recursive: true });
          writeFileSync(join(home, '.ssh', 'id_ed25519'), `${sshSecret}\n`, { mode: 0o600 });
        },
      });
      writeFileSync(join(rig.daemon.root, 'workspace', 'alpha', 'notes.txt'), `${otherSecret}\n`);
    }, 120_000);

    afterAll(async () => {
      await rig?.cleanup();
      await new Promise((resolve) => offList.close(resolve));
      cleanupTemp();
    });

    for (const boxed of AGENTS[name]) {
      const { agent } = boxed;
      it(`${name} (${boxed.label}): edits its workspace; the key, the token and the files never reach the model; an off-list host is an egress request; metered = served`, async () => {
        const status = (await rig.daemon.api.listAgents()).find((a) => a.id === agent)?.sandboxStatus;
        expect(status?.state, JSON.stringify(status)).toBe('enforced');
        const token = rig.daemon.token();
        const target = `127.0.0.2:${(offList.address() as AddressInfo).port}`;
        const marker = `SBX-${agent}`;
        const asked = [
          'echo edited-inside > proof.txt',
          'cat proof.txt',
          'env',
          `cat ${join(rig.daemon.home, 'api-token')}`,
          `cat ~/.ssh/id_* ${join(rig.daemon.root, '.ssh', 'id_ed25519')}`,
          `cat ${join(rig.daemon.root, 'workspace', 'alpha', 'notes.txt')}`,
          'echo "home=$HOME"',
          `curl -sS http://${target}/exfil`,
          'echo "curl exit $?"',
        ].join('; ');
        rig.rule(marker, (request) => {
          const out = toolOutput(request);
          if (out === undefined) return { shell: asked, usage: FIRST };
          // Without the home= line, the reply carries the whole output the model saw: a run in CI once replied "?" and nothing said why.
          return { reply: `The tool said: ${out.split('\n').find((l) => l.startsWith('home=')) ?? `? (no home= line in the tool output: ${JSON.stringify(out)})`}`, usage: SECOND };
        });
        const egress: Approval[] = [];
        const others: Approval[] = [];
        const o = await rig.send({
          agent,
          senderId: `sandbox-${agent}`,
          message: `${marker} write the proof file`,
          whileRunning: async (messageId) => {
            // Every connection the agent's processes try off the (empty) list is asked: deny each; allow the CLI's own asks.
            // (A request withdrawn meanwhile, its client gone, cannot be answered: that is no failure.)
            await waitFor(
              async () => {
                for (const request of await rig.daemon.api.listApprovals({ query: { status: 'pending', agent } })) {
                  const deny = request.tool === 'egress';
                  (deny ? egress : others).push(request);
                  const body = deny ? { decision: 'deny' as const, reason: 'not for this task', by: 'sandbox test' } : { decision: 'allow_once' as const, by: 'sandbox test' };
                  await rig.daemon.api.decideApproval({ params: { id: request.id }, body }).catch(() => undefined);
                }
                return (await rig.daemon.api.getMessage({ params: { id: messageId } })).message.status !== 'processing' || undefined;
              },
              120_000,
              'the message to be processed',
              50,
            );
          },
        });
        expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
        expect(readFileSync(join(rig.daemon.root, 'workspace', agent, 'proof.txt'), 'utf8')).toBe('edited-inside\n');
        expect(o.replies.join('\n')).toContain(`home=${join(rig.daemon.home, 'agent-homes', agent)}`);
        const turns = turnsOf(o.calls);
        const output = turns.map((c) => toolOutput(c.request)).find((t) => t !== undefined) ?? '';
        expect(output, 'the shell tool ran inside').toContain('edited-inside');
        expect(output, 'the environment was printed').toContain(`TINYAGI_AGENT_ID=${agent}`);
        // The CLI's own approvals: the command was asked about (and allowed) when the agent asks, nothing otherwise.
        const askedAbout = others.map((a) => `${a.tool}: ${a.summary}`);
        if (boxed.asks)
          expect(
            askedAbout.some((a) => a.includes('echo edited-inside')),
            `the command reached the desk: ${askedAbout.join('; ')}`,
          ).toBe(true);
        else expect(askedAbout).toEqual([]);
        // What reached the model: the tool's output and everything else the CLI sent, none of the secrets.
        const sent = JSON.stringify(turns.map((c) => c.request.entries));
        for (const secret of [PROVIDER_KEY, token, sshSecret, otherSecret]) expect(sent.includes(secret), `"${secret.slice(0, 12)}…" reached the model`).toBe(false);
        // The calls themselves carried the key: the model proxy put it in, the CLI never had it.
        for (const call of turns) expect(`${call.request.headers['x-api-key'] ?? ''} ${call.request.headers.authorization ?? ''}`).toContain(PROVIDER_KEY);

        // The off-list connection was an egress request on the run, denied: curl saw the proxy's refusal, the host saw nothing.
        const mine = egress.find((a) => a.summary.startsWith(`Connect to ${target}`));
        expect(mine, `an egress request for ${target} (asked: ${egress.map((a) => a.summary).join('; ') || 'none'})`).toMatchObject({
          agentId: agent,
          tool: 'egress',
          runId: o.runs[0]!.runId,
        });
        expect(output).toContain(`TinyAGI egress proxy: ${target} is not on @${agent}'s egress list (agents.${agent}.egress_allow); denied by sandbox test: not for this task.`);
        expect(reached, 'nothing reached the off-list host').toEqual([]);

        // Metered at the proxy = served by the stand-in (every call of the run, cache included). A request cut
        // before the stand-in had read it is a call with no tokens at the proxy and none at the stand-in (seen
        // once in ten OpenCode runs, at a load average of 40: three calls metered, two answered, the tokens equal).
        const api = CLI_CASES[name].api;
        const served = o.calls.map((c) => c.served);
        const sum = (pick: (u: ModelUsage) => number): number => served.reduce((n, u) => n + pick(u), 0);
        const { run } = await rig.daemon.api.getRun({ params: { id: o.runs[0]!.runId } });
        expect(run.metered?.calls, `metered calls\n${describeOutcome(o)}`).toBeGreaterThanOrEqual(o.calls.length);
        expect(run.metered, `metered on the run\n${describeOutcome(o)}`).toEqual({
          calls: run.metered?.calls,
          inputTokens: sum((u) => tokensOf(api, u).input),
          outputTokens: sum((u) => u.outputTokens),
          cacheReadTokens: sum((u) => u.cacheReadTokens ?? 0),
          cacheWriteTokens: api === 'anthropic' ? sum((u) => u.cacheWriteTokens ?? 0) : 0,
          // Its price: model-proxy.test.ts.
          costUsd: run.metered?.costUsd,
        });
      });
    }
  });
}
