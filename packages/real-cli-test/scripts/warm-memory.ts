/**
 * Private memory per warm session with the real CLIs (issue 52 item 4; docs/mcp.md, "How each CLI
 * gets it"): for each CLI, a daemon with warm agents on the stand-in model; `alpha` calls
 * `call_agent` (so TinyAGI's tools are in use), then each warm process's tree (the CLI and every
 * descendant) is read from /proc/<pid>/smaps_rollup: Private_Clean + Private_Dirty, in all and for
 * the processes that are TinyAGI's (`tinyagi mcp`, what each warm session held before the agent
 * tools moved to the daemon's /mcp). Then, for the comparison, one `tinyagi mcp --agent-tools` is
 * started on stdio as a CLI started it, initialised, listed and called once, and measured alike.
 *
 * Run: `node --conditions=tinyagi-source packages/real-cli-test/scripts/warm-memory.ts` (after
 * `pnpm turbo run build --filter=tinyagi...` and the suite's CLIs: `node packages/real-cli-test/scripts/install-clis.mjs`).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { descendants, privateBytes, toolOutput, waitFor } from '@tinyagi/test-kit';
import { CLI_CASES, startRig, type CliName } from '../test/harness.ts';

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

const mb = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

async function measureCli(name: CliName): Promise<void> {
  // As the suite: Claude Code offers MCP tools directly (the stand-in model does not use its ToolSearch).
  const rig = await startRig(CLI_CASES[name], {
    agentSettings: { process: 'warm', env_passthrough: ['CLAUDE_CODE_MAX_RETRIES', 'ENABLE_TOOL_SEARCH'] },
    daemonEnv: { ENABLE_TOOL_SEARCH: 'false' },
  });
  try {
    rig.rule('MEM-CALL', (request) => (toolOutput(request) === undefined ? { tool: 'call_agent', input: { agent: 'beta', task: 'MEM-CHILD say hi' } } : { reply: `beta: ${toolOutput(request)}` }));
    rig.rule('MEM-CHILD', () => ({ reply: 'hi' }));
    const o = await rig.send({ agent: 'alpha', senderId: 'mem', message: 'MEM-CALL ask beta' });
    if (!/beta: [\s\S]*hi/.test(o.replies.join('\n')))
      throw new Error(`${name}: call_agent did not answer: ${JSON.stringify({ replies: o.replies, runs: o.runs.map((r) => [r.agentId, r.status, r.error]) })}`);
    const { sessions } = await waitFor(
      async () => {
        const s = await rig.daemon.api.listSessions();
        return s.sessions.filter((x) => x.pid !== null).length >= 2 ? s : undefined;
      },
      30_000,
      'two warm sessions',
    );
    for (const session of sessions) {
      if (session.pid === null) continue;
      const tree = [session.pid, ...descendants(session.pid)];
      const total = tree.reduce((sum, pid) => sum + privateBytes(pid), 0);
      const ours = tree.filter((pid) => cmdline(pid).includes('mcp --agent-tools'));
      const oursBytes = ours.reduce((sum, pid) => sum + privateBytes(pid), 0);
      const rows = tree.map((pid) => `    ${pid} ${mb(privateBytes(pid))} MB ${cmdline(pid).slice(0, 100)}`).join('\n');
      process.stdout.write(
        `${name} warm session of ${session.agentId}: ${tree.length} processes, private ${mb(total)} MB, of which tinyagi mcp processes: ${ours.length} (${mb(oursBytes)} MB)\n${rows}\n`,
      );
    }
    await measureStdioServer(name, rig.daemon.home);
  } finally {
    await rig.cleanup();
  }
}

/** One stdio `tinyagi mcp --agent-tools`, as a CLI started it for a warm session: initialised, tools listed, one call. */
async function measureStdioServer(name: CliName, home: string): Promise<void> {
  const shim = `${home}/run/bin/tinyagi`;
  const child = spawn(shim, ['mcp', '--agent-tools'], { env: { PATH: process.env.PATH ?? '', TINYAGI_RUN_FILE: `${home}/no-run.json` }, stdio: ['pipe', 'pipe', 'inherit'] });
  let buffered = '';
  const answers = new Map<number, (line: unknown) => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const message = JSON.parse(buffered.slice(0, nl)) as { id?: number };
      buffered = buffered.slice(nl + 1);
      if (message.id !== undefined) answers.get(message.id)?.(message);
      nl = buffered.indexOf('\n');
    }
  });
  const request = (id: number, method: string, params: unknown): Promise<unknown> =>
    new Promise((resolve) => {
      answers.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  await request(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'warm-memory', version: '1' } });
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  await request(2, 'tools/list', {});
  await request(3, 'tools/call', { name: 'get_task', arguments: {} });
  const tree = [child.pid!, ...descendants(child.pid!)];
  process.stdout.write(`${name}: one stdio tinyagi mcp --agent-tools (${tree.length} processes): private ${mb(tree.reduce((sum, pid) => sum + privateBytes(pid), 0))} MB\n`);
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
}

for (const name of (process.argv[2]?.split(',') ?? ['claude', 'codex', 'opencode']) as CliName[]) await measureCli(name);
