import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSettings, Settings } from '../src/config/schema.ts';
import { isTinyError } from '../src/errors.ts';
import { composeSystemPrompt, formatTeammates, PromptCache, provisionWorkspace, teamsOfAgent, type ComposeSystemPromptInput, type TeamDirectory } from '../src/workspace/index.ts';

const roots: string[] = [];
function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'tinyagi-prompt-'));
  roots.push(root);
  return root;
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

const settings: TeamDirectory = {
  agents: {
    lead: { name: 'Lead' },
    coder: { name: 'Coder' },
    reviewer: { name: 'Reviewer' },
    writer: { name: 'Writer' },
  },
  teams: {
    docs: { name: 'Docs', agents: ['writer', 'coder'], leader_agent: 'writer' },
    dev: { name: 'Development', agents: ['lead', 'coder', 'reviewer'], leader_agent: 'lead' },
    ops: { name: 'Ops', agents: ['lead'], leader_agent: 'lead' },
  },
};

async function coderWorkspace(): Promise<{ dir: string; input: ComposeSystemPromptInput }> {
  const dir = join(tempRoot(), 'coder');
  await provisionWorkspace({ dir, agentId: 'coder' });
  return {
    dir,
    input: {
      agentId: 'coder',
      agent: { name: 'Coder', provider: 'claude', model: 'sonnet', system_prompt: 'You write careful TypeScript.' },
      workspaceDir: dir,
      teams: teamsOfAgent(settings, 'coder'),
    },
  };
}

async function expectTinyError(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTinyError(err) && err.code).toBe(code);
}

describe('teamsOfAgent / formatTeammates', () => {
  it('lists the agent, its teams by id and the members, marking the leader', () => {
    const teams = teamsOfAgent(settings, 'coder');
    expect(teams.map((team) => team.id)).toEqual(['dev', 'docs']);
    expect(formatTeammates({ agentId: 'coder', name: 'Coder', provider: 'claude', model: 'sonnet' }, teams, [])).toMatchInlineSnapshot(`
      "You are @coder (Coder), running on claude / sonnet.

      Team #dev (Development):
      - @lead (Lead) [leader]
      - @coder (Coder) [you]
      - @reviewer (Reviewer)

      Team #docs (Docs):
      - @writer (Writer) [leader]
      - @coder (Coder) [you]

      When a message comes through one of your teams, tag only members of that team."
    `);
  });

  it('accepts settings.json types as they are', async () => {
    const parsed: Settings = {
      agents: { solo: { provider: 'anthropic', model: 'sonnet' } },
      teams: { crew: { agents: ['solo'] } },
    };
    const agent: AgentSettings = parsed.agents?.['solo'] ?? {};
    const teams = teamsOfAgent(parsed, 'solo');
    expect(teams).toEqual([{ id: 'crew', name: 'crew', leader: undefined, members: [{ id: 'solo', name: 'solo' }] }]);
    const { text } = await composeSystemPrompt({ agentId: 'solo', agent, workspaceDir: join(tempRoot(), 'solo'), teams }, { cache: new PromptCache() });
    expect(text).toContain('You are @solo (solo), running on anthropic / sonnet.');
    expect(text).toContain('- @solo (solo) [you]');
  });

  it('says so when the agent is in no team', () => {
    expect(teamsOfAgent(settings, 'loner')).toEqual([]);
    expect(formatTeammates({ agentId: 'loner', name: 'Loner' }, [], [])).toContain('not in a team');
  });
});

