/**
 * The daemon's parts on their own, with real files, a real database and real child processes:
 * log rotation, the instance lock, quiet hours, the heartbeat and schedule runners, the channel
 * supervisor, the `tinyagi` shim for agents.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InvokeRequest, Settings, TinyEvent } from '@tinyagi/core';
import { openStores, ScheduleStore, type SqliteStores } from '@tinyagi/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activityLine } from '../src/daemon/activity-log.ts';
import { prependPath, shimScript, withShimOnPath } from '../src/daemon/agent-shim.ts';
import { ChannelSupervisor } from '../src/daemon/channel-supervisor.ts';
import { HeartbeatScheduler } from '../src/daemon/heartbeat.ts';
import { acquireInstanceLock } from '../src/daemon/instance-lock.ts';
import { createLogger } from '../src/daemon/logger.ts';
import { inQuietHours, parseQuietHours, quietHoursEnd } from '../src/daemon/quiet-hours.ts';
import { RotatingLog } from '../src/daemon/rotating-log.ts';
import { MISSED_AFTER_MS, ScheduleRunner } from '../src/daemon/scheduler.ts';
import { CliError } from '../src/output/cli-error.ts';
import { pidAlive, waitFor } from '@tinyagi/test-kit';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyagi-parts-'));
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const silent = createLogger({});

function spawnIdle(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args], { stdio: 'ignore' });
  children.push(child);
  return child;
}

describe('RotatingLog', () => {
  it('rotates by size with copy-truncate and keeps only N old files', () => {
    const file = join(dir, 'logs', 'daemon.log');
    const log = new RotatingLog({ file, maxBytes: 100, keep: 2 });
    // Each line in a turn of its own (flush), as a daemon's lines of separate messages.
    for (let i = 0; i < 12; i++) {
      log.write(`line ${String(i).padStart(2, '0')} ${'x'.repeat(30)}\n`);
      log.flush();
    }
    log.close();
    expect(existsSync(`${file}.1`)).toBe(true);
    expect(existsSync(`${file}.2`)).toBe(true);
    expect(existsSync(`${file}.3`)).toBe(false);
    const newest = readFileSync(`${file}.1`, 'utf8');
    const older = readFileSync(`${file}.2`, 'utf8');
    expect(newest).toContain('line 11'); // the write that crossed the limit is in the rotated file
    expect(older < newest).toBe(true); // older lines in .2
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('writes the lines of one turn of the event loop together at its end; an error line, close and exit write at once', async () => {
    const file = join(dir, 'logs', 'batched.log');
    const log = new RotatingLog({ file });
    const logger = createLogger({ file: log }).child('queue');
    logger.info('one');
    logger.warn('two');
    expect(readFileSync(file, 'utf8')).toBe('');
    await new Promise((r) => setImmediate(r));
    expect(readFileSync(file, 'utf8')).toMatch(/INFO {2}\[queue\] one\n.*WARN {2}\[queue\] two\n$/);
    logger.info('three');
    logger.error('four');
    expect(readFileSync(file, 'utf8')).toMatch(/\[queue\] three\n.*ERROR \[queue\] four\n$/);
    logger.info('five');
    log.close();
    expect(readFileSync(file, 'utf8')).toMatch(/\[queue\] five\n$/);
    // A process that exits with lines pending still writes them.
    const script = `import { RotatingLog } from ${JSON.stringify(fileURLToPath(new URL('../src/daemon/rotating-log.ts', import.meta.url)))};
      const log = new RotatingLog({ file: ${JSON.stringify(join(dir, 'logs', 'exit.log'))} });
      log.write('last words\\n');
      process.exit(3);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    expect(await new Promise((r) => child.once('exit', r))).toBe(3);
    expect(readFileSync(join(dir, 'logs', 'exit.log'), 'utf8')).toBe('last words\n');
  });
});

describe('instance lock', () => {
  it('takes over the lock of a dead pid', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    const path = join(dir, 'daemon.lock');
    writeFileSync(path, JSON.stringify({ pid: dead.pid, startedAt: 1, token: 'old' }));
    const lock = await acquireInstanceLock(path);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('takes over a lock whose pid was reused by a program that is not a daemon', async () => {
    const other = spawnIdle([]);
    const path = join(dir, 'daemon.lock');
    writeFileSync(path, JSON.stringify({ pid: other.pid, startedAt: 1, token: 'old' }));
    const lock = await acquireInstanceLock(path);
    expect(lock.record.pid).toBe(process.pid);
    lock.release();
  });

  it('refuses while a live `tinyagi run` holds it, naming its pid and URL', async () => {
    const daemon = spawnIdle(['run']);
    await waitFor(() => (pidAlive(daemon.pid ?? 0) ? true : undefined));
    const path = join(dir, 'daemon.lock');
    writeFileSync(path, JSON.stringify({ pid: daemon.pid, startedAt: 1, token: 'theirs', apiUrl: 'http://127.0.0.1:4000' }));
    const error = await acquireInstanceLock(path).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe('DAEMON_RUNNING');
    expect((error as CliError).message).toContain(`pid ${daemon.pid}`);
    expect((error as CliError).message).toContain('http://127.0.0.1:4000');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ token: 'theirs' });
  });
});

describe('quiet hours', () => {
  it('parses ranges, wraps past midnight and finds the end', () => {
    const q = parseQuietHours('22:00-07:00');
    if (q === undefined || typeof q === 'string') throw new Error('expected a range');
    expect(inQuietHours(q, new Date(2030, 0, 1, 23, 30))).toBe(true);
    expect(inQuietHours(q, new Date(2030, 0, 1, 6, 59))).toBe(true);
    expect(inQuietHours(q, new Date(2030, 0, 1, 7, 0))).toBe(false);
    expect(inQuietHours(q, new Date(2030, 0, 1, 12, 0))).toBe(false);
    expect(quietHoursEnd(q, new Date(2030, 0, 1, 23, 30))).toEqual(new Date(2030, 0, 2, 7, 0));
    expect(parseQuietHours('9-5')).toContain('must look like');
    expect(parseQuietHours(undefined)).toBeUndefined();
  });
});

describe('HeartbeatScheduler', () => {
  function setup(settings: () => Settings, busy: string[] = []) {
    let now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const sent: Array<{ agentId: string; content: string }> = [];
    const events: string[] = [];
    const scheduler = new HeartbeatScheduler({
      getSettings: settings,
      env: { HOME: dir },
      busyAgents: async () => new Set(busy),
      send: async (agentId, content) => {
        sent.push({ agentId, content });
        return `msg_${sent.length}`;
      },
      onSent: (agentId, messageId) => events.push(`${agentId}:${messageId}`),
      logger: silent,
      now: () => now,
    });
    return { scheduler, sent, events, advance: (ms: number) => (now += ms), at: (ms: number) => (now = ms) };
  }

  function workspace(agent: string, heartbeat?: string): void {
    mkdirSync(join(dir, 'ws', agent), { recursive: true });
    if (heartbeat !== undefined) writeFileSync(join(dir, 'ws', agent, 'heartbeat.md'), heartbeat);
  }

  it('wakes due agents with their heartbeat.md, skips busy, disabled and empty ones, and reads intervals live', async () => {
    workspace('a', 'Check the build.');
    workspace('b', 'never');
    workspace('c', '   \n');
    workspace('d', 'Busy one.');
    let settings: Settings = {
      workspace: { path: join(dir, 'ws') },
      monitoring: { heartbeat_interval: 600 },
      agents: { a: { heartbeat: { interval: 60 } }, b: { heartbeat: { enabled: false, interval: 60 } }, c: { heartbeat: { interval: 60 } }, d: { heartbeat: { interval: 60 } }, e: {} },
    };
    const { scheduler, sent, events, advance } = setup(() => settings, ['d']);
    advance(59_000);
    await scheduler.tick();
    expect(sent).toEqual([]);
    advance(2000);
    await scheduler.tick();
    expect(sent).toEqual([{ agentId: 'a', content: 'Check the build.' }]);
    expect(events).toEqual(['a:msg_1']);
    const byAgent = Object.fromEntries(scheduler.status().map((s) => [s.agentId, s]));
    expect(byAgent['c']?.lastSkip).toBe('heartbeat.md is empty');
    expect(byAgent['d']?.lastSkip).toContain('already has work');
    expect(byAgent['e']?.intervalS).toBe(600); // the global default applies

    // A live change: a's interval grows to 10 minutes; nothing is due a minute later.
    settings = { ...settings, agents: { ...settings.agents, a: { heartbeat: { interval: 600 } } } };
    advance(61_000);
    await scheduler.tick();
    expect(sent).toHaveLength(1);
    advance(600_000);
    await scheduler.tick();
    expect(sent.map((s) => s.agentId)).toEqual(['a', 'a', 'e']);
  });

  it('sends nothing during quiet hours', async () => {
    workspace('a', 'ping');
    const hour = new Date(Date.UTC(2030, 0, 1, 12, 0, 0)).getHours();
    const range = `${String(hour).padStart(2, '0')}:00-${String((hour + 2) % 24).padStart(2, '0')}:00`;
    const settings: Settings = { workspace: { path: join(dir, 'ws') }, monitoring: { quiet_hours: range } as Settings['monitoring'], agents: { a: { heartbeat: { interval: 60 } } } };
    const { scheduler, sent, advance } = setup(() => settings);
    advance(61_000);
    await scheduler.tick();
    expect(sent).toEqual([]);
    advance(2 * 3600_000);
    await scheduler.tick();
    expect(sent.map((s) => s.agentId)).toEqual(['a']);
  });
});

describe('ScheduleRunner', () => {
  let stores: SqliteStores;
  let store: ScheduleStore;
  beforeEach(() => {
    stores = openStores({ dbPath: join(dir, 'tinyagi.db') });
    store = new ScheduleStore(stores.db, { events: stores.events });
  });
  afterEach(() => stores.close());

  const base = { label: 'daily', agentId: 'a', teamId: null, message: 'standup', timezone: 'Europe/Paris', runAt: null, enabled: true, channel: 'schedule', senderId: '' };
  const nextMinute = (after: number): number => Math.floor(after / 60_000) * 60_000 + 60_000;

  function runner(now: number, fired: Array<{ id: string; key: string }>, fail = false) {
    return new ScheduleRunner({
      store,
      fire: async ({ schedule, idempotencyKey }) => {
        if (fail) throw new Error('agent removed');
        fired.push({ id: schedule.id, key: idempotencyKey });
        return `msg_${fired.length}`;
      },
      nextRun: (s, after) => (s.cron !== null ? nextMinute(after) : null),
      logger: silent,
      now: () => now,
    });
  }

  it('run-once fires a missed cron run once and moves to the next run; schedule.fired is emitted', async () => {
    const now = Date.UTC(2030, 0, 1, 9, 30);
    const s = store.create({ ...base, cron: '* * * * *', missedPolicy: 'run-once', nextRunAt: now - 10 * MISSED_AFTER_MS });
    const fired: Array<{ id: string; key: string }> = [];
    await runner(now, fired).tick();
    expect(fired).toEqual([{ id: s.id, key: `schedule:${s.id}:${now - 10 * MISSED_AFTER_MS}` }]);
    const after = store.get(s.id);
    expect(after?.nextRunAt).toBe(nextMinute(now));
    expect(after?.lastFiredAt).toBe(now);
    const events = stores.events.readSince(0).filter((e) => e.type === 'schedule.fired');
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toMatchObject({ scheduleId: s.id, missed: true, messageId: 'msg_1' });
    await runner(now, fired).tick();
    expect(fired).toHaveLength(1); // not due again
  });

  it('skip does not fire a missed run but schedules the next one', async () => {
    const now = Date.UTC(2030, 0, 1, 9, 30);
    const s = store.create({ ...base, cron: '* * * * *', missedPolicy: 'skip', nextRunAt: now - 5 * MISSED_AFTER_MS });
    const fired: Array<{ id: string; key: string }> = [];
    await runner(now, fired).tick();
    expect(fired).toEqual([]);
    expect(store.get(s.id)?.nextRunAt).toBe(nextMinute(now));
    expect(stores.events.readSince(0).filter((e) => e.type === 'schedule.fired')).toEqual([]);
    // an on-time run fires normally
    await runner(nextMinute(now) + 1000, fired).tick();
    expect(fired.map((f) => f.id)).toEqual([s.id]);
  });

  it('fires a one-shot once and disables it; a failed firing stays due', async () => {
    const now = Date.UTC(2030, 0, 1, 9, 30);
    const once = store.create({ ...base, label: 'once', cron: null, runAt: now - 1000, missedPolicy: 'run-once', nextRunAt: now - 1000 });
    const fired: Array<{ id: string; key: string }> = [];
    await runner(now, fired, true).tick();
    expect(fired).toEqual([]);
    expect(store.get(once.id)?.enabled).toBe(true);
    await runner(now + 31_000, fired).tick();
    expect(fired.map((f) => f.id)).toEqual([once.id]);
    expect(store.get(once.id)).toMatchObject({ enabled: false, nextRunAt: null });
  });
});

describe('ChannelSupervisor', () => {
  const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

  function supervisor(runner: string | undefined, stores?: SqliteStores): ChannelSupervisor {
    return new ChannelSupervisor({
      logsDir: join(dir, 'logs'),
      env: { PATH: process.env['PATH'], ...(runner ? { TINYAGI_CHANNEL_RUNNER: runner } : {}) },
      // Without a fixture: as if @tinyagi/channels were not installed (the workspace has it).
      ...(runner ? {} : { resolveRunner: () => ({ error: 'no channel runner is installed (test)' }) }),
      childEnv: () => ({ TINYAGI_API_URL: 'http://127.0.0.1:1', TINYAGI_API_TOKEN: 'secret-token-value' }),
      logger: silent,
      minBackoffMs: 50,
      maxBackoffMs: 200,
      ...(stores ? { events: stores.events } : {}),
    });
  }

  function channelEvents(stores: SqliteStores): Array<Record<string, unknown>> {
    return stores.events.readSince(0, { types: ['channel.status'] }).map((e) => e.data);
  }

  it('records every state transition as a channel.status event, with the exit code of a crash', async () => {
    const stores = openStores({ dbPath: join(dir, 'tinyagi.db'), durability: 'normal' });
    try {
      const s = supervisor(fixture('crashing-channel.ts'), stores);
      s.reconcile(['discord']);
      await waitFor(() => (channelEvents(stores).filter((e) => e['state'] === 'reconnecting').length >= 2 ? true : undefined), 10_000, 'two crashes');
      await s.stopAll();
      const events = channelEvents(stores);
      // A restart after a crash stays reconnecting (one event per attempt) until the platform answers.
      expect(events.slice(0, 3)).toEqual([
        expect.objectContaining({ channel: 'discord', state: 'connecting', previous: 'disabled' }),
        expect.objectContaining({ channel: 'discord', state: 'reconnecting', previous: 'connecting', crashed: true, exitCode: 3, signal: null, restarts: 1, attempt: 1 }),
        expect.objectContaining({ channel: 'discord', state: 'reconnecting', previous: 'reconnecting', crashed: true, exitCode: 3, restarts: 2, attempt: 2 }),
      ]);
      expect(events.at(-1)).toMatchObject({ channel: 'discord', state: 'stopped' });
      // The daemon log shows a crash as a warning with its exit code.
      const crash = stores.events.readSince(0, { types: ['channel.status'] }).find((e) => e.data['state'] === 'reconnecting')!;
      expect(activityLine(crash)).toEqual({ level: 'warn', text: 'channel discord: reconnecting (exited: code 3, signal -)' });

      const missing = supervisor(undefined, stores);
      missing.reconcile(['telegram']);
      missing.reconcile(['telegram']);
      const telegram = channelEvents(stores).filter((e) => e['channel'] === 'telegram');
      expect(telegram).toEqual([expect.objectContaining({ state: 'not_installed', previous: 'disabled', error: expect.stringContaining('no channel runner') })]);
    } finally {
      stores.close();
    }
  });

  it('reports enabled channels as not installed when there is no channel runner', () => {
    const s = supervisor(undefined);
    s.reconcile(['telegram']);
    expect(s.status()).toEqual([expect.objectContaining({ name: 'telegram', enabled: true, state: 'not_installed', pid: null })]);
  });

  it('restarts a crashing channel with backoff, logs its output and shows the failure', async () => {
    const s = supervisor(fixture('crashing-channel.ts'));
    s.reconcile(['discord']);
    const status = await waitFor(() => s.status().find((c) => c.restarts >= 3 && c.state === 'reconnecting'), 10_000, 'three restarts');
    expect(status.lastExit).toMatchObject({ code: 3 });
    // Never connected: reconnecting, with the attempt and the error it last wrote.
    expect(status.attempt).toBeGreaterThanOrEqual(3);
    expect(status.detail).toBe('its process exited (code 3, signal -)');
    await s.stopAll();
    const log = readFileSync(join(dir, 'logs', 'discord.log'), 'utf8');
    expect(log).toContain('channel discord starting with http://127.0.0.1:1 token=set');
    expect(log).toContain('login failed: invalid token');
    expect(s.status()[0]?.state).toBe('stopped');
  });

  it('is connected only once its process says the platform answered, reconnecting with the attempt and error before', async () => {
    const gate = join(dir, 'platform-up');
    const s = new ChannelSupervisor({
      logsDir: join(dir, 'logs'),
      env: { PATH: process.env['PATH'], HOME: gate, TINYAGI_CHANNEL_RUNNER: fixture('reporting-channel.ts') },
      childEnv: () => ({ TINYAGI_API_URL: 'http://127.0.0.1:1', TINYAGI_API_TOKEN: 'secret-token-value' }),
      logger: silent,
    });
    s.reconcile(['slack']);
    const failing = await waitFor(() => s.status().find((c) => c.state === 'reconnecting' && c.attempt === 2), 10_000, 'the second failed attempt');
    expect(failing.detail).toBe('connect ECONNREFUSED 127.0.0.1:9');
    writeFileSync(gate, '');
    const connected = await waitFor(() => s.status().find((c) => c.state === 'connected'), 10_000, 'the channel to connect');
    expect(connected).toMatchObject({ attempt: 0 });
    expect(connected.detail).toBeUndefined();
    await s.stopAll();
    expect(s.status()[0]?.state).toBe('stopped');
  });

  it('leaves a channel whose credentials the platform refused rejected, not restarted, until the settings change', async () => {
    const stores = openStores({ dbPath: join(dir, 'rejected.db'), durability: 'normal' });
    try {
      const s = supervisor(fixture('rejected-channel.ts'), stores);
      s.reconcile(['telegram']);
      const rejected = await waitFor(() => s.status().find((c) => c.state === 'rejected' && c.lastExit !== null), 10_000, 'the refused token');
      // No restart planned: its process is gone and stays gone.
      expect(rejected).toMatchObject({ pid: null, restarts: 0, attempt: 0, nextRestartAt: null, lastExit: { code: 4 }, detail: 'Telegram rejected the bot token (getMe answered 401: Unauthorized)' });
      expect(channelEvents(stores).map((e) => e['state'])).toEqual(['connecting', 'rejected']);
      // A change of the settings starts it again (the new token may be right).
      s.reconcile(['telegram']);
      await waitFor(() => (channelEvents(stores).length === 4 ? true : undefined), 10_000, 'the second start');
      expect(channelEvents(stores).map((e) => e['state'])).toEqual(['connecting', 'rejected', 'connecting', 'rejected']);
      await waitFor(() => s.status().find((c) => c.state === 'rejected' && c.pid === null), 10_000, 'the second exit');
      await s.stopAll();
    } finally {
      stores.close();
    }
  });

  it('stops a channel that is disabled, leaving no process', async () => {
    const s = supervisor(fixture('steady-channel.ts'));
    s.reconcile(['whatsapp']);
    const running = await waitFor(() => s.status().find((c) => c.pid !== null), 10_000, 'the channel to run');
    // Its process runs, but it never said the platform answered: connecting, not connected.
    expect(running.state).toBe('connecting');
    s.reconcile([]);
    await waitFor(() => (s.status()[0]?.state === 'disabled' ? true : undefined), 10_000, 'the channel to be disabled');
    expect(pidAlive(running.pid ?? 0)).toBe(false);
    expect(s.status()[0]).toMatchObject({ enabled: false, restarts: 0 });
  });
});

describe('the tinyagi shim for agents', () => {
  it('execs the given node and entry point with its arguments, whatever characters the paths hold', () => {
    // `node -e <script> <entry> …args` prints what the entry point would receive.
    const entry = join(dir, "it's a dir with spaces", 'bin.js');
    const shim = join(dir, 'tinyagi');
    writeFileSync(shim, shimScript(process.execPath, ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))'], entry), { mode: 0o700 });
    const result = spawnSync(shim, ['call', 'helper', 'say "hi" $HOME `x`'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([entry, 'call', 'helper', 'say "hi" $HOME `x`']);
  });

  it('goes first on the PATH, once', () => {
    expect(prependPath('/h/run/bin', '/usr/bin:/h/run/bin:/bin')).toBe('/h/run/bin:/usr/bin:/bin');
    expect(prependPath('/h/run/bin', undefined)).toBe('/h/run/bin');
  });

  it('travels by absolute path in TINYAGI_CLI too, which a login shell that resets PATH keeps', async () => {
    const seen: InvokeRequest[] = [];
    const invoke = withShimOnPath(
      async (req) => {
        seen.push(req);
        return { text: 'ok' };
      },
      '/h/run/bin',
      '/usr/bin',
    );
    await invoke({ agentId: 'a', target: { runtime: 'mock', provider: 'mock' }, prompt: 'hi', systemPrompt: '', cwd: dir });
    expect(seen[0]?.env).toMatchObject({ PATH: '/h/run/bin:/usr/bin', TINYAGI_CLI: '/h/run/bin/tinyagi' });
  });
});

describe('the activity log', () => {
  const retry = (data: Record<string, unknown>) =>
    activityLine({
      id: 1,
      ts: 0,
      type: 'queue.retry',
      agentId: 'cc',
      conversationId: 'c1',
      runId: 'r1',
      data: { messageId: 'm1', error: 'boom', retryInMs: 2000, maxAttempts: 3, rateLimitWaits: 0, maxRateLimitWaits: 5, ...data },
    } as unknown as TinyEvent);

  it('counts the waits of a rate limit, which use no attempt, instead of saying "attempt 0/3"', () => {
    expect(retry({ attempts: 0, kind: 'rate_limited', failure: 'rate_limited', rateLimitWaits: 1 })?.text).toBe('@cc rate limited (wait 1/5, no attempt used), retry in 2 s: boom (c1 r1)');
    expect(retry({ attempts: 1, kind: 'retryable', failure: 'crashed' })?.text).toBe('@cc attempt 1/3 failed (crashed), retry in 2 s: boom (c1 r1)');
    expect(retry({ attempts: 0, kind: 'retryable', failure: 'worker_lost' })?.text).toBe('@cc failed (worker_lost, no attempt used), retry in 2 s: boom (c1 r1)');
  });
});
