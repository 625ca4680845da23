/**
 * Commands against one running daemon, as a user would type them: live settings reload (and a
 * broken edit ignored), one-shot schedules, heartbeats, agent/team edits, chat, chat rooms,
 * `tinyagi call` from a CLI agent's shell, doctor, logs, restart. The daemon is the built one,
 * started by the built `tinyagi start`; the commands run in this process (`cliHere`: the CLI's
 * main from its sources), except where a process is the point: one test runs a command of every
 * family through the built bundle, `tinyagi call` runs in the agent's shell, `chatroom --follow`
 * runs until it is interrupted.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, FAKE_BIN_DIR, spawnCli, waitFor, type TestDaemon } from '@tinyagi/test-kit';

let h: TestDaemon;
beforeAll(async () => {
  h = await createDaemon();
  // A fake `claude` on PATH: the default agent uses it, and it can run `tinyagi call`.
  h.env['PATH'] = `${FAKE_BIN_DIR}:${dirname(process.execPath)}`;
  // Keys the model proxy carries: the sandboxed Claude Code and Codex agents have a login they can use
  // (doctor fails an agent with none, and a Codex with none is refused before it starts).
  h.env['ANTHROPIC_API_KEY'] = 'sk-ant-api03-commands-e2e-key';
  h.env['OPENAI_API_KEY'] = 'sk-commands-e2e-key';
  const started = await h.cliOk(['start']);
  expect(started).toContain(`uses Claude Code (${join(FAKE_BIN_DIR, 'claude')})`);
});
afterAll(async () => {
  await h.cleanup();
});

const json = async <T>(args: string[]): Promise<T> => JSON.parse(await h.cliHereOk([...args, '--json'])) as T;
const settingsFile = (): string => join(h.home, 'settings.json');

describe('commands against a running daemon', () => {
  it('`tinyagi call` from a CLI agent runs a sub-agent with the run-scoped token and returns its reply', async () => {
    await h.cliHereOk(['agent', 'add', 'helper', '--provider', 'mock', '--config', JSON.stringify({ mock: { reply: 'summary ready' } })]);
    // The default agent is sandboxed: it may call an unconfined agent outside its teams once it lists it.
    await h.api.patchAgent({ params: { id: 'tinyagi' }, body: { may_call: ['helper'] } });
    const sent = await h.cliHere(['send', '--agent', 'tinyagi', '--wait', 'FAKE:call=helper summarize the notes']);
    expect(sent.code, sent.stderr).toBe(0);
    // Found through PATH alone: the daemon's shim in its home, not a global install.
    expect(sent.stdout).toContain(`Sub-agent said: summary ready (via ${join(h.home, 'run', 'bin', 'tinyagi')})`);
    const [latest] = await json<Array<{ id: string }>>(['conversation', 'list']);
    const tree = await json<{ roots: Array<{ agentId: string; children: Array<{ agentId: string; depth: number; cause: string }> }> }>(['runs', 'tree', latest?.id ?? '']);
    expect(tree.roots[0]?.agentId).toBe('tinyagi');
    expect(tree.roots[0]?.children).toEqual([expect.objectContaining({ agentId: 'helper', depth: 1, cause: 'spawn' })]);
    const text = await h.cliHereOk(['runs', 'tree', latest?.id ?? '']);
    expect(text).toMatch(/└─ ✔ helper\s+completed\s+spawn/);
  });

  it('`tinyagi call` from Codex, whose shell tool is a login shell: /etc/profile resets PATH, the call still works', async () => {
    await h.cliHereOk(['agent', 'add', 'cx', '--provider', 'openai', '--config', '{"process":"per-message","may_call":["helper2"]}']);
    await h.cliHereOk(['agent', 'add', 'helper2', '--provider', 'mock', '--config', JSON.stringify({ mock: { reply: 'codex helper ready' } })]);
    const sent = await h.cliHere(['send', '--agent', 'cx', '--wait', 'FAKE:call=helper2 check the build']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain(`Sub-agent said: codex helper ready (via ${join(h.home, 'run', 'bin', 'tinyagi')})`);
  });

  it('picks up a hand edit of settings.json, and keeps the last good settings on a broken edit', async () => {
    const good = JSON.parse(readFileSync(settingsFile(), 'utf8')) as { agents: Record<string, unknown> };
    good.agents['writer'] = { name: 'Writer', provider: 'mock' };
    writeFileSync(settingsFile(), JSON.stringify(good, null, 2));
    await waitFor(async () => ((await json<Array<{ id: string }>>(['agent', 'list'])).some((a) => a.id === 'writer') ? true : undefined), 10_000, 'the new agent');

    const broken = '{ "agents": { "writer": { "provider": 42 } } }';
    writeFileSync(settingsFile(), broken);
    await waitFor(() => (readFileSync(join(h.home, 'logs', 'daemon.log'), 'utf8').includes('Keeping the last good settings') ? true : undefined), 10_000, 'the reload error');
    const log = readFileSync(join(h.home, 'logs', 'daemon.log'), 'utf8');
    expect(log).toContain('agents.writer.provider');
    const agents = await json<Array<{ id: string }>>(['agent', 'list']);
    expect(agents.map((a) => a.id)).toEqual(expect.arrayContaining(['tinyagi', 'writer']));
    expect(readFileSync(settingsFile(), 'utf8')).toBe(broken); // never repaired
    // While the file is broken, edits through the daemon are refused instead of overwriting it.
    const edit = await h.cliHere(['agent', 'add', 'other', '--provider', 'mock']);
    expect(edit.code).not.toBe(0);
    expect(readFileSync(settingsFile(), 'utf8')).toBe(broken);
    // Fixed by hand: edits work again.
    writeFileSync(settingsFile(), JSON.stringify(good, null, 2));
    await waitFor(async () => ((await h.cliHere(['agent', 'add', 'other', '--provider', 'mock'])).code === 0 ? true : undefined), 10_000, 'edits to work again');
    await h.cliHereOk(['agent', 'remove', 'other', '--yes']);
  });

  it('adds, edits and removes agents and teams; removing a member keeps the team', async () => {
    await h.cliHereOk(['agent', 'add', 'coder', '--provider', 'mock', '--name', 'Coder']);
    await h.cliHereOk(['team', 'add', 'dev', '--agents', 'coder,writer', '--leader', 'writer', '--reply-mode', 'aggregate']);
    expect(await h.cliHereOk(['agent', 'provider', 'coder'])).toContain('coder: mock');
    await h.cliHereOk(['agent', 'provider', 'coder', 'anthropic', '--model', 'sonnet']);
    // The old name is taken and stored as the runtime's name (docs/kinds.md).
    expect(await json(['agent', 'show', 'coder'])).toMatchObject({ id: 'coder', name: 'Coder', provider: 'claude-code', model: 'sonnet' });

    const dup = await h.cliHere(['agent', 'add', 'dev', '--provider', 'mock']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('The id "dev" is already used by a team. Agents and teams share one set of ids');

    const refused = await h.cliHere(['agent', 'remove', 'writer']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Pass --yes');
    const removed = await h.cliHereOk(['agent', 'remove', 'writer', '--yes']);
    expect(removed).toContain('left team dev (new leader: coder)');
    expect(await json(['team', 'show', 'dev'])).toMatchObject({ agents: ['coder'], leader_agent: 'coder', reply_mode: 'aggregate' });

    const last = await h.cliHere(['team', 'remove-agent', 'dev', 'coder']);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('last member');
    await h.cliHereOk(['team', 'add-agent', 'dev', 'helper']);
    expect(await json(['team', 'show', 'dev'])).toMatchObject({ agents: ['coder', 'helper'] });
    // --leader names the leader afterwards, whoever leaves; a leader that is not a remaining member is refused.
    await h.cliHereOk(['team', 'add-agent', 'dev', 'tinyagi']);
    const ghost = await h.cliHere(['team', 'remove-agent', 'dev', 'tinyagi', '--leader', 'ghost']);
    expect(ghost.code).toBe(2);
    expect(ghost.stderr).toContain('The leader must be one of the remaining members: coder, helper.');
    expect(await h.cliHereOk(['team', 'remove-agent', 'dev', 'tinyagi', '--leader', 'helper'])).toContain('Removed tinyagi from dev (new leader: helper).');
    expect(await json(['team', 'show', 'dev'])).toMatchObject({ agents: ['coder', 'helper'], leader_agent: 'helper' });
    await h.cliHereOk(['team', 'remove', 'dev', '--yes']);
    expect(await json(['team', 'list'])).toEqual([]);
  });

  it('agent remove archives the workspace by default; --purge deletes it, --keep-workspace keeps it', async () => {
    const root = join(h.root, 'tinyagi-workspace');
    for (const id of ['temp-a', 'temp-b', 'temp-c']) await h.cliHereOk(['agent', 'add', id, '--provider', 'mock']);
    writeFileSync(join(root, 'temp-a', 'SOUL.md'), 'I remember things.\n');

    const archived = await h.cliHereOk(['agent', 'remove', 'temp-a', '--yes']);
    const archivedTo = /archived to (\S+)\.\n/.exec(archived)?.[1] ?? '';
    expect(archivedTo.startsWith(join(root, '.archive', 'temp-a-'))).toBe(true);
    expect(readFileSync(join(archivedTo, 'SOUL.md'), 'utf8')).toBe('I remember things.\n');
    expect(existsSync(join(root, 'temp-a'))).toBe(false);

    const both = await h.cliHere(['agent', 'remove', 'temp-b', '--purge', '--keep-workspace', '--yes']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('cannot be used with');
    expect(await h.cliHereOk(['agent', 'remove', 'temp-b', '--purge', '--yes'])).toContain(`Its workspace ${join(root, 'temp-b')} was deleted.`);
    expect(existsSync(join(root, 'temp-b'))).toBe(false);
    expect(await h.cliHereOk(['agent', 'remove', 'temp-c', '--keep-workspace', '--yes'])).toContain(`Its workspace ${join(root, 'temp-c')} was kept.`);
    expect(existsSync(join(root, 'temp-c', 'AGENTS.md'))).toBe(true);
    const ids = (await json<Array<{ id: string }>>(['agent', 'list'])).map((a) => a.id);
    expect(ids.filter((id) => id.startsWith('temp-'))).toEqual([]);
  });

  it('queue purge deletes every dead letter through one request, or one agent’s', async () => {
    await h.cliHereOk(['agent', 'add', 'breaker', '--provider', 'mock', '--config', JSON.stringify({ mock: { replies: [{ match: 'break', fail: 'permanent' }] } })]);
    for (let i = 0; i < 3; i++) await h.cliHereOk(['send', '--agent', 'breaker', `break ${i}`]);
    await waitFor(async () => ((await json<{ dead: number }>(['queue', 'status'])).dead === 3 ? true : undefined), 20_000, 'three dead letters');
    const refused = await h.cliHere(['queue', 'purge']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Delete 3 dead letters? Pass --yes');
    expect(await json(['queue', 'purge', '--agent', 'helper', '--yes'])).toEqual({ deleted: 0 });
    expect(await json(['queue', 'purge', '--agent', 'breaker', '--yes'])).toEqual({ deleted: 3 });
    expect((await json<{ dead: number }>(['queue', 'status'])).dead).toBe(0);
    expect(await h.cliHereOk(['queue', 'purge', '--yes'])).toBe('No dead letters.\n');
    await h.cliHereOk(['agent', 'remove', 'breaker', '--yes']);
  });

  it('an invalid request to the daemon is reported once, in words, with exit code 2', async () => {
    const cron = await h.cliHere(['schedule', 'add', '--agent', 'helper', '--cron', '99 * * * *', '-m', 'never']);
    expect(cron.code).toBe(2);
    expect(cron.stderr.match(/Invalid value for minute: 99\./g)).toHaveLength(1);
    expect(cron.stderr).not.toContain('CronPattern');
    await h.cliHereOk(['team', 'add', 'room', '--agents', 'helper']);
    const empty = await h.cliHere(['chatroom', 'room', '--post', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr.match(/body\.message/g)).toHaveLength(1);
    await h.cliHereOk(['team', 'remove', 'room', '--yes']);
  });

  it('fires a one-shot schedule and disables it', async () => {
    const created = await json<{ id: string; nextRunAt: number }>(['schedule', 'add', '--agent', 'helper', '--at', '+1s', '-m', 'scheduled check-in', '--label', 'soon']);
    expect(created.nextRunAt).toBeGreaterThan(Date.now() - 5000);
    const fired = await waitFor(
      async () => {
        const list = await json<Array<{ id: string; enabled: boolean; lastFiredAt: number | null }>>(['schedule', 'list']);
        const s = list.find((x) => x.id === created.id);
        return s && s.lastFiredAt !== null ? s : undefined;
      },
      15_000,
      'the schedule to fire',
    );
    expect(fired.enabled).toBe(false);
    const conversation = await waitFor(
      async () => {
        const list = await json<Array<{ title: string; status: string; channel: string }>>(['conversation', 'list']);
        return list.find((c) => c.title === 'scheduled check-in' && c.status === 'completed');
      },
      15_000,
      'the scheduled conversation',
    );
    expect(conversation.channel).toBe('schedule');
    await h.cliHereOk(['schedule', 'remove', 'soon']);
    expect(await json(['schedule', 'list'])).toEqual([]);
  });

  it('changes heartbeat settings and quiet hours', async () => {
    await h.cliHereOk(['heartbeat', 'helper', '--interval', '30', '--disable']);
    await h.cliHereOk(['heartbeat', '--quiet-hours', '22:00-07:00']);
    const view = await json<{ quietHours: string; agents: Array<{ id: string; enabled: boolean; interval: number }> }>(['heartbeat']);
    expect(view.quietHours).toBe('22:00-07:00');
    expect(view.agents.find((a) => a.id === 'helper')).toEqual({ id: 'helper', enabled: false, interval: 30 });
  });

  it('chats through piped input, posts to and reads a chat room', async () => {
    const chat = await h.cliHere(['chat', 'helper'], { input: 'first question\nsecond question\n/exit\n' });
    expect(chat.code, chat.stderr).toBe(0);
    expect(chat.stdout.match(/summary ready/g)).toHaveLength(2);
    // Commands are checked before anything is sent; problems go to stderr and fail the run.
    const checked = await h.cliHere(['chat', 'helper'], { input: '/agent ghost\n/foo\n/usr/bin is missing\n/exit\n' });
    expect(checked.code).toBe(1);
    expect(checked.stderr).toContain('No agent "ghost". Known agents:');
    expect(checked.stderr).toContain('Unknown command /foo.');
    expect(checked.stdout).not.toContain('ghost');
    expect(checked.stdout.match(/summary ready/g)).toHaveLength(1);

    await h.cliHereOk(['team', 'add', 'ops', '--agents', 'helper']);
    await h.cliHereOk(['chatroom', 'ops', '--post', 'deploy at noon']);
    const room = await json<{ messages: Array<{ content: string }> }>(['chatroom', 'ops']);
    expect(room.messages.map((m) => m.content)).toContain('deploy at noon');

    // Following prints the backlog, then each new post exactly once.
    const follow = spawnCli(['chatroom', 'ops', '--follow'], h.env, { build: 'built' });
    try {
      await waitFor(() => (follow.output().includes('deploy at noon') ? true : undefined), 10_000, 'the backlog');
      await h.cliHereOk(['chatroom', 'ops', '--post', 'rollback plan ready']);
      await h.cliHereOk(['chatroom', 'ops', '--post', 'all clear']);
      await waitFor(() => (follow.output().includes('all clear') ? true : undefined), 10_000, 'the new posts');
    } finally {
      follow.child.kill('SIGINT');
    }
    const out = follow.output();
    expect(out.split('rollback plan ready').length - 1).toBe(1);
    expect(out.split('all clear').length - 1).toBe(1);
    expect(out.split('deploy at noon').length - 1).toBe(1);
  });

  it('pairing list shows pending and approved senders marked by status; approve, deny (dismiss) and revoke (unpair) change them', async () => {
    // What a channel process does for a new sender (the API token may do it too).
    const token = readFileSync(join(h.home, 'api-token'), 'utf8').trim();
    const request = async (senderId: string, sender: string): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${h.port}/api/pairing/request`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'telegram', senderId, sender }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { code: string }).code;
    };
    const ada = await request('111', 'Ada');
    const bob = await request('222', 'Bob');
    const cy = await request('333', 'Cy');
    expect(await h.cliHereOk(['pairing', 'approve', ada.toLowerCase()])).toContain('Approved Ada on telegram.');
    const rows = (await h.cliHereOk(['pairing', 'list'])).split('\n');
    expect(rows[0]).toMatch(/^STATUS\s+CODE\s+CHANNEL\s+SENDER\s+SENDER ID\s+SINCE/);
    expect(rows.find((r) => r.includes('Ada'))).toMatch(/^approved\s+-\s+telegram\s+Ada\s+111/);
    expect(rows.find((r) => r.includes('Bob'))).toMatch(new RegExp(`^pending\\s+${bob}\\s+telegram\\s+Bob\\s+222`));
    expect(await h.cliHereOk(['pairing', 'deny', bob])).toContain(`Denied ${bob}.`);
    expect(await h.cliHereOk(['pairing', 'dismiss', cy])).toContain(`Denied ${cy}.`);
    expect(await h.cliHereOk(['pairing', 'revoke', 'telegram', '111'])).toContain('Revoked 111 on telegram.');
    expect(await json(['pairing', 'list'])).toEqual({ pending: [], approved: [] });
    expect(await h.cliHereOk(['pairing', 'list'])).toContain('No pending pairing requests and no approved senders.');
    // Both directions again through the older alias.
    const dee = await request('444', 'Dee');
    await h.cliHereOk(['pairing', 'approve', dee]);
    expect(await h.cliHereOk(['pairing', 'unpair', 'telegram', '444'])).toContain('Revoked 444 on telegram.');
    const missing = await h.cliHere(['pairing', 'deny', 'ABCDEFGH']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No pending pairing request with code ABCDEFGH');
  });

  it('reports status, queue, usage, channels, logs and doctor findings', async () => {
    const queue = await json<{ pending: number; dead: number }>(['queue', 'status']);
    expect(queue).toMatchObject({ dead: 0 });
    const usage = await json<{ rows: Array<{ key: string; runs: number }> }>(['usage', '--by', 'agent']);
    expect(usage.rows.find((r) => r.key === 'helper')?.runs).toBeGreaterThan(0);
    // The total row is a row of the table: each of its cells starts under its column's header.
    const table = (await h.cliHereOk(['usage'])).trimEnd().split('\n');
    const starts = (line: string): number[] => [...line.matchAll(/(?:^|\s{2,})(\S)/g)].map((m) => m.index + m[0].length - 1);
    expect(table.at(-1)).toMatch(/^total\s/);
    expect(starts(table.at(-1)!)).toEqual(starts(table[0]!));
    expect(await json(['channel', 'list'])).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'discord', enabled: false, state: 'disabled' })]));
    const logs = await h.cliHereOk(['logs', '-n', '3']);
    expect(logs.trim().split('\n')).toHaveLength(3);
    const doctor = await json<{ ok: boolean; findings: Array<{ check: string; status: string; message: string }> }>(['doctor']);
    expect(doctor.ok).toBe(true);
    expect(doctor.findings.find((f) => f.check === 'daemon')).toMatchObject({ status: 'ok' });
    expect(doctor.findings.find((f) => f.check === 'cli:claude')).toMatchObject({ status: 'ok' });
    expect(doctor.findings.find((f) => f.check === 'token')).toMatchObject({ status: 'ok' });
  });

  it('the built bundle runs a command of every family, as users run it', async () => {
    // Every other command in this file runs in this process from the sources; this proves the
    // bundle (packages/cli/dist) wires each family to its action. Proven through the bundle
    // elsewhere: start (beforeAll above), stop and run (daemon.e2e), restart (restart.e2e), call
    // (the first test above: the agent's shim), doctor (snapshot.e2e), chat (chat-tty.e2e),
    // visualize (live-activity.e2e), mcp (mcp.e2e).
    await h.cliHereOk(['team', 'add', 'wiring', '--agents', 'helper']);
    const families: Array<{ args: string[]; code?: number; out: RegExp }> = [
      { args: ['status'], out: /^TinyAGI is running \(pid \d+/ },
      { args: ['version'], out: /^tinyagi v\d+\.\d+\.\d+/ },
      { args: ['send', '--agent', 'helper', '--wait', 'from the bundle'], out: /summary ready/ },
      { args: ['cancel', 'bogus'], code: 2, out: /expected a message \(msg_…\), conversation \(conv_…\) or run \(run_…\) id/ },
      { args: ['approvals'], out: /^Nothing waits for your approval\.$/m },
      { args: ['agent', 'list'], out: /^helper\s/m },
      { args: ['team', 'show', 'wiring'], out: /helper/ },
      { args: ['chatroom', 'wiring'], out: /^#wiring has no messages yet\.$/m },
      { args: ['provider', 'list'], out: /^No custom providers\./m },
      { args: ['channel', 'list'], out: /^discord\s/m },
      { args: ['pairing', 'list'], out: /^No pending pairing requests and no approved senders\.|^STATUS\s+CODE\s+CHANNEL/m },
      { args: ['schedule', 'list'], out: /^No schedules\. Add one with/m },
      { args: ['heartbeat', '--json'], out: /"quietHours"/ },
      { args: ['logs', '-n', '1'], out: /\[\w+\]/ },
      { args: ['queue', 'status'], out: /pending/ },
      { args: ['conversation', 'list'], out: /^conv_\S+\s+completed/m },
      { args: ['usage'], out: /^helper\s+\d+/m },
      { args: ['sessions'], out: /^limits: \d+ in all/m },
    ];
    const results = await Promise.all(families.map(({ args }) => h.cli(args)));
    const wrong = families.flatMap(({ args, code = 0, out }, i) => {
      const result = results[i]!;
      const ok = result.code === code && out.test(code === 0 ? result.stdout : result.stderr);
      return ok ? [] : [`tinyagi ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`];
    });
    expect(wrong).toEqual([]);
    await h.cliHereOk(['team', 'remove', 'wiring', '--yes']);
  });

  it('restarts in place: same pid, new start time, still answering', async () => {
    const before = await json<{ pid: number; startedAt: number }>(['status']);
    const out = await h.cliHereOk(['restart']);
    expect(out).toContain(`restarted (pid ${before.pid})`);
    const after = await json<{ pid: number; startedAt: number; running: boolean }>(['status']);
    expect(after.pid).toBe(before.pid);
    expect(after.startedAt).toBeGreaterThan(before.startedAt);
    const sent = await h.cliHere(['send', '--agent', 'helper', '--wait', 'still there?']);
    expect(sent.stdout).toContain('summary ready');
  });
});
