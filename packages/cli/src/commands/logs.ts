/**
 * `tinyagi logs [daemon|queue|<channel>|all] [-f] [-n lines]`: the log files under
 * TINYAGI_HOME/logs (rotation-aware when following). Without local files (a daemon reached
 * through TINYAGI_API_URL) the daemon log comes from the API.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { findDaemon } from '../daemon/connection.ts';
import { DAEMON_LOG } from '../daemon/start.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { println } from '../output/print.ts';
import { channelNames } from './channel.ts';
import { contextOf, parsePositiveInt } from './options.ts';

const FOLLOW_POLL_MS = 250;

/** Lines of daemon.log that are about the queue and the agents' runs. */
const QUEUE_SCOPES = /\[(queue|orchestrator|heartbeat|scheduler)\]/;

function logFiles(ctx: CliContext, source: string): { file: string; filter?: RegExp }[] {
  if (source === 'daemon') return [{ file: join(ctx.paths.logs, DAEMON_LOG) }];
  if (source === 'queue') return [{ file: join(ctx.paths.logs, DAEMON_LOG), filter: QUEUE_SCOPES }];
  if (source === 'all') {
    const names = existsSync(ctx.paths.logs) ? readdirSync(ctx.paths.logs).filter((f) => f.endsWith('.log')) : [];
    return names.map((f) => ({ file: join(ctx.paths.logs, f) }));
  }
  return [{ file: join(ctx.paths.logs, `${source}.log`) }];
}

/** Every log name `tinyagi logs` accepts: the fixed ones, the channels, and any other `<name>.log` present. */
function knownLogs(ctx: CliContext): string[] {
  const present = existsSync(ctx.paths.logs)
    ? readdirSync(ctx.paths.logs)
        .filter((f) => f.endsWith('.log'))
        .map((f) => f.slice(0, -'.log'.length))
    : [];
  return [...new Set(['daemon', 'queue', 'all', ...channelNames(), ...present])];
}

function tail(file: string, lines: number, filter?: RegExp): string[] {
  const all = readFileSync(file, 'utf8').split('\n');
  if (all.at(-1) === '') all.pop();
  return (filter ? all.filter((l) => filter.test(l)) : all).slice(-lines);
}

async function followFiles(files: { file: string; filter?: RegExp }[], prefix: boolean, signal: AbortSignal): Promise<void> {
  const offsets = new Map(files.map(({ file }) => [file, existsSync(file) ? statSync(file).size : 0]));
  const partial = new Map<string, string>();
  while (!signal.aborted) {
    for (const { file, filter } of files) {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        continue;
      }
      let offset = offsets.get(file) ?? 0;
      if (size < offset) offset = 0; // rotated (copy-truncate): start over at the new beginning
      if (size === offset) continue;
      const fd = openSync(file, 'r');
      const buffer = Buffer.alloc(size - offset);
      readSync(fd, buffer, 0, buffer.length, offset);
      closeSync(fd);
      offsets.set(file, size);
      const text = (partial.get(file) ?? '') + buffer.toString('utf8');
      const parts = text.split('\n');
      partial.set(file, parts.pop() ?? '');
      for (const line of parts) if (!filter || filter.test(line)) println(prefix ? `${file.split('/').pop()}: ${line}` : line);
    }
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
}

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description(`show the logs: daemon (default), queue, a channel (${channelNames().join(', ')}) or all`)
    .argument('[source]', 'daemon | queue | <channel> | all', 'daemon')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('-n, --lines <n>', 'how many lines to show first (default 50)', parsePositiveInt)
    .action(async (source: string, options: { follow?: boolean; lines?: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const known = knownLogs(ctx);
      if (!known.includes(source)) throw usageError(`Unknown log "${source}"; known: ${known.join(', ')}.`);
      const files = logFiles(ctx, source).filter(({ file }) => existsSync(file));
      const lines = options.lines ?? 50;
      if (files.length === 0) {
        const daemon = source === 'daemon' ? findDaemon(ctx) : undefined;
        if (daemon !== undefined && daemon.record === undefined) {
          const remote = await daemon.client.logs({ query: { lines: Math.min(lines, 2000) } });
          for (const line of remote.lines) println(line);
          return;
        }
        throw new CliError('FAILED', `No ${source} log in ${ctx.paths.logs} yet.`, { hint: source === 'daemon' ? 'Start the daemon with `tinyagi start`.' : 'Logs appear once that part has run.' });
      }
      const prefix = files.length > 1;
      for (const { file, filter } of files) for (const line of tail(file, lines, filter)) println(prefix ? `${file.split('/').pop()}: ${line}` : line);
      if (!options.follow) return;
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followFiles(files, prefix, stop.signal);
    });
}
