/**
 * What Codex's two stream formats share (codex.ts runs `codex exec --json`, codex-warm.ts speaks
 * `codex app-server`): the provider settings given with `-c`, the in-band instructions block,
 * and the items. The items are the same things in both (codex 0.169): `exec --json` spells their
 * types and fields in snake_case (`command_execution`, `aggregated_output`, `exit_code`), the
 * app-server in camelCase (`commandExecution`, `aggregatedOutput`, `exitCode`); both are read
 * here into the same progress events (tool calls with id, kind and a one-line title; results by
 * item id with the start of their output).
 */
import { createHash } from 'node:crypto';
import { asArray, asNumber, asRecord, asRecords, asString, type JsonRecord } from '../json-read.ts';
import type { InvokeProgress, InvokeRequest, PlanStep, ToolActivityKind } from '../types.ts';

/** The id of the `model_providers` entry a custom provider becomes, and the variable its key travels in. */
export const CODEX_PROVIDER_ID = 'tinyagi';
export const CODEX_PROVIDER_KEY_ENV = 'TINYAGI_CODEX_API_KEY';
export const CODEX_INSTALL_HINT = 'Install the Codex CLI (npm i -g @openai/codex) and log in, or give the agent another provider (e.g. "mock").';

/** Variables codex itself needs set for this request: a custom provider's key (in a variable only that provider reads). */
export function codexRuntimeEnv(req: InvokeRequest): Record<string, string> | undefined {
  return req.target.baseUrl !== undefined && req.target.apiKey !== undefined ? { [CODEX_PROVIDER_KEY_ENV]: req.target.apiKey } : undefined;
}

/**
 * A custom provider as codex reads one: a `model_providers` entry (TOML values through `-c`). The
 * OpenAI provider with OPENAI_BASE_URL set (which codex no longer reads) gets `openai_base_url`.
 */
export function providerArgs(req: InvokeRequest): string[] {
  const baseUrl = req.target.baseUrl;
  const openaiBaseUrl = req.target.env?.OPENAI_BASE_URL;
  // A JSON string is a valid TOML basic string.
  if (baseUrl === undefined) return openaiBaseUrl ? ['-c', `openai_base_url=${JSON.stringify(openaiBaseUrl)}`] : [];
  const entry = `model_providers.${CODEX_PROVIDER_ID}`;
  const settings = [
    `model_provider=${JSON.stringify(CODEX_PROVIDER_ID)}`,
    `${entry}.name=${JSON.stringify(req.target.provider)}`,
    `${entry}.base_url=${JSON.stringify(baseUrl)}`,
    `${entry}.wire_api="responses"`,
    ...(req.target.apiKey !== undefined ? [`${entry}.env_key=${JSON.stringify(CODEX_PROVIDER_KEY_ENV)}`] : []),
  ];
  return settings.flatMap((setting) => ['-c', setting]);
}

/**
 * Codex's own telemetry pointed at TinyAGI's collector (`telemetry.cli_telemetry`, docs/telemetry.md):
 * the trace export's invoker wrapper sets TINYAGI_CLI_TELEMETRY=1 with the standard
 * OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL in the request's environment; Codex reads its exporters
 * from `[otel]` only, so they become `otel.exporter` (its log events), `otel.trace_exporter` and
 * `otel.metrics_exporter` here (and OTEL_LOG_USER_PROMPTS=1, set with capture_content, becomes
 * `otel.log_user_prompt`). TRACEPARENT (in the same environment) makes Codex continue our
 * trace. Headers stay off the command line (it shows in the process list): Codex's OTLP
 * exporters read OTEL_EXPORTER_OTLP_HEADERS from its environment themselves (checked with 0.169),
 * and the trace export moves an endpoint's `user:password@` into that variable, so the endpoint
 * here carries no credentials.
 */
