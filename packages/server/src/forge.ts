/**
 * The forges a binding may name (docs/kinds.md, "Forges"), one line each: registered in core's
 * forge registry for every node that runs a task flow and checks bindings. Each kind loads its
 * client on first use (GitHub's: `@tinyagi/forge-github`, Octokit), so a daemon without a forge
 * loads none.
 */
import { type ForgeKind, forgeKinds } from '@tinyagi/git-tasks';
import { githubForgeKind } from '@tinyagi/forge-github/kind';

export const BUILTIN_FORGE_KINDS: readonly ForgeKind[] = [githubForgeKind];

/** Registers the built-in forges not registered yet (one a test or a plugin registered under the same name stays). */
export function registerBuiltinForgeKinds(): void {
  for (const kind of BUILTIN_FORGE_KINDS) if (!forgeKinds.has(kind.name)) forgeKinds.register(kind);
}
