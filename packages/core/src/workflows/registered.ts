/**
 * Registered workflows (settings' `workflows.<name>`, docs/workflows.md "Registered workflows"):
 * a module the person names once, started by that name by a person or by the agents it lists.
 * A relative `file` is taken from TINYAGI_HOME/workflows/, `~` from the user's home; the settings
 * schema keeps a relative one inside that folder.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { RegisteredWorkflow } from '@tinyagi/client/contract';
import type { Settings } from '../config/schema.ts';
import { ownEntry } from '../config/object-path.ts';
import { expandHome, type Env } from '../config/paths.ts';

/** The folder a registered workflow's relative `file` is taken from. */
export function workflowsDir(home: string): string {
  return join(home, 'workflows');
}

function resolvedFile(file: string, home: string, env: Env): string {
  const expanded = expandHome(file, env);
  return isAbsolute(expanded) ? resolve(expanded) : resolve(workflowsDir(home), expanded);
}

/** The registered workflow `name` as the API shows it, or undefined when the settings have none of that name. */
export function registeredWorkflow(settings: Settings, home: string, name: string, env: Env = process.env): RegisteredWorkflow | undefined {
  const entry = ownEntry(settings.workflows, name);
  if (entry === undefined) return undefined;
  const file = resolvedFile(entry.file, home, env);
  return {
    name,
    description: entry.description ?? null,
    file,
    fileExists: existsSync(file) && statSync(file).isFile(),
    input: entry.input ?? null,
    agents: entry.agents ?? [],
  };
}

/** Every registered workflow, by name. */
export function registeredWorkflows(settings: Settings, home: string, env: Env = process.env): RegisteredWorkflow[] {
  return Object.keys(settings.workflows ?? {})
    .sort()
    .flatMap((name) => registeredWorkflow(settings, home, name, env) ?? []);
}
