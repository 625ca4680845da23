/**
 * `tinyagi workflow run|forecast|list|show|cancel|resume|registered` (docs/cli.md, "Workflows"): a
 * workflow is a module the person writes, run durably by the daemon. `run` says its forecast, then
 * starts it (a file resolved from here and checked to exist, else a registered workflow of that
 * name; the daemon loads and checks the module) and with `--wait` follows it through the event
 * stream: a line per step on stderr, the result as JSON on stdout, exit 1 unless it completed.
 * `forecast` says what a run would cost, step by agent. `show` prints the run and its steps as a
 * tree built from the step ids.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { RegisteredWorkflow, WorkflowRun, WorkflowRunDetail } from '@tinyagi/client';
import { type ForecastWorkflowBody, WORKFLOW_RUN_STATUSES, type WorkflowRunStatus } from '@tinyagi/client/contract';
import { clause, isValidId } from '@tinyagi/core';
import type { CliContext } from '../context.ts';
import { connect, localDaemonGone, type DaemonConnection } from '../daemon/connection.ts';
import { CliError, usageError } from '../output/cli-error.ts';
import { formatTime, plural, printFields, printJson, printTable, println } from '../output/print.ts';
import { errStyle, style } from '../output/style.ts';
import { budgetWarning, forecastAgentRows, forecastSummary, pastRunsLine } from '../output/workflow-forecast.ts';
import { formatUsd, stepTreeLines } from '../output/workflow-tree.ts';
import { watchWorkflowRun, type WorkflowEvent } from '../workflow-watch.ts';
import { type BudgetOptions, budgetBody, choice, contextOf, parsePositiveInt, parseSeconds, parseUsd, withJson } from './options.ts';

/** `--input`: any JSON value. */
function parseJsonInput(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected JSON, e.g. \'{"topic":"tests"}\', \'[1,2]\' or \'"text"\' (a string in double quotes).');
  }
}

interface WaitOptions {
  wait?: boolean;
  timeout?: number;
  json?: boolean;
}

interface RunOptions extends BudgetOptions, WaitOptions {
  input?: unknown;
  inputFile?: string;
}

const MODULE_HINT = 'Give the path of a .ts, .mts, .js or .mjs module whose default export is the workflow, or the name of a registered one (`tinyagi workflow registered`).';

/**
 * What `run` starts: the module at that path from the current directory when there is one (a path
 * that exists wins), else the registered workflow of that name (the daemon refuses an unknown
 * name, listing the registered ones). Neither: a usage error before asking the daemon.
 */
function workflowToRun(arg: string): { file: string } | { workflow: string } {
  const path = resolve(arg);
  if (existsSync(path)) {
    if (!statSync(path).isFile()) throw usageError(`${path} is not a file.`, MODULE_HINT);
    return { file: path };
  }
  if (isValidId(arg)) return { workflow: arg };
  throw usageError(`No workflow file at ${path}.`, MODULE_HINT);
}

/** Which workflow a run started: `the registered workflow review (/home/…/review.ts)` or `the module /…/review.ts`. */
function startedText(run: WorkflowRun): string {
  return run.registered ? `the registered workflow ${run.registered} (${run.file})` : `the module ${run.file}`;
}

/** Who started a run: `person`, or `@coder`. */
const starterText = (run: WorkflowRun): string => (run.startedBy === 'person' ? 'person' : `@${run.startedBy}`);

/** The run's input: --input's value, or --input-file's contents read as JSON (not both). */
function runInput(options: RunOptions): { input?: unknown } {
  if (options.input !== undefined && options.inputFile !== undefined) throw usageError('Give --input or --input-file, not both.');
  if (options.inputFile === undefined) return options.input === undefined ? {} : { input: options.input };
  const path = resolve(options.inputFile);
  if (!existsSync(path)) throw usageError(`--input-file: no file at ${path}.`);
  try {
    return { input: JSON.parse(readFileSync(path, 'utf8')) };
  } catch (err) {
    throw usageError(`--input-file ${path} is not JSON: ${(err as Error).message}`);
  }
}

const STATUS_COLOUR: Record<WorkflowRunStatus, (text: string) => string> = {
  running: style.cyan,
  paused: style.yellow,
  completed: style.green,
  failed: style.red,
  cancelled: style.yellow,
};

const statusText = (run: WorkflowRun): string => STATUS_COLOUR[run.status](run.status);

const budgetText = (run: WorkflowRun): string =>
  [run.budget.usd === null ? '' : formatUsd(run.budget.usd), run.budget.tokens === null ? '' : `${run.budget.tokens} tok`].filter((p) => p !== '').join(', ') || 'none';

