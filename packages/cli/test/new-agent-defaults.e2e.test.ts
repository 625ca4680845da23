/**
 * One definition of a new agent (core's `newAgent`; docs/approvals.md "New agents",
 * docs/sandbox.md): the five ways of making one store the same agent on the same machine —
 * `tinyagi agent add` (the built CLI), the first start's default agent, `POST /api/agents`,
 * TinyOffice's form (the `POST /api/agents` body its form sends for an id, a name and a runtime:
 * empty fields left out) and set-up (`pnpm start`'s `tinyagi start --ok-if-running` in a fresh
 * home) — on a machine where the boundary holds (real bubblewrap) and on one where it does not (a
 * failing `bwrap` first on the daemon's PATH). The CLI and the API say the same notes and
 * warnings; a runtime whose CLI is not installed is accepted with a warning that says so.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STARTER_PERMISSION_RULES } from '@tinyagi/core/internal';
import { FAKE_BIN_DIR, runCli, startDaemon, tempDir, tempHome, type TestDaemon } from '@tinyagi/test-kit';

type Agents = Record<string, Record<string, unknown>>;

function storedAgents(home: string): Agents {
  return (JSON.parse(readFileSync(join(home, 'settings.json'), 'utf8')) as { agents: Agents }).agents;
}

/** The stored agent without what each way names differently (its display name). */
function defaults(agent: Record<string, unknown> | undefined): Record<string, unknown> {
  const { name: _name, ...rest } = agent ?? {};
  return rest;
}

/** A folder with only `claude` (the test kit's fake): codex and opencode are not installed on this machine. */
function claudeOnlyDir(): string {
  const bin = tempDir('tinyagi-claude-only-');
  writeFileSync(join(bin, 'claude'), `#!/bin/sh\nexec ${join(FAKE_BIN_DIR, 'claude')} "$@"\n`);
  chmodSync(join(bin, 'claude'), 0o755);
  return bin;
}

function failingBwrapDir(): string {
  const bin = tempDir('tinyagi-failing-bwrap-');
  writeFileSync(join(bin, 'bwrap'), "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n");
  chmodSync(join(bin, 'bwrap'), 0o755);
  return bin;
}

/** `pnpm start`'s set-up in a fresh home with this PATH: the stored default agent (the daemon it started is stopped). */
async function setUp(path: string[]): Promise<Record<string, unknown> | undefined> {
  // Port 0, not the default: a daemon of the developer's own on 3777 must not fail the test.
  const home = tempHome({ prefix: 'tinyagi-setup-', path, env: { TINYAGI_API_PORT: '0' } });
  try {
    const started = await runCli(['start', '--ok-if-running'], home.env, { build: 'built' });
    expect(started.code, started.stderr).toBe(0);
    return storedAgents(home.home)['tinyagi'];
  } finally {
    await runCli(['stop'], home.env, { build: 'built' });
    home.cleanup();
  }
}

const MACHINES = [
  { machine: 'the boundary holds', path: () => [claudeOnlyDir(), '/usr/bin', '/bin'], sandbox: { sandbox: 'on' }, warning: undefined },
  { machine: 'the boundary does not hold', path: () => [failingBwrapDir(), claudeOnlyDir(), '/usr/bin', '/bin'], sandbox: {}, warning: 'sandbox-failed' },
] as const;

