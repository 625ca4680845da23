/**
 * Agents: CRUD on settings.agents (validated and written atomically by core), and the agent's
 * workspace files (AGENTS.md, heartbeat.md, memory index, skills). Each agent is listed with its
 * sandbox status as the node that runs it sees it (core's nodes/sandbox.ts; with one process,
 * this one's).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  agentWorkspaceDir,
  formatMemoryIndex,
  heartbeatIntervalSeconds,
  parseFrontMatter,
  patchAgent,
  prepareAgentWorkspace,
  addAgent,
  putAgent,
  type AgentWrite,
  type NewAgentMachine,
  readMemoryIndex,
  removeAgent,
  requireAgent,
  agentSandboxOnNodes,
  releaseFolder,
  setAgentHeartbeat,
  WORKSPACE_PATHS,
} from '../core-internal.ts';
import { sessionPool, type Settings } from '@tinyagi/core';
import type { ServerContext } from '../context.ts';
import type { RouteHandlers } from '../routing.ts';
import type { agentsContract } from '@tinyagi/client/contract';
import { maskedAgent, maskedAgents } from '../settings-entities.ts';
import { readTextIfExists, writeTextAtomic } from '../workspace-files.ts';

const MAX_SKILLS = 200;

/** The nodes of the database with their published sandbox (none on SQLite: one process). */
async function nodesOf(ctx: ServerContext) {
  return (await ctx.daemon?.nodes?.()) ?? [];
}

/**
 * The facts a new agent's defaults depend on (core's `newAgent`), as `tinyagi agent add` reads
 * them: this daemon's sandbox self-test (none recorded yet, or a server built without one:
 * unknown, and the reply says so) and its environment's PATH. An agent placed on another node
 * gets the same default; its status then says how that node's boundary holds.
 */
function newAgentMachine(ctx: ServerContext): NewAgentMachine {
  // The self-test only: a quick check (bwrap started once by a sandboxed spawn) proves less.
  const check = ctx.daemon?.sandbox?.();
  return { boundary: check?.source !== 'self-test' ? undefined : { ok: check.ok, reason: check.problem?.reason }, env: ctx.env };
}

export function agentRoutes(ctx: ServerContext): RouteHandlers<keyof typeof agentsContract> {
  const dirOf = (id: string): string => {
    const settings = ctx.settings();
    requireAgent(settings, id);
    return agentWorkspaceDir(settings, id, ctx.env);
  };

  /** Writes an agent edit, its workspace checked and provisioned before the write: a request that fails leaves settings.json as it was. */
  const writeAgent = async (id: string, edit: (current: Settings) => AgentWrite) => {
    let result: AgentWrite | undefined;
    let provisioned = false;
    const written = await ctx.updateSettings(async (current) => {
      result = edit(current);
      provisioned = await prepareAgentWorkspace(result.settings, id, ctx.settingsFile, ctx.env);
      return result.settings;
    });
    return { agent: maskedAgent(written, id), created: result?.created ?? false, provisioned, notes: result?.notes ?? [], warnings: result?.warnings ?? [] };
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
    // Each with its sandbox status (docs/sandbox.md): enforced, degraded (reason, fix) or off.
    listAgents: async () => {
      const settings = ctx.settings();
      const all = await nodesOf(ctx);
      return maskedAgents(settings).map((agent) => ({ ...agent, sandboxStatus: agentSandboxOnNodes(settings, agent.id, ctx.env, all, ctx.daemon?.sandbox?.()) }));
    },

    getAgent: async ({ params }) => {
      const settings = ctx.settings();
      const agent = maskedAgent(settings, params.id);
      return { ...agent, sandboxStatus: agentSandboxOnNodes(settings, params.id, ctx.env, await nodesOf(ctx), ctx.daemon?.sandbox?.()) };
    },

    createAgent: async ({ body: { id, ...config } }) => {
      const { created: _created, ...reply } = await writeAgent(id, (current) => addAgent(current, id, config, newAgentMachine(ctx)));
      return reply;
    },

    putAgent: ({ params, body }) => writeAgent(params.id, (current) => putAgent(current, params.id, body, newAgentMachine(ctx))),

    patchAgent: async ({ params, body }) => {
      const written = await ctx.updateSettings((current) => patchAgent(current, params.id, body));
      return maskedAgent(written, params.id);
    },

    deleteAgent: async ({ params, query }) => ({
      ok: true as const,
      workspace: await removeAgent(ctx.updateSettings, params.id, query.workspace ?? 'archive', ctx.env),
    }),

    // The hold on its workspace (docs/sandbox.md, "What a confined run leaves behind"), lifted by a person.
    releaseAgentHold: ({ params }) => {
      const settings = ctx.settings();
      requireAgent(settings, params.id);
      const folder = agentWorkspaceDir(settings, params.id, ctx.env);
      return { ok: true as const, released: releaseFolder(ctx.env, folder), folder };
    },

    resetAgent: async ({ params }) => {
      requireAgent(ctx.settings(), params.id);
      const sessionsCleared = await ctx.agentSessions.reset(params.id);
      // Its warm processes hold the cleared sessions (docs/sessions.md).
      await sessionPool.closeAgent(params.id, undefined, 'the agent was reset');
      return { ok: true as const, sessionsCleared };
    },

    agentMessages: async ({ params, query }) => {
      requireAgent(ctx.settings(), params.id);
      const limit = query.limit ?? 100;
      const messages = await ctx.agentMessages.list(params.id, { limit, ...(query.sinceId !== undefined ? { sinceId: query.sinceId } : {}) });
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
        await ctx.updateSettings((current) => setAgentHeartbeat(current, params.id, body));
      }
      return heartbeatView(params.id);
    },

    getSkills: async ({ params }) => {
      const skillsDir = join(dirOf(params.id), WORKSPACE_PATHS.skillsDir);
      let names: string[];
      try {
        names = (await readdir(skillsDir, { withFileTypes: true }))
          .filter((d) => d.isDirectory() || d.isSymbolicLink())
          .map((d) => d.name)
          .sort();
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
