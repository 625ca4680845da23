/**
 * `tinyagi usage [--by agent|team|conversation|channel|day] [--since DAYS]`.
 */
import type { Command } from 'commander';
import { connect } from '../daemon/connection.ts';
import { printJson, printTable } from '../output/print.ts';
import { choice, contextOf, parsePositiveInt, withJson } from './options.ts';

const GROUPS = ['agent', 'team', 'conversation', 'channel', 'day'] as const;

export function registerUsageCommand(program: Command): void {
  withJson(
    program
      .command('usage')
      .description('tokens and cost, grouped')
      .option('--by <group>', `group by ${GROUPS.join('|')} (default agent)`, choice(GROUPS))
      .option('--days <n>', 'only the last n days', parsePositiveInt),
  ).action(async (options: { by?: (typeof GROUPS)[number]; days?: number; json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    const usage = await client.usage({ query: { by: options.by ?? 'agent', ...(options.days ? { since: Date.now() - options.days * 86_400_000 } : {}) } });
    if (options.json) return printJson(usage);
    const row = (key: string, u: { runs: number; inputTokens: number; outputTokens: number; costUsd: number }): string[] => [
      key,
      String(u.runs),
      String(u.inputTokens),
      String(u.outputTokens),
      `$${u.costUsd.toFixed(4)}`,
    ];
    printTable(
      [usage.by.toUpperCase(), 'RUNS', 'INPUT', 'OUTPUT', 'COST'],
      usage.rows.map((r) => row(r.key, r)),
      'No usage recorded yet.',
      usage.rows.length > 1 ? row('total', usage.total) : undefined,
    );
  });
}
