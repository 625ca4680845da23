/**
 * The settings' cross-key validation, what no one key's shape can say: id format (agents, teams, workflows), ids unique
 * across agents and teams, team membership and leaders, runtime names (against the registry of
 * runtimes, docs/kinds.md) and custom provider references, each agent's runtime blocks (against their kinds' schemas,
 * runtime-blocks.ts), workspace escapes, one workspace directory per agent.
 *
 * It runs even when the shape failed elsewhere (so a file with three mistakes reports
 * three problems), which means the input may be malformed: every value is type-checked here
 * before use and anything of the wrong type is left to the shape errors.
 */
import { ID_PATTERN } from '../ids.ts';
import { isPlainObject, type JsonObject } from './object-path.ts';
import { agentWorkspaceDir, workingDirectoryEscapes } from './paths.ts';
import type { z } from 'zod';
import { runtimeKinds } from '../kinds/runtimes/index.ts';
import { runtimeBlockIssues } from './runtime-blocks.ts';
import { customRuntimeEntry, customRuntimeName, providerRuntime } from './runtime-names.ts';

export type CrossKeyIssue = {
  code: 'custom';
  path: PropertyKey[];
  message: string;
  params: { hint: string };
};

interface IssueSink {
  /** A cross-key issue, or one of a runtime block's schema (its own code, the full path). */
  addIssue(issue: CrossKeyIssue | z.core.$ZodRawIssue): void;
}

function asObject(value: unknown): JsonObject | undefined {
  return isPlainObject(value) ? value : undefined;
}

/** A valid id close to `id`, to suggest in the hint ("Coder" -> "coder"). */
function suggestId(id: string): string | undefined {
  const slug = id
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 64)
    .replace(/[-_]+$/, '');
  return ID_PATTERN.test(slug) ? slug : undefined;
}

function listOr(values: string[], none: string): string {
  return values.length > 0 ? values.map((v) => `"${v}"`).join(', ') : none;
}

/** How each section's ids are named in a refusal. */
const ID_WORDS = {
  agents: { one: 'agent id', all: 'Agent ids', why: ' (they name directories)' },
  teams: { one: 'team id', all: 'Team ids', why: ' (they name directories)' },
  workflows: { one: 'workflow name', all: 'Workflow names', why: '' },
} as const;

function checkIds(section: keyof typeof ID_WORDS, ids: string[], sink: IssueSink): void {
  const words = ID_WORDS[section];
  for (const id of ids) {
    if (ID_PATTERN.test(id)) continue;
    const traversal = /[/\\]|\.\./.test(id);
    const suggestion = suggestId(id);
    sink.addIssue({
      code: 'custom',
      path: [section, id],
      message: `Invalid ${words.one} ${JSON.stringify(id)}${traversal ? ' (it contains a path separator or "..")' : ''}`,
      params: {
        hint: `${words.all} are 1-64 characters a-z, 0-9, "_" or "-", starting with a letter or digit${words.why}.${suggestion ? ` Rename it, e.g. to "${suggestion}".` : ''}`,
      },
    });
  }
}

/** The registered runtimes, quoted, for a hint (`"claude-code", "codex", …`). */
function runtimeList(filter: (kind: ReturnType<typeof runtimeKinds.list>[number]) => boolean = () => true): string {
  return listOr(
    runtimeKinds
      .list()
      .filter(filter)
      .map((k) => k.name),
    'none registered',
  );
}

/** An agent's provider (or models.provider): a registered runtime, a pre-2026-11 name of one, or `custom:<id>` of a defined custom provider. */
function checkProviderReference(provider: unknown, path: PropertyKey[], customProviders: string[], sink: IssueSink): void {
  if (typeof provider !== 'string' || provider === '') return;
  if (!provider.startsWith('custom:')) {
    if (runtimeKinds.has(providerRuntime(provider))) return;
    sink.addIssue({
      code: 'custom',
      path,
      message: `Unknown provider ${JSON.stringify(provider)}`,
      params: { hint: `Use one of ${runtimeList()}, or "custom:<id>" for an entry of custom_providers.` },
    });
    return;
  }
  const pid = provider.slice('custom:'.length);
  if (pid === '' || customProviders.includes(pid)) return;
  sink.addIssue({
    code: 'custom',
    path,
    message: `Custom provider ${JSON.stringify(pid)} is not defined`,
    params: {
      hint: `Add custom_providers.${pid} (name, runtime, base_url, api_key) or use one of the defined providers: ${listOr(
        customProviders.map((p) => `custom:${p}`),
        'none defined',
      )}.`,
    },
  });
}

