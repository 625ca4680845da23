/**
 * The daemon end to end, as a user drives it: a real detached daemon started and stopped by real
 * (built) `tinyagi start`, `run` and `stop` processes, a temp TINYAGI_HOME, the mock provider; the
 * other commands run in this process (`cliHere`). Its stores follow TINYAGI_TEST_BACKEND
 * (`pnpm test:pg` runs this file with the daemon on PostgreSQL, a schema per test).
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings with `${…}` are plugin sources written to disk
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MIGRATIONS_FOLDER } from '@tinyagi/core/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { createDaemon, pidAlive, waitFor, type TestDaemon } from '@tinyagi/test-kit';
import { sqliteOnly } from '@tinyagi/test-kit/stores';

const homes: TestDaemon[] = [];
afterEach(async () => {
  await Promise.all(homes.splice(0).map((h) => h.cleanup()));
});

async function newHome(): Promise<TestDaemon> {
  const h = await createDaemon({ storesOnTestBackend: true });
  homes.push(h);
  return h;
}

function daemonPid(h: TestDaemon): number {
  return (JSON.parse(readFileSync(join(h.home, 'daemon.lock'), 'utf8')) as { pid: number }).pid;
}

const CODER = JSON.stringify({ mock: { replies: [{ match: 'build', reply: 'Built the feature. [@reviewer: please review the build]' }] } });

describe('tinyagi daemon', () => {
  it('starts, runs a team handoff through send --wait, reports an empty queue, refuses a second daemon and stops without leaving a process', async () => {
    const h = await newHome();
    const start = await h.cli(['start']);
    expect(start.code, start.stderr).toBe(0);
    const started = start.stdout;
    expect(started).toContain(`http://127.0.0.1:${h.port}`);
    // Not a terminal: no spinner, no control characters, nothing on stderr.
    expect(start.stderr).toBe('');
    expect(started).not.toContain('\r');
    expect(started).not.toContain('\u001b');
    expect(started).toContain('mock runtime'); // no agent CLI on this machine's test PATH
    const pid = daemonPid(h);
    expect(pidAlive(pid)).toBe(true);
    expect(readFileSync(join(h.home, 'api-token')).length).toBeGreaterThan(16);

    await h.cliHereOk(['agent', 'add', 'coder', '--provider', 'mock', '--config', CODER]);
    await h.cliHereOk(['agent', 'add', 'reviewer', '--provider', 'mock', '--config', JSON.stringify({ mock: { reply: 'Reviewed: looks good.' } })]);
    await h.cliHereOk(['team', 'add', 'dev', '--agents', 'coder,reviewer', '--leader', 'coder']);
    const teams = JSON.parse(await h.cliHereOk(['team', 'list', '--json'])) as Array<{ id: string; agents: string[]; leader_agent: string }>;
    expect(teams).toEqual([expect.objectContaining({ id: 'dev', agents: ['coder', 'reviewer'], leader_agent: 'coder' })]);

    const sent = await h.cliHere(['send', '--team', 'dev', '--wait', 'please', 'build', 'it']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('Built the feature.');
    expect(sent.stdout).toContain('→ @reviewer: please review the build');
    expect(sent.stdout).toContain('Reviewed: looks good.');
    expect(sent.stdout).not.toContain('[@reviewer:'); // raw tags never reach the human
    expect(sent.stderr).toContain('@coder → @reviewer'); // progress is streamed

    const status = JSON.parse(await h.cliHereOk(['status', '--json'])) as {
      running: boolean;
      pid: number;
      queue: Record<string, number>;
      heartbeat: Array<{ agentId: string; enabled: boolean; intervalS: number }> | null;
    };
    expect(status.running).toBe(true);
    expect(status.pid).toBe(pid);
    expect(status.queue).toMatchObject({ pending: 0, processing: 0, dead: 0, completed: 2 });
    // The daemon's heartbeat scheduler, one entry per agent.
    expect(status.heartbeat?.map((b) => b.agentId).sort()).toEqual(['coder', 'reviewer', 'tinyagi']);
    expect(status.heartbeat?.find((b) => b.agentId === 'coder')).toMatchObject({ enabled: true, intervalS: expect.any(Number) });

    // A second daemon on the same home is refused clearly, by `start` and by a foreground `run`.
    const second = await h.cli(['start']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`already running (pid ${pid})`);
    expect(second.stderr).toContain('tinyagi stop');
    // Asked for JSON, the refusal is JSON too (same exit code), naming the daemon that runs.
    const secondJson = await h.cli(['start', '--json']);
    expect(secondJson.code).toBe(1);
    expect(JSON.parse(secondJson.stdout)).toMatchObject({ running: true, started: false, pid, apiUrl: h.url, error: { code: 'DAEMON_RUNNING' } });
    // The checkout's `pnpm start` (`start --ok-if-running` from the root's script, no `tinyagi` on
    // PATH): the refusal alone, exit 0, its commands in the form that works there.
    const checkout = { npm_package_name: 'tinyagi-monorepo', npm_lifecycle_event: 'start', PATH: dirname(process.execPath) };
    const again = await h.cli(['start', '--ok-if-running'], { env: checkout });
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
    expect(again.stdout).toContain(`already running (pid ${pid})`);
    expect(again.stdout).toContain('`pnpm tinyagi stop`');
    const run = await h.cli(['run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('already running');
    expect(pidAlive(pid)).toBe(true);

    const stop = await h.cli(['stop']);
    expect({ code: stop.code, stdout: stop.stdout, stderr: stop.stderr }).toEqual({ code: 0, stdout: `TinyAGI stopped (pid ${pid}).\n`, stderr: '' });
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(join(h.home, 'daemon.lock'))).toBe(false);
    expect(existsSync(join(h.home, 'tinyagi.pid'))).toBe(false);
    const after = await h.cliHere(['status']);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain('not running');
  });

  // SQLite's own: the migrations journal of the .db file (doctor on PostgreSQL: storage.e2e.test.ts).
  it.skipIf(sqliteOnly)('doctor reports pending migrations read-only, --migrate applies them and names them; without a daemon agent remove archives', async () => {
    const h = await newHome();
    await h.cliHereOk(['doctor', '--fix']);
    // A database file that was never migrated (every shipped migration is pending).
    for (const suffix of ['-wal', '-shm']) rmSync(join(h.home, `tinyagi.db${suffix}`), { force: true });
    writeFileSync(join(h.home, 'tinyagi.db'), '');
    const shipped = (JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string }> }).entries.map((e) => e.tag);
    type Doctor = { ok: boolean; migrations?: { applied: string[]; pending: string[] }; findings: Array<{ check: string; status: string; message: string; fixed?: string }> };

    const plain = JSON.parse(await h.cliHereOk(['doctor', '--json'])) as Doctor;
    expect(plain.migrations).toEqual({ applied: [], pending: shipped });
    expect(plain.findings.find((f) => f.check === 'migrations')).toMatchObject({ status: 'warn' });
    expect(readFileSync(join(h.home, 'tinyagi.db')).length).toBe(0); // read-only: nothing applied

    const migrated = JSON.parse(await h.cliHereOk(['doctor', '--migrate', '--json'])) as Doctor;
    expect(migrated.migrations).toEqual({ applied: shipped, pending: [] });
    expect(migrated.findings.find((f) => f.check === 'migrations')).toMatchObject({ status: 'ok', fixed: `applied ${shipped.join(', ')}` });

    const again = await h.cliHereOk(['doctor', '--migrate']);
    expect(again).toContain('database schema is up to date');
    expect(again).not.toContain('applied');
    expect((JSON.parse(await h.cliHereOk(['doctor', '--json'])) as Doctor).migrations).toEqual({ applied: [], pending: [] });

    // No daemon: the CLI edits settings.json itself, with the same workspace rules as the API.
    await h.cliHereOk(['agent', 'add', 'scratch', '--provider', 'mock']);
    const root = join(h.root, 'tinyagi-workspace');
    expect(existsSync(join(root, 'scratch', 'AGENTS.md'))).toBe(true);
    const removed = await h.cliHereOk(['agent', 'remove', 'scratch', '--yes']);
    expect(removed).toContain(`archived to ${join(root, '.archive', 'scratch-')}`);
    expect(existsSync(join(root, 'scratch'))).toBe(false);
  });

  it('refuses to start on a broken settings.json, lists every problem and leaves the file byte-identical', async () => {
    const h = await newHome();
    await h.cliHereOk(['doctor', '--fix']); // creates the home (token), not settings
    const file = join(h.home, 'settings.json');
    const broken = '{\n  "agents": { "Bad Id": { "provider": "nope" } },\n  "teams": { "dev": { "agents": ["ghost"], "leader_agent": "ghost" } }\n}\n';
    writeFileSync(file, broken);
    const result = await h.cli(['start']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('agents["Bad Id"]: Invalid agent id');
    expect(result.stderr).toContain('agents["Bad Id"].provider');
    expect(result.stderr).toContain('teams.dev.agents[0]');
    expect(readFileSync(file, 'utf8')).toBe(broken);
    expect(existsSync(join(h.home, 'daemon.lock'))).toBe(false);

    const syntax = '{ "agents": { "a": { "provider": "mock" }, }\n';
    writeFileSync(file, syntax);
    const again = await h.cli(['start']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/line 1, column \d+/);
    expect(readFileSync(file, 'utf8')).toBe(syntax);
    // doctor says the file is broken, and claims nothing it could not read (no "No chat channel enabled").
    const doctor = await h.cliHere(['doctor']);
    expect(doctor.stdout).toContain('Chat channels not checked: settings.json could not be read');
    expect(doctor.stdout).not.toContain('No chat channel enabled');
    expect(readFileSync(file, 'utf8')).toBe(syntax);
  });

  it('a 2,000-deep settings.json: start reports the too-deep path instead of overflowing the stack, and leaves the file as it is', async () => {
    const h = await newHome();
    await h.cliHereOk(['doctor', '--fix']);
    const file = join(h.home, 'settings.json');
    const deep = `{ "agents": {}, "extra": ${'{"a":'.repeat(2000)}1${'}'.repeat(2000)} }\n`;
    writeFileSync(file, deep);
    const result = await h.cli(['start']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`extra${'.a'.repeat(63)}: Nested deeper than 64 levels`);
    expect(result.stderr).not.toMatch(/call stack/i);
    expect(readFileSync(file, 'utf8')).toBe(deep);
    expect(existsSync(join(h.home, 'daemon.lock'))).toBe(false);
  });

  it('loads plugins from TINYAGI_HOME/plugins: a reply is transformed end to end, a broken plugin is logged and skipped, restart reloads an edited one', async () => {
    const h = await newHome();
    const writePlugin = (name: string, file: string, text: string): void => {
      mkdirSync(join(h.home, 'plugins', name), { recursive: true });
      writeFileSync(join(h.home, 'plugins', name, file), text);
    };
    writePlugin('shout', 'index.mjs', "export default { name: 'shout', transformOutgoing: (text, ctx) => `${text.toUpperCase()} (${ctx.channel})` };\n");
    writePlugin('broken', 'index.js', "throw new Error('broken at import');\n");
    await h.cliOk(['start']);
    const log = readFileSync(join(h.home, 'logs', 'daemon.log'), 'utf8');
    expect(log).toContain(`WARN  [plugins] skipped plugin ${join(h.home, 'plugins', 'broken')}: failed to load: broken at import`);
    expect(log).toContain('INFO  [daemon] plugins loaded (in this order): shout');

    await h.cliHereOk(['agent', 'add', 'quiet', '--provider', 'mock', '--config', JSON.stringify({ mock: { reply: 'a quiet reply' } })]);
    const first = await h.cliHereOk(['send', '--agent', 'quiet', '--wait', 'hello']);
    expect(first).toContain('A QUIET REPLY (cli)');
    expect(first).not.toContain('a quiet reply');

    // An in-process restart imports the edited entry again.
    writePlugin('shout', 'index.mjs', 'export function transformOutgoing(text) { return `${text} [v2]`; }\n');
    await h.cliHereOk(['restart']);
    const second = await h.cliHereOk(['send', '--agent', 'quiet', '--wait', 'hello again']);
    expect(second).toContain('a quiet reply [v2]');
  });

  it('after kill -9 in the middle of a conversation, a new start completes it and no reply is delivered twice', async () => {
    const h = await newHome();
    await h.cliOk(['start']);
    // Ten-minute leases: the killed daemon's claimed message must be resumed by the next start
    // (it holds the instance lock, so earlier daemons' leases are dead), not by lease expiry.
    writeFileSync(
      join(h.home, 'settings.json'),
      JSON.stringify({
        ...JSON.parse(readFileSync(join(h.home, 'settings.json'), 'utf8')),
        queue: { lease_ms: 600_000, sweep_ms: 200 },
      }),
    );
    await h.cliHereOk(['restart']);
    await h.cliHereOk(['agent', 'add', 'coder', '--provider', 'mock', '--config', CODER]);
    // The reviewer's run holds at a gate (the mock runtime's: the file mock-gates/review) until the test opens it.
    const review = { match: 'review', gate: 'review', reply: 'Reviewed after a long think.' };
    await h.cliHereOk(['agent', 'add', 'reviewer', '--provider', 'mock', '--config', JSON.stringify({ mock: { replies: [review] } })]);
    await h.cliHereOk(['team', 'add', 'dev', '--agents', 'coder,reviewer', '--leader', 'coder']);
    const sent = JSON.parse(await h.cliHereOk(['send', '--team', 'dev', '--json', 'build', 'it'])) as { conversationId: string };

    // Wait until the coder has replied and the reviewer is running, then kill the daemon hard.
    await waitFor(
      async () => {
        const q = JSON.parse(await h.cliHereOk(['queue', 'status', '--json'])) as { processing: Array<{ agentId: string }> };
        return q.processing.some((m) => m.agentId === 'reviewer') ? true : undefined;
      },
      20_000,
      'the reviewer to be running',
    );
    const pid = daemonPid(h);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => (pidAlive(pid) ? undefined : true), 5000, 'the daemon to die');

    const restarted = await h.cliOk(['start']);
    expect(restarted).toContain('TinyAGI is running');
    // The resumed run of the reviewer may finish now.
    mkdirSync(join(h.home, 'mock-gates'), { recursive: true });
    writeFileSync(join(h.home, 'mock-gates', 'review'), '');
    const done = await waitFor(
      async () => {
        const tree = JSON.parse(await h.cliHereOk(['conversation', 'show', sent.conversationId, '--json'])) as { conversation: { status: string } };
        return tree.conversation.status === 'completed' ? tree : undefined;
      },
      30_000,
      'the conversation to complete',
    );
    expect(done.conversation.status).toBe('completed');

    const transcript = JSON.parse(await h.cliHereOk(['conversation', 'transcript', sent.conversationId, '--json'])) as { entries: Array<{ direction: string; from: string; text?: string }> };
    const outs = transcript.entries.filter((e) => e.direction === 'out');
    expect(outs.filter((e) => e.from === '@coder')).toHaveLength(1);
    expect(outs.filter((e) => e.from === '@reviewer').map((e) => e.text)).toEqual(['Reviewed after a long think.']);

    const replies = JSON.parse(await h.cliHereOk(['send', '--json', '--agent', 'tinyagi', '--wait', 'ping'])) as { replies: unknown[] };
    expect(replies.replies).toHaveLength(1); // the daemon is healthy after recovery
    const status = JSON.parse(await h.cliHereOk(['status', '--json'])) as { outbox: Record<string, number>; queue: Record<string, number> };
    // one reply per agent for the team conversation + one for the ping: no duplicate delivery
    expect(status.outbox['delivered']).toBe(3);
    expect(status.queue).toMatchObject({ pending: 0, processing: 0, dead: 0 });
  });
});
