/**
 * Daemon lifecycle: start, run (foreground), stop, restart, status. Starting and stopping are
 * loaded by the commands that do them (`tinyagi status` loads neither, nor the settings).
 */
import { isApiError } from '@tinyagi/client';
import { quotaLines } from '../output/quota-lines.ts';
import { listsSandbox, nodeSandboxText, sandboxAgentLines, sandboxMachineLine } from '../output/sandbox-lines.ts';
import type { Command } from 'commander';
import { ALLOW_REMOTE_ENV } from '../core-internal.ts';
import { findDaemon, localDaemon } from '../daemon/connection.ts';
import type { StartResult } from '../daemon/start.ts';
import type { CliContext } from '../context.ts';
import { keepRunningWhenStdoutCloses } from '../output/broken-pipe.ts';
import { CliError } from '../output/cli-error.ts';
import { inCommandForm, tinyagiCommand } from '../output/command-form.ts';
import { formatDuration, plural, printFields, printJson, println } from '../output/print.ts';
import { withSpinner } from '../output/spinner.ts';
import { style } from '../output/style.ts';
import { channelStateText, channelStateTone } from '@tinyagi/client';
import { officeHint } from '../office/locate.ts';
import { contextOf, parseSeconds, withJson } from './options.ts';

/** A channel's state words, coloured as every surface colours them (docs/channels.md#channel-states); `style` is read at use, not at load. */
function channelStateLine(c: Parameters<typeof channelStateText>[0]): string {
  const tone = channelStateTone(c.state);
  const colour = tone === 'good' ? style.green : tone === 'waiting' ? style.yellow : tone === 'off' ? style.dim : style.red;
  return colour(channelStateText(c));
}

interface StartOptions {
  foreground?: boolean;
  listenAny?: boolean;
  open?: boolean;
  timeout?: number;
  json?: boolean;
  okIfRunning?: boolean;
}

async function runForeground(ctx: CliContext): Promise<void> {
  const { runDaemon } = await import('../daemon/run.ts');
  process.exitCode = await runDaemon(ctx);
}

async function start(cliCtx: CliContext, options: StartOptions): Promise<void> {
  const { withListenOptIn } = await import('../daemon/run-entry.ts');
  const ctx = withListenOptIn(cliCtx, options.listenAny);
  if (options.foreground) return runForeground(ctx);
  const { DEFAULT_START_TIMEOUT_MS, startDaemon } = await import('../daemon/start.ts');
  const timeoutMs = (options.timeout ?? DEFAULT_START_TIMEOUT_MS / 1000) * 1000;
  let result: StartResult;
  try {
    result = await withSpinner('Starting TinyAGI…', () => startDaemon(ctx, timeoutMs), { enabled: options.json !== true });
  } catch (err) {
    if (!(err instanceof CliError) || err.code !== 'DAEMON_RUNNING') throw err;
    // `--ok-if-running`: the daemon the user wanted is there; say so, and it is not an error.
    if (options.okIfRunning && !options.json) {
      println(inCommandForm(`${err.message} ${err.hint ?? ''}`.trim()));
      return;
    }
    // A script asking for JSON gets JSON for the usual refusal too, with the same exit code.
    if (!options.json) throw err;
    const live = localDaemon(ctx);
    printJson({ running: true, started: false, pid: live?.pid ?? null, apiUrl: live?.apiUrl ?? null, home: ctx.home, error: { code: err.code, message: err.message } });
    process.exitCode = options.okIfRunning ? 0 : 1;
    return;
  }
  if (options.json) {
    printJson({ running: true, started: true, pid: result.pid, apiUrl: result.apiUrl, home: ctx.home, logFile: result.logFile, notices: result.notices });
    return;
  }
  for (const notice of result.notices) println(style.yellow(inCommandForm(notice)));
  println(`${style.green('TinyAGI is running')} (pid ${result.pid})`);
  printFields([
    ['API', result.apiUrl],
    ['Home', ctx.home],
    ['Logs', result.logFile],
  ]);
  println();
  const tinyagi = tinyagiCommand();
  println(`Talk to your agents:  ${style.cyan(`${tinyagi} send "hello" --wait`)}  or  ${style.cyan(`${tinyagi} chat`)}`);
  println(inCommandForm(officeHint()));
  if (options.open) {
    const { openOffice } = await import('../office/serve.ts');
    await openOffice(ctx);
  }
}

