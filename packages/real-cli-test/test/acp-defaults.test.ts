/**
 * The ACP recipes with the defaults `tinyagi agent add` writes (docs/sessions.md, "With `agent
 * add`'s defaults"): the real claude-agent-acp 0.101.0, codex-acp 0.16.0 and Gemini CLI 0.61.0, each added by the
 * documented `tinyagi agent add … --provider acp --config '…'` line read from the page
 * (acp-recipes.ts), so warm, asking with the starter rules and sandboxed (the boundary holds
 * here), against the stand-in model on the host's loopback. The differences from a user's
 * machine are the stand-in's URL: claude-agent-acp's env_passthrough also names ANTHROPIC_BASE_URL;
 * Gemini's names GOOGLE_GEMINI_BASE_URL (a gateway), whose host, 127.0.0.2 (a port forwarded to the
 * stand-in: 127.0.0.1 is the sandbox's own loopback), replaces Google's in egress_allow, and its
 * settings.json is written into its private home as the page says. codex-acp's provider is the
 * user's own ~/.codex/config.toml, read outside the boundary.
 *
 * Per agent, the first message: a shell call prints HOME and the environment, the model answers.
 * - the run completes with the model's reply, the command ran inside (HOME is the private home);
 * - every model call reached the stand-in with the real key: for claude-agent-acp and codex-acp
 *   the model proxy put it in and it is nowhere in what the agent's processes saw; Gemini's is in
 *   its environment (the recipe says so) and its calls went through the egress proxy;
 * - nothing went to a vendor's host.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
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
  api: 'anthropic' | 'responses' | 'gemini';
  /** The header the stand-in finds the key in. */
  keyOf: (headers: Record<string, string | string[] | undefined>) => string | undefined;
  /** Whether the recipe gives the agent its key (Gemini's: no model proxy for its API). */
  keyInside: boolean;
  /** Settings of the recipe replaced for the stand-in (Gemini's egress_allow). */
  replace?: Record<string, unknown>;
  /** The model every call names (Gemini's, from the settings.json in its private home). */
  model?: string;
  /** The key the calls carry (Gemini's own, a value of its own as a user's is); absent, the provider key the proxy puts in. */
  key?: string;
}

const bearer = (h: Record<string, string | string[] | undefined>): string | undefined => String(h.authorization ?? '').replace(/^Bearer /, '') || undefined;
/** Where Gemini's gateway is, as the agent reaches it: an address the egress proxy connects to (not the sandbox's own loopback). */
const GATEWAY_HOST = '127.0.0.2';
/** The model of Gemini's settings.json in its private home. */
const GEMINI_MODEL = 'gemini-2.5-pro';
/** Gemini's key: a value no other provider's key has (the daemon withholds every other key's value from sandboxed agents). */
const GEMINI_KEY = 'gm-standin-9876543210';
const gemini = acpRecipe('gemini');
const CASES: Case[] = [
  { recipe: acpRecipe('claude-agent-acp'), extra: ['ANTHROPIC_BASE_URL'], api: 'anthropic', keyOf: (h) => (h['x-api-key'] as string | undefined) ?? bearer(h), keyInside: false },
  { recipe: acpRecipe('codex-acp'), extra: [], api: 'responses', keyOf: bearer, keyInside: false },
  {
    recipe: gemini,
    extra: ['GOOGLE_GEMINI_BASE_URL'],
    api: 'gemini',
    keyOf: (h) => h['x-goog-api-key'] as string | undefined,
    keyInside: true,
    key: GEMINI_KEY,
    model: GEMINI_MODEL,
    replace: { egress_allow: (gemini.config.egress_allow ?? []).map((host) => (host === 'generativelanguage.googleapis.com' ? GATEWAY_HOST : host)) },
  },
];

let rig: Rig;
/** GATEWAY_HOST's port, forwarded to the stand-in. */
let gateway: Server;

