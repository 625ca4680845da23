/**
 * System-prompt composition, in this order:
 *   1. the built-in team protocol (templates/protocol.md) with the agent's identity, the
 *      teammates block and the memory index filled in;
 *   2. the workspace AGENTS.md, when it holds more than comments and whitespace, unless the
 *      agent's CLI reads it from the workspace itself (`agentsMdReadByCli`: then it would
 *      reach the model twice);
 *   3. the agent's prompt_file contents, else its system_prompt (from settings);
 *   4. `extra`, when the caller has more to say.
 * SOUL.md is not inlined: the protocol tells the agent to read it.
 *
 * Caching: the cache key covers every input value plus size, inode and timestamps of each file
 * read (AGENTS.md, prompt_file, every indexed memory file), so editing any of them recomposes,
 * while an unchanged workspace costs a few stat calls. Output is deterministic for equal inputs.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { expandHome } from '../config/paths.ts';
import { TinyError } from '../errors.ts';
import { assertValidId } from '../ids.ts';
import { errnoCode } from './errno.ts';
import { DEFAULT_MEMORY_BOUNDS, formatMemoryIndex, listMemoryFiles, readMemoryIndex } from './memory.ts';
import { isInside, requireAbsolute } from './paths.ts';
import { PromptCache, type ComposedPrompt } from './prompt-cache.ts';
import { WORKSPACE_PATHS } from './provision.ts';
import { formatTeammates, type PromptTeam } from './teammates.ts';
import { fillTemplate, readTemplate } from './templates.ts';

/** The agent fields the prompt uses; settings' AgentSettings is assignable to it. */
export interface PromptAgent {
  /** Display name; the agent id when absent. */
  name?: string | undefined;
  model?: string | undefined;
  provider?: string | undefined;
  system_prompt?: string | undefined;
  /** Absolute (the user wrote it in settings), `~`/`$HOME`-relative, or relative to the workspace (and confined to it). */
  prompt_file?: string | undefined;
}

export interface ComposeSystemPromptInput {
  agentId: string;
  agent: PromptAgent;
  /** Absolute path of the agent's workspace (`<workspace.path>/<agent_id>`). */
  workspaceDir: string;
  /** The agent's teams, e.g. from `teamsOfAgent(settings, agentId)`. */
  teams: readonly PromptTeam[];
  /** Team ids the agent leads; derived from `teams` when omitted. */
  isLeaderOf?: readonly string[] | undefined;
  extra?: string | undefined;
  /** The agent's CLI reads the workspace AGENTS.md itself (invoker's `cliReadsAgentsMd`): leave it out. */
  agentsMdReadByCli?: boolean | undefined;
}

export interface ComposeOptions {
  /** Defaults to one cache shared by the process. */
  cache?: PromptCache;
}

/** Changing the composition logic must not serve prompts cached by an older version of it. */
const COMPOSITION_VERSION = 1;

const sharedCache = new PromptCache();

