/**
 * A forge kind (docs/kinds.md, "Forges"): a binding's `forge.kind` resolved through this
 * registry to the code that talks to that forge (forge.ts's `Forge`). GitHub is the first
 * (`@tinyagi/forge-github`, registered by the server: server/src/forge.ts); a new forge is its
 * folder (a package, or a plugin's module) and one registration line. Contract:
 * - `problems` reads the binding's `forge` block as written (the contract keeps a kind's own keys)
 *   and says what is wrong, each with the key's path; with an unknown kind, the binding is refused
 *   when it is stored (`checkForgeBinding`, a 400 naming the registered kinds);
 * - `tokenEnv` is the daemon's variable the token is read from when the block names none (filled
 *   in when the binding is stored);
 * - `open` makes the client: the place to load the forge's implementation, on first use, so a
 *   daemon without a forge loads none. The token is given to it only, never logged or answered.
 */
import type { ForgeBinding } from '@tinyagi/client/contract';
import { KindRegistry, TinyError } from './core.ts';
import type { BindingProblem } from './check-kinds/check-kind.ts';
import type { Forge, ForgeConnection } from './forge.ts';

export interface ForgeKind {
  readonly family: 'forge';
  /** The name a binding's `forge.kind` gives (`github`). */
  readonly name: string;
  /** How people call it ("GitHub"): in messages about the project's forge. */
  readonly title: string;
  readonly description: string;
  /** The daemon's environment variable the token is read from when the binding names none. */
  readonly tokenEnv: string;
  problems(binding: ForgeBinding): BindingProblem[];
  open(connection: ForgeConnection, binding: ForgeBinding): Promise<Forge>;
}

export function defineForgeKind(kind: Omit<ForgeKind, 'family'>): ForgeKind {
  return { family: 'forge', ...kind };
}

/** The registered forges. */
export const forgeKinds = new KindRegistry<ForgeKind>('forge');

function registered(): string {
  const names = forgeKinds.names();
  return names.length === 0 ? 'none is registered on this node' : `the registered forges are ${names.map((n) => `"${n}"`).join(', ')}`;
}

/** What is wrong with a binding's forge block (its kind unknown here, the kind's own problems), each with its path from the binding. */
export function forgeBindingProblems(binding: ForgeBinding): BindingProblem[] {
  const kind = forgeKinds.get(binding.kind);
  if (kind === undefined) return [{ path: ['forge', 'kind'], message: `Unknown forge kind "${binding.kind}": ${registered()}.` }];
  return kind.problems(binding).map((p) => ({ path: ['forge', ...p.path], message: p.message }));
}

/** The binding's forge block as stored: its token's variable filled in from its kind. Call after `forgeBindingProblems` found none. */
export function storedForgeBinding(binding: ForgeBinding): ForgeBinding {
  const kind = forgeKinds.get(binding.kind);
  return kind === undefined || binding.tokenEnv !== undefined ? binding : { ...binding, tokenEnv: kind.tokenEnv };
}

/** How the owner's messages name the binding's forge: its kind's title ("GitHub"). */
export function forgeTitle(binding: ForgeBinding | undefined): string {
  return (binding === undefined ? undefined : forgeKinds.get(binding.kind)?.title) ?? 'the forge';
}

/** The forge's kind, or INVALID_STATE naming the registered ones (a binding stored while a plugin's forge was loaded). */
export function forgeKindOf(projectId: string, binding: ForgeBinding): ForgeKind {
  const kind = forgeKinds.get(binding.kind);
  if (kind !== undefined) return kind;
  throw new TinyError('INVALID_STATE', `Project ${projectId}'s forge is of kind "${binding.kind}", which is not registered on this node (${registered()}).`, {
    hint: 'Load the module that registers it on every node that runs the task flow, or bind the project to a registered forge.',
  });
}

/** The project's forge client: its kind's `open` with the token read from the daemon's environment (INVALID_STATE when it is not set). */
export async function openBindingForge(projectId: string, binding: ForgeBinding, env: Readonly<Record<string, string | undefined>>): Promise<Forge> {
  const kind = forgeKindOf(projectId, binding);
  const tokenEnv = binding.tokenEnv ?? kind.tokenEnv;
  const token = env[tokenEnv];
  if (token === undefined || token === '') {
    throw new TinyError('INVALID_STATE', `Project ${projectId} has a ${kind.title} forge, but the daemon's environment has no ${tokenEnv}.`, {
      hint: `Set ${tokenEnv} to a token that may read and write pull requests of ${binding.owner}/${binding.repo} where the daemon starts, then start it again.`,
    });
  }
  return kind.open({ owner: binding.owner, repo: binding.repo, token, ...(binding.apiUrl === undefined ? {} : { apiUrl: binding.apiUrl }) }, binding);
}
