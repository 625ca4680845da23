import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTinyError, type TinyError } from '../src/errors.ts';
import { SettingsSchema, findJsonSyntaxError, loadSettings, updateSettings, validateSettings, writeSettings, type SettingsIssue } from '../src/config/index.ts';
import { migrateRuntimeNames } from '../src/config/runtime-names.ts';

const REFERENCE = join(import.meta.dirname, 'fixtures/settings/reference.json');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-config-load-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function catchError(fn: () => unknown): TinyError {
  try {
    fn();
  } catch (err) {
    if (isTinyError(err)) return err;
    throw err;
  }
  throw new Error('expected a TinyError');
}

async function catchErrorAsync(fn: () => Promise<unknown>): Promise<TinyError> {
  try {
    await fn();
  } catch (err) {
    if (isTinyError(err)) return err;
    throw err;
  }
  throw new Error('expected a TinyError');
}

function issuesOf(err: TinyError): SettingsIssue[] {
  return (err.details as { issues: SettingsIssue[] }).issues;
}

describe('loadSettings', () => {
  it('returns empty settings (all defaults) for a missing file and does not create it', () => {
    const file = join(dir, 'settings.json');
    expect(loadSettings(file)).toEqual({ settings: {}, exists: false });
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
  });

  it('reports three different mistakes with their paths and leaves the file byte-identical, also after updateSettings', async () => {
    const file = join(dir, 'settings.json');
    const text = JSON.stringify(
      {
        agents: { Coder: { name: 'Coder', provider: 'anthropic' }, reviewer: { name: 'Reviewer' } },
        teams: { dev: { name: 'Dev', agents: ['reviewer'], leader_agent: 'boss' } },
        queue: { durability: 'fast' },
      },
      null,
      2,
    );
    writeFileSync(file, text);
    const before = readFileSync(file);

    const err = catchError(() => loadSettings(file));
    expect(err.code).toBe('CONFIG_INVALID');
    const issues = issuesOf(err);
    expect(issues.map((i) => i.path).sort()).toEqual(['agents.Coder', 'queue.durability', 'teams.dev.leader_agent']);
    for (const issue of issues) expect(issue.hint).toBeTypeOf('string');
    expect(issues.find((i) => i.path === 'agents.Coder')?.hint).toContain('"coder"');
    // One line per problem, with the file path.
    expect(err.message).toContain(file);
    expect(err.message).toContain('(3 problems)');
    for (const path of ['agents.Coder', 'queue.durability', 'teams.dev.leader_agent']) {
      expect(err.message.split('\n').filter((line) => line.startsWith(`  - ${path}:`))).toHaveLength(1);
    }
    expect(readFileSync(file).equals(before)).toBe(true);

    const updateErr = await catchErrorAsync(() => updateSettings(file, (s) => ({ ...s, retention: { days: 3 } })));
    expect(updateErr.code).toBe('CONFIG_INVALID');
    expect(updateErr.message).toContain(`Invalid settings in ${file}`); // the file is what is broken
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('reports invalid JSON with line and column, never the content, and never touches the file', async () => {
    const file = join(dir, 'settings.json');
    const text = '{\n  "models": {\n    "anthropic": { "api_key": "sk-ant-secret-value-123456789" }\n  }\n  "agents": {}\n}\n';
    writeFileSync(file, text);
    const before = readFileSync(file);
    const err = catchError(() => loadSettings(file));
    expect(err.code).toBe('CONFIG_PARSE_FAILED');
    expect(err.message).toContain('line 5, column 3');
    expect(err.message).toContain('missing comma');
    expect(err.message).not.toContain('sk-ant-secret');
    expect(err.details).toMatchObject({ file, line: 5, column: 3 });

    const updateErr = await catchErrorAsync(() => updateSettings(file, () => ({})));
    expect(updateErr.code).toBe('CONFIG_PARSE_FAILED');
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('locates syntax errors V8 reports without a position, and empty files', () => {
    expect(findJsonSyntaxError('{\n  "a": tru\n}')).toMatchObject({ line: 2, column: 8 });
    expect(findJsonSyntaxError('{"a": 1,}')).toMatchObject({ line: 1, column: 9, reason: 'trailing comma before "}"' });
    expect(findJsonSyntaxError("{'a': 1}")?.reason).toContain('double quotes');
    expect(findJsonSyntaxError('{"a": "x\ny"}')?.reason).toContain('control character');
    expect(findJsonSyntaxError('{"a": [1, 2}')).toMatchObject({ line: 1, column: 12 });
    expect(findJsonSyntaxError('{"a": {"b": [1, {"c": null}]}, "d": -1.5e3}')).toBeUndefined();

    const file = join(dir, 'settings.json');
    writeFileSync(file, '  \n');
    const err = catchError(() => loadSettings(file));
    expect(err.code).toBe('CONFIG_PARSE_FAILED');
    expect(err.message).toContain('the file is empty');
  });

  it('accepts a UTF-8 byte-order mark without rewriting the file', () => {
    const file = join(dir, 'settings.json');
    writeFileSync(file, '\uFEFF{"workspace": {"name": "w"}}');
    expect(loadSettings(file).settings).toEqual({ workspace: { name: 'w' } });
  });

  it('reports an unreadable path as CONFIG_IO', () => {
    const file = join(dir, 'settings.json');
    mkdirSync(file);
    expect(catchError(() => loadSettings(file)).code).toBe('CONFIG_IO');
  });

  it('rejects a file that is not an object', () => {
    const file = join(dir, 'settings.json');
    writeFileSync(file, '[1, 2]');
    const issues = issuesOf(catchError(() => loadSettings(file)));
    expect(issues).toEqual([expect.objectContaining({ path: '', hint: expect.stringContaining('one JSON object') })]);
  });
});

describe('deeply nested settings', () => {
  const deep = (levels: number): string => `{ "agents": {}, "extra": ${'{"a":'.repeat(levels)}1${'}'.repeat(levels)} }\n`;

  it('a 2,000-deep settings.json is reported with the path of the too-deep value, never a stack overflow, and never rewritten', async () => {
    const file = join(dir, 'settings.json');
    writeFileSync(file, deep(2000));
    const before = readFileSync(file, 'utf8');
    const err = catchError(() => loadSettings(file));
    expect(err.code).toBe('CONFIG_INVALID');
    const [issue, ...rest] = issuesOf(err);
    expect(rest).toEqual([]);
    expect(issue!.message).toBe('Nested deeper than 64 levels');
    expect(issue!.path).toBe(`extra${'.a'.repeat(63)}`);
    const update = await catchErrorAsync(() => updateSettings(file, (s) => s));
    expect(update.code).toBe('CONFIG_INVALID');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('a deeply nested file that is also broken JSON is reported as a parse error with a position, not a stack overflow', () => {
    const file = join(dir, 'settings.json');
    const text = `{ "x": ${'['.repeat(200_000)}`;
    writeFileSync(file, text);
    const err = catchError(() => loadSettings(file));
    expect(err.code).toBe('CONFIG_PARSE_FAILED');
    expect(err.message).toMatch(/line 1, column \d+: nested more than 512 levels deep/);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('a file 64 levels deep still loads; a write that would go deeper is refused', async () => {
    const file = join(dir, 'settings.json');
    writeFileSync(file, deep(62));
    expect(loadSettings(file).exists).toBe(true);
    const err = await catchErrorAsync(() => updateSettings(file, (s) => ({ ...s, more: JSON.parse(`${'{"b":'.repeat(200)}1${'}'.repeat(200)}`) as unknown })));
    expect(issuesOf(err)[0]!.message).toBe('Nested deeper than 64 levels');
    expect(readFileSync(file, 'utf8')).toBe(deep(62));
  });
});

describe('reference settings.json', () => {
  it('loads unchanged, including keys this version does not know', () => {
    const { settings, exists } = loadSettings(REFERENCE);
    expect(exists).toBe(true);
    expect(settings).toEqual(JSON.parse(readFileSync(REFERENCE, 'utf8')));
    expect(settings.agents?.['reviewer']?.provider).toBe('custom:local-llama');
    expect(settings['tinyoffice']).toEqual({ theme: 'dark', pinned_agents: ['coder'] });
  });

  it('keeps unknown keys (top level and nested) through a write round trip and an update', async () => {
    const file = join(dir, 'settings.json');
    const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')) as Record<string, unknown>;
    const withNested = structuredClone(reference) as { agents: Record<string, Record<string, unknown>> };
    withNested.agents['coder'] = { ...withNested.agents['coder'], future_option: { level: 3 } };
    await writeSettings(file, withNested, { env: {} });
    await updateSettings(file, (s) => ({ ...s, retention: { days: 7 } }), { env: {} });

    const { settings } = loadSettings(file);
    expect(settings['tinyoffice']).toEqual({ theme: 'dark', pinned_agents: ['coder'] });
    expect(settings.agents?.['coder']?.['future_option']).toEqual({ level: 3 });
    // The write renamed the reference's runtime names (provider "anthropic" -> "claude-code", …), nothing else.
    expect(settings).toEqual(migrateRuntimeNames({ ...withNested, retention: { days: 7 } }));
    // Key order is the user's, not the schema's.
    expect(Object.keys(settings)).toEqual([...Object.keys(reference), 'retention']);
  });
});

describe('settings rules', () => {
  function pathsOf(value: unknown): string[] {
    const result = validateSettings(value);
    return result.ok ? [] : result.issues.map((i) => i.path);
  }

  it('rejects path traversal and other invalid ids for agents and teams', () => {
    const result = validateSettings({ agents: { '../etc': {}, 'a/b': {}, ok: {} }, teams: { 'Team One': { agents: ['ok'], leader_agent: 'ok' } } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual(['agents["../etc"]', 'agents["a/b"]', 'teams["Team One"]']);
    expect(result.issues[0]?.message).toContain('path separator');
    expect(result.issues[2]?.hint).toContain('"team-one"');
  });

  it('checks daily token budgets and the daily caps of one agent', () => {
    expect(pathsOf({ budgets: { agent_daily_tokens: 1000, global_daily_tokens: 5000 }, agents: { a: { budgets: { daily_usd: 1.5, daily_tokens: 200 } } } })).toEqual([]);
    expect(pathsOf({ budgets: { global_daily_tokens: 1.5 }, agents: { a: { budgets: { daily_tokens: -1, daily_usd: 'x' } } } }).sort()).toEqual([
      'agents.a.budgets.daily_tokens',
      'agents.a.budgets.daily_usd',
      'budgets.global_daily_tokens',
    ]);
  });

  it('checks monitoring.quiet_hours is a 24-hour HH:MM-HH:MM range', () => {
    expect(pathsOf({ monitoring: { quiet_hours: '22:00-07:00' } })).toEqual([]);
    expect(pathsOf({ monitoring: { quiet_hours: ' 9:30 - 17:45 ' } })).toEqual([]);
    for (const bad of ['25:00-07:00', '22:00', '10pm-7am', 7, '22:60-07:00']) {
      expect(pathsOf({ monitoring: { quiet_hours: bad } }), String(bad)).toEqual(['monitoring.quiet_hours']);
    }
  });

  it('requires ids to be unique across agents and teams', () => {
    expect(pathsOf({ agents: { dev: {} }, teams: { dev: { agents: ['dev'], leader_agent: 'dev' } } })).toEqual(['teams.dev']);
  });

  it('checks team members, duplicates, empty teams and the leader', () => {
    expect(pathsOf({ agents: { a: {} }, teams: { t: { agents: ['a', 'ghost', 'a'], leader_agent: 'a' } } })).toEqual(['teams.t.agents[1]', 'teams.t.agents[2]']);
    expect(pathsOf({ agents: { a: {} }, teams: { t: { agents: [] } } })).toEqual(['teams.t.agents', 'teams.t.leader_agent']);
  });

  it('checks custom provider references and provider names', () => {
    const result = validateSettings({
      custom_providers: { mine: { harness: 'claude', base_url: 'ftp://x' } },
      agents: { a: { provider: 'custom:mine' }, b: { provider: 'custom:other' }, c: { provider: 'gemini' } },
      models: { provider: 'custom:nope' },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path).sort()).toEqual(['agents.b.provider', 'agents.c.provider', 'custom_providers.mine.base_url', 'models.provider']);
    expect(result.issues.find((i) => i.path === 'agents.c.provider')).toMatchObject({
      message: 'Unknown provider "gemini"',
      hint: expect.stringContaining('"custom:<id>"'),
    });
  });

  it('rejects a relative working_directory that escapes the workspace', () => {
    expect(pathsOf({ agents: { a: { working_directory: '../other' }, b: { working_directory: 'x/../../y' } } })).toEqual(['agents.a.working_directory', 'agents.b.working_directory']);
    expect(pathsOf({ agents: { a: { working_directory: '/srv/a' }, b: { working_directory: '~/b' }, c: { working_directory: 'c/d' } } })).toEqual([]);
  });

  it('rejects two agents resolving to one workspace directory, at the second agent', () => {
    const ws = join(dir, 'ws');
    const shared = validateSettings({
      workspace: { path: ws },
      agents: { a: { working_directory: join(dir, 'shared') }, b: {}, c: { working_directory: `${dir}/x/../shared/` } },
    });
    expect(shared.ok).toBe(false);
    if (shared.ok) return;
    expect(shared.issues).toEqual([
      {
        path: 'agents.c.working_directory',
        message: `Agent "c" uses the same workspace directory as agent "a" (${join(dir, 'shared')})`,
        hint: 'Each agent needs its own directory (its AGENTS.md, SOUL.md and memory live there). Point agents.c.working_directory at a directory no other agent uses.',
      },
    ]);
    // A working_directory that lands on another agent's default directory: reported at the later
    // agent, with a hint naming the key that caused it.
    const ontoDefault = validateSettings({ workspace: { path: ws }, agents: { a: { working_directory: 'b' }, b: {} } });
    expect(ontoDefault.ok ? [] : ontoDefault.issues).toEqual([
      {
        path: 'agents.b',
        message: `Agent "b" uses the same workspace directory as agent "a" (${join(ws, 'b')})`,
        hint: 'Each agent needs its own directory (its AGENTS.md, SOUL.md and memory live there). Change agents.a.working_directory, or set agents.b.working_directory to another directory.',
      },
    ]);
    // `~` is expanded before comparing; three agents on one directory give two issues.
    const home = process.env['HOME'] || homedir();
    expect(pathsOf({ agents: { a: { working_directory: '~/same' }, b: { working_directory: join(home, 'same') }, c: { working_directory: '$HOME/same' } } })).toEqual([
      'agents.b.working_directory',
      'agents.c.working_directory',
    ]);
    // Distinct and nested directories are allowed; escaping paths get only their own issue.
    expect(pathsOf({ workspace: { path: ws }, agents: { a: {}, b: { working_directory: 'a/sub' }, c: { working_directory: join(ws, 'c2') } } })).toEqual([]);
    expect(pathsOf({ workspace: { path: ws }, agents: { a: { working_directory: '../x' }, b: { working_directory: '../x' } } })).toEqual(['agents.a.working_directory', 'agents.b.working_directory']);
  });

  it('refuses to write settings where two agents share a workspace, leaving the file as it was', async () => {
    const file = join(dir, 'settings.json');
    const before = `${JSON.stringify({ workspace: { path: join(dir, 'ws') }, agents: { a: {}, b: {} } }, null, 2)}\n`;
    writeFileSync(file, before);
    const err = await catchErrorAsync(() => updateSettings(file, (s) => ({ ...s, agents: { ...s.agents, b: { working_directory: join(dir, 'ws', 'a') } } }), { env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('agents.b.working_directory: Agent "b" uses the same workspace directory as agent "a"');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('validates our keys: queue, server, limits, budgets, mock scripts', () => {
    expect(
      pathsOf({
        server: { port: 70000 },
        queue: { concurrency: 0 },
        limits: { max_depth: 1.5 },
        budgets: { soft_limit_fraction: 2 },
        agents: { m: { busy_policy: 'parallel', steering: ['inject', 'explode'], mock: { replies: [{ match: 'x', fail: 'sometimes' }] } } },
      }).sort(),
    ).toEqual(['agents.m.busy_policy', 'agents.m.mock.replies[0].fail', 'agents.m.steering[1]', 'budgets.soft_limit_fraction', 'limits.max_depth', 'queue.concurrency', 'server.port']);
  });

  it('checks registered workflows: names like agent ids, a module file that stays in TINYAGI_HOME/workflows/ when relative, an input JSON Schema', () => {
    const schema = { type: 'object', properties: { files: { type: 'array', items: { type: 'string' } } }, required: ['files'] };
    expect(
      pathsOf({
        workflows: { review: { file: 'review.ts', description: 'Review files', input: schema, agents: ['coder'] }, 'nightly-2': { file: '/srv/flows/nightly.mjs' }, home: { file: '~/flows/a.js' } },
      }),
    ).toEqual([]);
    const result = validateSettings({
      workflows: {
        'Review Files': { file: 'review.ts' },
        ext: { file: 'review.py' },
        escape: { file: '../outside/review.ts' },
        schema: { file: 'a.ts', input: { type: 'nonsense' } },
        nofile: { description: 'no module' },
        who: { file: 'a.ts', agents: 'coder' },
      },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.issues.map((i) => [i.path, `${i.message} ${i.hint ?? ''}`]));
    expect(Object.keys(byPath).sort()).toEqual(['workflows.escape.file', 'workflows.ext.file', 'workflows.nofile.file', 'workflows.schema.input', 'workflows.who.agents', 'workflows["Review Files"]']);
    expect(byPath['workflows["Review Files"]']).toContain('Invalid workflow name');
    expect(byPath['workflows["Review Files"]']).toContain('"review-files"');
    expect(byPath['workflows.ext.file']).toContain('.ts, .mts, .js or .mjs');
    expect(byPath['workflows.escape.file']).toContain('TINYAGI_HOME/workflows/');
    expect(byPath['workflows.schema.input']).toContain('Unsupported type: nonsense');
  });

  it('rejects "__proto__" keys anywhere (zod would skip them unvalidated) and odd custom provider ids', () => {
    const value = JSON.parse('{"agents": {"__proto__": {"provider": 42}}, "channels": {"defaults": {"__proto__": "x"}}, "custom_providers": {"bad id!": {}}}') as unknown;
    expect(pathsOf(value).sort()).toEqual(['agents.__proto__', 'channels.defaults.__proto__', 'custom_providers["bad id!"]']);
  });

  it('has no defaults or transforms: a valid value parses to itself', () => {
    const value = JSON.parse(readFileSync(REFERENCE, 'utf8')) as unknown;
    expect(SettingsSchema.parse(value)).toEqual(value);
    expect(SettingsSchema.parse({})).toEqual({});
  });
});

describe('settings size', () => {
  it('a write that would make settings.json larger than 4 MiB is refused and the file is unchanged', async () => {
    const file = join(dir, 'settings.json');
    await writeSettings(file, { agents: {} });
    const chunk = 'x'.repeat(900 * 1024);
    let grown = 0;
    let last = readFileSync(file, 'utf8');
    const err = await catchErrorAsync(async () => {
      for (;;) {
        await updateSettings(file, (s) => ({ ...s, [`blob${grown}`]: chunk }));
        grown++;
        last = readFileSync(file, 'utf8');
      }
    });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(issuesOf(err)[0]!.message).toMatch(/more than the 4 MiB limit/);
    expect(grown).toBe(4);
    expect(readFileSync(file, 'utf8')).toBe(last);
  });
});