describe('composeSystemPrompt', () => {
  it('combines protocol, teammates, memory, AGENTS.md and system_prompt', async () => {
    const { dir, input } = await coderWorkspace();
    writeFileSync(join(dir, 'AGENTS.md'), 'Always run the tests before handing off.\n');
    writeFileSync(join(dir, 'memory', 'stack.md'), '---\nname: Stack\nsummary: pnpm, vitest, Node 24\n---\n');

    const { text, hash } = await composeSystemPrompt({ ...input, extra: 'Today is a release day.' }, { cache: new PromptCache() });

    expect(text).toMatch(/^# You are @coder \(Coder\) in TinyAGI/);
    expect(text).toContain('- @lead (Lead) [leader]');
    expect(text).toContain('- @coder (Coder) [you]');
    expect(text).toContain('[@agent_id: message]');
    expect(text).toContain('[#team_id: message]');
    expect(text).toContain('tinyagi call <agent_id> "<task>" [--session KEY]');
    expect(text).toContain('[send_file: /absolute/path]');
    expect(text).toContain('- Stack (memory/stack.md): pnpm, vitest, Node 24');
    expect(text).toContain(`Your workspace is \`${dir}\``);
    expect(text).toContain('Always run the tests before handing off.');
    expect(text).toContain('## Your role\n\nYou write careful TypeScript.');
    expect(text.trimEnd().endsWith('Today is a release day.')).toBe(true);
    expect(text).not.toMatch(/\{\{\w+\}\}/);
    // The reference's prompt made agents answer every teammate, which fed endless loops.
    expect(text).not.toMatch(/must always reply|always reply to the sender|must reply/i);
    expect(text).toContain('Do not reply to a teammate just to acknowledge');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaves out the untouched AGENTS.md template and says when there is no memory', async () => {
    const { input } = await coderWorkspace();
    const { text } = await composeSystemPrompt(input, { cache: new PromptCache() });
    expect(text).not.toContain('AGENTS.md)');
    expect(text).toContain('No memories yet');
  });

  it('marks teams the agent leads', async () => {
    const dir = join(tempRoot(), 'lead');
    const { text } = await composeSystemPrompt({ agentId: 'lead', agent: { name: 'Lead' }, workspaceDir: dir, teams: teamsOfAgent(settings, 'lead') }, { cache: new PromptCache() });
    expect(text).toContain('You are @lead (Lead). You lead #dev, #ops.');
  });

  it('is deterministic, and the hash follows AGENTS.md and memory edits', async () => {
    const { dir, input } = await coderWorkspace();
    const first = await composeSystemPrompt(input, { cache: new PromptCache() });
    const fresh = await composeSystemPrompt({ ...input, teams: [...input.teams] }, { cache: new PromptCache() });
    expect(fresh).not.toBe(first);
    expect(fresh).toEqual(first);

    writeFileSync(join(dir, 'AGENTS.md'), 'Prefer small pull requests.');
    const edited = await composeSystemPrompt(input, { cache: new PromptCache() });
    expect(edited.hash).not.toBe(first.hash);
    expect(edited.text).toContain('Prefer small pull requests.');

    writeFileSync(join(dir, 'memory', 'deploy.md'), '---\nname: Deploy\nsummary: How we ship\n---\n');
    const remembered = await composeSystemPrompt(input, { cache: new PromptCache() });
    expect(remembered.hash).not.toBe(edited.hash);
    expect(remembered.text).toContain('- Deploy (memory/deploy.md): How we ship');
  });

  it('serves unchanged inputs from the cache and recomposes after a file edit', async () => {
    const { dir, input } = await coderWorkspace();
    const cache = new PromptCache();

    const first = await composeSystemPrompt(input, { cache });
    const second = await composeSystemPrompt(input, { cache });
    expect(second).toBe(first);
    expect(cache.stats).toEqual({ hits: 1, misses: 1, size: 1 });

    writeFileSync(join(dir, 'AGENTS.md'), 'New instructions.');
    const third = await composeSystemPrompt(input, { cache });
    expect(third).not.toBe(first);
    expect(third.text).toContain('New instructions.');
    expect(cache.stats.misses).toBe(2);

    const changedSettings = await composeSystemPrompt({ ...input, agent: { ...input.agent, system_prompt: 'Different.' } }, { cache });
    expect(changedSettings.text).toContain('## Your role\n\nDifferent.');
    expect(cache.stats.misses).toBe(3);
  });

  it('reads prompt_file relative to the workspace in place of system_prompt', async () => {
    const { dir, input } = await coderWorkspace();
    mkdirSync(join(dir, 'prompts'));
    writeFileSync(join(dir, 'prompts', 'role.md'), 'You are the release engineer.');
    const { text } = await composeSystemPrompt({ ...input, agent: { ...input.agent, prompt_file: 'prompts/role.md' } }, { cache: new PromptCache() });
    expect(text).toContain('## Your role\n\nYou are the release engineer.');
    expect(text).not.toContain('You write careful TypeScript.');
  });

  it('allows an absolute prompt_file and refuses one that escapes the workspace', async () => {
    const { dir, input } = await coderWorkspace();
    const outside = join(dir, '..', 'shared-role.md');
    writeFileSync(outside, 'Shared role text.');
    const withPromptFile = (prompt_file: string) => ({ ...input, agent: { ...input.agent, prompt_file } });

    const absolute = await composeSystemPrompt(withPromptFile(outside), { cache: new PromptCache() });
    expect(absolute.text).toContain('Shared role text.');

    await expectTinyError(composeSystemPrompt(withPromptFile('../shared-role.md'), { cache: new PromptCache() }), 'INVALID_PATH');
    symlinkSync(outside, join(dir, 'sneaky.md'));
    await expectTinyError(composeSystemPrompt(withPromptFile('sneaky.md'), { cache: new PromptCache() }), 'INVALID_PATH');
    await expectTinyError(composeSystemPrompt(withPromptFile('missing.md'), { cache: new PromptCache() }), 'INVALID_PATH');
  });

  it('does not expand placeholders that come from user text', async () => {
    const { input } = await coderWorkspace();
    const { text } = await composeSystemPrompt({ ...input, agent: { ...input.agent, name: 'Odd {{workspace}}' } }, { cache: new PromptCache() });
    expect(text).toContain('@coder (Odd {{workspace}})');
  });
});

describe('PromptCache', () => {
  it('evicts the least recently used entry beyond its size', () => {
    const cache = new PromptCache(2);
    const prompt = (text: string) => ({ text, hash: text });
    cache.set('a', prompt('a'));
    cache.set('b', prompt('b'));
    expect(cache.get('a')?.text).toBe('a');
    cache.set('c', prompt('c'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.text).toBe('a');
    expect(cache.get('c')?.text).toBe('c');
    expect(cache.stats.size).toBe(2);
    expect(() => new PromptCache(0)).toThrow(RangeError);
  });
});
