/**
 * What a new user trips on in the first hour (issue 10), against one running daemon with
 * mock-provider agents: piping into a reader that goes away, a bare `@target`, confirmations
 * naming the wrong target, `--config` mistakes, `logs` of an unknown log, filtered empty lists,
 * doctor and the daemon's PATH, money rounding, an agent echoing its own tag, `stop` twice. The
 * daemon is started by the built `tinyagi start`, the pipe cases are built `tinyagi` processes,
 * and the other commands run in this process (`cliHere`).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArgv, createDaemon, FAKE_BIN_DIR, type TestDaemon } from '@tinyagi/test-kit';

let h: TestDaemon;
beforeAll(async () => {
  h = await createDaemon();
  await h.cliOk(['start']);
  await h.cliHereOk(['agent', 'add', 'coder', '--provider', 'mock', '--config', JSON.stringify({ mock: { reply: 'coded it' } })]);
  await h.cliHereOk(['agent', 'add', 'reviewer', '--provider', 'mock', '--config', JSON.stringify({ mock: { reply: 'looks fine' } })]);
  await h.cliHereOk(['team', 'add', 'dev', '--agents', 'coder,reviewer', '--leader', 'coder']);
}, 60_000);
afterAll(async () => {
  await h.cleanup();
});

const json = async <T>(args: string[]): Promise<T> => JSON.parse(await h.cliHereOk([...args, '--json'])) as T;

/** Runs the built CLI with its stdout a pipe whose reader is already gone, as `… | head -1` leaves it. */
function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgv('built'), ...args], { env: h.env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Closing our (the only) read end before the CLI has even started: its first write gets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('a new user’s first hour', () => {
  // Concurrent: five processes of their own, nothing shared but the daemon they read.
  it.concurrent.each([[['conversation', 'list']], [['agent', 'list']], [['logs', '-n', '200']], [['queue', 'status']], [['status']]])(
    '`tinyagi %s | head -1` ends quietly with success',
    async (args) => {
      const result = await runIntoClosedPipe(args);
      expect(result.stderr).toBe('');
      expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    },
  );

  it('confirmations and conversation list name the agent or team that was addressed', async () => {
    const toAgent = await h.cliHereOk(['send', '--agent', 'coder', 'fix the login']);
    expect(toAgent).toMatch(/^Sent to @coder \(message msg_\S+, conversation conv_\S+\)\./);
    const toTeam = await h.cliHereOk(['send', '--team', 'dev', 'plan the release']);
    expect(toTeam).toMatch(/^Sent to #dev \(led by @coder\) \(message /);
    const byPrefix = await h.cliHereOk(['send', '@reviewer', 'check the plan']);
    expect(byPrefix).toMatch(/^Sent to @reviewer \(/);

    const rows = await json<Array<{ title: string; addressed: string; teamId: string | null; rootAgentId: string }>>(['conversation', 'list']);
    expect(rows.find((r) => r.title === 'fix the login')).toMatchObject({ addressed: 'agent', rootAgentId: 'coder', teamId: 'dev' });
    expect(rows.find((r) => r.title === 'plan the release')).toMatchObject({ addressed: 'team', rootAgentId: 'coder', teamId: 'dev' });
    const table = await h.cliHereOk(['conversation', 'list']);
    expect(table.split('\n').find((l) => l.includes('fix the login'))).toMatch(/\s@coder\s/);
    expect(table.split('\n').find((l) => l.includes('plan the release'))).toMatch(/\s#dev\s/);
    expect(table.split('\n').find((l) => l.includes('check the plan'))).toMatch(/\s@reviewer\s/);
  });

  it('a bare @target sets the default target and says so on every path; @default clears it', async () => {
    const set = await h.cliHere(['send', '@dev']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('Your messages now go to #dev (led by @coder) by default. Send @default to clear it.\n');

    const asJson = await json<{ action: string; messageId: string; conversationId: string; teamId: string; addressed: string }>(['send', '@reviewer']);
    expect(asJson).toMatchObject({ action: 'default_set', messageId: '', conversationId: '', addressed: 'agent' });

    const waited = await h.cliHere(['send', '--wait', '@dev']);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toContain('Your messages now go to #dev (led by @coder) by default.');
    expect(waited.stderr).not.toContain('conversation');

    expect(await h.cliHereOk(['send', 'what is next?'])).toMatch(/^Sent to #dev \(led by @coder\) \(/);

    const cleared = await h.cliHere(['send', '--wait', '@default']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain('Your default target is cleared');
    expect(await h.cliHereOk(['send', 'and now?'])).toMatch(/^Sent to @tinyagi \(/);
    expect(await h.cliHereOk(['send', '@default'])).toBe('You had no default target set.\n');
  });

  it('a bad --config names the flag and the path inside it, once; unknown keys are refused with the nearest key', async () => {
    const wrongType = await h.cliHere(['agent', 'add', 'x', '--provider', 'mock', '--config', '{"mock":{"reply":5}}']);
    expect(wrongType.code).toBe(2);
    expect(wrongType.stderr).toContain("option '--config <json>'");
    expect(wrongType.stderr.split('mock.reply').length - 1).toBe(1);
    expect(wrongType.stderr).not.toContain('settings.json');

    const typo = await h.cliHere(['agent', 'add', 'x', '--provider', 'mock', '--config', '{"mock":{"replly":"hi"},"timeout":30}']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('mock.replly: Unknown key "replly". Did you mean "reply"?');
    expect(typo.stderr).toContain('timeout: Unknown key "timeout". Did you mean "timeout_s"?');
    expect((await json<Array<{ id: string }>>(['agent', 'list'])).map((a) => a.id)).not.toContain('x');

    // A change the daemon refuses blames the change, not settings.json, and lists each problem once.
    const refused = await h.cliHere(['agent', 'add', 'z', '--provider', 'custom:nope']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('The change was refused: it would make the settings invalid (1 problem)');
    expect(refused.stderr.split('agents.z.provider').length - 1).toBe(1);
    expect(refused.stderr).not.toContain('Invalid settings in');
  });

  it('`logs` of an unknown log is a usage error listing the known ones', async () => {
    const result = await h.cliHere(['logs', 'bogus']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown log "bogus"; known: daemon, queue, all, discord, slack, telegram, whatsapp');
  });

  it('an empty filtered conversation list says the filter matched nothing', async () => {
    expect(await h.cliHereOk(['conversation', 'list', '--status', 'stopped'])).toBe('No conversations match the filter.\n');
    expect(await h.cliHereOk(['conversation', 'list', '--agent', 'nobody'])).toBe('No conversations match the filter.\n');
  });

  it('money from /api/usage is rounded to micro-dollars', async () => {
    const mock = {
      replies: [
        { match: 'first', reply: 'one', usage: { cost_usd: 0.1 } },
        { match: 'second', reply: 'two', usage: { cost_usd: 0.2 } },
      ],
    };
    await h.cliHereOk(['agent', 'add', 'payer', '--provider', 'mock', '--config', JSON.stringify({ mock })]);
    await h.cliHereOk(['send', '--agent', 'payer', '--wait', 'first']);
    await h.cliHereOk(['send', '--agent', 'payer', '--wait', 'second']);
    const usage = await json<{ rows: Array<{ key: string; costUsd: number }> }>(['usage', '--by', 'agent']);
    expect(usage.rows.find((r) => r.key === 'payer')?.costUsd).toBe(0.3); // 0.1 + 0.2 is 0.30000000000000004 in floats
  });

  it('a reply that echoes the tag that addressed it reads as plain text, not as a handoff', async () => {
    await h.cliHereOk(['agent', 'add', 'cc2', '--provider', 'mock', '--config', JSON.stringify({ mock: { reply: '[@cc2: done, the tests pass]' } })]);
    const result = await h.cliHere(['send', '--agent', 'cc2', '--wait', '@cc2 run the tests']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^done, the tests pass\n/);
    expect(result.stdout).not.toContain('→');
  });

  it('doctor checks agent CLIs on the PATH the daemon uses, not the shell’s', async () => {
    await h.cliHereOk(['agent', 'add', 'claudy', '--provider', 'anthropic']);
    // This shell has a `claude`; the daemon was started with only node's directory on PATH.
    const shellPath = `${FAKE_BIN_DIR}:${dirname(process.execPath)}`;
    const result = await h.cliHere(['doctor', '--json'], { env: { PATH: shellPath } });
    const doctor = JSON.parse(result.stdout) as { findings: Array<{ check: string; status: string; message: string; hint?: string }> };
    const claude = doctor.findings.find((f) => f.check === 'cli:claude');
    expect(claude).toMatchObject({ status: 'info', message: expect.stringMatching(/is not on the daemon's PATH \(pid \d+\)/) });
    expect(claude?.hint).toContain(`It is on this shell's PATH (${join(FAKE_BIN_DIR, 'claude')})`);
    expect(doctor.findings.find((f) => f.check === 'agent:claudy')).toMatchObject({ status: 'fail' });
    expect(doctor.findings.find((f) => f.check === 'settings')?.message).toMatch(/\(\d+ agents, 1 team\)$/);
    await h.cliHereOk(['agent', 'remove', 'claudy', '--yes']);
  });
});

describe('`stop` when nothing runs', () => {
  it('says so and exits 0, as docs/cli.md says (stopping is idempotent)', async () => {
    const idle = await createDaemon();
    try {
      const result = await idle.cliHere(['stop']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('TinyAGI was not running');
    } finally {
      await idle.cleanup();
    }
  });
});
