/**
 * The model proxy with the real CLIs (issue 50 item 1, docs/sandbox.md#the-model-proxy): an
 * agent on a custom provider with an API key runs with the daemon's proxy URL and a placeholder
 * key; the proxy puts the real key in and forwards to the stand-in (the provider's base URL).
 *
 * Per CLI (Claude Code and Codex, per message), one turn with a shell call that prints the CLI's
 * environment and its parent's (the CLI itself): while the CLI runs, every process of the run
 * (found by TINYAGI_RUN_ID in /proc/<pid>/environ) is read — environment, argv, and every file its
 * argv names — and the real key is in none of them, nor in what the shell printed back to the
 * model (a placeholder is); every call reached the stand-in with the real key; what the proxy
 * metered on the run (GET /api/runs/:id `metered`) equals what the stand-in served, cache reads and
 * writes included, and what the CLI reported. Then a run over its daily token budget: the proxy
 * refuses its second model call with a 400 whose words the CLI shows (the attempt's error), and
 * the queue's retry is refused before it starts (the daily sum counts the metered call, also
 * when the CLI reported nothing).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTemp, toolOutput, type ModelUsage } from '@tinyagi/test-kit';
import { CLI_CASES, PROVIDER_KEY, startRig, tokensOf, type CliName, type Rig } from './harness.ts';
import { describeOutcome, expectProviderCalls, turnsOf } from './suite.ts';

interface Seen {
  pid: number;
  /** The argv, and the files it names, that were read. */
  argv: string[];
  files: string[];
  leaks: string[];
}

/** Every process of the run (TINYAGI_RUN_ID in its environment): where the real key is found, if anywhere. */
function scanRunProcesses(runIdPrefix: string): Seen[] {
  const seen: Seen[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    let cmdline: string[];
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    if (!environ.split('\0').some((v) => v.startsWith(`TINYAGI_RUN_ID=${runIdPrefix}`))) continue;
    const leaks: string[] = [];
    if (environ.includes(PROVIDER_KEY)) leaks.push('environ');
    if (cmdline.join(' ').includes(PROVIDER_KEY)) leaks.push('argv');
    // Files the CLI was given (its system prompt, MCP config, …): `--flag path` or `--flag=path`.
    const files = cmdline.map((arg) => arg.replace(/^--[^=]+=/, '')).filter((arg) => arg.startsWith('/') && existsSync(arg) && statSync(arg).isFile() && statSync(arg).size < 4_000_000);
    for (const file of files) if (readFileSync(file, 'utf8').includes(PROVIDER_KEY)) leaks.push(file);
    seen.push({ pid: Number(entry), argv: cmdline, files, leaks });
  }
  return seen;
}

const FIRST: ModelUsage = { inputTokens: 2100, outputTokens: 31, cacheReadTokens: 400, cacheWriteTokens: 250 };
const SECOND: ModelUsage = { inputTokens: 2300, outputTokens: 12, cacheReadTokens: 700 };

