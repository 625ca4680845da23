/**
 * B16 — a sub-agent call from inside an agent's run (issue 37, docs/mcp.md): TinyAGI's MCP tool
 * `call_agent` against `tinyagi call` through the shell, the same sub-agent (the mock runtime,
 * no latency), so the figures are each path's own cost.
 *
 * A real daemon (the built `tinyagi`, as the e2e tests start it; SQLite, default durability) with
 * an agent on the bench's runtime (bench/fixtures/mcp-call-runtime.mjs, installed as a plugin in
 * TINYAGI_HOME/kinds): one turn calls `@helper` N times each way, interleaved, and answers the
 * timings. A round trip is the caller's wall time from the call until the reply is back.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createDaemon } from '@tinyagi/test-kit';
import { percentile } from './machine.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/mcp-call-runtime.mjs', import.meta.url));

interface Timings {
  start: number;
  mcp: number[];
  mcpCold: number[];
  shell: number[];
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

export async function benchB16(calls: number): Promise<string> {
  const daemon = await createDaemon({
    prefix: 'tinyagi-b16-',
    settings: ({ root }) => ({
      workspace: { path: join(root, 'workspace') },
      models: { provider: 'mock' },
      agents: {
        caller: { provider: 'mcp-call-bench' },
        helper: { provider: 'mock', mock: { reply: 'helper: {{message}}' } },
      },
      limits: { max_children_per_run: 100_000, max_spawns_per_conversation: 100_000, conversation_timeout_s: 86_400 },
      channels: { enabled: [] },
    }),
  });
  mkdirSync(join(daemon.home, 'kinds'), { recursive: true });
  writeFileSync(join(daemon.home, 'kinds', 'mcp-call-bench.mjs'), `export * from ${JSON.stringify(pathToFileURL(FIXTURE).href)};\n`);
  await daemon.start();
  try {
    const run = async (n: number): Promise<Timings> => {
      const out = JSON.parse(await daemon.cliOk(['send', '--agent', 'caller', '--wait', '--json', `CALLBENCH:${JSON.stringify({ agent: 'helper', n })}`], { timeoutMs: 3_600_000 })) as {
        replies: Array<{ agentId: string; text: string }>;
      };
      const text = out.replies.find((r) => r.agentId === 'caller')?.text ?? '';
      const found = /CALLBENCH-RESULT:(\{.*\})/s.exec(text);
      if (!found) throw new Error(`B16: the caller did not answer its timings: ${text.slice(0, 500)}`);
      return JSON.parse(found[1]!) as Timings;
    };
    // Warm-up: the runtime module, the sub-agent's first run, the CLI's first start from the page cache.
    await run(3);
    const t = await run(calls);
    const row = (label: string, values: number[]): string => {
      const sorted = [...values].sort((a, b) => a - b);
      return `| ${label} | ${values.length} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 90))} | ${ms(percentile(sorted, 99))} |`;
    };
    return [
      '| Path | Calls | p50 | p90 | p99 |',
      '| --- | ---: | ---: | ---: | ---: |',
      row('MCP `call_agent`, server already running (a CLI keeps it for the session)', t.mcp),
      row('MCP `call_agent`, server started for the call (spawn + initialize + call)', t.mcpCold),
      row('`tinyagi call helper "…"` through /bin/sh', t.shell),
      '',
      `Starting TinyAGI's MCP server once for the turn (spawn + initialize) took ${ms(t.start)}.`,
    ].join('\n');
  } finally {
    await daemon.cleanup();
  }
}