export async function composeSystemPrompt(input: ComposeSystemPromptInput, options: ComposeOptions = {}): Promise<ComposedPrompt> {
  assertValidId(input.agentId, 'agent id');
  const workspaceDir = resolve(requireAbsolute(input.workspaceDir, 'Workspace directory'));
  const agentsMdPath = join(workspaceDir, WORKSPACE_PATHS.agentsMd);
  const promptFilePath = input.agent.prompt_file ? resolvePromptFile(input.agent.prompt_file, workspaceDir) : undefined;
  const isLeaderOf = [...(input.isLeaderOf ?? input.teams.filter((team) => team.leader === input.agentId).map((team) => team.id))].sort();

  const cache = options.cache ?? sharedCache;
  const key = cacheKey(input, workspaceDir, isLeaderOf, agentsMdPath, promptFilePath);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;

  const name = input.agent.name ?? input.agentId;
  const protocol = fillTemplate((await readTemplate('protocol.md')).trimEnd(), {
    agent_id: input.agentId,
    agent_name: name,
    workspace: workspaceDir,
    teammates: formatTeammates({ agentId: input.agentId, name, model: input.agent.model, provider: input.agent.provider }, input.teams, isLeaderOf),
    memory_index: formatMemoryIndex(await readMemoryIndex(workspaceDir)),
  });
  const sections = [protocol];

  const agentsMd = input.agentsMdReadByCli ? '' : ((await readOptional(agentsMdPath)) ?? '');
  if (agentsMd.replace(/<!--[\s\S]*?-->/g, '').trim() !== '') {
    sections.push(`## Instructions for this agent (AGENTS.md)\n\n${agentsMd.trim()}`);
  }
  const role = promptFilePath === undefined ? (input.agent.system_prompt ?? '') : await readPromptFile(promptFilePath, workspaceDir, input.agent.prompt_file ?? '');
  if (role.trim() !== '') sections.push(`## Your role\n\n${role.trim()}`);
  if (input.extra !== undefined && input.extra.trim() !== '') sections.push(input.extra.trim());

  const text = `${sections.join('\n\n')}\n`;
  const prompt: ComposedPrompt = Object.freeze({ text, hash: createHash('sha256').update(text).digest('hex') });
  cache.set(key, prompt);
  return prompt;
}

function resolvePromptFile(promptFile: string, workspaceDir: string): string {
  const expanded = expandHome(promptFile);
  if (isAbsolute(expanded)) return resolve(expanded);
  const path = resolve(workspaceDir, expanded);
  if (!isInside(path, workspaceDir)) {
    throw new TinyError('INVALID_PATH', `prompt_file "${promptFile}" points outside the agent's workspace.`, {
      hint: 'Use a path inside the workspace, or an absolute path.',
      details: { prompt_file: promptFile, workspace: workspaceDir },
    });
  }
  return path;
}

/** A relative prompt_file must also stay inside the workspace after following symlinks. */
async function readPromptFile(path: string, workspaceDir: string, asWritten: string): Promise<string> {
  try {
    if (!isAbsolute(expandHome(asWritten)) && !isInside(await realpath(path), await realpath(workspaceDir))) {
      throw new TinyError('INVALID_PATH', `prompt_file "${asWritten}" resolves outside the agent's workspace through a symlink.`, {
        hint: 'Use a path inside the workspace, or an absolute path.',
      });
    }
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    throw new TinyError('INVALID_PATH', `prompt_file "${asWritten}" does not exist (looked at ${path}).`, {
      hint: 'Create the file or fix prompt_file in settings.json.',
      cause: err,
    });
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Synchronous, like `listMemoryFiles`: a handful of local stats per invocation. */
function fileSignature(path: string): string {
  try {
    const info = statSync(path, { bigint: true });
    return `${info.size}:${info.ino}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'missing';
    throw err;
  }
}

function cacheKey(input: ComposeSystemPromptInput, workspaceDir: string, isLeaderOf: readonly string[], agentsMdPath: string, promptFilePath: string | undefined): string {
  const memory = listMemoryFiles(workspaceDir, DEFAULT_MEMORY_BOUNDS).map((file) => [file.path, fileSignature(file.absolutePath)]);
  const { name, model, provider, system_prompt, prompt_file } = input.agent;
  const material = JSON.stringify([
    COMPOSITION_VERSION,
    input.agentId,
    [name ?? null, model ?? null, provider ?? null, system_prompt ?? null, prompt_file ?? null],
    workspaceDir,
    input.teams.map((team) => [team.id, team.name, team.leader, team.members.map((member) => [member.id, member.name])]),
    isLeaderOf,
    input.extra ?? null,
    input.agentsMdReadByCli === true ? 'read by the CLI' : fileSignature(agentsMdPath),
    promptFilePath === undefined ? null : [promptFilePath, fileSignature(promptFilePath)],
    memory,
  ]);
  return createHash('sha256').update(material).digest('hex');
}
