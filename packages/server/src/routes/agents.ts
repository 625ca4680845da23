/**
 * Agents: CRUD on settings.agents (validated and written atomically by core), and the agent's
 * workspace files (AGENTS.md, heartbeat.md, memory index, skills).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  TinyError, agentWorkspaceDir, assertValidId, deepMergeSettings, formatMemoryIndex, heartbeatIntervalSeconds, parseFrontMatter,
  parseSettingsChange, provisionWorkspace, readMemoryIndex, stripUnchangedMasks, unknownAgentKeys, WORKSPACE_PATHS,
  ownEntry,
  type AgentSettings, type Settings,
} from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import { RequestError } from '../errors.ts';
import type { RouteHandlers } from '../routing.ts';
import type { agentsContract } from '@tinyagi/client/contract';
import { applyWorkspaceRemoval, planWorkspaceRemoval, type WorkspaceRemovalPlan } from '../agent-workspace-removal.ts';
import { maskedAgent, maskedAgents, requireAgent } from '../settings-entities.ts';
import { readTextIfExists, writeTextAtomic } from '../workspace-files.ts';

const MAX_SKILLS = 200;

/**
 * The agent's settings from a PUT/PATCH body. A key the agent schema does not know is a typo far
 * more often than a setting from the future, so it is refused; the `id` a client read with the
 * agent (GET answers `{…, id}`) may come back unchanged and is dropped, never stored.
 */
