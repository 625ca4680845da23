/**
 * The trace export observer: every conversation one OpenTelemetry trace, with the GenAI semantic
 * conventions (docs/telemetry.md has the span tree and every attribute). It uses notifications
 * only (docs/observers.md): each one starts, annotates or ends an in-memory span and returns; the
 * SDK's batch processor exports in the background. Spans are recorded without the SDK's tracer
 * (span-recorder.ts): their ids, parents and sampling are known here.
 *
 * - team conversation: `invoke_workflow {team}` opened by the run that starts it (a human's
 *   message), closed when the conversation has been idle for `workflowIdleMs` (its end time is
 *   the last run's end, not the moment it is noticed);
 * - each run: `invoke_agent {agent}`, a child of the workflow (or the trace's root for a single
 *   agent); a handoff's run is linked to the run that handed off; a sub-agent's run is a child of
 *   its parent run's span;
 * - each tool use the CLI streamed: `execute_tool {tool}` under its run, from the `tool` event to
 *   its `tool_result` (matched by the call id when the runtime gives one; a call without an id ends
 *   at the next tool call or text, as a sequential CLI streams them), or the run's end;
 * - per-call usage (`usage` progress): the cache reads summed on the run's span; plan updates: events;
 * - memory put into the run's context (`memoryInjected`): attributes of the run's span;
 * - failed attempts, cancels, guard rejections and status lines: events on the run's span;
 * - approvals (`approvalRequested`, `approvalSettled`: told by the node whose run waits on the
 *   request) and budget warnings (`budgetWarning`): events on the run's span while it is open;
 * - a task's Checking (`taskChecked`, told when it ended): `check_task {identifier}` with an
 *   `execute_check {name}` per check (checking.ts), in the trace of the conversation the task works
 *   in, under the run that said done.
 */