function checkTeam(teamId: string, team: JsonObject, agentIds: string[], sink: IssueSink): void {
  const members = Array.isArray(team['agents']) ? team['agents'] : undefined;
  const memberIds: string[] = [];
  if (members !== undefined) {
    if (members.length === 0) {
      sink.addIssue({
        code: 'custom',
        path: ['teams', teamId, 'agents'],
        message: `Team "${teamId}" has no agents`,
        params: { hint: `List at least one agent id in teams.${teamId}.agents (known agents: ${listOr(agentIds, 'none')}).` },
      });
    }
    members.forEach((member, index) => {
      if (typeof member !== 'string') return;
      if (memberIds.includes(member)) {
        sink.addIssue({
          code: 'custom',
          path: ['teams', teamId, 'agents', index],
          message: `Agent "${member}" is listed twice in team "${teamId}"`,
          params: { hint: 'Remove the duplicate entry.' },
        });
      } else if (!agentIds.includes(member)) {
        sink.addIssue({
          code: 'custom',
          path: ['teams', teamId, 'agents', index],
          message: `Team member "${member}" is not a defined agent`,
          params: { hint: `Add agents.${member} or remove it from the team. Known agents: ${listOr(agentIds, 'none')}.` },
        });
      }
      memberIds.push(member);
    });
  }

  const leader = team['leader_agent'];
  if (leader === undefined) {
    sink.addIssue({
      code: 'custom',
      path: ['teams', teamId, 'leader_agent'],
      message: `Team "${teamId}" has no leader_agent`,
      params: { hint: `Set teams.${teamId}.leader_agent to one of its members: ${listOr(memberIds, 'add members first')}.` },
    });
  } else if (typeof leader === 'string' && members !== undefined && !memberIds.includes(leader)) {
    sink.addIssue({
      code: 'custom',
      path: ['teams', teamId, 'leader_agent'],
      message: `Leader "${leader}" is not a member of team "${teamId}"`,
      params: { hint: `Add "${leader}" to teams.${teamId}.agents, or choose one of its members: ${listOr(memberIds, 'none')}.` },
    });
  }
}

/**
 * Where the agent works, as the daemon will resolve it (`~` from this process's HOME), or
 * undefined when another issue already reports a bad id, a bad type or an escaping path.
 */
function resolvedWorkspace(settings: JsonObject, agentId: string, agent: JsonObject): string | undefined {
  if (!ID_PATTERN.test(agentId)) return undefined;
  const wd = agent['working_directory'];
  const root = asObject(settings['workspace'])?.['path'];
  if ((wd !== undefined && typeof wd !== 'string') || (root !== undefined && typeof root !== 'string')) return undefined;
  if (typeof wd === 'string' && workingDirectoryEscapes(wd)) return undefined;
  return agentWorkspaceDir({ ...(root !== undefined ? { workspace: { path: root } } : {}), agents: { [agentId]: wd !== undefined ? { working_directory: wd } : {} } }, agentId);
}

// Default file systems on macOS and Windows ignore case: "Work" and "work" are one directory.
const CASE_INSENSITIVE_FS = process.platform === 'darwin' || process.platform === 'win32';

/**
 * Two agents in one directory would share AGENTS.md, SOUL.md, memory and the CLI's session
 * files, so each agent needs its own. Compared after `~` expansion and normalisation, without
 * touching the disk (symlinks to the same place are not detected).
 */
