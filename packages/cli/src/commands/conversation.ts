/**
 * `tinyagi conversation list|show|transcript` and `tinyagi runs tree <conversation>`.
 */
import type { Command } from 'commander';
import { conversationStatus, conversationTarget } from '@tinyagi/client';
import { CONVERSATION_FILTERS } from '@tinyagi/client/contract';
import { connect } from '../daemon/connection.ts';
import { formatTime, printJson, printTable } from '../output/print.ts';
import { printRunTree } from '../output/run-tree.ts';
import { choice, contextOf, parseId, parsePositiveInt, withJson } from './options.ts';

const STATUSES = CONVERSATION_FILTERS;

export function registerConversationCommands(program: Command): void {
  const conversation = program.command('conversation').alias('conv').description('conversations: list, show (run tree), transcript');

  withJson(
    conversation
      .command('list')
      .alias('ls')
      .description('recent conversations, newest first')
      .option('--status <status>', `only ${STATUSES.join('|')}`, choice(STATUSES))
      .option('--team <id>', 'only this team', parseId)
      .option('--agent <id>', 'only conversations started with this agent', parseId)
      .option('-n, --limit <n>', 'how many (default 20)', parsePositiveInt),
  ).action(async (options: { status?: (typeof STATUSES)[number]; team?: string; agent?: string; limit?: number; json?: boolean }, cmd: Command) => {
    const { client } = connect(contextOf(cmd));
    const rows = await client.listConversations({
      query: {
        limit: options.limit ?? 20,
        ...(options.status ? { status: options.status } : {}),
        ...(options.team ? { team: options.team } : {}),
        ...(options.agent ? { agent: options.agent } : {}),
      },
    });
    if (options.json) return printJson(rows);
    const filtered = options.status !== undefined || options.team !== undefined || options.agent !== undefined;
    printTable(
      ['ID', 'STATUS', 'TARGET', 'HOPS', 'STARTED', 'TITLE'],
      rows.map((c) => [c.id, conversationStatus(c), conversationTarget(c), String(c.hops), formatTime(c.createdAt), c.title.slice(0, 50)]),
      filtered ? 'No conversations match the filter.' : 'No conversations yet.',
    );
  });

  withJson(conversation.command('show').description('a conversation and its tree of runs').argument('<id>', 'conversation id')).action(
    async (id: string, options: { json?: boolean }, cmd: Command) => {
      const tree = await connect(contextOf(cmd)).client.getConversation({ params: { id } });
      if (options.json) return printJson(tree);
      printRunTree(tree);
    },
  );

  conversation
    .command('transcript')
    .description('every message of a conversation, as markdown (or --json)')
    .argument('<id>', 'conversation id')
    .option('--json', 'print machine-readable JSON')
    .action(async (id: string, options: { json?: boolean }, cmd: Command) => {
      const { client } = connect(contextOf(cmd));
      if (options.json) return printJson(await client.getTranscript({ params: { id } }));
      process.stdout.write(await client.getTranscriptMarkdown({ params: { id } }));
    });

  const runs = program.command('runs').description('runs of a conversation');
  withJson(runs.command('tree').description('the run tree of a conversation (who called whom, status, usage)').argument('<conversation>', 'conversation id')).action(
    async (id: string, options: { json?: boolean }, cmd: Command) => {
      const tree = await connect(contextOf(cmd)).client.getConversation({ params: { id } });
      if (options.json) return printJson(tree);
      printRunTree(tree);
    },
  );
}
