/**
 * `tinyagi queue status|dead|retry|purge`.
 */
import type { Command } from 'commander';
import { failureLabel } from '../conversation-watch.ts';
import { connect } from '../daemon/connection.ts';
import { formatTime, plural, printFields, printJson, printTable, println } from '../output/print.ts';
import { confirmOrRefuse } from '../output/prompts.ts';
import { style } from '../output/style.ts';
import { contextOf, parseId, parsePositiveInt, withJson } from './options.ts';

export function registerQueueCommands(program: Command): void {
  const queue = program.command('queue').description('the message queue: status, dead letters, retry, purge');

  withJson(queue.command('status').description('counts by status and per agent, and what is running now')).action(async (options: { json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    const [counts, agents, processing] = await Promise.all([client.queueStatus(), client.queueAgents(), client.queueProcessing()]);
    if (options.json) return printJson({ ...counts, agents, processing });
    printFields([
      ['pending', String(counts.pending)],
      ['processing', String(counts.processing)],
      ['completed', String(counts.completed)],
      ['dead', counts.dead > 0 ? style.yellow(String(counts.dead)) : '0'],
      ['cancelled', String(counts.cancelled)],
      ['replies waiting', String(counts.outboxPending)],
    ]);
    if (agents.length > 0) {
      println();
      printTable(
        ['AGENT', 'PENDING', 'PROCESSING', 'DEAD'],
        agents.map((a) => [a.agentId, String(a.pending), String(a.processing), String(a.dead)]),
      );
    }
    if (processing.length > 0) {
      println();
      printTable(
        ['RUNNING', 'AGENT', 'FOR', 'MESSAGE'],
        processing.map((m) => [m.id, m.agentId, `${Math.round(m.durationMs / 1000)}s`, m.content.slice(0, 60).replace(/\s+/g, ' ')]),
      );
    }
  });

  withJson(queue.command('dead').description('dead letters (failed for good), newest first').option('-n, --limit <n>', 'how many (default 50)', parsePositiveInt)).action(
    async (options: { limit?: number; json?: boolean }, cmd: Command) => {
      const dead = await connect(contextOf(cmd)).client.queueDead({ query: { limit: options.limit ?? 50 } });
      if (options.json) return printJson(dead);
      printTable(
        ['ID', 'AGENT', 'ATTEMPTS', 'FAILED', 'REASON'],
        dead.map((m) => [
          m.id,
          m.agentId,
          `${m.attempts}/${m.maxAttempts}`,
          formatTime(m.finishedAt ?? m.updatedAt),
          `${m.lastFailure ? `${failureLabel(m.lastFailure)}: ` : ''}${(m.lastError ?? '').split('\n')[0] ?? ''}`,
        ]),
        'No dead letters.',
      );
      if (dead.length > 0) println(style.dim('Retry one with `tinyagi queue retry <id>`, delete all with `tinyagi queue purge`.'));
    },
  );

  queue
    .command('retry')
    .description('put a dead letter back in the queue (attempts reset)')
    .argument('<id>', 'message id')
    .action(async (id: string, _options: unknown, cmd: Command) => {
      const message = await connect(contextOf(cmd)).client.retryDead({ params: { id } });
      println(`Requeued ${message.id} for @${message.agentId}.`);
    });

  withJson(
    queue
      .command('purge')
      .description('delete every dead letter (or those of one agent)')
      .option('--agent <id>', 'only the dead letters of this agent', parseId)
      .option('-y, --yes', 'do not ask for confirmation'),
  ).action(async (options: { yes?: boolean; agent?: string; json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    const count = options.agent === undefined ? (await client.queueStatus()).dead : ((await client.queueAgents()).find((a) => a.agentId === options.agent)?.dead ?? 0);
    if (count === 0) return options.json ? printJson({ deleted: 0 }) : println(options.agent === undefined ? 'No dead letters.' : `No dead letters of @${options.agent}.`);
    await confirmOrRefuse(`Delete ${plural(count, 'dead letter')}${options.agent !== undefined ? ` of @${options.agent}` : ''}?`, options.yes);
    const { deleted } = await client.purgeDead({ query: options.agent !== undefined ? { agent: options.agent } : {} });
    if (options.json) return printJson({ deleted });
    println(`Deleted ${plural(deleted, 'dead letter')}.`);
  });
}
