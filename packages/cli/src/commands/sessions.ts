/**
 * `tinyagi sessions [--close <agent> [--session <key>]]`: the warm agent processes the daemon
 * keeps between turns (docs/sessions.md), and closing them by hand.
 */
import type { Command } from 'commander';
import { connect } from '../daemon/connection.ts';
import { formatDuration, printJson, printTable, println } from '../output/print.ts';
import { contextOf, withJson } from './options.ts';

export function registerSessionsCommand(program: Command): void {
  withJson(
    program
      .command('sessions')
      .description('warm agent processes (agents with process "warm"): pid, session id, turns, idle time, memory')
      .option('--close <agent>', "close the agent's warm processes (its next message starts one, resuming its session)")
      .option('--session <key>', 'with --close: only this session key'),
  ).action(async (options: { close?: string; session?: string; json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    if (options.close !== undefined) {
      const result = await client.closeSessions({ body: { agent: options.close, ...(options.session !== undefined ? { sessionKey: options.session } : {}) } });
      if (options.json) return printJson(result);
      return println(`Closed ${result.closed} warm session${result.closed === 1 ? '' : 's'} of ${options.close}.`);
    }
    const { sessions, limits } = await client.listSessions();
    if (options.json) return printJson({ sessions, limits });
    const now = Date.now();
    printTable(
      ['AGENT', 'SESSION', 'CLI', 'PID', 'SESSION ID', 'TURNS', 'STATE', 'MEMORY'],
      sessions.map((s) => [
        s.agentId,
        s.sessionKey,
        s.driver,
        String(s.pid ?? '-'),
        s.sessionId ?? '-',
        String(s.turns),
        s.busy ? 'busy' : `idle ${formatDuration(now - s.lastUsedAt)}`,
        s.memoryBytes === null ? '-' : `${Math.round(s.memoryBytes / (1024 * 1024))} MB`,
      ]),
      'No warm sessions (agents run warm with "process": "warm"; docs/sessions.md).',
    );
    println(`limits: ${limits.maxTotal} in all, ${limits.maxPerAgent} per agent, closed after ${limits.idleMinutes} min idle, memory share ${limits.memoryShare}`);
  });
}
