/**
 * The rules a person's `allow_always` or `allow_session` answer makes (docs/approvals.md,
 * "Answers"): exactly as wide as the request the person saw. From the request's stored input
 * (secrets masked), for its tool:
 * - a shell command: its whole line as written, every `*`, `?` and `\` in it escaped (literal),
 *   each masked secret (`sk-…wxyz`, a URL password `…`) standing for one secret-shaped word
 *   (glob.ts), never for a run of anything;
 * - else each path it names, resolved as the rules resolve it (a link followed), escaped: one
 *   rule per path;
 * - else (an MCP tool, a web fetch: no command or path to name) the tool with its input exactly
 *   as stored (masked), never the whole tool.
 * A command longer than a rule may hold (1,000 characters), a path longer than 4,096, or an input
 * longer than MAX_RULE_INPUT_JSON as JSON makes no rule: the answer then allows this request only.
 */
import { MAX_RULE_INPUT_JSON, type PermissionRule } from '@tinyagi/client/contract';
import { escapeGlob } from './glob.ts';
import { PathResolver } from './paths.ts';
import { commandLineOf, MAX_REQUEST_PATHS, requestPaths, SHELL_TOOLS } from './rules.ts';

const MAX_RULE_COMMAND = 1_000;
const MAX_RULE_PATH = 4_096;

export function rulesForAnswer(request: { tool: string; input: unknown }, workspace: string): PermissionRule[] {
  const tool = escapeGlob(request.tool);
  const input = request.input && typeof request.input === 'object' ? (request.input as Record<string, unknown>) : {};
  if (SHELL_TOOLS.includes(request.tool)) {
    const line = commandLineOf(input.command)?.trim();
    if (line) {
      const command = escapeGlob(line, true);
      return command.length > MAX_RULE_COMMAND ? [] : [{ action: 'allow', tool, command }];
    }
  }
  const raw = requestPaths(input);
  if (raw.length > 0) {
    if (raw.length > MAX_REQUEST_PATHS) return [];
    const resolver = new PathResolver();
    const root = resolver.resolve(workspace, '/').path;
    const paths = raw.map((p) => resolver.resolve(p, root));
    if (paths.some((p) => !p.resolved)) return [];
    const rules = paths.map((p): PermissionRule => ({ action: 'allow', tool, path: escapeGlob(p.path) }));
    return rules.some((r) => r.path!.length > MAX_RULE_PATH) ? [] : rules;
  }
  const json = JSON.stringify(request.input ?? null);
  return json.length > MAX_RULE_INPUT_JSON ? [] : [{ action: 'allow', tool, input: JSON.parse(json) as unknown }];
}