import { ROOT_CONTEXT, SpanStatusCode, TraceFlags, type Attributes, type Link, type SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { RandomIdGenerator, SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import type {
  ApprovalRequestedEvent,
  ApprovalSettledEvent,
  AttemptFailedEvent,
  BudgetWarningEvent,
  ClaimedEvent,
  MemoryInjectedEvent,
  Observer,
  ProgressEvent,
  RunEndedEvent,
  RunRecord,
  RunStartedEvent,
  TaskCheckedEvent,
} from '@tinyagi/core';
import { providerName, type DescribeAgent } from './agents.ts';
import type { TraceExportConfig } from './config.ts';
import { createOtlpTraceExporter, emptyCounts, gatedProcessor, type ExportCounts } from './export.ts';
import { checkingTraceIdOf, runSpanIdOf, traceIdOf, workflowSpanIdOf } from './ids.ts';
import { approvalEventAttributes } from './approvals.ts';
import { type CheckingPlace, recordChecking } from './checking.ts';
import { cut, maskCut, maskValue } from './mask.ts';
import { type RunTraceContext, withTraceContext } from './propagation.ts';
import { type RecordedSpan, SpanRecorder } from './span-recorder.ts';
import { ERROR_TYPE, EVENT, GEN_AI, OPERATION, TINYAGI } from './semconv.ts';

export interface TraceObserverOptions extends Partial<TraceExportConfig> {
  /** The agent's name, runtime and model (e.g. `agentsFromSettings(getSettings)`). */
  describeAgent?: DescribeAgent | undefined;
  /** How long a team conversation stays quiet before its `invoke_workflow` span is ended. Default 10 s. */
  workflowIdleMs?: number | undefined;
  /** How long one export request may take (the OTLP exporter's timeout). Default 10 s. */
  exportTimeoutMillis?: number | undefined;
  /** Open runs kept at most (a run whose end this process never hears, e.g. its lease moved to another node, is forgotten past this). Default 10 000. */
  maxOpenRuns?: number | undefined;
}

export interface TraceExport {
  /** Register with `orchestrator.addObserver(observer)` or the `observers` option. */
  readonly observer: Observer;
  /** What was exported and dropped so far. */
  counts(): ExportCounts;
  /**
   * Wraps the orchestrator's invoker: every CLI a run launches gets TRACEPARENT naming the run's
   * span, so the CLI's own spans (where it exports them) land inside it.
   */
  wrapInvoke<Req extends { env?: Record<string, string> | undefined }, Res>(invoke: (req: Req) => Promise<Res>): (req: Req) => Promise<Res>;
  /** Sends what is queued now (tests, shutdown); resolves also when the export fails (counted). */
  flush(): Promise<void>;
  /** Ends the open spans as they are, sends what is queued, and stops; never rejects. */
  shutdown(): Promise<void>;
}

const CONTENT_MAX = 8192;
/** Tool spans a run keeps open at most (a runtime that never reports results): the oldest is ended past this. */
const MAX_OPEN_TOOLS = 256;
const VERSION = '0.1.0';

interface OpenTool {
  span: RecordedSpan;
  name: string;
  id: string | undefined;
}

/** `gen_ai.tool.type` of a tool kind: an MCP server's tool is an extension; a CLI's own tools are functions it runs itself. */
function toolType(kind: string | undefined): string {
  return kind === 'mcp' ? 'extension' : 'function';
}

interface OpenRun {
  span: RecordedSpan;
  conversationId: string;
  tools: OpenTool[];
  attempts: number;
  lastErrorClass: string | undefined;
  output: string;
  /** Per-call usage the runtime streamed: calls and cache reads summed, the latest model named. */
  modelCalls: number;
  /** Undefined until a call reports its cache reads. */
  cacheReadTokens: number | undefined;
  responseModel: string | undefined;
}

interface Workflow {
  span: RecordedSpan;
  open: Set<string>;
  lastEnd: number;
  timer: NodeJS.Timeout | undefined;
}

function remoteParent(traceId: string, spanId: string): SpanContext {
  return { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

/** Whether a trace is exported, by its id: every one or none without asking the ratio sampler. */
function samplerOf(ratio: number): (traceId: string) => boolean {
  if (ratio >= 1) return () => true;
  if (ratio <= 0) return () => false;
  const sampler = new TraceIdRatioBasedSampler(ratio);
  return (traceId) => sampler.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
}

/** Conversations whose trace id and sampling decision are kept (a conversation's runs ask again and again). */
const MAX_TRACES_KEPT = 4096;

/** Creates the observer and its export pipeline (the OTLP exporter of the configured protocol, loaded now). */
export async function createTraceObserver(options: TraceObserverOptions = {}): Promise<TraceExport> {
  const protocol = options.protocol ?? 'http/protobuf';
  const batch = { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 5000, exportTimeoutMillis: 30000, ...options.batch };
  const counts = emptyCounts();
  const exporter = await createOtlpTraceExporter({ protocol, url: options.url, headers: options.headers, timeoutMillis: options.exportTimeoutMillis ?? 10_000 });
  const recorder = new SpanRecorder(
    gatedProcessor(exporter, batch, counts),
    resourceFromAttributes({ 'service.name': options.serviceName ?? 'tinyagi', 'telemetry.sdk.language': 'nodejs' }),
    { name: '@tinyagi/otel', version: VERSION },
    { attributeValueLengthLimit: CONTENT_MAX * 2, eventCountLimit: 128 },
  );
  const observer = new TraceObserver(recorder, samplerOf(options.sampleRatio ?? 1), options);
  return {
    observer,
    counts: () => ({ ...counts }),
    wrapInvoke: (invoke) => withTraceContext(invoke, (conversationId, runId) => observer.contextOf(conversationId, runId), options.cliTelemetry),
    // A failed export is counted (counts()); flushing and stopping never throw because of it.
    flush: () => recorder.forceFlush().catch(() => {}),
    shutdown: async () => {
      observer.endAll();
      await recorder.shutdown().catch(() => {});
    },
  };
}

class TraceObserver implements Observer {
  readonly name = 'otel-trace-export';
  readonly #runs = new Map<string, OpenRun>();
  /** Trace id and sampling decision by conversation id (derived; kept for the most recent conversations). */
  readonly #traces = new Map<string, { traceId: string; sampled: boolean }>();
  readonly #workflows = new Map<string, Workflow>();
  readonly #captureContent: boolean;
  readonly #legacyNames: boolean;
  readonly #idleMs: number;
  readonly #maxOpenRuns: number;
  readonly #random = new RandomIdGenerator();
  private readonly recorder: SpanRecorder;
  private readonly sampled: (traceId: string) => boolean;
  private readonly options: TraceObserverOptions;

  constructor(recorder: SpanRecorder, sampled: (traceId: string) => boolean, options: TraceObserverOptions) {
    this.recorder = recorder;
    this.sampled = sampled;
    this.options = options;
    this.#captureContent = options.captureContent ?? false;
    this.#legacyNames = !(options.latestSemconvOnly ?? false);
    this.#idleMs = options.workflowIdleMs ?? 10_000;
    this.#maxOpenRuns = options.maxOpenRuns ?? 10_000;
  }

  claimed(event: ClaimedEvent): void {
    // Work is coming for this conversation: keep its workflow open.
    const workflow = this.#workflows.get(event.conversationId);
    if (workflow?.timer) {
      clearTimeout(workflow.timer);
      workflow.timer = undefined;
    }
  }

  runStarted({ run }: RunStartedEvent): void {
    const open = this.#runs.get(run.id);
    if (open) {
      open.attempts++;
      open.span.addEvent(EVENT.attemptStarted, { [TINYAGI.attempts]: open.attempts });
      return;
    }
    // (`changed: false` here: a retry whose first attempt this process did not see, e.g. after a restart: the span starts now.)
    this.#startRun(run, run.startedAt ?? Date.now());
  }

  progress({ run, progress }: ProgressEvent): void {
    const open = this.#runs.get(run.id);
    if (!open) return;
    switch (progress.type) {
      case 'tool': {
        // The same call reported again (updated as it streams): one span.
        if (progress.id && open.tools.some((t) => t.id === progress.id)) return;
        // A call without an id ends the previous calls without one (a sequential CLI); calls with ids wait for their results (they may run in parallel).
        this.#endTools(open, undefined, true);
        const attributes: Attributes = { [GEN_AI.operationName]: OPERATION.executeTool, [GEN_AI.toolName]: progress.name, [GEN_AI.toolType]: toolType(progress.kind) };
        if (progress.id) attributes[GEN_AI.toolCallId] = progress.id;
        if (progress.kind) attributes[TINYAGI.toolKind] = progress.kind;
        if (this.#captureContent && progress.input !== undefined) attributes[GEN_AI.toolCallArguments] = cut(JSON.stringify(maskValue(progress.input)) ?? '', CONTENT_MAX);
        if (this.#captureContent && progress.title) attributes[GEN_AI.toolDescription] = maskCut(progress.title, 1000);
        const parent = open.span.spanContext();
        const span = this.recorder.start({
          name: `${OPERATION.executeTool} ${progress.name}`,
          traceId: parent.traceId,
          spanId: this.#random.generateSpanId(),
          parent,
          sampled: (parent.traceFlags & TraceFlags.SAMPLED) !== 0,
          attributes,
        });
        if (open.tools.length >= MAX_OPEN_TOOLS) open.tools.shift()?.span.end();
        open.tools.push({ span, name: progress.name, id: progress.id });
        return;
      }
      case 'tool_result': {
        const i =
          progress.id !== undefined
            ? open.tools.findIndex((t) => t.id === progress.id)
            : progress.name === undefined
              ? 0
              : Math.max(
                  open.tools.findIndex((t) => t.name === progress.name),
                  0,
                );
        const tool = open.tools[i];
        if (!tool) return;
        open.tools.splice(i, 1);
        if (this.#captureContent && progress.output !== undefined) tool.span.setAttribute(GEN_AI.toolCallResult, maskCut(progress.output, CONTENT_MAX));
        if (!progress.ok) {
          tool.span.setAttribute(ERROR_TYPE, 'tool_error');
          tool.span.setStatus({ code: SpanStatusCode.ERROR });
        }
        tool.span.end();
        return;
      }
      case 'usage':
        open.modelCalls++;
        if (progress.cacheReadTokens !== undefined) open.cacheReadTokens = (open.cacheReadTokens ?? 0) + progress.cacheReadTokens;
        if (progress.model) open.responseModel = progress.model;
        return;
      case 'plan': {
        const current = progress.steps.find((s) => s.status === 'in_progress') ?? progress.steps.find((s) => s.status === 'pending');
        const attributes: Attributes = { [TINYAGI.planSteps]: progress.steps.length, [TINYAGI.planCompleted]: progress.steps.filter((s) => s.status === 'completed').length };
        if (this.#captureContent && current) attributes[TINYAGI.planCurrent] = maskCut(current.text, 1000);
        open.span.addEvent(EVENT.plan, attributes);
        return;
      }
      case 'text':
        this.#endTools(open, undefined, true);
        if (this.#captureContent && open.output.length < CONTENT_MAX) open.output += progress.text;
        return;
      case 'status':
        open.span.addEvent(EVENT.status, { message: maskCut(progress.message, 1000) });
        return;
    }
  }

  /** A request of a run open here: an event on its span. */
  approvalRequested({ approval }: ApprovalRequestedEvent): void {
    // A run-less request (a task's `task_rounds`) has no run span to add it to.
    if (approval.runId === null) return;
    this.#runs.get(approval.runId)?.span.addEvent(EVENT.approvalRequested, approvalEventAttributes(approval, this.#captureContent), approval.requestedAt);
  }

  /**
   * Its end (told before the run hears the answer, so its span is open then), except for a run
   * that ended first: a cancel ends the run, then the desk cancels its waiting request; that span
   * has ended and keeps only the request (the metrics count the cancellation).
   */
  approvalSettled({ approval }: ApprovalSettledEvent): void {
    const open = approval.runId === null ? undefined : this.#runs.get(approval.runId);
    if (!open) return;
    const name = approval.status === 'expired' ? EVENT.approvalExpired : EVENT.approvalDecided;
    open.span.addEvent(name, approvalEventAttributes(approval, this.#captureContent), approval.decidedAt ?? Date.now());
  }

  /** What memory went into the run's context (told before its agent is invoked): the entries, their ids and the block's size. */
  memoryInjected({ run, entryIds, tokens, budget }: MemoryInjectedEvent): void {
    const span = this.#runs.get(run.id)?.span;
    span
      ?.setAttribute(TINYAGI.memoryEntries, entryIds.length)
      .setAttribute(TINYAGI.memoryEntryIds, [...entryIds])
      .setAttribute(TINYAGI.memoryTokens, tokens)
      .setAttribute(TINYAGI.memoryBudget, budget);
  }

  /** On the run that crossed the limit (told just before its end), else the conversation's workflow span. */
  budgetWarning({ run, conversationId, limitName, used, limit }: BudgetWarningEvent): void {
    const span = this.#runs.get(run.id)?.span ?? this.#workflows.get(conversationId)?.span;
    span?.addEvent(EVENT.budgetWarning, { [TINYAGI.budgetLimitName]: limitName, [TINYAGI.budgetUsed]: used, [TINYAGI.budgetLimit]: limit, [TINYAGI.runId]: run.id });
  }

  /**
   * A task's Checking, told when it ended (its times are the recorded ones): in the trace of the
   * conversation the task works in, a child of the run that said done (open here or not: its span
   * id is derived), or a root span of that trace when resumed at start; in no conversation, a trace
   * of its own. Sampled as the trace is.
   */
  taskChecked(event: TaskCheckedEvent): void {
    let place: CheckingPlace;
    if (event.conversationId) {
      const { traceId, sampled } = this.#trace(event.conversationId);
      const parent = event.runId === undefined ? undefined : (this.#runs.get(event.runId)?.span.spanContext() ?? remoteParent(traceId, runSpanIdOf(event.runId)));
      place = { traceId, sampled, parent };
    } else {
      const traceId = checkingTraceIdOf(event.taskId, event.check.startedAt);
      place = { traceId, sampled: this.sampled(traceId), parent: undefined };
    }
    recordChecking(this.recorder, this.#random, event, place, this.#captureContent);
  }

  attemptFailed({ run, error, errorClass, usage, costUsd }: AttemptFailedEvent): void {
    const open = this.#runs.get(run.id);
    if (!open) return;
    this.#endTools(open, errorClass);
    open.lastErrorClass = errorClass;
    const attributes: Attributes = { [ERROR_TYPE]: errorClass, message: maskCut(error, 2000), [TINYAGI.attempts]: open.attempts };
    if (usage) {
      attributes[GEN_AI.usageInputTokens] = usage.inputTokens;
      attributes[GEN_AI.usageOutputTokens] = usage.outputTokens;
    }
    if (costUsd !== undefined) attributes[TINYAGI.costUsd] = costUsd;
    open.span.addEvent(EVENT.attemptFailed, attributes);
  }

  runEnded(event: RunEndedEvent): void {
    const { run, status, totals, error, detail } = event;
    const now = Date.now();
    // A run that ends without having started here (rejected at creation, cancelled while queued): a span of its own, from creation to end.
    const open = this.#runs.get(run.id) ?? this.#startRun(run, run.createdAt);
    this.#runs.delete(run.id);
    this.#endTools(open, status === 'completed' ? undefined : status);
    const span = open.span;
    span.setAttribute(GEN_AI.usageInputTokens, totals.inputTokens);
    span.setAttribute(GEN_AI.usageOutputTokens, totals.outputTokens);
    span.setAttribute(TINYAGI.costUsd, totals.costUsd);
    span.setAttribute(TINYAGI.status, status);
    span.setAttribute(TINYAGI.attempts, open.attempts);
    if (open.modelCalls > 0) span.setAttribute(TINYAGI.modelCalls, open.modelCalls);
    if (open.cacheReadTokens !== undefined) span.setAttribute(GEN_AI.usageCacheReadInputTokens, open.cacheReadTokens);
    if (open.responseModel) span.setAttribute(GEN_AI.responseModel, open.responseModel);
    if (this.#captureContent && open.output) span.setAttribute(GEN_AI.outputMessages, JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: maskCut(open.output, CONTENT_MAX) }] }]));
    if (detail?.mergedInto) span.setAttribute(TINYAGI.mergedInto, detail.mergedInto);
    if (status === 'cancelled') span.addEvent(EVENT.cancelled, detail?.reason ? { reason: detail.reason } : {});
    if (status === 'rejected') span.addEvent(EVENT.rejected, { ...(detail?.limitName ? { limit_name: detail.limitName } : {}), ...(error ? { message: maskCut(error, 2000) } : {}) });
    if (status === 'failed' || status === 'rejected') {
      span.setAttribute(ERROR_TYPE, status === 'failed' ? (open.lastErrorClass ?? 'failed') : 'rejected');
      span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: maskCut(error, 2000) } : {}) });
    }
    span.end(now);
    this.#runDone(run.conversationId, run.id, now);
  }

  /** The span a run's CLI continues: the run's open span here, or the derived ids of one open elsewhere (or not yet). */
  contextOf(conversationId: string, runId: string): RunTraceContext {
    const open = this.#runs.get(runId)?.span.spanContext();
    if (open) return { traceId: open.traceId, spanId: open.spanId, sampled: (open.traceFlags & TraceFlags.SAMPLED) !== 0 };
    const trace = this.#trace(conversationId);
    return { traceId: trace.traceId, spanId: runSpanIdOf(runId), sampled: trace.sampled };
  }

  #trace(conversationId: string): { traceId: string; sampled: boolean } {
    let trace = this.#traces.get(conversationId);
    if (!trace) {
      const traceId = traceIdOf(conversationId);
      trace = { traceId, sampled: this.sampled(traceId) };
      if (this.#traces.size >= MAX_TRACES_KEPT) this.#traces.delete(this.#traces.keys().next().value!);
      this.#traces.set(conversationId, trace);
    }
    return trace;
  }

  /** Ends every open span now (shutdown). */
  endAll(): void {
    for (const [id, open] of this.#runs) {
      this.#endTools(open, 'shutdown');
      open.span.setAttribute(TINYAGI.status, 'open');
      open.span.end();
      this.#runs.delete(id);
    }
    for (const [id, workflow] of this.#workflows) {
      if (workflow.timer) clearTimeout(workflow.timer);
      workflow.span.end();
      this.#workflows.delete(id);
    }
  }

  #startRun(run: RunRecord, startTime: number): OpenRun {
    const { traceId, sampled } = this.#trace(run.conversationId);
    const agent = this.options.describeAgent?.(run.agentId);
    const agentName = agent?.name || run.agentId;
    const provider = providerName(agent?.runtime, agent?.model);
    let parent: SpanContext | undefined;
    const links: Link[] = [];
    if (run.parentRunId && run.cause === 'spawn') {
      const local = this.#runs.get(run.parentRunId);
      parent = local ? local.span.spanContext() : remoteParent(traceId, runSpanIdOf(run.parentRunId));
    } else {
      if (run.parentRunId) links.push({ context: { traceId, spanId: runSpanIdOf(run.parentRunId), traceFlags: TraceFlags.SAMPLED }, attributes: { [TINYAGI.linkType]: 'handoff' } });
      if (run.teamId) {
        const workflow = this.#workflows.get(run.conversationId) ?? (run.parentRunId ? undefined : this.#openWorkflow(run, traceId, sampled, startTime));
        if (workflow) {
          parent = workflow.span.spanContext();
          workflow.open.add(run.id);
          if (workflow.timer) {
            clearTimeout(workflow.timer);
            workflow.timer = undefined;
          }
        } else if (run.parentRunId) {
          // This process has no workflow open (another node's, or it has been closed): under the run that handed off.
          parent = remoteParent(traceId, runSpanIdOf(run.parentRunId));
        }
      } else if (run.parentRunId) parent = remoteParent(traceId, runSpanIdOf(run.parentRunId));
    }
    const attributes: Attributes = {
      [GEN_AI.operationName]: OPERATION.invokeAgent,
      [GEN_AI.providerName]: provider,
      [GEN_AI.agentId]: run.agentId,
      [GEN_AI.agentName]: agentName,
      [GEN_AI.conversationId]: run.conversationId,
      [TINYAGI.runId]: run.id,
      [TINYAGI.cause]: run.cause,
      [TINYAGI.depth]: run.depth,
      [TINYAGI.channel]: run.channel,
    };
    if (this.#legacyNames) attributes[GEN_AI.system] = provider;
    if (agent?.model) attributes[GEN_AI.requestModel] = agent.model;
    if (agent?.runtime) attributes[TINYAGI.runtime] = agent.runtime;
    if (run.teamId) attributes[TINYAGI.teamId] = run.teamId;
    if (run.parentRunId) attributes[TINYAGI.parentRunId] = run.parentRunId;
    if (this.#captureContent && run.input) attributes[GEN_AI.inputMessages] = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: maskCut(run.input, CONTENT_MAX) }] }]);
    const span = this.recorder.start({ name: `${OPERATION.invokeAgent} ${agentName}`, traceId, spanId: runSpanIdOf(run.id), parent, sampled, attributes, links, startTime });
    const open: OpenRun = {
      span,
      conversationId: run.conversationId,
      tools: [],
      attempts: 1,
      lastErrorClass: undefined,
      output: '',
      modelCalls: 0,
      cacheReadTokens: undefined,
      responseModel: undefined,
    };
    if (this.#runs.size >= this.#maxOpenRuns) {
      const [oldest] = this.#runs.keys();
      if (oldest !== undefined) this.#runs.delete(oldest);
    }
    this.#runs.set(run.id, open);
    return open;
  }

  #openWorkflow(run: RunRecord, traceId: string, sampled: boolean, startTime: number): Workflow {
    const attributes: Attributes = {
      [GEN_AI.operationName]: OPERATION.invokeWorkflow,
      [GEN_AI.workflowName]: run.teamId!,
      [GEN_AI.conversationId]: run.conversationId,
      [TINYAGI.teamId]: run.teamId!,
      [TINYAGI.channel]: run.channel,
    };
    const span = this.recorder.start({ name: `${OPERATION.invokeWorkflow} ${run.teamId}`, traceId, spanId: workflowSpanIdOf(run.id), sampled, attributes, startTime });
    const workflow: Workflow = { span, open: new Set(), lastEnd: startTime, timer: undefined };
    this.#workflows.set(run.conversationId, workflow);
    return workflow;
  }

  #runDone(conversationId: string, runId: string, at: number): void {
    const workflow = this.#workflows.get(conversationId);
    if (!workflow) return;
    workflow.open.delete(runId);
    workflow.lastEnd = Math.max(workflow.lastEnd, at);
    if (workflow.open.size > 0) return;
    if (workflow.timer) clearTimeout(workflow.timer);
    workflow.timer = setTimeout(() => {
      if (this.#workflows.get(conversationId) !== workflow || workflow.open.size > 0) return;
      this.#workflows.delete(conversationId);
      workflow.span.end(workflow.lastEnd);
    }, this.#idleMs);
    workflow.timer.unref();
  }

  /** Ends the run's open tool spans (only those without a call id when `unnamedOnly`). */
  #endTools(open: OpenRun, errorType: string | undefined, unnamedOnly = false): void {
    const ending = unnamedOnly ? open.tools.filter((t) => t.id === undefined) : open.tools;
    if (ending.length === 0) return;
    open.tools = unnamedOnly ? open.tools.filter((t) => t.id !== undefined) : [];
    for (const tool of ending) {
      if (errorType) {
        tool.span.setAttribute(ERROR_TYPE, errorType);
        tool.span.setStatus({ code: SpanStatusCode.ERROR });
      }
      tool.span.end();
    }
  }
}
