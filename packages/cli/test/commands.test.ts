/**
 * The command surface: every command has working --help and rejects bad arguments with a clear
 * message and a non-zero exit code. The whole tree is checked in-process against the real
 * program (fast); the exit-code mapping is checked once more through real `tinyagi` processes.
 * Offline edits (no daemon) run in this process (`cliHere`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_USAGE } from '../src/output/cli-error.ts';
import { reportError } from '../src/output/report-error.ts';
import { buildProgram } from '../src/program.ts';
import { createDaemon, type TestDaemon } from '@tinyagi/test-kit';

interface Captured {
  out: string;
  err: string;
  error?: unknown;
}

function allCommands(root: Command): Array<{ path: string[]; cmd: Command }> {
  const out: Array<{ path: string[]; cmd: Command }> = [];
  const walk = (cmd: Command, path: string[]): void => {
    for (const sub of cmd.commands) {
      if (sub.name() === 'help') continue;
      out.push({ path: [...path, sub.name()], cmd: sub });
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(root, []);
  return out;
}

async function parse(args: string[]): Promise<Captured> {
  const program = buildProgram();
  const captured: Captured = { out: '', err: '' };
  const output = { writeOut: (s: string) => (captured.out += s), writeErr: (s: string) => (captured.err += s), outputError: (s: string, write: (s: string) => void) => write(s) };
  program.configureOutput(output);
  for (const { cmd } of allCommands(program)) cmd.configureOutput(output);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    captured.error = err;
  }
  return captured;
}

let scratch: string;
const savedHome = process.env['TINYAGI_HOME'];
beforeAll(() => {
  // Actions that run in-process must never see the real ~/.tinyagi.
  scratch = mkdtempSync(join(tmpdir(), 'tinyagi-cmd-'));
  process.env['TINYAGI_HOME'] = join(scratch, 'home');
});
afterAll(() => {
  if (savedHome === undefined) delete process.env['TINYAGI_HOME'];
  else process.env['TINYAGI_HOME'] = savedHome;
  rmSync(scratch, { recursive: true, force: true });
});

const commands = allCommands(buildProgram());

describe('--help', () => {
  it('covers every command of the spec', () => {
    const names = commands.map((c) => c.path.join(' '));
    for (const expected of [
      'start',
      'stop',
      'restart',
      'status',
      'run',
      'doctor',
      'send',
      'chat',
      'call',
      'cancel',
      'agent list',
      'agent add',
      'agent show',
      'agent remove',
      'agent reset',
      'agent provider',
      'team list',
      'team add',
      'team show',
      'team remove',
      'team add-agent',
      'team remove-agent',
      'team visualize',
      'chatroom',
      'provider',
      'provider anthropic',
      'provider openai',
      'provider list',
      'provider add',
      'provider remove',
      'channel setup',
      'channel start',
      'channel stop',
      'channel restart',
      'channel reset',
      'pairing pending',
      'pairing approved',
      'pairing approve',
      'pairing list',
      'pairing deny',
      'pairing revoke',
      'schedule list',
      'schedule add',
      'schedule remove',
      'schedule enable',
      'schedule disable',
      'heartbeat',
      'logs',
      'queue status',
      'queue dead',
      'queue retry',
      'queue purge',
      'task list',
      'task show',
      'task merge',
      'task worktrees',
      'conversation list',
      'conversation show',
      'conversation transcript',
      'runs tree',
      'usage',
      'office',
      'visualize',
      'version',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it.each(commands.map((c) => [c.path.join(' '), c.path] as const))('tinyagi %s --help', async (_name, path) => {
    const result = await parse([...path, '--help']);
    expect(result.error).toBeInstanceOf(CommanderError);
    expect(reportError(result.error, false)).toBe(0);
    expect(result.out).toContain(`Usage: tinyagi ${path.join(' ')}`);
    const description = commands.find((c) => c.path.join(' ') === path.join(' '))?.cmd.description() ?? '';
    expect(description.length).toBeGreaterThan(5);
    expect(result.out).toContain(description.split('\n')[0]?.slice(0, 30) ?? '');
  });
});

describe('pairing', () => {
  it('keeps the older names as aliases: dismiss is deny, unpair is revoke', async () => {
    const pairing = commands.find((c) => c.path.join(' ') === 'pairing')!.cmd;
    const byName = (name: string) => pairing.commands.find((c) => c.name() === name);
    expect(byName('deny')?.aliases()).toEqual(['dismiss']);
    expect(byName('revoke')?.aliases()).toEqual(['unpair']);
    expect((await parse(['pairing', 'unpair', '--help'])).out).toContain('Usage: tinyagi pairing revoke|unpair');
  });
});

describe('bad arguments', () => {
  const leaves = commands.filter((c) => c.cmd.commands.length === 0);

  it.each(leaves.map((c) => [c.path.join(' '), c.path] as const))('tinyagi %s --no-such-flag is a usage error', async (_name, path) => {
    const result = await parse([...path, '--no-such-flag']);
    // commander checks required options first (`schedule add` needs --message).
    expect(result.err).toMatch(/unknown option '--no-such-flag'|required option '.+' not specified/);
    expect(reportError(result.error, false)).toBe(EXIT_USAGE);
  });

  const cases: Array<[string[], string]> = [
    [['nope'], "unknown command 'nope'"],
    [['sned', 'hi'], 'Did you mean send?'],
    [['send'], "missing required argument 'message'"],
    [['send', '--agent', 'a', '--team', 'b', 'hi'], 'either --agent or --team'],
    [['send', '--agent', 'Bad Id', 'hi'], 'ids use 1-64 characters'],
    [['send', '--wait', '--timeout', 'soon', 'hi'], 'positive number of seconds'],
    [['call', 'coder'], "missing required argument 'task'"],
    [['call', 'coder', 'do', 'it'], 'only works inside an agent run'],
    [['agent', 'show'], "missing required argument 'id'"],
    [['agent', 'add', 'coder', '--provider', 'gpt'], 'Unknown provider "gpt"'],
    [['agent', 'add', 'coder', '--config', '{nope'], 'expected a JSON object'],
    [['agent', 'provider', 'x', 'y', 'z'], 'too many arguments'],
    [['team', 'add', 'dev', '--agents', ','], 'comma-separated list'],
    [['team', 'add', 'dev', '--reply-mode', 'all'], 'use one of: each, aggregate'],
    [['team', 'add-agent', 'dev'], "missing required argument 'agent'"],
    [['chatroom', 'dev', '--limit', '0'], 'positive whole number'],
    [['provider', 'add', 'x', '--runtime', 'gemini'], 'use one of: anthropic-api, claude-code, codex, openai-api, opencode'],
    [['provider', 'add', 'x', '--harness', 'gemini'], 'use one of: anthropic-api, claude-code, codex, openai-api, opencode'],
    [['channel', 'start', 'irc'], 'use one of: discord, slack, telegram, whatsapp'],
    [['channel', 'setup', '--enable', 'discord,irc'], 'use one of: discord, slack, telegram, whatsapp'],
    [['pairing', 'approve'], "missing required argument 'code'"],
    [['pairing', 'deny'], "missing required argument 'code'"],
    [['pairing', 'dismiss'], "missing required argument 'code'"],
    [['pairing', 'revoke', 'telegram'], "missing required argument 'senderId'"],
    [['pairing', 'unpair', 'telegram'], "missing required argument 'senderId'"],
    [['schedule', 'add', '--agent', 'a', '--cron', '0 9 * * *'], "required option '-m, --message <text>' not specified"],
    [['schedule', 'add', '-m', 'hi', '--cron', '0 9 * * *'], 'exactly one of --agent or --team'],
    [['schedule', 'add', '-m', 'hi', '--agent', 'a'], 'exactly one of --cron or --at'],
    [['schedule', 'add', '-m', 'hi', '--agent', 'a', '--cron', 'every day'], 'Invalid schedule: cron:'],
    [['schedule', 'add', '-m', 'hi', '--agent', 'a', '--cron', '0 9 * * *', '--tz', 'Mars/Olympus'], 'unknown time zone'],
    [['schedule', 'add', '-m', 'hi', '--agent', 'a', '--at', 'tomorrowish'], 'expected an ISO date-time'],
    [['schedule', 'add', '-m', 'hi', '--agent', 'a', '--at', '2001-01-01T00:00:00Z'], 'Invalid schedule: runAt: The one-shot time is in the past.'],
    [['heartbeat', '--interval', '5'], 'at least 10 seconds'],
    [['heartbeat', '--enable', '--disable'], 'either --enable or --disable'],
    [['heartbeat', '--quiet-hours', '25:00-07:00'], 'must look like 22:00-07:00'],
    [['logs', '../etc'], 'Unknown log'],
    [['logs', '-n', 'ten'], 'positive whole number'],
    [['queue', 'retry'], "missing required argument 'id'"],
    [['conversation', 'list', '--status', 'done'], 'use one of: active, completed, failed, stopped, cancelled'],
    [['runs', 'tree'], "missing required argument 'conversation'"],
    [['usage', '--by', 'model'], 'use one of: agent, team, conversation, channel, day'],
    [['office', '--url'], "option '--url <url>' argument missing"],
    [['start', '--timeout', '0'], 'positive number of seconds'],
    [['stop', 'now'], 'too many arguments'],
  ];

  it.each(cases)('tinyagi %j says %s', async (args, message) => {
    const result = await parse(args);
    const text = result.err + (result.error instanceof Error ? result.error.message : '');
    expect(text).toContain(message);
    expect(reportError(result.error, false)).toBe(EXIT_USAGE);
  });
});

describe('through real processes and in process, with no daemon', () => {
  let h: TestDaemon;
  beforeAll(async () => {
    // The built CLI (packages/cli/dist), as users run it: its exit codes are the binary's.
    h = await createDaemon();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it('exit 0 for help and version, 2 for bad usage, 1 for failures, with no stack traces', async () => {
    const help = await h.cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: tinyagi');

    const version = await h.cli(['version', '--json']);
    expect(version.code).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });

    const unknown = await h.cli(['nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'nope'");

    const badId = await h.cli(['agent', 'show', 'Bad Id']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('ids use 1-64 characters');

    const call = await h.cli(['call', 'coder', 'review', 'this']);
    expect(call.code).toBe(2);
    expect(call.stderr).toContain('TINYAGI_RUN_TOKEN');

    const notRunning = await h.cli(['send', 'hello']);
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toContain('TinyAGI is not running');
    expect(notRunning.stderr).toContain('tinyagi start');
    expect(notRunning.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  });

  it('`agent add` makes a new CLI agent warm and says what that costs; one that says how it runs keeps it (docs/sessions.md)', async () => {
    const said = await h.cliHereOk(['agent', 'add', 'warmcx', '--provider', 'codex', '--sandbox', 'off']);
    expect(said).toContain('Warm: its CLI stays running between messages, one process per open conversation');
    expect(said).toContain('closed after 15 min unused');
    expect(JSON.parse(await h.cliHereOk(['agent', 'show', 'warmcx', '--json']))).toMatchObject({ process: 'warm', permission_mode: 'ask' });
    const per = await h.cliHereOk(['agent', 'add', 'oncecx', '--provider', 'codex', '--sandbox', 'off', '--config', '{"process":"per-message"}']);
    expect(per).not.toContain('Warm:');
    const once = JSON.parse(await h.cliHereOk(['agent', 'show', 'oncecx', '--json'])) as Record<string, unknown>;
    expect(once).toMatchObject({ process: 'per-message' });
    expect(once).not.toHaveProperty('permission_mode');
    expect(await h.cliHereOk(['agent', 'add', 'mocked', '--provider', 'mock'])).not.toContain('Warm:');
    for (const id of ['warmcx', 'oncecx', 'mocked']) await h.cliHereOk(['agent', 'remove', id, '--yes']);
  });

  it('places an agent on a node: `agent add --node`, a NODE column in `agent list` once one is placed, a bad name refused with its path', async () => {
    await h.cliHereOk(['agent', 'add', 'plain', '--provider', 'mock']);
    expect(await h.cliHereOk(['agent', 'list'])).not.toContain('NODE');
    expect(await h.cliHereOk(['agent', 'add', 'gpuwriter', '--provider', 'mock', '--node', 'gpu-box'])).toContain('Added agent gpuwriter (mock, on node gpu-box).');
    const list = await h.cliHereOk(['agent', 'list']);
    expect(list).toContain('NODE');
    expect(list).toMatch(/gpuwriter\s.*gpu-box/);
    expect(list).toMatch(/^plain\s.*any\s*$/m);
    expect(await h.cliHereOk(['agent', 'show', 'gpuwriter'])).toMatch(/^node:\s+gpu-box$/m);
    const bad = await h.cliHere(['agent', 'add', 'other', '--provider', 'mock', '--node', 'has space']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('node');
    expect(JSON.parse(await h.cliHereOk(['agent', 'list', '--json'])).map((a: { id: string }) => a.id)).not.toContain('other');
    for (const id of ['gpuwriter', 'plain']) await h.cliHereOk(['agent', 'remove', id, '--yes']);
  });

  it('edits schedules without a daemon, through the same core edits as the API', async () => {
    await h.cliHereOk(['agent', 'add', 'helper', '--provider', 'mock']);
    const created = JSON.parse(
      await h.cliHereOk(['schedule', 'add', '--agent', 'helper', '--cron', '0 9 * * 1-5', '--tz', 'Europe/Berlin', '-m', 'standup?', '--label', 'standup', '--json']),
    ) as Record<string, unknown>;
    expect(created).toMatchObject({ label: 'standup', agentId: 'helper', timezone: 'Europe/Berlin', enabled: true, nextRunAt: expect.any(Number) });
    const ghost = await h.cliHere(['schedule', 'add', '--agent', 'ghost', '--cron', '0 9 * * *', '-m', 'x']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('No agent "ghost".');
    expect(await h.cliHereOk(['schedule', 'disable', 'standup'])).toContain('standup: disabled.');
    expect(JSON.parse(await h.cliHereOk(['schedule', 'list', '--json']))).toMatchObject([{ label: 'standup', enabled: false }]);
    await h.cliHereOk(['schedule', 'remove', 'standup']);
    expect(JSON.parse(await h.cliHereOk(['schedule', 'list', '--json']))).toEqual([]);
  });
});
