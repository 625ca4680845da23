/**
 * `tinyagi approvals [--all]`, `tinyagi approve <id> [--session | --always]`,
 * `tinyagi deny <id> [--reason <text>]`, `tinyagi answer <id> <text…>` (docs/approvals.md): what
 * agents asked to do or asked you, and the person's answer; `tinyagi rounds <id> more [n] |
 * take-over | stop` answers a task whose rounds ran out (docs/git-tasks.md). The first answer
 * wins; a late one says who decided.
 */
import type { Command } from 'commander';
import type { ApprovalDecision } from '@tinyagi/client';
import { connect } from '../daemon/connection.ts';
import { formatTime, printJson, printTable, println } from '../output/print.ts';
import { usageError } from '../output/cli-error.ts';
import { describeApproval } from './approval-prompt.ts';
import { contextOf, withJson } from './options.ts';

export function registerApprovalCommands(program: Command): void {
  withJson(
    program
      .command('approvals')
      .description('what agents asked to do and wait for your answer (--all: answered ones too)')
      .option('--all', 'every request, newest first, not only the pending ones')
      .option('--agent <id>', 'only this agent'),
  ).action(async (options: { all?: boolean; agent?: string; json?: boolean }, cmd: Command) => {
    const list = await connect(contextOf(cmd)).client.listApprovals({ query: { ...(options.all ? {} : { status: 'pending' }), ...(options.agent ? { agent: options.agent } : {}) } });
    if (options.json) return printJson(list);
    printTable(
      ['ID', 'STATUS', 'AGENT', 'REQUEST', 'ASKED', options.all ? 'DECIDED BY' : 'EXPIRES'],
      list.map((a) => [a.id, a.status, `@${a.agentId}`, a.summary, formatTime(a.requestedAt), options.all ? (a.decidedBy ?? '-') : a.expiresAt === null ? 'never' : formatTime(a.expiresAt)]),
      options.all ? 'No approval requests yet.' : 'Nothing waits for your approval.',
    );
    if (!options.all && list.length > 0) {
      println('Answer with `tinyagi approve <id>` (--session, --always) or `tinyagi deny <id> --reason "…"`; a question with `tinyagi answer <id> <text>`.');
      if (list.some((a) => a.kind === 'task_rounds'))
        println("A task whose rounds ran out waits until answered: `tinyagi rounds <id> more [n]` (n more rounds, the project's maxRounds by default), `take-over` or `stop`.");
      if (list.some((a) => a.kind === 'egress')) println('A connection ("Connect to …") is allowed once or --always (its host joins the agent\'s egress_allow); it has no session.');
    }
  });

  withJson(
    program
      .command('answer')
      .description("answer an agent's question (ask_human); `tinyagi deny <id>` declines it")
      .argument('<id>', 'the question id (see `tinyagi approvals`)')
      .argument('<text...>', 'your answer (the agent reads it)'),
  ).action(async (id: string, words: string[], options: { json?: boolean }, cmd: Command) => {
    const answer = words.join(' ').trim();
    if (!answer) throw usageError('Give the answer text: tinyagi answer <id> <text>.');
    const decided = await connect(contextOf(cmd)).client.decideApproval({ params: { id }, body: { decision: 'answer', answer, by: 'cli' } });
    if (options.json) return printJson(decided);
    println(describeApproval(decided));
  });

  withJson(
    program
      .command('approve')
      .description('allow what an agent asked (once; --session: the same request for the rest of its session; --always: add a rule)')
      .argument('<id>', 'the approval request id (see `tinyagi approvals`)')
      .option('--session', 'allow the same tool and command for the rest of this agent session')
      .option('--always', "allow it from now on (adds an allow rule to the agent's permissions; a connection's host to its egress_allow)"),
  ).action(async (id: string, options: { session?: boolean; always?: boolean; json?: boolean }, cmd: Command) => {
    if (options.session && options.always) throw usageError('Use either --session or --always, not both.');
    const decision: ApprovalDecision = options.always ? 'allow_always' : options.session ? 'allow_session' : 'allow_once';
    const decided = await connect(contextOf(cmd)).client.decideApproval({ params: { id }, body: { decision, by: 'cli' } });
    if (options.json) return printJson(decided);
    println(describeApproval(decided));
  });

  withJson(
    program
      .command('deny')
      .description('deny what an agent asked; the agent receives your reason')
      .argument('<id>', 'the approval request id (see `tinyagi approvals`)')
      .option('--reason <text>', 'why (the agent reads it)'),
  ).action(async (id: string, options: { reason?: string; json?: boolean }, cmd: Command) => {
    const decided = await connect(contextOf(cmd)).client.decideApproval({ params: { id }, body: { decision: 'deny', by: 'cli', ...(options.reason ? { reason: options.reason } : {}) } });
    if (options.json) return printJson(decided);
    println(describeApproval(decided));
  });

  withJson(
    program
      .command('rounds')
      .description('answer a task whose checks failed after all its rounds: more [n] rounds, take-over, or stop')
      .argument('<id>', 'the request id (see `tinyagi approvals`)')
      .argument(
        '<answer>',
        "more: the task goes back to its agent with what failed, for n more rounds (default: the project's maxRounds); take-over: you take the task (In progress, assigned to nobody); stop: back to Todo",
      )
      .argument('[n]', 'with more: how many more rounds (1-100)')
      .option('--reason <text>', 'why, for the record'),
  ).action(async (id: string, answer: string, n: string | undefined, options: { reason?: string; json?: boolean }, cmd: Command) => {
    const decision = ({ more: 'more_rounds', 'take-over': 'take_over', stop: 'stop' } as const)[answer as 'more' | 'take-over' | 'stop'];
    if (decision === undefined) throw usageError(`Answer more [n], take-over or stop, not "${answer}": tinyagi rounds <id> more 3.`);
    if (n !== undefined && decision !== 'more_rounds') throw usageError('A number of rounds goes with `more` only.');
    const rounds = n === undefined ? undefined : Number(n);
    if (rounds !== undefined && (!Number.isInteger(rounds) || rounds < 1 || rounds > 100)) throw usageError(`More rounds must be a whole number from 1 to 100, not "${n}".`);
    const body = { decision, by: 'cli', ...(rounds === undefined ? {} : { rounds }), ...(options.reason ? { reason: options.reason } : {}) };
    const decided = await connect(contextOf(cmd)).client.decideApproval({ params: { id }, body });
    if (options.json) return printJson(decided);
    println(describeApproval(decided));
  });
}