/** A TCP forwarder on GATEWAY_HOST to the stand-in's port (known once the rig has started it). */
async function forwardTo(port: () => number): Promise<Server> {
  const server = createServer((socket) => {
    const upstream = connect(port(), '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, GATEWAY_HOST, resolve));
  return server;
}

describe("ACP recipes with agent add's defaults (warm, asking, sandboxed)", () => {
  beforeAll(async () => {
    let standinPort = 0;
    gateway = await forwardTo(() => standinPort);
    rig = await startRig(cli, {
      daemonEnv: (url) => {
        standinPort = Number(new URL(url).port);
        const gatewayUrl = `http://${GATEWAY_HOST}:${(gateway.address() as AddressInfo).port}`;
        return { ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: PROVIDER_KEY, OPENAI_API_KEY: PROVIDER_KEY, GEMINI_API_KEY: GEMINI_KEY, GOOGLE_GEMINI_BASE_URL: gatewayUrl };
      },
      // The Codex user's own provider, in the user's ~/.codex (HOME is the rig's root).
      prepareHome: (home, url) => {
        mkdirSync(join(home, '.codex'), { recursive: true });
        writeFileSync(
          join(home, '.codex', 'config.toml'),
          `model = "gpt-5.1"\nmodel_provider = "standin"\n\n[model_providers.standin]\nname = "Stand-in"\nbase_url = "${url}/v1"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n`,
        );
      },
    });
    for (const c of CASES) await rig.daemon.cliHereOk(withPassthrough(c.recipe, c.extra, c.replace));
    // Gemini's settings in its private home, as the page says (the user's ~/.gemini is hidden inside).
    const geminiHome = join(rig.daemon.home, 'agent-homes', gemini.id, '.gemini');
    mkdirSync(geminiHome, { recursive: true });
    writeFileSync(join(geminiHome, 'settings.json'), `${JSON.stringify({ model: { name: GEMINI_MODEL }, privacy: { usageStatisticsEnabled: false } })}\n`);
  }, 180_000);

  afterAll(async () => {
    await rig?.cleanup();
    await new Promise((resolve) => gateway?.close(resolve));
    cleanupTemp();
  });

  for (const c of CASES) {
    const id = c.recipe.id;
    it(`${c.recipe.config.acp.command} (${id}): the first message is answered inside the boundary, ${c.keyInside ? 'its key its own, its host on the egress list' : 'its key through the model proxy'}`, async () => {
      const agent = (await rig.daemon.api.listAgents()).find((a) => a.id === id);
      expect(agent?.sandboxStatus?.state, JSON.stringify(agent)).toBe('enforced');
      expect({ process: agent?.process, permissionMode: agent?.permission_mode }, 'agent add wrote the defaults').toEqual({ process: 'warm', permissionMode: 'ask' });

      const marker = `ACPDEF-${id}`;
      rig.rule(marker, (request) => {
        const out = toolOutput(request);
        if (out === undefined) return { shell: 'echo "home=$HOME"; env' };
        // Gemini's tool output has the command's lines after a prefix of its own.
        return { reply: `${marker} done: ${/home=\S+/.exec(out)?.[0] ?? `no home line in ${out.slice(0, 300)}`}` };
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
      for (const call of calls) expect(c.keyOf(call.request.headers), 'the real key reached the model').toBe(c.key ?? PROVIDER_KEY);
      if (c.model) expect(new Set(calls.map((call) => call.request.model)), 'the model of the settings in the private home').toEqual(new Set([c.model]));
      output = calls.map((call) => toolOutput(call.request)).find((t) => t !== undefined) ?? '';
      expect(output, 'the command ran inside').toContain(`TINYAGI_AGENT_ID=${id}`);
      if (c.keyInside) expect(output, 'the recipe gives the agent its key').toContain(c.key);
      else expect(output, "the key is not in the agent's environment").not.toContain(PROVIDER_KEY);
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
