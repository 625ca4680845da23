/**
 * The rules a person's `allow_always` or `allow_session` answer makes (docs/approvals.md,
 * "Answers"): exactly as wide as the request the person saw. From the request's stored input
 * (secrets masked), for its tool:
 * - a shell command: its whole line as written, every `*`, `?` and `\` in it escaped (literal),
 *   each masked secret (`sk-…wxyz`, a URL password `…`) standing for one secret-shaped word
 *   (glob.ts), never for a run of anything; a `…` the agent typed itself (`rm -rf build/…`) is
 *   literal: a `…` stands for a secret only where masking a secret there gives it back;
 * - else each path it names, resolved as the rules resolve it (a link followed), escaped: one
 *   rule per path;
 * - else (an MCP tool, a web fetch: no command or path to name) the tool with its input exactly
 *   as stored (masked), never the whole tool.
 * A command longer than a rule may hold (1,000 characters), a path longer than 4,096, or an input
 * longer than MAX_RULE_INPUT_JSON as JSON makes no rule: the answer then allows this request only.
 */
import { MAX_RULE_INPUT_JSON, type PermissionRule } from '@tinyagi/client/contract';
import { escapeGlob, MASK } from './glob.ts';
import { maskSecretsInText } from './mask.ts';
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
      if (line.length > MAX_RULE_COMMAND) return [];
      const command = commandPattern(line);
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

/** More `…` in one line than this: all of them are taken as typed (a narrower rule, never a wider one). */
const MAX_MASKS = 16;
/** What stands in for a secret when a `…` is tried: a short one (masked whole) and a long one (its ends shown, config/secrets.ts). */
const STAND_INS = ['Zq7Xw2Vb9Nk4', 'Zq7Xw2Vb9Nk4Mp8Rt3Ys'];

/**
 * The line as a pattern: `*`, `?` and `\` escaped, and each `…` escaped unless it is a mask: one
 * that masking gives back when a secret stands in its place (the line as stored is the masked
 * line, so masking a secret put where a mask is returns the same line; where the agent typed `…`
 * in a path, it does not).
 */
function commandPattern(line: string): string {
  const masks: number[] = [];
  for (let i = line.indexOf(MASK); i !== -1; i = line.indexOf(MASK, i + 1)) masks.push(i);
  const kept = new Set(masks.length > MAX_MASKS ? [] : masks.filter((i) => STAND_INS.some((secret) => maskSecretsInText(`${line.slice(0, i)}${secret}${line.slice(i + 1)}`) === line)));
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    out += c === MASK ? (kept.has(i) ? c : `\\${c}`) : escapeGlob(c);
  }
  return out;
}