export function codexOtelArgs(req: InvokeRequest): string[] {
  const env = req.env;
  const endpoint = env?.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (env?.TINYAGI_CLI_TELEMETRY !== '1' || !endpoint) return [];
  const exporter = (signal: 'logs' | 'traces' | 'metrics'): string =>
    env.OTEL_EXPORTER_OTLP_PROTOCOL === 'grpc'
      ? `{ otlp-grpc = { endpoint = ${JSON.stringify(endpoint)} } }`
      : `{ otlp-http = { endpoint = ${JSON.stringify(`${endpoint}/v1/${signal}`)}, protocol = ${env.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json' ? '"json"' : '"binary"'} } }`;
  return [
    '-c',
    `otel.exporter=${exporter('logs')}`,
    '-c',
    `otel.trace_exporter=${exporter('traces')}`,
    '-c',
    `otel.metrics_exporter=${exporter('metrics')}`,
    '-c',
    `otel.log_user_prompt=${env.OTEL_LOG_USER_PROMPTS === '1'}`,
  ];
}

/** A short content hash of the system prompt (what a thread was last told). */
export function instructionsHash(systemPrompt: string): string {
  return createHash('sha256').update(systemPrompt).digest('hex').slice(0, 16);
}

/** The message of a turn that carries the instructions in-band: the first of a thread, or an update. */
export function codexTurnInput(systemPrompt: string, prompt: string, update: boolean): string {
  if (systemPrompt.trim() === '') return prompt;
  const open = update ? '<tinyagi_instructions updated="true">\nThese instructions replace the earlier <tinyagi_instructions> of this conversation.\n' : '<tinyagi_instructions>\n';
  return `${open}${systemPrompt}\n</tinyagi_instructions>\n\n${prompt}`;
}

/** The item types of `codex exec --json`, by their app-server names. */
const SNAKE_TYPES: Record<string, string> = {
  agent_message: 'agentMessage',
  command_execution: 'commandExecution',
  file_change: 'fileChange',
  mcp_tool_call: 'mcpToolCall',
  web_search: 'webSearch',
  todo_list: 'todoList',
  user_message: 'userMessage',
};

/** An item's type in the app-server's spelling (either stream). */
export function codexItemType(item: JsonRecord | undefined): string | undefined {
  const type = asString(item?.type);
  return type === undefined ? undefined : (SNAKE_TYPES[type] ?? type);
}

