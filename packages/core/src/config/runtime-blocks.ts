/**
 * An agent's runtime blocks of settings.json (`agents.<id>.<runtime>`: the mock's script, the
 * acp runtime's command), each checked against its registered runtime kind's `settings` schema
 * (docs/kinds.md), as channel-blocks.ts checks `channels.<name>`. The static schema (contract
 * settings-schema.ts) knows no runtime's block; a block of a runtime not registered in this
 * process is kept as it is. Issues carry the full path (`agents.gemini.acp.command`).
 */
import type { z } from 'zod';
import { AgentSettingsSchema as AgentSchema, type RuntimeKind } from '@tinyagi/client/contract';
import { runtimeKinds } from '../kinds/runtimes/index.ts';
import { isPlainObject, type JsonObject } from './object-path.ts';

/** The registered runtimes with a block: a name that is already an agent setting (`model`) cannot be a block. */
function runtimesWithBlocks(): Array<RuntimeKind & { settings: z.ZodType }> {
  return runtimeKinds.list().filter((kind): kind is RuntimeKind & { settings: z.ZodType } => kind.settings !== undefined && !Object.hasOwn(AgentSchema.shape, kind.name));
}

/** The issues of the agent's runtime blocks, with their full paths (for SettingsSchema's rules). */
export function runtimeBlockIssues(agentId: string, agent: JsonObject): z.core.$ZodRawIssue[] {
  const issues: z.core.$ZodRawIssue[] = [];
  for (const kind of runtimesWithBlocks()) {
    if (!Object.hasOwn(agent, kind.name) || agent[kind.name] === undefined) continue;
    const result = kind.settings.safeParse(agent[kind.name], { jitless: true });
    if (!result.success) for (const issue of result.error.issues) issues.push({ ...issue, path: ['agents', agentId, kind.name, ...issue.path] } as z.core.$ZodRawIssue);
  }
  return issues;
}

/**
 * Every agent's runtime block issues. SettingsSchema's rules check them too, but zod skips the
 * rules after an aborting issue elsewhere (`limits.max_depth: 1.5`), so validateSettings asks here
 * as well and reports each issue once.
 */
export function settingsRuntimeBlockIssues(settings: unknown): z.core.$ZodIssue[] {
  if (!isPlainObject(settings) || !isPlainObject(settings['agents'])) return [];
  return Object.entries(settings['agents']).flatMap(([agentId, agent]) => (isPlainObject(agent) ? (runtimeBlockIssues(agentId, agent) as z.core.$ZodIssue[]) : []));
}

/**
 * One agent's schema with the registered runtimes' blocks as keys of their own: what an agent's
 * settings given alone are checked with (`agent add --config`, PUT /api/agents/:id), unknown
 * keys inside a block included (`mock.replly`).
 */
export function agentSchemaWithRuntimeBlocks(): z.ZodType {
  return AgentSchema.extend(Object.fromEntries(runtimesWithBlocks().map((kind) => [kind.name, kind.settings.optional()])));
}