/** How a run that did not complete stands, with its reason: `Workflow run wf_… paused. Paused at its budget: …`. */
function stoppedText(run: WorkflowRun): string {
  return `Workflow run ${run.id} ${run.status}.${run.reason ? ` ${clause(run.reason)}.` : ''}`;
}

/** What to do next with a run that did not complete (or is still going). */
function nextStep(run: WorkflowRun): string | undefined {
  const resume = `\`tinyagi workflow resume ${run.id}\``;
  if (run.status === 'paused')
    return `A person is asked (\`tinyagi approvals\`, then \`tinyagi budget <request id> raise\` or \`stop\`); or resume it with ${resume}, with a larger --budget or --budget-tokens.`;
  if (run.status === 'failed') return `Once the cause is fixed, run its failed steps again with ${resume}.`;
  if (run.status === 'running') return `Cancel it with \`tinyagi workflow cancel ${run.id}\`.`;
  return undefined;
}

function printRun(detail: WorkflowRunDetail): void {
  const { run, steps } = detail;
  printFields([
    ['run', `${style.bold(run.name)} ${style.dim(run.id)}`],
    ...(run.registered ? ([['workflow', `${run.registered} (registered)`]] as const) : []),
    ['file', run.file],
    ['started by', starterText(run)],
    ['status', `${statusText(run)}${run.reason ? ` (${run.reason})` : ''}`],
    ['input', run.input === undefined || run.input === null ? '-' : JSON.stringify(run.input)],
    ['steps', `${run.steps.completed}/${run.steps.total} completed${run.steps.running > 0 ? `, ${run.steps.running} running` : ''}${run.steps.failed > 0 ? `, ${run.steps.failed} failed` : ''}`],
    ['cost', `${formatUsd(run.costUsd)}, ${run.tokens} tok`],
    ['budget', budgetText(run)],
    ...(run.node ? ([['node', run.node]] as const) : []),
    ['started', formatTime(run.createdAt)],
    ['ended', formatTime(run.endedAt)],
  ]);
  println();
  if (steps.length === 0) println(style.dim('(no steps yet)'));
  for (const line of stepTreeLines(steps)) println(line);
  if (run.status === 'completed') {
    println();
    println(style.bold('Result:'));
    println(JSON.stringify(run.result, null, 2));
  }
  const next = nextStep(run);
  if (next) println(style.dim(`\n${next}`));
}

/** One progress line for a step event: `● 2:parallel[0]/1:agent  @writer  running`, `✔ …  completed  $0.0012  340 tok`, `✖ …  failed  $0.0000  0 tok  <its error>`. */
function stepEventLine(event: WorkflowEvent): string | undefined {
  if (event.type === 'workflow.changed') return event.data.status === 'running' ? `workflow ${event.data.name} running` : undefined;
  const { stepId, kind, status, costUsd, tokens, error } = event.data;
  // The step's agent is the event's (null for the program's own `step`).
  const agent = event.agentId === null ? kind : `@${event.agentId}`;
  const mark = status === 'completed' ? '✔' : status === 'failed' ? '✖' : '●';
  const totals = status === 'running' ? [] : [formatUsd(costUsd), `${tokens} tok`];
  return [`${mark} ${stepId}`, agent, status, ...totals, error?.split('\n')[0] ?? ''].filter((p) => p !== '').join('  ');
}

/** True the first time a step is seen in a state (its `running` event comes again once its message is sent). */
function firstInState(): (event: WorkflowEvent) => boolean {
  const seen = new Set<string>();
  return (event) => {
    const key = event.type === 'workflow.step' ? `${event.data.stepId} ${event.data.status}` : `run ${event.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

/**
 * Follows a run the caller just started or resumed (events after `afterEventId`) until it stops:
 * progress on stderr (JSON lines with --json), then the run on stdout (the result as JSON, or the
 * whole run with --json). Fails (exit 1) unless it completed, saying why and what to do.
 */
async function followRun(ctx: CliContext, connection: DaemonConnection, runId: string, afterEventId: number, options: WaitOptions): Promise<void> {
  const { client } = connection;
  const first = firstInState();
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const { run } = await watchWorkflowRun(client, {
    runId,
    afterEventId,
    ...(options.timeout !== undefined ? { timeoutMs: options.timeout * 1000 } : {}),
    daemonGone: () => localDaemonGone(ctx, connection),
    onEvent: (event) => {
      if (options.json) return say(JSON.stringify(event));
      const line = first(event) ? stepEventLine(event) : undefined;
      if (line !== undefined) say(errStyle.dim(line));
    },
    onConnection: (change) => {
      if (!options.json) say(errStyle.yellow(change === 'lost' ? 'Lost the connection to the daemon; waiting for it to come back…' : 'Connected to the daemon again.'));
    },
  });
  if (options.json) printJson(run);
  else if (run.status === 'completed') println(JSON.stringify(run.result, null, 2));
  if (run.status !== 'completed') throw new CliError('FAILED', stoppedText(run), { hint: `${nextStep(run) ?? ''} Its steps: \`tinyagi workflow show ${run.id}\`.`.trim() });
}