/** A field by its camelCase name, or its snake_case one (`exec --json`). */
function field(item: JsonRecord, camel: string): unknown {
  if (item[camel] !== undefined) return item[camel];
  return item[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

/** Items that are the agent acting (tool events), as opposed to talking or thinking. */
const TOOL_KINDS: Record<string, ToolActivityKind> = {
  commandExecution: 'command',
  fileChange: 'file_edit',
  mcpToolCall: 'mcp',
  webSearch: 'web',
  dynamicToolCall: 'other',
  collabAgentToolCall: 'agent',
  imageView: 'file_read',
};

export function isCodexToolItem(item: JsonRecord | undefined): boolean {
  const type = codexItemType(item);
  return type !== undefined && type in TOOL_KINDS;
}

const TITLE_CHARS = 200;
const OUTPUT_CHARS = 2000;

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > TITLE_CHARS ? `${line.slice(0, TITLE_CHARS - 1)}…` : line;
}

function toolName(item: JsonRecord, type: string): string {
  if (type === 'commandExecution') return 'shell';
  if (type === 'fileChange') return 'file_change';
  if (type === 'webSearch') return 'web_search';
  if (type === 'mcpToolCall') return [asString(item.server), asString(item.tool)].filter(Boolean).join('.') || 'mcp_tool_call';
  if (type === 'dynamicToolCall' || type === 'collabAgentToolCall') return asString(item.tool) ?? type;
  return type;
}

function changedPaths(item: JsonRecord): string[] {
  return asRecords(item.changes)
    .map((c) => asString(c.path))
    .filter((p): p is string => p !== undefined);
}

function toolInput(item: JsonRecord, type: string): unknown {
  if (type === 'commandExecution') return { command: item.command };
  if (type === 'fileChange') return { changes: asRecords(item.changes).map((c) => ({ path: c.path, kind: c.kind })) };
  if (type === 'webSearch') return { query: item.query };
  if (type === 'imageView') return { path: item.path };
  if (type === 'collabAgentToolCall') return { prompt: item.prompt };
  return item.arguments;
}

function toolTitle(item: JsonRecord, type: string): string | undefined {
  if (type === 'commandExecution') return asString(item.command) && oneLine(asString(item.command)!);
  if (type === 'fileChange') {
    const paths = changedPaths(item);
    return paths.length > 0 ? oneLine(paths.join(', ')) : undefined;
  }
  if (type === 'webSearch') return asString(item.query) && oneLine(asString(item.query)!);
  if (type === 'mcpToolCall') return oneLine(toolName(item, type));
  if (type === 'imageView') return asString(item.path);
  return undefined;
}

/** The `tool` event of a tool item (started or completed), or undefined for other items. */
export function codexToolEvent(item: JsonRecord | undefined): InvokeProgress | undefined {
  const type = codexItemType(item);
  if (!item || !type || !(type in TOOL_KINDS)) return undefined;
  const id = asString(item.id);
  const title = toolTitle(item, type);
  return { type: 'tool', name: toolName(item, type), input: toolInput(item, type), ...(id ? { id } : {}), kind: TOOL_KINDS[type], ...(title ? { title } : {}) };
}

function toolOutput(item: JsonRecord, type: string): string | undefined {
  let text: string | undefined;
  if (type === 'commandExecution') text = asString(field(item, 'aggregatedOutput'));
  else if (type === 'fileChange') text = changedPaths(item).join('\n') || undefined;
  else if (type === 'mcpToolCall') {
    const error = asString(asRecord(item.error)?.message);
    const content = asRecords(asRecord(item.result)?.content)
      .map((c) => asString(c.text))
      .filter(Boolean)
      .join('\n');
    text = error ?? (content || undefined);
  } else if (type === 'dynamicToolCall') {
    text =
      asRecords(item.contentItems)
        .map((c) => asString(c.text))
        .filter(Boolean)
        .join('\n') || undefined;
  }
  if (text === undefined || text === '') return undefined;
  return text.length > OUTPUT_CHARS ? text.slice(0, OUTPUT_CHARS) : text;
}

/** The `tool_result` event of a completed tool item, or undefined for other items. */
export function codexToolResult(item: JsonRecord | undefined): InvokeProgress | undefined {
  const type = codexItemType(item);
  if (!item || !type || !(type in TOOL_KINDS)) return undefined;
  const exitCode = asNumber(field(item, 'exitCode'));
  const status = asString(item.status);
  const ok = status !== 'failed' && status !== 'declined' && item.success !== false && item.error == null && (exitCode === undefined || exitCode === 0);
  const id = asString(item.id);
  const output = toolOutput(item, type);
  return { type: 'tool_result', name: toolName(item, type), ok, ...(id ? { id } : {}), ...(output !== undefined ? { output } : {}) };
}

/** A plan as codex streams it (app-server `turn/plan/updated` steps, `exec --json` todo_list items). */
export function codexPlanSteps(steps: unknown): PlanStep[] {
  return asArray(steps)
    .map(asRecord)
    .filter((s): s is JsonRecord => s !== undefined)
    .map((s) => {
      const status = asString(s.status);
      const done = status === 'completed' || s.completed === true;
      return {
        text: asString(s.step) ?? asString(s.text) ?? '',
        status: done ? 'completed' : status === 'inProgress' || status === 'in_progress' ? 'in_progress' : 'pending',
      } satisfies PlanStep;
    })
    .filter((s) => s.text !== '');
}

/**
 * Tracks which tool items were announced, so a call is announced once (started, then completed)
 * and a completed item seen without its start still gets its `tool` event before the result.
 */
export class CodexItemEvents {
  readonly #announced = new Set<string>();
  readonly emit: (event: InvokeProgress) => void;

  constructor(emit: (event: InvokeProgress) => void) {
    this.emit = emit;
  }

  started(item: JsonRecord | undefined): void {
    if (codexItemType(item) === 'todoList') {
      this.emit({ type: 'plan', steps: codexPlanSteps(item?.items) });
      return;
    }
    const event = codexToolEvent(item);
    if (event?.type !== 'tool') return;
    if (event.id !== undefined) {
      if (this.#announced.has(event.id)) return;
      this.#announced.add(event.id);
    }
    this.emit(event);
  }

  completed(item: JsonRecord | undefined): void {
    const type = codexItemType(item);
    if (type === 'todoList') {
      this.emit({ type: 'plan', steps: codexPlanSteps(item?.items) });
      return;
    }
    const result = codexToolResult(item);
    if (!result) return;
    this.started(item);
    this.emit(result);
  }
}
