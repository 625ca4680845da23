/**
 * The ACP recipes as docs/sessions.md writes them ("With `agent add`'s defaults"): each
 * `tinyagi agent add <id> --provider acp --config '<json>'` line, read from the page itself so the
 * suite runs what a user types (acp-agents.test.ts, acp-gemini.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface AcpRecipe {
  id: string;
  config: { acp: { command: string; args?: string[] }; env_passthrough?: string[]; egress_allow?: string[] } & Record<string, unknown>;
}

const DOC = fileURLToPath(new URL('../../../docs/sessions.md', import.meta.url));
const LINE = /^tinyagi agent add (\S+) --provider acp --config '([^']+)'$/;

/** The documented recipe whose agent runs `command`; throws when the page has none (the docs and the suite must agree). */
export function acpRecipe(command: string): AcpRecipe {
  const recipes = readFileSync(DOC, 'utf8')
    .split('\n')
    .map((line) => LINE.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, id, json]) => ({ id: id!, config: JSON.parse(json!) as AcpRecipe['config'] }));
  const recipe = recipes.find((r) => r.config.acp.command === command);
  if (!recipe) throw new Error(`docs/sessions.md has no \`tinyagi agent add … --provider acp\` recipe for ${command} (it has: ${recipes.map((r) => r.config.acp.command).join(', ')})`);
  return recipe;
}

/** The recipe's `agent add` arguments with variables added to its env_passthrough and settings replaced (a stand-in's URL and host: the differences from a user's machine). */
export function withPassthrough(recipe: AcpRecipe, extra: string[], replace: Record<string, unknown> = {}): string[] {
  const config = { ...recipe.config, env_passthrough: [...(recipe.config.env_passthrough ?? []), ...extra], ...replace };
  return ['agent', 'add', recipe.id, '--provider', 'acp', '--config', JSON.stringify(config)];
}