async function status(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  const connection = findDaemon(ctx);
  if (connection === undefined) {
    if (options.json) printJson({ running: false, home: ctx.home });
    else println(`TinyAGI is ${style.yellow('not running')} (home ${ctx.home}). Start it with ${style.cyan('tinyagi start')}.`);
    process.exitCode = 1;
    return;
  }
  // Asked together. Accounts held until their rate limit resets, and warm agent processes
  // (docs/sessions.md): a daemon older than either route answers 404, and none are shown.
  const [s, quotaList, sessionList, agentList, proposals] = await Promise.all([
    connection.client.status(),
    connection.client.listQuotas().catch(() => undefined),
    connection.client.listSessions().catch(() => undefined),
    connection.client.listAgents().catch(() => undefined),
    connection.client.listMemory({ query: { status: 'proposed', limit: PROPOSALS_COUNTED } }).catch(() => []),
  ]);
  const quotas = quotaList?.holds ?? [];
  const warm = sessionList?.sessions ?? [];
  // Sandboxed agents (docs/sandbox.md): each one's state, as the self-test of the node that runs it found the boundary.
  const sandboxed = (agentList ?? []).filter((a) => listsSandbox(a.sandboxStatus));
  if (options.json) {
    const sandboxAgents = Object.fromEntries(sandboxed.map((a) => [a.id, a.sandboxStatus]));
    printJson({ running: true, apiUrl: connection.apiUrl, home: ctx.home, remote: localDaemon(ctx)?.remote === true, ...s, quotas, warmSessions: warm, sandboxAgents });
    return;
  }
  const record = localDaemon(ctx);
  const q = s.queue;
  println(`${style.green('TinyAGI is running')} (pid ${s.pid}, up ${formatDuration(s.uptimeS * 1000)}, v${s.version})`);
  printFields([
    ['API', connection.apiUrl],
    ...(record?.remote === true
      ? [['Exposure', style.yellow(`listening on ${record.listenHost ?? '?'}, beyond loopback (enabled at start with --listen-any / ${ALLOW_REMOTE_ENV}=1)`)] as [string, string]]
      : []),
    ['Home', ctx.home],
    ['Queue', `${q.pending} pending, ${q.processing} processing, ${q.completed} completed, ${q.dead} dead${q.dead > 0 ? style.yellow('  (tinyagi queue dead)') : ''}`],
    [
      'Outbox',
      Object.entries(s.outbox)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || '-',
    ],
    ['Channels', s.channels.length === 0 ? 'none enabled' : s.channels.map((c) => `${c.name} ${channelStateLine(c)}`).join(', ')],
    ...(s.storage === 'postgres' ? [['Storage', 'PostgreSQL (shared by the nodes below)'] as [string, string]] : []),
    ...(warm.length > 0 ? [['Warm sessions', warmSessionsLine(warm)] as [string, string]] : []),
    ...(s.sandbox !== undefined ? [['Sandbox', sandboxMachineLine(s.sandbox)] as [string, string]] : []),
    ...(proposals.length > 0 ? [['Memory', style.yellow(memoryProposalsLine(proposals.length))] as [string, string]] : []),
  ]);
  if (sandboxed.length > 0) {
    println();
    println('Sandboxed agents (docs/sandbox.md)');
    for (const line of sandboxAgentLines(sandboxed)) println(`  ${line}`);
  }
  if (quotas.length > 0) {
    println();
    println(style.yellow('Rate limits (held until the reset; tinyagi doctor, docs/quotas.md)'));
    for (const line of quotaLines(quotas)) println(`  ${line}`);
  }
  if (s.nodes.length > 0) {
    println();
    println('Nodes');
    const names = s.nodes.map((n) => `${n.name}${n.self ? ' (this one)' : ''}`);
    const width = Math.max(...names.map((n) => n.length));
    for (const [i, n] of s.nodes.entries()) {
      const state = n.state === 'live' ? style.green('live   ') : n.state === 'stale' ? style.red('stale  ') : style.dim('stopped');
      const beat = n.state === 'stopped' ? '' : `, heartbeat ${formatDuration(n.heartbeatAgeMs)} ago`;
      println(`  ${names[i]!.padEnd(width)}  ${n.role.padEnd(6)}  ${state}  ${n.hostname} pid ${n.pid}${beat}; ${nodeSandboxText(n.sandbox)}`);
    }
  }
  const waiting = s.waitingForNodes ?? [];
  if (waiting.length > 0) {
    println();
    println(style.yellow('Waiting for a node that is down (their messages stay pending until it runs; docs/postgresql.md#agent-placement-and-sessions)'));
    for (const w of waiting) println(`  ${w.agentId}: node ${w.node} is ${w.nodeState === 'absent' ? 'not running (no such node)' : w.nodeState}, ${plural(w.pending, 'message')} pending`);
  }
}

