/**
 * The shapes of the agent CLIs' protocol messages, for the fake-parity check (docs/testing.md):
 * the real-CLI suite records what the real Claude Code, Codex and OpenCode write on stdout in each
 * of their protocols and compares it with the fixtures in ../fixtures/cli-shapes (written instead
 * when TINYAGI_RECORD_SHAPES=1); test/fake-parity.test.ts checks that the fakes in ../bin write
 * no message type and no key the real CLI does not.
 *
 * A message's shape is its type (the discriminator below) and the sorted paths of its keys
 * (`message.content[].type`: `[]` stands for an array's elements). Values are not compared. Maps
 * keyed by names (model names, a tool's input, a tool's own result) count as one key: their
 * entries differ between any two runs.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type ShapeCli = 'claude' | 'codex' | 'opencode';

/** One protocol of one CLI: a fixture each. */
export const CLI_MODES = ['claude-print', 'claude-stream', 'codex-exec', 'codex-app-server', 'opencode-run', 'opencode-acp'] as const;
export type CliMode = (typeof CLI_MODES)[number];

/** Message type → the union of the key paths seen in messages of that type, sorted. */
export type Shapes = Record<string, string[]>;

export interface ShapeFixture {
  cli: ShapeCli;
  /** The CLI version the shapes were recorded from. */
  version: string;
  mode: CliMode;
  messages: Shapes;
}

export const SHAPES_DIR = fileURLToPath(new URL('../fixtures/cli-shapes/', import.meta.url));

/** The protocol an invocation speaks, from its arguments; undefined for runs that speak none (`--version`). */
export function modeOf(cli: ShapeCli, argv: readonly string[]): CliMode | undefined {
  switch (cli) {
    case 'claude':
      if (!argv.includes('-p') && !argv.includes('--print')) return undefined;
      return argv.includes('--input-format') && argv[argv.indexOf('--input-format') + 1] === 'stream-json' ? 'claude-stream' : 'claude-print';
    case 'codex':
      return argv[0] === 'exec' ? 'codex-exec' : argv[0] === 'app-server' ? 'codex-app-server' : undefined;
    case 'opencode':
      return argv[0] === 'run' ? 'opencode-run' : argv[0] === 'acp' ? 'opencode-acp' : undefined;
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Paths (as keyPaths writes them) whose value is a map keyed by names, or a tool's own data: recorded, not entered. */
const OPAQUE: Record<CliMode, RegExp> = {
  'claude-print': /^(modelUsage|model_usage_since_last_result|message\.content\[\]\.input|tool_use_result|message\.content\[\]\.content)$/,
  'claude-stream': /^(modelUsage|model_usage_since_last_result|message\.content\[\]\.input|tool_use_result|message\.content\[\]\.content|request\.input|response\.response)$/,
  'codex-exec': /^$/,
  'codex-app-server': /^$/,
  'opencode-run': /^(part\.state\.input|part\.state\.metadata)$/,
  'opencode-acp': /^(params\.update\.rawInput|params\.update\.rawOutput|params\.toolCall\.rawInput)$/,
};

/** Every key path of `value`, `[]` for array elements; opaque paths are listed but not entered. */
export function keyPaths(value: Json, opaque: RegExp, prefix = '', into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) keyPaths(item, opaque, `${prefix}[]`, into);
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      into.add(path);
      if (!opaque.test(path)) keyPaths(child, opaque, path, into);
    }
  }
  return into;
}

/**
 * A message's type: stream-json's `type` (and `subtype`, a control message's request subtype),
 * codex exec's `type` (and an item's type), a JSON-RPC message's method (and the kind of update
 * or item it carries); a response is named by the method of the request it answers.
 */