describe.each(MACHINES)('a new Claude Code agent where $machine', ({ path, sandbox, warning }) => {
  let h: TestDaemon;
  let dirs: string[];
  const expected = { provider: 'claude-code', ...sandbox, process: 'warm', permission_mode: 'ask', permissions: { rules: STARTER_PERMISSION_RULES } };

  beforeAll(async () => {
    dirs = [...path()];
    // No settings.json: the first start makes the default agent `tinyagi` (the fake `claude` is on PATH).
    h = await startDaemon({ path: dirs });
    // The daemon's start-up self-test has ended (the API and `agent add` use its result).
    for (let i = 0; (await h.api.status()).sandbox === null; i++) await new Promise((r) => setTimeout(r, 50 + i));
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it('all five ways store the same agent, and the CLI and the API say the same', async () => {
    const cli = await h.cliHere(['agent', 'add', 'via-cli', '--provider', 'claude-code']);
    expect(cli.code, cli.stderr).toBe(0);
    const api = await h.api.createAgent({ body: { id: 'via-api', provider: 'claude-code' } });
    // TinyOffice's New agent form: id, name and runtime given, every other field empty (left out).
    const office = await h.api.createAgent({ body: { id: 'via-office', name: 'Via office', provider: 'claude-code' } });
    const stored = storedAgents(h.home);
    const ways = {
      'agent add': stored['via-cli'],
      'first start': stored['tinyagi'],
      'POST /api/agents': stored['via-api'],
      "TinyOffice's form": stored['via-office'],
      'set-up': await setUp(dirs),
    };
    expect(Object.fromEntries(Object.entries(ways).map(([way, agent]) => [way, defaults(agent)]))).toEqual(Object.fromEntries(Object.keys(ways).map((way) => [way, expected])));

    expect(api.warnings.map((w) => w.code)).toEqual(warning === undefined ? [] : [warning]);
    expect(office.notes.map((n) => n.code)).toEqual(api.notes.map((n) => n.code));
    // The CLI prints every note and warning the API gives, in the same words.
    for (const n of [...api.notes, ...api.warnings]) expect(cli.stdout.replaceAll('via-cli', 'via-api')).toContain(n.message);
    if (warning !== undefined) expect(cli.stdout).toContain('tinyagi agent sandbox via-cli on');
  });

  it('a runtime whose CLI is not installed is accepted, and both say so with the install hint', async () => {
    const api = await h.api.createAgent({ body: { id: 'no-cli-api', provider: 'codex' } });
    const missing = api.warnings.find((w) => w.code === 'cli-missing');
    expect(missing?.message).toContain('"codex" (Codex) is not installed on this machine');
    expect(missing?.message).toMatch(/Install it: npm install -g @openai\/codex/);
    const cli = await h.cliHere(['agent', 'add', 'no-cli', '--provider', 'codex']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(missing?.message);
    const stored = storedAgents(h.home);
    expect(defaults(stored['no-cli'])).toEqual(defaults(stored['no-cli-api']));
    expect(stored['no-cli']).toMatchObject({ provider: 'codex' });
    // A CLI that is there gives no such warning.
    expect((await h.api.createAgent({ body: { id: 'with-cli', provider: 'claude-code' } })).warnings.map((w) => w.code)).not.toContain('cli-missing');
  });

  it('doctor lists an agent that leaves out the defaults; unconfined and reachable from a sandboxed one it is a warning with the command', async () => {
    // An agent as made before these defaults: none of the keys set (never changed silently).
    await h.api.patchAgent({ params: { id: 'via-api' }, body: { sandbox: null, process: null, permission_mode: null, permissions: null } });
    // A sandboxed agent reaches an unconfined one only when it lists it (or shares a team with it).
    await h.api.patchAgent({ params: { id: 'via-cli' }, body: { may_call: ['via-api'] } });
    const doctor = JSON.parse((await h.cliHere(['doctor', '--json'])).stdout) as { findings: Array<{ check: string; status: string; message: string; hint?: string }> };
    const finding = doctor.findings.find((f) => f.check === 'agents:defaults');
    expect(finding?.message).toContain('via-api: process not set (new agents: warm');
    if (warning === undefined) {
      // Here new agents are sandboxed, and via-cli may call it.
      expect(finding).toMatchObject({ status: 'warn' });
      expect(finding?.hint).toContain('`tinyagi agent sandbox via-api on`');
    } else {
      expect(finding).toMatchObject({ status: 'info' });
      expect(finding?.message).not.toContain('sandbox not set');
    }
    expect(storedAgents(h.home)['via-api']).not.toHaveProperty('process');
  });
});
