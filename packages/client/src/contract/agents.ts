/**
 * Agents (settings.agents plus their workspace files). Bodies are checked here for shape; the
 * whole settings file is then validated by core (provider names, cross-key rules) before the
 * atomic write, so one set of rules applies to the API, the CLI and hand edits.
 */
import * as z from 'zod';
import { route } from './route.ts';
import { Bool, IdParamsSchema, Int, IntParam, LimitQuery, NullableStr, Num, OptionalBool, OptionalLongText, OptionalMax200, OptionalStr, PathString, Str, TimestampSchema } from './common.ts';
import { AgentSandboxStatusSchema } from './sandbox.ts';
import { AgentSettingsSchema } from './settings-schema.ts';

/**
 * An agent's settings block as TinyOffice's agent form checks it before sending: the settings
 * file's agent schema with size caps for a request. The server applies the same rules to the
 * whole file (core, CONFIG_INVALID with the path of each problem).
 */
export const AgentFormSchema = AgentSettingsSchema.extend({
  name: OptionalMax200,
  provider: OptionalMax200,
  working_directory: PathString(4096).optional(),
  system_prompt: z.string().max(200_000).optional(),
  prompt_file: PathString(4096).optional(),
});

/**
 * PUT's body: the shape and size caps only. The values are judged by core against the whole
 * settings file, the one check the CLI's offline editor runs too, so both refuse a bad value
 * with the same error (cli/test/settings-equivalence.test.ts); keys this version does not know
 * pass through.
 */