for (const name of ['claude', 'codex'] as CliName[]) {
  describe(`${name} through the model proxy`, () => {
    let rig: Rig;

    beforeAll(async () => {
      rig = await startRig(CLI_CASES[name], { agents: { budgeted: { budgets: { daily_tokens: 3000 } } } });
    }, 120_000);

    afterAll(async () => {
      await rig?.cleanup();
      cleanupTemp();
    });

    it(`${name}: holds a placeholder, never the key (environment, argv, files); metered usage equals what was served and what it reported`, async () => {
      const scans: Seen[][] = [];
      rig.rule('PROXY-KEY-3c', (request) => {
        if (toolOutput(request) === undefined) return { shell: 'env; echo ---; tr "\\0" "\\n" < /proc/$PPID/environ', usage: FIRST };
        // The CLI is running (it waits for this answer): read what its processes hold.
        scans.push(scanRunProcesses('run'));
        return { reply: 'Checked the environment.', usage: SECOND };
      });
      const o = await rig.send({ agent: 'alpha', senderId: 'proxy-key', message: 'PROXY-KEY-3c print your environment' });
      expect(o.runs[0]?.status, describeOutcome(o)).toBe('completed');
      expect(o.replies.join('\n')).toContain('Checked the environment.');
      // The stand-in got the real key on every call: the proxy put it in.
      expectProviderCalls(rig, o.calls);
      // The CLI's processes: found, and none holds the key.
      const found = scans.flat();
      expect(found.length, "the run's processes were found in /proc").toBeGreaterThan(0);
      expect(
        found.some((p) => p.argv.some((a) => a.includes(name))),
        `the CLI itself among them: ${JSON.stringify(found.map((p) => p.argv.slice(0, 3)))}`,
      ).toBe(true);
      expect(
        found.filter((p) => p.leaks.length > 0),
        'the real key in no environment, argv or file of the run',
      ).toEqual([]);
      // What the shell printed (the CLI's own environment among it) reached the model: a placeholder, not the key.
      const printed = turnsOf(o.calls)
        .map((c) => toolOutput(c.request))
        .filter((t) => t !== undefined)
        .join('\n');
      expect(printed).toContain('TINYAGI_AGENT_ID=alpha');
      expect(printed).toContain('tinyagi-proxy-');
      expect(printed).not.toContain(PROVIDER_KEY);
      // Metered at the proxy = served by the stand-in (every call of the run, cache included) = what the CLI reported.
      const api = CLI_CASES[name].api;
      const served = o.calls.map((c) => c.served);
      const sum = (pick: (u: ModelUsage) => number): number => served.reduce((n, u) => n + pick(u), 0);
      const { run } = await rig.daemon.api.getRun({ params: { id: o.runs[0]!.runId } });
      expect(run.metered, `metered on the run\n${describeOutcome(o)}`).toEqual({
        calls: o.calls.length,
        inputTokens: sum((u) => tokensOf(api, u).input),
        outputTokens: sum((u) => u.outputTokens),
        cacheReadTokens: sum((u) => u.cacheReadTokens ?? 0),
        cacheWriteTokens: api === 'anthropic' ? sum((u) => u.cacheWriteTokens ?? 0) : 0,
        costUsd: expect.any(Number),
      });
      expect({ input: run.inputTokens, output: run.outputTokens }, 'what the CLI reported').toEqual({ input: run.metered?.inputTokens, output: run.metered?.outputTokens });
      // The proxy prices the calls from its price table; Claude Code prices them itself, at the same list price.
      expect(run.metered!.costUsd, 'priced at the proxy').toBeGreaterThan(0);
      if (CLI_CASES[name].reportsCost) expect(run.metered!.costUsd, "the proxy's price = the CLI's own").toBeCloseTo(run.costUsd, 9);
    });

    it(`${name}: over its daily token budget mid-run, the next model call is refused with the proxy's words; the retry is refused before it spends`, async () => {
      rig.rule('PROXY-BUDGET-8e', (request) =>
        toolOutput(request) === undefined ? { shell: 'echo one step', usage: { inputTokens: 3500, outputTokens: 20 } } : { reply: 'should not be asked', usage: SECOND },
      );
      const o = await rig.send({ agent: 'budgeted', senderId: 'proxy-budget', message: 'PROXY-BUDGET-8e take one step' });
      // One model call in all: the one after the tool was refused, and the queue's retry did not start (the daily sum counts the metered call).
      expect(turnsOf(o.calls), describeOutcome(o)).toHaveLength(1);
      expect(o.message.lastError ?? '', `the CLI showed the proxy's refusal\n${describeOutcome(o)}`).toContain('TinyAGI budget: @budgeted has used 3520 tokens today, its daily budget is 3000');
      expect(o.runs[0], describeOutcome(o)).toMatchObject({ status: 'rejected', error: '@budgeted has used 3520 tokens today, its daily budget is 3000' });
    });
  });
}