function registerRun(workflow: Command): void {
  withJson(
    workflow
      .command('run')
      .description('start a workflow module (its default export is the workflow) or a registered workflow; --wait follows it to its result')
      .argument('<file-or-name>', 'the module (.ts, .mts, .js, .mjs), from the current directory; or the name of a registered workflow (a path that exists wins)')
      .option('--input <json>', "the run's input, as JSON", parseJsonInput)
      .option('--input-file <path>', "the run's input, read from a JSON file")
      .option('--budget <usd>', 'pause before a new step once the run has cost this many US dollars', parseUsd)
      .option('--budget-tokens <n>', 'pause before a new step once the run has used this many tokens', parsePositiveInt)
      .option('-w, --wait', 'follow the run: a line per step (stderr), then its result as JSON (stdout); exit 1 unless it completed')
      .option('--timeout <seconds>', 'with --wait: give up after this long (default: as long as it runs)', parseSeconds),
  ).action(async (target: string, options: RunOptions, cmd: Command) => {
    const what = { ...workflowToRun(target), ...runInput(options) };
    const body = { ...what, ...budgetBody(options) };
    const ctx = contextOf(cmd);
    const connection = connect(ctx);
    if (!options.json) await sayForecast(connection, what, options.budget);
    const before = options.wait ? (await connection.client.status()).lastEventId : 0;
    const { run } = await connection.client.startWorkflow({ body });
    if (options.json) return options.wait ? followRun(ctx, connection, run.id, before, options) : printJson(run);
    const started = `Started workflow run ${run.id} of ${startedText(run)}.`;
    // With --wait it goes where the progress goes: stdout keeps the result alone.
    if (options.wait) {
      process.stderr.write(`${errStyle.dim(started)}\n`);
      return followRun(ctx, connection, run.id, before, options);
    }
    println(started);
    println(style.dim(`Follow it with: \`tinyagi workflow show ${run.id}\``));
  });
}

/** The forecast's summary on stderr before a start (and a warning when the budget is below it); a forecast the daemon refuses is left to the start to say. */
async function sayForecast(connection: DaemonConnection, body: ForecastWorkflowBody, budgetUsd: number | undefined): Promise<void> {
  const forecast = await connection.client.forecastWorkflow({ body }).then(
    (answer) => answer.forecast,
    () => undefined,
  );
  if (!forecast) return;
  for (const line of forecastSummary(forecast)) process.stderr.write(`${errStyle.dim(line)}\n`);
  const warning = budgetWarning(forecast, budgetUsd);
  if (warning) process.stderr.write(`${errStyle.yellow(warning)}\n`);
}

function registerForecast(workflow: Command): void {
  withJson(
    workflow
      .command('forecast')
      .description('what a run would cost, before it starts: the program planned without running an agent, each step priced from past runs of its runtime and model')
      .argument('<file-or-name>', 'as for `workflow run`')
      .option('--input <json>', "the run's input, as JSON", parseJsonInput)
      .option('--input-file <path>', "the run's input, read from a JSON file"),
  ).action(async (target: string, options: RunOptions, cmd: Command) => {
    const body = { ...workflowToRun(target), ...runInput(options) };
    const { forecast } = await connect(contextOf(cmd)).client.forecastWorkflow({ body });
    if (options.json) return printJson(forecast);
    for (const line of forecastSummary(forecast)) println(line);
    if (forecast.agents.length > 0) {
      println();
      printTable(['AGENT', 'RUNTIME', 'STEPS', 'PRICED FROM', 'COST'], forecastAgentRows(forecast));
    }
    const past = pastRunsLine(forecast, 'workflow' in body ? body.workflow : basename(body.file, extname(body.file)));
    if (past) println(`\n${past}`);
  });
}