export const AgentConfigSchema = z.looseObject({
  name: OptionalMax200,
  provider: OptionalMax200,
  model: OptionalMax200,
  working_directory: PathString(4096).optional(),
  system_prompt: z.string().max(200_000).optional(),
  prompt_file: PathString(4096).optional(),
  heartbeat: AgentSettingsSchema.shape.heartbeat,
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export const AgentSchema = AgentConfigSchema.extend({
  id: Str,
  /** Whether the boundary holds for this agent (docs/sandbox.md): listAgents and getAgent say, from the daemon's self-test. */
  sandboxStatus: AgentSandboxStatusSchema.optional(),
}).meta({ id: 'Agent' });
export type Agent = z.infer<typeof AgentSchema>;

/** PATCH: merge-patch (objects merge, `null` deletes a key). */
export const AgentPatchSchema = z.record(Str, z.unknown());

export const AgentMessageSchema = z.object({
  id: Int,
  agentId: Str,
  role: Str,
  channel: Str,
  sender: Str,
  messageId: NullableStr,
  runId: NullableStr,
  conversationId: NullableStr,
  content: Str,
  createdAt: TimestampSchema,
});
export type AgentMessage = z.infer<typeof AgentMessageSchema>;

export const MemoryEntrySchema = z.object({ path: Str, name: Str, summary: Str });

export const HeartbeatViewSchema = z.object({ content: Str, path: Str, enabled: Bool, interval: Num });

export const SkillSchema = z.object({ id: Str, name: Str, description: Str });

/** What DELETE /api/agents/:id does to the workspace: archive (default), delete for good, or keep. */
export const WORKSPACE_REMOVAL_MODES = ['archive', 'delete', 'keep'] as const;
export type WorkspaceRemovalMode = (typeof WORKSPACE_REMOVAL_MODES)[number];

export const WorkspaceOutcomeSchema = z
  .object({
    /** `absent`: there was no directory; `kept` with a reason: archiving was not safe or failed. */
    action: z.enum(['archived', 'deleted', 'kept', 'absent']),
    /** The workspace directory. */
    path: Str,
    /** Where it was moved (archived only). */
    archivedTo: OptionalStr,
    reason: OptionalStr,
  })
  .meta({ id: 'WorkspaceOutcome' });
export type WorkspaceOutcome = z.infer<typeof WorkspaceOutcomeSchema>;

/** What a new agent was given and what to do about it (core's `newAgent`; the CLI's `agent add` prints the same). */
export const NewAgentNoteSchema = z
  .object({
    code: z.enum(['sandbox-on', 'sandbox-failed', 'sandbox-unchecked', 'asks', 'unattended', 'warm', 'cli-missing']),
    /** What it means, in words for every surface (no command of one). */
    message: Str,
    /** What to do about it in the CLI's commands (`tinyagi …`); a surface with its own controls says its own, by `code`. */
    cli: OptionalStr,
  })
  .meta({ id: 'NewAgentNote' });
export type NewAgentNoteView = z.infer<typeof NewAgentNoteSchema>;

/**
 * A write that created the agent: `notes`, what it starts with (sandboxed, asks, warm);
 * `warnings`, what will not work as expected (its CLI not installed on the daemon's machine, a
 * sandbox that could not be turned on, and why). Empty for an existing agent's edit.
 */
const NewAgentNotesShape = { notes: z.array(NewAgentNoteSchema), warnings: z.array(NewAgentNoteSchema) };

export const agentsContract = {
  listAgents: route({
    method: 'GET',
    path: '/api/agents',
    summary: 'Every configured agent',
    tag: 'agents',
    response: z.array(AgentSchema),
  }),
  getAgent: route({
    method: 'GET',
    path: '/api/agents/:id',
    summary: 'One agent',
    tag: 'agents',
    params: IdParamsSchema,
    response: AgentSchema,
  }),
  createAgent: route({
    method: 'POST',
    path: '/api/agents',
    summary: 'Create an agent; an id an agent or a team already has is refused with ALREADY_EXISTS (PUT /api/agents/:id creates or replaces)',
    tag: 'agents',
    status: 201,
    body: AgentConfigSchema.extend({ id: IdParamsSchema.shape.id }),
    response: z.object({ agent: AgentSchema, provisioned: Bool, ...NewAgentNotesShape }),
  }),
  putAgent: route({
    method: 'PUT',
    path: '/api/agents/:id',
    summary: 'Create an agent, or replace the keys given (keys not sent, such as heartbeat, are kept)',
    tag: 'agents',
    params: IdParamsSchema,
    body: AgentConfigSchema,
    response: z.object({ agent: AgentSchema, created: Bool, provisioned: Bool, ...NewAgentNotesShape }),
  }),
  patchAgent: route({
    method: 'PATCH',
    path: '/api/agents/:id',
    summary: 'Merge-patch an agent (objects merge, null deletes a key)',
    tag: 'agents',
    params: IdParamsSchema,
    body: AgentPatchSchema,
    response: AgentSchema,
  }),
  deleteAgent: route({
    method: 'DELETE',
    path: '/api/agents/:id',
    summary: 'Remove an agent from settings (refused while a team lists it). Its workspace is archived to <workspace.path>/.archive/ unless ?workspace=keep; ?workspace=delete deletes it',
    tag: 'agents',
    params: IdParamsSchema,
    query: z.object({ workspace: z.enum(WORKSPACE_REMOVAL_MODES).optional().describe('archive (default), delete or keep') }),
    response: z.object({ ok: z.literal(true), workspace: WorkspaceOutcomeSchema }),
  }),
  resetAgent: route({
    method: 'POST',
    path: '/api/agents/:id/reset',
    summary: 'Forget the agent’s CLI sessions: its next message starts a fresh session',
    tag: 'agents',
    params: IdParamsSchema,
    response: z.object({ ok: z.literal(true), sessionsCleared: Int }),
  }),
  releaseAgentHold: route({
    method: 'POST',
    path: '/api/agents/:id/sandbox/release',
    summary: 'Release the agent’s workspace from its hold (a confined run worked in it): after a person looked at it, its runs follow its own sandbox setting again',
    tag: 'agents',
    params: IdParamsSchema,
    response: z.object({ ok: z.literal(true), released: Bool, folder: Str }),
  }),
  agentMessages: route({
    method: 'GET',
    path: '/api/agents/:id/messages',
    summary: 'The agent’s chat history, oldest first; page forward with sinceId (exclusive)',
    tag: 'agents',
    params: IdParamsSchema,
    query: z.object({ sinceId: IntParam(0).optional(), limit: LimitQuery }),
    response: z.object({ messages: z.array(AgentMessageSchema), nextCursor: Int }),
  }),
  getSystemPrompt: route({
    method: 'GET',
    path: '/api/agents/:id/system-prompt',
    summary: 'The workspace AGENTS.md',
    tag: 'agents',
    params: IdParamsSchema,
    response: z.object({ content: Str, path: Str }),
  }),
  putSystemPrompt: route({
    method: 'PUT',
    path: '/api/agents/:id/system-prompt',
    summary: 'Replace the workspace AGENTS.md',
    tag: 'agents',
    params: IdParamsSchema,
    body: z.object({ content: z.string().max(500_000) }),
    response: z.object({ content: Str, path: Str }),
  }),
  getMemory: route({
    method: 'GET',
    path: '/api/agents/:id/memory',
    summary: 'The memory index (memory/*.md front matter)',
    tag: 'agents',
    params: IdParamsSchema,
    response: z.object({ memoryDir: Str, entries: z.array(MemoryEntrySchema), index: Str }),
  }),
  getHeartbeat: route({
    method: 'GET',
    path: '/api/agents/:id/heartbeat',
    summary: 'heartbeat.md and the heartbeat settings',
    tag: 'agents',
    params: IdParamsSchema,
    response: HeartbeatViewSchema,
  }),
  putHeartbeat: route({
    method: 'PUT',
    path: '/api/agents/:id/heartbeat',
    summary: 'Change heartbeat.md and/or the heartbeat settings',
    tag: 'agents',
    params: IdParamsSchema,
    body: z.object({ content: OptionalLongText, enabled: OptionalBool, interval: z.number().min(10).max(604_800).optional() }),
    response: HeartbeatViewSchema,
  }),
  getSkills: route({
    method: 'GET',
    path: '/api/agents/:id/skills',
    summary: 'Skills in the workspace (.agents/skills/*/SKILL.md)',
    tag: 'agents',
    params: IdParamsSchema,
    response: z.array(SkillSchema),
  }),
} as const;