/** How many waiting memory proposals `status` counts (more read as `1000+`). */
const PROPOSALS_COUNTED = 1000;

/** `2 proposals waiting: tinyagi memory pending` (docs/memory.md). */
function memoryProposalsLine(count: number): string {
  const many = count >= PROPOSALS_COUNTED ? `${PROPOSALS_COUNTED}+ proposals` : plural(count, 'proposal');
  return `${many} waiting: ${tinyagiCommand()} memory pending`;
}

/** `3 (2 busy), 612 MB`: the warm agent processes of this node (tinyagi sessions lists them). */
export function warmSessionsLine(sessions: Array<{ busy: boolean; memoryBytes: number | null }>): string {
  const busy = sessions.filter((w) => w.busy).length;
  const bytes = sessions.reduce((sum, w) => sum + (w.memoryBytes ?? 0), 0);
  return `${sessions.length}${busy > 0 ? ` (${busy} busy)` : ''}, ${Math.round(bytes / (1024 * 1024))} MB`;
}

export function registerDaemonCommands(program: Command): void {
  withJson(
    program
      .command('start')
      .description('start the daemon in the background (API, orchestrator, scheduler, channels)')
      .option('--foreground', 'run in this terminal instead (same as `tinyagi run`)')
      .option('--open', 'open TinyOffice in the browser once started')
      .option('--ok-if-running', "a daemon already running for this home is not an error: say so and exit 0 (the checkout's `pnpm start` uses it)")
      .option('--listen-any', 'allow server.host / TINYAGI_API_HOST beyond loopback (e.g. 0.0.0.0); without it such a host is refused')
      .option('--timeout <seconds>', 'how long to wait for the API to answer', parseSeconds),
  ).action(async (options: StartOptions, cmd: Command) => start(contextOf(cmd), options));

  program
    .command('run')
    .description('run the daemon in the foreground (Docker, debugging); Ctrl-C stops it cleanly')
    .option('--listen-any', 'allow server.host / TINYAGI_API_HOST beyond loopback (e.g. 0.0.0.0); without it such a host is refused')
    .action(async (options: { listenAny?: boolean }, cmd: Command) => {
      keepRunningWhenStdoutCloses();
      const { withListenOptIn } = await import('../daemon/run-entry.ts');
      return runForeground(withListenOptIn(contextOf(cmd), options.listenAny));
    });

  withJson(
    program.command('stop').description('stop the daemon (in-flight work is finished or handed back to the queue)').option('--timeout <seconds>', 'wait this long before killing it', parseSeconds),
  ).action(async (options: { timeout?: number; json?: boolean }, cmd: Command) => {
    const ctx = contextOf(cmd);
    const { DEFAULT_STOP_TIMEOUT_MS, stopDaemon } = await import('../daemon/stop.ts');
    const timeoutMs = (options.timeout ?? DEFAULT_STOP_TIMEOUT_MS / 1000) * 1000;
    const result = await withSpinner('Stopping TinyAGI (finishing in-flight work)…', () => stopDaemon(ctx.paths, timeoutMs), { enabled: options.json !== true });
    if (options.json) return printJson(result);
    if (!result.wasRunning) return println(`TinyAGI was not running (home ${ctx.home}).`);
    const agents = result.agentGroupsKilled ? `, with the ${plural(result.agentGroupsKilled, 'process group')} of agents and checks it was still running` : '';
    println(result.killed ? style.yellow(`TinyAGI (pid ${result.pid}) did not stop in time and was killed${agents}.`) : `TinyAGI stopped (pid ${result.pid}).`);
  });

  withJson(
    program
      .command('restart')
      .description('restart the daemon: settings, plugins and the program itself are loaded again (an upgrade or rebuild takes effect), same pid')
      .option('--timeout <seconds>', 'how long to wait for the API to answer again', parseSeconds)
      .option('--listen-any', 'when the daemon has to be started afresh: allow a host beyond loopback (an in-place restart keeps the setting it started with)'),
  ).action(async (options: { timeout?: number; json?: boolean; listenAny?: boolean }, cmd: Command) => {
    const ctx = contextOf(cmd);
    const { DEFAULT_START_TIMEOUT_MS, storageNotices } = await import('../daemon/start.ts');
    const { stopDaemon, runningDaemonPid, waitForExit } = await import('../daemon/stop.ts');
    const timeoutMs = (options.timeout ?? DEFAULT_START_TIMEOUT_MS / 1000) * 1000;
    const before = localDaemon(ctx);
    const connection = findDaemon(ctx);
    const spinner = { enabled: options.json !== true };
    if (connection !== undefined && before !== undefined) {
      // The daemon replaces its own image (same pid, the program loaded again from disk). Wait for a fresh start time.
      let after = connection.apiUrl;
      await withSpinner(
        'Restarting TinyAGI…',
        async () => {
          const previous = await connection.client.status();
          await connection.client.restartDaemon().catch((err: unknown) => {
            // A daemon started before the route was renamed (an upgrade installed while it runs) knows only the old path.
            if (isApiError(err) && err.status === 404) return connection.client.restartServices();
            throw err;
          });
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            try {
              // Back as every command finds it: the lock file names its API again (the new image
              // writes that once all its services run), and there the fresh start answers. Its URL
              // is read anew: a daemon on port 0 listens on another port after the restart.
              const back = localDaemon(ctx)?.apiUrl !== undefined ? findDaemon(ctx) : undefined;
              const now = back === undefined ? undefined : await back.client.status();
              if (back !== undefined && now !== undefined && now.startedAt > previous.startedAt) {
                after = back.apiUrl;
                return;
              }
            } catch {
              // restarting
            }
            if (Date.now() > deadline) throw new CliError('TIMEOUT', 'The daemon did not come back after the restart.', { hint: 'Check `tinyagi logs`.' });
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        spinner,
      );
      // A restart onto PostgreSQL says what history the SQLite file still holds, as a start does.
      const notices = await storageNotices(ctx);
      if (options.json) return printJson({ restarted: true, pid: before.pid, apiUrl: after, notices });
      for (const notice of notices) println(style.yellow(inCommandForm(notice)));
      return println(`TinyAGI restarted (pid ${before.pid}) at ${after}.`);
    }
    // API unreachable: stop whatever is left, then start fresh.
    const pid = runningDaemonPid(ctx.paths);
    if (pid !== undefined) {
      await withSpinner(
        'Stopping TinyAGI…',
        async () => {
          await stopDaemon(ctx.paths);
          await waitForExit(pid, 5000);
        },
        spinner,
      );
    }
    await start(ctx, { timeout: timeoutMs / 1000, ...(options.json ? { json: true } : {}), ...(options.listenAny ? { listenAny: true } : {}) });
  });

  program
    .command('worker')
    .description('run a worker node: join the PostgreSQL database of an API node and run the agents placed on this node (docs/postgresql.md#several-nodes)')
    .option('--name <name>', "this node's name (default: node.name in settings.json, TINYAGI_NODE_NAME or the host name)")
    .action(async (options: { name?: string }, cmd: Command) => {
      const { runWorker } = await import('../daemon/worker.ts');
      process.exitCode = await runWorker(contextOf(cmd), options);
    });
  withJson(program.command('status').description('is the daemon up? API URL, queue, outbox and channels')).action(async (options: { json?: boolean }, cmd: Command) => status(contextOf(cmd), options));
}