function checkWorkspaceDirs(settings: JsonObject, agents: JsonObject, sink: IssueSink): void {
  const owners = new Map<string, string>();
  for (const [agentId, raw] of Object.entries(agents)) {
    const agent = asObject(raw);
    if (agent === undefined) continue;
    const dir = resolvedWorkspace(settings, agentId, agent);
    if (dir === undefined) continue;
    const key = CASE_INSENSITIVE_FS ? dir.toLowerCase() : dir;
    const first = owners.get(key);
    if (first === undefined) {
      owners.set(key, agentId);
      continue;
    }
    const ownKey = typeof agent['working_directory'] === 'string';
    sink.addIssue({
      code: 'custom',
      path: ownKey ? ['agents', agentId, 'working_directory'] : ['agents', agentId],
      message: `Agent "${agentId}" uses the same workspace directory as agent "${first}" (${dir})`,
      params: {
        hint:
          'Each agent needs its own directory (its AGENTS.md, SOUL.md and memory live there). ' +
          (ownKey
            ? `Point agents.${agentId}.working_directory at a directory no other agent uses.`
            : `Change agents.${first}.working_directory, or set agents.${agentId}.working_directory to another directory.`),
      },
    });
  }
}

/**
 * A custom provider's runtime: a registered runtime that custom providers can use (its
 * descriptor's `customProvider`). Reported under the key it is written with (the old one too).
 */
function checkCustomRuntime(pid: string, custom: unknown, sink: IssueSink): void {
  const entry = customRuntimeEntry(custom);
  if (entry === undefined || typeof entry.value !== 'string' || entry.value === '') return;
  const known = runtimeKinds.get(customRuntimeName(entry.value));
  if (known?.customProvider) return;
  sink.addIssue({
    code: 'custom',
    path: ['custom_providers', pid, entry.key],
    message: known ? `The ${known.name} runtime cannot serve a custom provider` : `Unknown runtime ${JSON.stringify(entry.value)}`,
    params: { hint: `Use one of ${runtimeList((k) => k.customProvider !== null)}.` },
  });
}

const CUSTOM_PROVIDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The superRefine body of SettingsSchema. `value` may be anything (see the module comment). */
export function validateCrossKeys(value: unknown, sink: IssueSink): void {
  const settings = asObject(value);
  if (settings === undefined) return;
  const agents = asObject(settings['agents']) ?? {};
  const teams = asObject(settings['teams']) ?? {};
  const agentIds = Object.keys(agents);
  const teamIds = Object.keys(teams);
  const customProviders = Object.keys(asObject(settings['custom_providers']) ?? {});

  checkIds('agents', agentIds, sink);
  checkIds('teams', teamIds, sink);
  checkIds('workflows', Object.keys(asObject(settings['workflows']) ?? {}), sink);
  for (const [pid, custom] of Object.entries(asObject(settings['custom_providers']) ?? {})) checkCustomRuntime(pid, custom, sink);
  for (const pid of customProviders) {
    if (CUSTOM_PROVIDER_ID.test(pid)) continue;
    sink.addIssue({
      code: 'custom',
      path: ['custom_providers', pid],
      message: `Invalid custom provider id ${JSON.stringify(pid)}`,
      params: { hint: 'Use 1-64 characters A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit; agents refer to it as "custom:<id>".' },
    });
  }

  for (const id of teamIds) {
    if (!agentIds.includes(id)) continue;
    sink.addIssue({
      code: 'custom',
      path: ['teams', id],
      message: `Id "${id}" is used by both an agent and a team`,
      params: { hint: `Ids are unique across agents and teams (messages address either by id). Rename the team or the agent.` },
    });
  }

  for (const [agentId, raw] of Object.entries(agents)) {
    const agent = asObject(raw);
    if (agent === undefined) continue;
    for (const issue of runtimeBlockIssues(agentId, agent)) sink.addIssue(issue);
    checkProviderReference(agent['provider'], ['agents', agentId, 'provider'], customProviders, sink);
    checkProviderReference(agent['fallback_provider'], ['agents', agentId, 'fallback_provider'], customProviders, sink);
    const wd = agent['working_directory'];
    if (typeof wd === 'string' && workingDirectoryEscapes(wd)) {
      sink.addIssue({
        code: 'custom',
        path: ['agents', agentId, 'working_directory'],
        message: `Relative working_directory ${JSON.stringify(wd)} escapes the workspace`,
        params: { hint: 'Use a path inside workspace.path (relative, without leading ".."), or an absolute path.' },
      });
    }
  }

  checkWorkspaceDirs(settings, agents, sink);
  checkProviderReference(asObject(settings['models'])?.['provider'], ['models', 'provider'], customProviders, sink);

  for (const [teamId, raw] of Object.entries(teams)) {
    const team = asObject(raw);
    if (team !== undefined) checkTeam(teamId, team, agentIds, sink);
  }
}