function agentBody<T extends Record<string, unknown>>(body: T, id: string): T {
  const { id: echoed, ...rest } = body;
  const config = (echoed === id ? rest : body) as T;
  const issues = unknownAgentKeys(config).map((i) => ({ path: `body.${i.path}`, message: `${i.message}${i.hint ? `. ${i.hint}` : ''}` }));
  if (issues.length === 0) return config;
  throw new RequestError('VALIDATION_FAILED', `Invalid body: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
}

/** File system answers that mean the workspace path itself is unusable (a client mistake, not a server fault). */
const UNUSABLE_PATH_CODES = new Set(['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ELOOP']);

async function provisionOrRefuse(dir: string, agentId: string): Promise<boolean> {
  try {
    return (await provisionWorkspace({ dir, agentId })).created.length > 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined || !UNUSABLE_PATH_CODES.has(code)) throw err;
    throw new TinyError('INVALID_PATH', `Cannot create the workspace of agent "${agentId}" at ${dir} (${code}).`, {
      hint: 'Choose a working_directory (or workspace.path) that can be created and written to.',
      details: { path: dir, code },
    });
  }
}

function withAgent(settings: Settings, id: string, agent: AgentSettings | undefined): Settings {
  const agents = { ...settings.agents };
  if (agent === undefined) delete agents[id];
  else agents[id] = agent;
  return { ...settings, agents };
}

export function agentRoutes(ctx: ServerContext): RouteHandlers<keyof typeof agentsContract> {
  const dirOf = (id: string): string => {
    const settings = ctx.settings();
    requireAgent(settings, id);
    return agentWorkspaceDir(settings, id, ctx.env);
  };

  const heartbeatView = async (id: string) => {
    const settings = ctx.settings();
    const agent = requireAgent(settings, id);
    const path = join(agentWorkspaceDir(settings, id, ctx.env), WORKSPACE_PATHS.heartbeatMd);
    return {
      content: await readTextIfExists(path),
      path,
      enabled: agent.heartbeat?.enabled ?? true,
      interval: agent.heartbeat?.interval ?? heartbeatIntervalSeconds(settings),
    };
  };

  return {
    listAgents: () => maskedAgents(ctx.settings()),

    getAgent: ({ params }) => maskedAgent(ctx.settings(), params.id),

    putAgent: async ({ params, body }) => {
      assertValidId(params.id, 'agent id');
      const config = agentBody(body, params.id);
      let created = false;
      let provisioned = false;
      const written = await ctx.updateSettings(async (current) => {
        const existing = ownEntry(current.agents, params.id);
        created = existing === undefined;
        // Keys not sent (heartbeat, limits, mock, …) are kept; sent keys replace whole values.
        const next = withAgent(current, params.id, { ...existing, ...stripUnchangedMasks(config, existing) } as AgentSettings);
        // Every check (settings validity, the workspace path) and the workspace itself come before
        // the settings write, so a request that fails leaves settings.json as it was.
        const dir = agentWorkspaceDir(parseSettingsChange(next, ctx.settingsFile), params.id, ctx.env);
        provisioned = await provisionOrRefuse(dir, params.id);
        return next;
      });
      return { agent: maskedAgent(written, params.id), created, provisioned };
    },

    patchAgent: async ({ params, body }) => {
      const patch = agentBody(body, params.id);
      const written = await ctx.updateSettings((current) => {
        const existing = requireAgent(current, params.id);
        return withAgent(current, params.id, deepMergeSettings(existing, stripUnchangedMasks(patch, existing)) as AgentSettings);
      });
      return maskedAgent(written, params.id);
    },

    deleteAgent: async ({ params, query }) => {
      let plan: WorkspaceRemovalPlan | undefined;
      await ctx.updateSettings((current) => {
        requireAgent(current, params.id);
        const teams = Object.entries(current.teams ?? {}).filter(([, t]) => t.agents?.includes(params.id) || t.leader_agent === params.id).map(([id]) => id);
        if (teams.length > 0) {
          throw new TinyError('INVALID_STATE', `Agent "${params.id}" is in team${teams.length > 1 ? 's' : ''} ${teams.join(', ')}.`, {
            hint: 'Remove it from those teams first (PATCH /api/teams/<id>), then delete it.',
            details: { teams },
          });
        }
        // Planned under the settings lock, before the write: an unsafe ?workspace=delete changes nothing.
        plan = planWorkspaceRemoval(current, params.id, query.workspace ?? 'archive', ctx.env);
        return withAgent(current, params.id, undefined);
      });
      if (plan === undefined) throw new TinyError('INTERNAL', 'The workspace removal was not planned.');
      return { ok: true as const, workspace: await applyWorkspaceRemoval(plan) };
    },

    resetAgent: ({ params }) => {
      requireAgent(ctx.settings(), params.id);
      return { ok: true as const, sessionsCleared: ctx.agentSessions.reset(params.id) };
    },

    agentMessages: ({ params, query }) => {
      requireAgent(ctx.settings(), params.id);
      const limit = query.limit ?? 100;
      const messages = ctx.agentMessages.list(params.id, { limit, ...(query.sinceId !== undefined ? { sinceId: query.sinceId } : {}) });
      return { messages, nextCursor: messages.at(-1)?.id ?? query.sinceId ?? 0 };
    },

    getSystemPrompt: async ({ params }) => {
      const path = join(dirOf(params.id), WORKSPACE_PATHS.agentsMd);
      return { content: await readTextIfExists(path), path };
    },

    putSystemPrompt: async ({ params, body }) => {
      const path = join(dirOf(params.id), WORKSPACE_PATHS.agentsMd);
      await writeTextAtomic(path, body.content);
      return { content: body.content, path };
    },

    getMemory: async ({ params }) => {
      const dir = dirOf(params.id);
      const entries = await readMemoryIndex(dir);
      return { memoryDir: join(dir, WORKSPACE_PATHS.memoryDir), entries, index: formatMemoryIndex(entries) };
    },

    getHeartbeat: ({ params }) => heartbeatView(params.id),

    putHeartbeat: async ({ params, body }) => {
      if (body.content !== undefined) await writeTextAtomic(join(dirOf(params.id), WORKSPACE_PATHS.heartbeatMd), body.content);
      if (body.enabled !== undefined || body.interval !== undefined) {
        await ctx.updateSettings((current) => {
          const agent = requireAgent(current, params.id);
          const heartbeat = { ...agent.heartbeat, ...(body.enabled !== undefined ? { enabled: body.enabled } : {}), ...(body.interval !== undefined ? { interval: body.interval } : {}) };
          return withAgent(current, params.id, { ...agent, heartbeat });
        });
      }
      return heartbeatView(params.id);
    },

    getSkills: async ({ params }) => {
      const skillsDir = join(dirOf(params.id), WORKSPACE_PATHS.skillsDir);
      let names: string[];
      try {
        names = (await readdir(skillsDir, { withFileTypes: true })).filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const skills = [];
      for (const name of names.slice(0, MAX_SKILLS)) {
        const text = await readTextIfExists(join(skillsDir, name, 'SKILL.md'));
        if (text === '') continue;
        const fields = parseFrontMatter(text.slice(0, 8192)) ?? {};
        skills.push({ id: name, name: fields['name'] ?? name, description: fields['description'] ?? '' });
      }
      return skills;
    },
  };
}
