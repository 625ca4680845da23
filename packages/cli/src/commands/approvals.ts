/**
 * `tinyagi approvals [--all]`, `tinyagi approve <id> [--session | --always]`,
 * `tinyagi deny <id> [--reason <text>]`, `tinyagi answer <id> <text…>` (docs/approvals.md): what
 * agents asked to do or asked you, and the person's answer; `approvals --grouped` and `approve |
 * deny --group <key> | --all-like <id>` answer a burst, one group at a time; `tinyagi rounds <id> more [n] |
 * take-over | stop` answers a task whose rounds ran out (docs/git-tasks.md); `tinyagi budget <id>
 * raise [--budget USD] [--budget-tokens N] | stop` a workflow run paused at its budget
 * (docs/workflows.md#budgets). The first answer wins; a late one says who decided.
 */
import type { Command } from 'commander';
import { approvalBatchText, type ApprovalDecision, type ApprovalGroup } from '@tinyagi/client';
import { connect } from '../daemon/connection.ts';
import { formatTime, printJson, printTable, println } from '../output/print.ts';
import { usageError } from '../output/cli-error.ts';
import { describeApproval } from './approval-prompt.ts';
import { type BudgetOptions, budgetBody, contextOf, parsePositiveInt, parseUsd, withJson } from './options.ts';