export function discriminator(mode: CliMode, msg: JsonObject, requests: ReadonlyMap<string, string>): string {
  const parts: Array<string | undefined> = [];
  if (mode === 'claude-print' || mode === 'claude-stream') {
    parts.push(str(msg.type), str(msg.subtype));
    if (isObject(msg.request)) parts.push(str(msg.request.subtype));
    if (isObject(msg.response)) parts.push(str(msg.response.subtype));
    if (isObject(msg.event)) parts.push(str(msg.event.type));
  } else if (mode === 'codex-exec') {
    parts.push(str(msg.type));
    if (isObject(msg.item)) parts.push(str(msg.item.type));
  } else if (mode === 'opencode-run') {
    parts.push(str(msg.type));
  } else {
    // JSON-RPC 2.0: a request or notification of the CLI's, or its response to one of ours.
    const method = str(msg.method);
    if (method !== undefined) {
      parts.push(method);
      const params = isObject(msg.params) ? msg.params : {};
      if (isObject(params.item)) parts.push(str(params.item.type));
      if (isObject(params.update)) parts.push(str(params.update.sessionUpdate));
    } else {
      parts.push(msg.error !== undefined ? 'error' : 'response', requests.get(JSON.stringify(msg.id ?? null)) ?? '?');
    }
  }
  return parts.filter((p) => p !== undefined).join('/');
}

/**
 * The shapes of one invocation's traffic: `stdout` its lines (JSON ones are messages; others, such
 * as warnings, are not a protocol), `stdin` ours (only read to name JSON-RPC responses).
 */
export function shapesOf(mode: CliMode, stdout: readonly string[], stdin: readonly string[] = []): Shapes {
  const requests = new Map<string, string>();
  for (const line of stdin) {
    const msg = parseLine(line);
    if (msg && str(msg.method) !== undefined && msg.id !== undefined) requests.set(JSON.stringify(msg.id), str(msg.method)!);
  }
  const shapes = new Map<string, Set<string>>();
  for (const line of stdout) {
    const msg = parseLine(line);
    if (!msg) continue;
    const type = discriminator(mode, msg, requests);
    shapes.set(type, keyPaths(msg, OPAQUE[mode], '', shapes.get(type)));
  }
  return Object.fromEntries([...shapes].map(([type, paths]) => [type, [...paths].sort()]));
}

function parseLine(line: string): JsonObject | undefined {
  if (!line.trimStart().startsWith('{')) return undefined;
  try {
    const msg = JSON.parse(line) as Json;
    return isObject(msg) ? msg : undefined;
  } catch {
    return undefined;
  }
}

export function mergeShapes(a: Shapes, b: Shapes): Shapes {
  const out: Shapes = {};
  for (const type of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out[type] = [...new Set([...(a[type] ?? []), ...(b[type] ?? [])])].sort();
  return out;
}

/** What `seen` has that `known` lacks, one line each (empty when every type and key of `seen` is known). */
export function shapesBeyond(seen: Shapes, known: Shapes): string[] {
  const out: string[] = [];
  for (const [type, paths] of Object.entries(seen)) {
    const knownPaths = known[type];
    if (!knownPaths) {
      out.push(`message type "${type}" (keys: ${paths.join(', ')})`);
      continue;
    }
    const extra = paths.filter((p) => !knownPaths.includes(p));
    if (extra.length > 0) out.push(`"${type}": keys ${extra.join(', ')}`);
  }
  return out;
}

export function shapesFile(mode: CliMode): string {
  return `${SHAPES_DIR}${mode}.json`;
}

export function readShapes(mode: CliMode): ShapeFixture | undefined {
  const file = shapesFile(mode);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ShapeFixture) : undefined;
}

/** Writes a fixture as the repository's formatter (biome) lays JSON out: an array on one line when it fits in 200 columns. */
export function writeShapes(fixture: ShapeFixture): void {
  const q = (v: string): string => JSON.stringify(v);
  const entries = Object.entries(fixture.messages);
  const messages = entries.flatMap(([type, paths], i) => {
    const comma = i < entries.length - 1 ? ',' : '';
    const line = `    ${q(type)}: [${paths.map(q).join(', ')}]${comma}`;
    if (line.length <= 200) return [line];
    return [`    ${q(type)}: [`, ...paths.map((p, j) => `      ${q(p)}${j < paths.length - 1 ? ',' : ''}`), `    ]${comma}`];
  });
  const lines = ['{', `  "cli": ${q(fixture.cli)},`, `  "version": ${q(fixture.version)},`, `  "mode": ${q(fixture.mode)},`, '  "messages": {', ...messages, '  }', '}', ''];
  writeFileSync(shapesFile(fixture.mode), lines.join('\n'));
}
