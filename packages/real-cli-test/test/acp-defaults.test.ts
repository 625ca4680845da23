/**
 * The ACP recipes with the defaults `tinyagi agent add` writes (docs/sessions.md, "With `agent
 * add`'s defaults"): the real claude-agent-acp 0.101.0 and codex-acp 0.16.0, each added by the
 * documented `tinyagi agent add … --provider acp --config '…'` line read from the page
 * (acp-recipes.ts), so warm, asking with the starter rules and sandboxed (the boundary holds
 * here), against the stand-in model on the host's loopback. The one difference from a user's
 * machine: claude-agent-acp's env_passthrough also names ANTHROPIC_BASE_URL (the stand-in's URL);
 * codex-acp's provider is the user's own ~/.codex/config.toml, read outside the boundary.
 *
 * Per agent, the first message: a shell call prints HOME and the environment, the model answers.
 * - the run completes with the model's reply, the command ran inside (HOME is the private home);
 * - every model call reached the stand-in with the real key (the model proxy put it in), and the
 *   key is nowhere in what the agent's processes saw;
 * - nothing went to a vendor's host.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, waitFor } from '@tinyagi/test-kit';
import { acpRecipe, withPassthrough, type AcpRecipe } from './acp-recipes.ts';
import { CLI_CASES, PROVIDER_KEY, startRig, type CliCase, type Rig } from './harness.ts';
import { describeOutcome } from './suite.ts';

/** The rig's stand-in serves both APIs; a request of either provider's key elsewhere is a leak. */
const cli: CliCase = { ...CLI_CASES.claude, vendorHosts: ['api.anthropic.com', 'api.openai.com'] };

interface Case {
  recipe: AcpRecipe;
  /** Variables added to the recipe's env_passthrough (the stand-in's URL). */
  extra: string[];
  api: 'anthropic' | 'responses';
  /** The header the stand-in finds the key in. */
  keyOf: (headers: Record<string, string | string[] | undefined>) => string | undefined;
}

const bearer = (h: Record<string, string | string[] | undefined>): string | undefined => String(h.authorization ?? '').replace(/^Bearer /, '') || undefined;
const CASES: Case[] = [
  { recipe: acpRecipe('claude-agent-acp'), extra: ['ANTHROPIC_BASE_URL'], api: 'anthropic', keyOf: (h) => (h['x-api-key'] as string | undefined) ?? bearer(h) },
  { recipe: acpRecipe('codex-acp'), extra: [], api: 'responses', keyOf: bearer },
];

let rig: Rig;

describe("ACP recipes with agent add's defaults (warm, asking, sandboxed)", () => {
  beforeAll(async () => {
    rig = await startRig(cli, {
      daemonEnv: (url) => ({ ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: PROVIDER_KEY, OPENAI_API_KEY: PROVIDER_KEY }),
      // The Codex user's own provider, in the user's ~/.codex (HOME is the rig's root).
      prepareHome: (home, url) => {
        mkdirSync(join(home, '.codex'), { recursive: true });
        writeFileSync(
          join(home, '.codex', 'config.toml'),
          `model = "gpt-5.1"\nmodel_provider = "standin"\n\n[model_providers.standin]\nname = "Stand-in"\nbase_url = "${url}/v1"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n`,
        );
      },
    });
    for (const c of CASES) await rig.daemon.cliHereOk(withPassthrough(c.recipe, c.extra));
  }, 180_000);

  afterAll(async () => {
    await rig?.cleanup();
    cleanupTemp();
  });

  for (const c of CASES) {
    const id = c.recipe.id;
    it(`${c.recipe.config.acp.command} (${id}): the first message is answered inside the boundary, its key through the model proxy`, async () => {
      const agent = (await rig.daemon.api.listAgents()).find((a) => a.id === id);
      expect(agent?.sandboxStatus?.state, JSON.stringify(agent)).toBe('enforced');
      expect({ process: agent?.process, permissionMode: agent?.permission_mode }, 'agent add wrote the defaults').toEqual({ process: 'warm', permissionMode: 'ask' });

      const marker = `ACPDEF-${id}`;
      rig.rule(marker, (request) => {
        const out = toolOutput(request);
        if (out === undefined) return { shell: 'echo "home=$HOME"; env' };
        return { reply: `${marker} done: ${out.split('\n').find((l) => l.startsWith('home=')) ?? 'no home line'}` };
      });
      let output = '';
      const o = await rig.send({
        agent: id,
        senderId: 'first',
        message: `${marker} say where your home is`,
        // `env` is no starter command: a person allows it (an egress request would be denied).
        whileRunning: async (messageId) => {
          await waitFor(
            async () => {
              for (const a of await rig.daemon.api.listApprovals({ query: { status: 'pending', agent: id } })) {
                const body = a.tool === 'egress' ? { decision: 'deny' as const, reason: 'off the list', by: 'test' } : { decision: 'allow_once' as const, by: 'test' };
                await rig.daemon.api.decideApproval({ params: { id: a.id }, body }).catch(() => undefined);
              }
              return (await rig.daemon.api.getMessage({ params: { id: messageId } })).message.status !== 'processing' || undefined;
            },
            150_000,
            `the first message of ${id}`,
            50,
          );
        },
      });
      expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
      const home = join(rig.daemon.home, 'agent-homes', id);
      expect(o.replies.join('\n'), describeOutcome(o)).toContain(`${marker} done: home=${home}`);
      const calls = o.calls.filter((call) => call.request.api === c.api);
      expect(calls.length, describeOutcome(o)).toBeGreaterThan(0);
      for (const call of calls) expect(c.keyOf(call.request.headers), 'the proxy put the real key in').toBe(PROVIDER_KEY);
      output = calls.map((call) => toolOutput(call.request)).find((t) => t !== undefined) ?? '';
      expect(output, 'the command ran inside').toContain(`TINYAGI_AGENT_ID=${id}`);
      expect(output, "the key is not in the agent's environment").not.toContain(PROVIDER_KEY);
    }, 240_000);
  }

  it('no request went anywhere but the stand-in', () => {
    const refused = rig.proxy.refused.filter((r) => cli.vendorHosts.includes(r.host));
    expect(
      refused.map((r) => `${r.method} ${r.host}:${r.port}`),
      `refused hosts: ${rig.proxy.hosts().join(', ')}`,
    ).toEqual([]);
    expect(rig.model.unknown, 'no request to a path the stand-in does not serve').toEqual([]);
  });
});