export function registerApprovalCommands(program: Command): void {
  withJson(
    program
      .command('approvals')
      .description('what agents asked to do and wait for your answer (--grouped: by what they ask; --all: answered ones too)')
      .option('--all', 'every request, newest first, not only the pending ones')
      .option('--grouped', 'the pending ones grouped by what they ask, largest group first (answer a group with --group)')
      .option('--agent <id>', 'only this agent'),
  ).action(async (options: { all?: boolean; grouped?: boolean; agent?: string; json?: boolean }, cmd: Command) => {
    const client = connect(contextOf(cmd)).client;
    if (options.grouped) {
      if (options.all) throw usageError('--grouped lists the pending requests only: leave out --all.');
      return printGroups(await client.listApprovalGroups({ query: options.agent ? { agent: options.agent } : {} }), options.json === true);
    }
    const list = await client.listApprovals({ query: { ...(options.all ? {} : { status: 'pending' }), ...(options.agent ? { agent: options.agent } : {}) } });
    if (options.json) return printJson(list);
    printTable(
      ['ID', 'STATUS', 'AGENT', 'REQUEST', 'ASKED', options.all ? 'DECIDED BY' : 'EXPIRES'],
      list.map((a) => [a.id, a.status, `@${a.agentId}`, a.summary, formatTime(a.requestedAt), options.all ? (a.decidedBy ?? '-') : a.expiresAt === null ? 'never' : formatTime(a.expiresAt)]),
      options.all ? 'No approval requests yet.' : 'Nothing waits for your approval.',
    );
    if (!options.all && list.length > 0) {
      println('Answer with `tinyagi approve <id>` (--session, --always) or `tinyagi deny <id> --reason "…"`; a question with `tinyagi answer <id> <text>`.');
      const alike = list.length - new Set(list.map((a) => `${a.kind}\u0000${a.groupKey ?? a.id}`)).size;
      if (alike > 0) println(`${alike} of them ask what another does: \`tinyagi approvals --grouped\` lists them by what they ask, and one command answers a group.`);
      if (list.some((a) => a.kind === 'task_rounds'))
        println("A task whose rounds ran out waits until answered: `tinyagi rounds <id> more [n]` (n more rounds, the project's maxRounds by default), `take-over` or `stop`.");
      if (list.some((a) => a.kind === 'workflow_budget'))
        println('A workflow run paused at its budget waits until answered: `tinyagi budget <id> raise` (the same again, or --budget USD / --budget-tokens N) or `stop` (the run is cancelled).');
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
    withGroup(
      program
        .command('approve')
        .description('allow what an agent asked (once; --session: the same request for the rest of its session; --always: add a rule); --group: a whole group at once')
        .argument('[id]', 'the approval request id (see `tinyagi approvals`)')
        .option('--session', 'allow the same tool and command for the rest of this agent session')
        .option('--always', "allow it from now on (adds an allow rule to the agent's permissions; a connection's host to its egress_allow)"),
    ),
  ).action(async (id: string | undefined, options: GroupOptions & { session?: boolean; always?: boolean }, cmd: Command) => {
    if (options.session && options.always) throw usageError('Use either --session or --always, not both.');
    const decision: ApprovalDecision = options.always ? 'allow_always' : options.session ? 'allow_session' : 'allow_once';
    await decideOneOrGroup(cmd, id, options, { decision, by: 'cli' });
  });

  withJson(
    withGroup(
      program
        .command('deny')
        .description('deny what an agent asked; the agent receives your reason; --group: a whole group at once')
        .argument('[id]', 'the approval request id (see `tinyagi approvals`)')
        .option('--reason <text>', 'why (the agent reads it)'),
    ),
  ).action(async (id: string | undefined, options: GroupOptions & { reason?: string }, cmd: Command) => {
    await decideOneOrGroup(cmd, id, options, { decision: 'deny', by: 'cli', ...(options.reason ? { reason: options.reason } : {}) });
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

  registerBudget(program);
}

/** `tinyagi budget <id> raise|stop`: a workflow run paused at its budget goes on with more, or is cancelled. */
function registerBudget(program: Command): void {
  withJson(
    program
      .command('budget')
      .description('answer a workflow run paused at its budget: raise it (the same again, or --budget / --budget-tokens), or stop the run')
      .argument('<id>', 'the request id (see `tinyagi approvals`)')
      .argument('<answer>', 'raise: the run goes on with a larger budget (default: the same again, each cap doubled); stop: the run is cancelled')
      .option('--budget <usd>', 'with raise: the new budget in US dollars', parseUsd)
      .option('--budget-tokens <n>', 'with raise: the new budget in tokens', parsePositiveInt)
      .option('--reason <text>', 'why, for the record'),
  ).action(async (id: string, answer: string, options: BudgetOptions & { reason?: string; json?: boolean }, cmd: Command) => {
    const decision = ({ raise: 'raise_budget', stop: 'stop' } as const)[answer as 'raise' | 'stop'];
    if (decision === undefined) throw usageError(`Answer raise or stop, not "${answer}": tinyagi budget <id> raise --budget 5.`);
    const budget = budgetBody(options);
    if (decision === 'stop' && Object.keys(budget).length > 0) throw usageError('A budget goes with `raise` only.');
    const body = { decision, by: 'cli', ...budget, ...(options.reason ? { reason: options.reason } : {}) };
    const decided = await connect(contextOf(cmd)).client.decideApproval({ params: { id }, body });
    if (options.json) return printJson(decided);
    println(describeApproval(decided));
  });
}

interface GroupOptions {
  group?: string;
  allLike?: string;
  agent?: string;
  json?: boolean;
}

function withGroup(command: Command): Command {
  return command
    .option('--group <key>', 'every pending request of this group (its key, as `tinyagi approvals --grouped` shows it)')
    .option('--all-like <id>', 'every pending request that asks what this one does (its group)')
    .option('--agent <id>', "with --group or --all-like: only this agent's requests");
}

/** One request by its id, or every pending one of a group: each is answered and recorded on its own. */
async function decideOneOrGroup(cmd: Command, id: string | undefined, options: GroupOptions, body: { decision: ApprovalDecision; by: string; reason?: string }): Promise<void> {
  const given = [id, options.group, options.allLike].filter((v) => v !== undefined).length;
  if (given !== 1) throw usageError('Name one request by its id, or a group with --group <key> or --all-like <id>.');
  if (options.agent !== undefined && id !== undefined) throw usageError('--agent goes with --group or --all-like.');
  const client = connect(contextOf(cmd)).client;
  if (id !== undefined) {
    const decided = await client.decideApproval({ params: { id }, body });
    if (options.json) return printJson(decided);
    return println(describeApproval(decided));
  }
  const group = options.group ?? (await client.getApproval({ params: { id: options.allLike! } })).groupKey;
  if (group === undefined) throw usageError(`The daemon did not say what ${options.allLike} asks; upgrade it, or answer by id.`);
  const result = await client.decideApprovals({ body: { ...body, group, ...(options.agent ? { agent: options.agent } : {}) } });
  if (options.json) return printJson(result);
  println(`${approvalBatchText(result)} (${group})`);
  for (const s of result.skipped) println(`  ${s.id}: ${s.message}`);
}

function printGroups(groups: ApprovalGroup[], json: boolean): void {
  if (json) {
    printJson(groups);
    return;
  }
  printTable(
    ['GROUP', 'COUNT', 'AGENTS', 'FIRST', 'EXPIRES'],
    groups.map((g) => [g.key, String(g.count), agentsText(g.agents), g.ids[0] ?? '-', g.expiresAt === null ? 'never' : formatTime(g.expiresAt)]),
    'Nothing waits for your approval.',
  );
  if (groups.length > 0) println('Answer a group with `tinyagi approve --group "<group>"` (--session, --always) or `tinyagi deny --group "<group>" --reason "…"`; one request alone by its id.');
}

/** `@a @b @c +7`. */
function agentsText(agents: string[]): string {
  const shown = agents.slice(0, 3).map((a) => `@${a}`);
  return agents.length > 3 ? `${shown.join(' ')} +${agents.length - 3}` : shown.join(' ');
}
