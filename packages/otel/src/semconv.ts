/**
 * The attribute names and values this package writes: the OpenTelemetry GenAI semantic
 * conventions (development status; the names of @opentelemetry/semantic-conventions' incubating
 * entry point, which its authors ask users to copy rather than import since they may change) and
 * TinyAGI's own `tinyagi.*` attributes. test/semconv.test.ts checks the copies against the package.
 */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  /** The name before gen_ai.provider.name (conventions ≤ 1.36); written unless the latest conventions are opted into. */
  system: 'gen_ai.system',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  requestModel: 'gen_ai.request.model',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  toolName: 'gen_ai.tool.name',
  toolType: 'gen_ai.tool.type',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallId: 'gen_ai.tool.call.id',
  toolCallResult: 'gen_ai.tool.call.result',
  toolDescription: 'gen_ai.tool.description',
  responseModel: 'gen_ai.response.model',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  workflowName: 'gen_ai.workflow.name',
} as const;

export const OPERATION = {
  invokeAgent: 'invoke_agent',
  invokeWorkflow: 'invoke_workflow',
  executeTool: 'execute_tool',
} as const;

/** The span names of a task's Checking (not GenAI operations: no `gen_ai.operation.name`). */
export const CHECKING = {
  checkTask: 'check_task',
  executeCheck: 'execute_check',
} as const;

/**
 * Other conventions the Checking's spans use (development status too): the commit checked (VCS),
 * a check's process, and its result as a CI/CD pipeline task's.
 */
export const VCS = { refHeadName: 'vcs.ref.head.name', refHeadRevision: 'vcs.ref.head.revision' } as const;
export const PROCESS = { commandArgs: 'process.command_args', exitCode: 'process.exit.code' } as const;
export const CICD = {
  pipelineResult: 'cicd.pipeline.result',
  taskName: 'cicd.pipeline.task.name',
  /** `success`, `failure`, `timeout`, `error` (could not start). */
  taskRunResult: 'cicd.pipeline.task.run.result',
} as const;

export const ERROR_TYPE = 'error.type';

export const TINYAGI = {
  runId: 'tinyagi.run.id',
  parentRunId: 'tinyagi.run.parent_id',
  cause: 'tinyagi.run.cause',
  depth: 'tinyagi.run.depth',
  status: 'tinyagi.run.status',
  runtime: 'tinyagi.agent.runtime',
  teamId: 'tinyagi.team.id',
  channel: 'tinyagi.channel',
  costUsd: 'tinyagi.usage.cost_usd',
  attempts: 'tinyagi.run.attempts',
  mergedInto: 'tinyagi.run.merged_into',
  linkType: 'tinyagi.link.type',
  /** A tool call's kind as the runtime reports it (command, file_edit, file_read, search, web, mcp, agent, other). */
  toolKind: 'tinyagi.tool.kind',
  /** Model calls the runtime reported one by one (`usage` progress) during the run. */
  modelCalls: 'tinyagi.usage.model_calls',
  planSteps: 'tinyagi.plan.steps',
  planCompleted: 'tinyagi.plan.completed',
  planCurrent: 'tinyagi.plan.current',
  approvalId: 'tinyagi.approval.id',
  /** `permission` (a tool call waits for a person) or `question` (ask_human). */
  approvalKind: 'tinyagi.approval.kind',
  /** `pending`, `allowed`, `denied`, `answered`, `expired`, `cancelled`. */
  approvalStatus: 'tinyagi.approval.status',
  /** `allow_once`, `allow_session`, `allow_always`, `deny`, `answer`. */
  approvalDecision: 'tinyagi.approval.decision',
  /** Who answered (`cli`, `tinyoffice`, `telegram:<sender>`, `expiry`, `restart`, `cancelled`). */
  approvalDecidedBy: 'tinyagi.approval.decided_by',
  /** A denial's or cancellation's reason, as the agent receives it (masked). */
  approvalReason: 'tinyagi.approval.reason',
  /** From the request to its answer, in milliseconds. */
  approvalWaitMs: 'tinyagi.approval.wait_ms',
  /** Only with capture_content: the one-line summary (`Bash: rm -rf build`, or the question), masked. */
  approvalSummary: 'tinyagi.approval.summary',
  /** Only with capture_content: a question's answer, masked. */
  approvalAnswer: 'tinyagi.approval.answer',
  taskId: 'tinyagi.task.id',
  /** `WEB-3`. */
  taskIdentifier: 'tinyagi.task.identifier',
  projectId: 'tinyagi.project.id',
  /** The rounds the task had come back before this Checking (0 the first time). */
  taskRound: 'tinyagi.task.round',
  /** `passed`, `failed` or `needs_person` (failed after the binding's maxRounds). */
  checkingOutcome: 'tinyagi.checking.outcome',
  /** What does not hold, one sentence each (masked). */
  checkingMissing: 'tinyagi.checking.missing',
  /** Commits on the branch beyond the base. */
  checkingCommits: 'tinyagi.checking.commits',
  /** Only with a remote in the binding. */
  checkingPushed: 'tinyagi.checking.pushed',
  checkName: 'tinyagi.check.name',
  checkTimedOut: 'tinyagi.check.timed_out',
  checkTimeoutMs: 'tinyagi.check.timeout_ms',
  /** The signal that ended the check's process, when one did. */
  checkSignal: 'tinyagi.check.signal',
  /** Only with capture_content: the end of the check's log, masked. */
  checkLogTail: 'tinyagi.check.log_tail',
  /** The limit crossed (`conversation_usd`, `max_hops`…); `…limit` is its value. */
  budgetLimitName: 'tinyagi.budget.limit_name',
  budgetUsed: 'tinyagi.budget.used',
  budgetLimit: 'tinyagi.budget.limit',
  /** How many memory entries went into the run's context before its turn (docs/memory.md). */
  memoryEntries: 'tinyagi.memory.entries',
  /** Their ids, in the block's order. */
  memoryEntryIds: 'tinyagi.memory.entry_ids',
  /** The memory block's estimated tokens (characters / 4), and the agent's budget. */
  memoryTokens: 'tinyagi.memory.tokens',
  memoryBudget: 'tinyagi.memory.budget',
} as const;

/** Span event names. */
export const EVENT = {
  attemptFailed: 'tinyagi.attempt.failed',
  attemptStarted: 'tinyagi.attempt.started',
  status: 'tinyagi.status',
  plan: 'tinyagi.plan',
  cancelled: 'tinyagi.run.cancelled',
  rejected: 'tinyagi.guard.rejected',
  approvalRequested: 'tinyagi.approval.requested',
  approvalDecided: 'tinyagi.approval.decided',
  approvalExpired: 'tinyagi.approval.expired',
  budgetWarning: 'tinyagi.budget.warning',
} as const;