function registerList(workflow: Command): void {
  withJson(
    workflow
      .command('list')
      .alias('ls')
      .description('workflow runs, newest first')
      .option('--status <status>', `only runs in this status (${WORKFLOW_RUN_STATUSES.join(', ')})`, choice(WORKFLOW_RUN_STATUSES))
      .option('-n, --limit <n>', 'at most this many (default 50)', parsePositiveInt),
  ).action(async (options: { status?: WorkflowRunStatus; limit?: number; json?: boolean }, cmd: Command) => {
    const { runs } = await connect(contextOf(cmd)).client.listWorkflowRuns({ query: { ...(options.status ? { status: options.status } : {}), limit: options.limit ?? 50 } });
    if (options.json) return printJson(runs);
    printTable(
      ['ID', 'NAME', 'STATUS', 'STEPS', 'COST', 'STARTED', 'BY'],
      runs.map((r) => [r.id, r.name, statusText(r), `${r.steps.completed}/${r.steps.total}`, formatUsd(r.costUsd), formatTime(r.createdAt), starterText(r)]),
      options.status ? `No ${options.status} workflow runs.` : 'No workflow runs. Start one with `tinyagi workflow run <file>`.',
    );
  });
}

/** What a registered workflow takes: its input schema's top-level properties (`files*`: required), or `any`. */
function inputText(w: RegisteredWorkflow): string {
  if (w.input === null) return 'any';
  const properties = w.input['properties'];
  const required = Array.isArray(w.input['required']) ? w.input['required'] : [];
  if (typeof properties !== 'object' || properties === null) return 'schema';
  return Object.keys(properties)
    .map((k) => (required.includes(k) ? `${k}*` : k))
    .join(', ');
}

function registerRegistered(workflow: Command): void {
  withJson(workflow.command('registered').description('the registered workflows (settings: workflows.<name>): name, who may start each, its input, its module')).action(
    async (options: { json?: boolean }, cmd: Command) => {
      const { workflows } = await connect(contextOf(cmd)).client.listWorkflows();
      if (options.json) return printJson(workflows);
      printTable(
        ['NAME', 'AGENTS', 'INPUT', 'FILE', 'DESCRIPTION'],
        workflows.map((w) => [
          w.name,
          w.agents.length > 0 ? w.agents.map((a) => `@${a}`).join(', ') : '-',
          inputText(w),
          w.fileExists ? w.file : `${w.file} ${style.red('(missing)')}`,
          w.description ?? '',
        ]),
        'No registered workflows. Register one in settings.json: "workflows": { "<name>": { "file": "<module>" } } (docs/workflows.md).',
      );
    },
  );
}

function registerShow(workflow: Command): void {
  withJson(workflow.command('show').description('one run: its status, cost, result and its steps as a tree').argument('<id>', 'the run id')).action(
    async (id: string, options: { json?: boolean }, cmd: Command) => {
      const detail = await connect(contextOf(cmd)).client.getWorkflowRun({ params: { id } });
      if (options.json) return printJson(detail);
      printRun(detail);
    },
  );
}

function registerCancel(workflow: Command): void {
  withJson(workflow.command('cancel').description('cancel a run: no new step starts, and the agent steps running are cancelled').argument('<id>', 'the run id')).action(
    async (id: string, options: { json?: boolean }, cmd: Command) => {
      const { run } = await connect(contextOf(cmd)).client.cancelWorkflowRun({ params: { id } });
      if (options.json) return printJson(run);
      println(`Cancelled workflow run ${run.id} (${run.name}).`);
    },
  );
}

function registerResume(workflow: Command): void {
  withJson(
    workflow
      .command('resume')
      .description('resume a paused or failed run: finished steps keep their results, the rest run (failed ones again)')
      .argument('<id>', 'the run id')
      .option('--budget <usd>', 'a new budget for the run, in US dollars', parseUsd)
      .option('--budget-tokens <n>', 'a new budget for the run, in tokens', parsePositiveInt)
      .option('-w, --wait', 'follow the run as `workflow run --wait` does')
      .option('--timeout <seconds>', 'with --wait: give up after this long (default: as long as it runs)', parseSeconds),
  ).action(async (id: string, options: BudgetOptions & WaitOptions, cmd: Command) => {
    const ctx = contextOf(cmd);
    const connection = connect(ctx);
    const before = options.wait ? (await connection.client.status()).lastEventId : 0;
    const { run } = await connection.client.resumeWorkflowRun({ params: { id }, body: budgetBody(options) });
    if (options.wait) return followRun(ctx, connection, run.id, before, options);
    if (options.json) return printJson(run);
    println(`Resumed workflow run ${run.id} (${run.name}): ${plural(run.steps.completed, 'step')} done before.`);
    println(style.dim(`Follow it with: \`tinyagi workflow show ${run.id}\``));
  });
}

export function registerWorkflowCommands(program: Command): void {
  const workflow = program.command('workflow').alias('workflows').description('workflows: modules that run agents step by step, durably (run, forecast, list, show, cancel, resume, registered)');
  registerRun(workflow);
  registerForecast(workflow);
  registerList(workflow);
  registerRegistered(workflow);
  registerShow(workflow);
  registerCancel(workflow);
  registerResume(workflow);
}
